/**
 * "See inside the network" (issue #19): the engine requests that answer questions about a trained or
 * training model, node by node. An insight is a query on the model the run's worker already holds
 * (the training worker while it trains, the model folder's worker once it has ended), so the canvas can
 * ask about any node without a second copy of the model.
 *
 * Samples are named by their index in the dataset's own test order (e.g. the Nth record of CIFAR-10's
 * `test_batch.bin`, the Nth test row of a table, the Nth test text).
 */

/** What a test sample is, shown beside its activations or explanation. */
export type SampleView =
  /** An image sample: a PNG data URL at the dataset's own size. */
  | { kind: 'image'; image: string; height: number; width: number; channels: number }
  /** A table row: the feature values as in the file, by column name. */
  | { kind: 'row'; values: Record<string, string | number> }
  /** A text sample: the text (cut to a few hundred characters) and its tokens as the model reads them. */
  | { kind: 'text'; text: string; tokens: string[] };

export interface SampleInfo {
  index: number;
  /** Test samples in the split (the largest valid index is count - 1). */
  count: number;
  /** The true class (classification) or value (regression); null for language models. */
  label: number | null;
  /** The model's prediction for this sample (class index, or value). */
  predicted: number | null;
  /** Class probabilities (classification). */
  probabilities?: number[];
  view: SampleView;
}

export interface SampleRequest {
  runId: string;
  /** Index in the test split, in the dataset's own order. */
  sample: number;
}

/** One channel of a feature map, drawn as a small grey-scale (or colour-mapped) PNG. */
export interface ChannelImage {
  channel: number;
  mean: number;
  min: number;
  max: number;
  /** PNG data URL, height x width, values scaled min..max -> dark..bright. */
  image: string;
}

/** A node's output for one sample, in the form that reads best for its shape. */
export type ActivationView =
  /** [h, w, c] outputs: one image per channel, sorted by mean activation (largest first). */
  | { kind: 'feature-maps'; height: number; width: number; channels: ChannelImage[]; totalChannels: number }
  /** [n] outputs (dense, pooling to a vector, …): one value per unit. */
  | { kind: 'vector'; values: number[]; labels?: string[] }
  /**
   * [t, f] outputs (recurrent, embedding, attention blocks): time x features, with the tokens when known. `steps`
   * and `features` are the output's sizes; `values` holds at most the first 512 steps x 512 features.
   */
  | { kind: 'sequence'; steps: number; features: number; values: number[][]; tokens?: string[] }
  /** MultiHeadAttention: heads x tokens x tokens weights (rows: queries, columns: keys), tokens on both axes. */
  | { kind: 'attention'; heads: number; tokens: string[]; weights: number[][][] };

export interface ActivationsRequest extends SampleRequest {
  /** The graph node (its id on the canvas). */
  nodeId: string;
  /** Feature maps: the most channels returned (default 64). */
  maxChannels?: number;
}

export interface Activations {
  runId: string;
  nodeId: string;
  /** The layer's name in the model. */
  layerName: string;
  /** The node's output shape for one sample (no batch axis). */
  shape: number[];
  view: ActivationView;
  sample: SampleInfo;
  /** True when answered by a run that is still training (the weights of that moment). */
  live: boolean;
  /** The epoch the weights come from (epochs finished when asked). */
  epoch: number;
  elapsedMs: number;
}

export type ExplainMethod = 'gradcam' | 'saliency';

export interface ExplainRequest extends SampleRequest {
  method: ExplainMethod;
  /** The class to explain (default: the predicted class). */
  classIndex?: number;
  /** Grad-CAM: the convolution node to use (default: the last one). */
  nodeId?: string;
}

export interface Explanation {
  runId: string;
  method: ExplainMethod;
  classIndex: number;
  className: string;
  /** Grad-CAM: the convolution node used and its layer name. */
  nodeId?: string;
  layerName?: string;
  /** The heat map at the image's size, values 0..1, rows of width values. */
  heatmap: number[][];
  /** PNG data URLs: the sample itself, and the sample with the heat map laid over it. */
  image: string;
  overlay: string;
  sample: SampleInfo;
  live: boolean;
  elapsedMs: number;
}

/** A histogram over fixed-width bins from min to max. */
export interface Histogram {
  min: number;
  max: number;
  counts: number[];
}

export interface LayerHealthEpoch {
  epoch: number;
  weights: Histogram;
  /** Gradients of the layer's weights on one batch at the end of the epoch. */
  gradients?: Histogram;
  /** L2 norms over all of the layer's weights and their gradients. */
  weightNorm: number;
  gradNorm?: number;
  /** ReLU-activated layers: the fraction of units that output 0 for every sample of a batch. */
  deadFraction?: number;
}

export type HealthWarningKind = 'vanishing-gradients' | 'exploding-gradients' | 'dead-units';

export interface HealthWarning {
  nodeId: string;
  layerName: string;
  kind: HealthWarningKind;
  epoch: number;
  /** Plain words, e.g. "conv2: 83% of its units output 0 for every sample (dead ReLUs): lower the learning rate or use LeakyReLU". */
  message: string;
}

export interface LayerHealth {
  nodeId: string;
  layerName: string;
  /** Layer type as in the registry (Conv2D, Dense, …). */
  type: string;
  epochs: LayerHealthEpoch[];
}

export interface TrainingHealth {
  runId: string;
  /** Layers with weights, in graph order. */
  layers: LayerHealth[];
  /** The current warnings (the latest epoch's), for the canvas to draw on the nodes. */
  warnings: HealthWarning[];
}

export type ProjectionMethod = 'pca' | 'umap';

export interface EmbeddingsRequest {
  runId: string;
  method: ProjectionMethod;
  /** Test samples projected (default 1,000; at most 5,000). */
  samples?: number;
  /** The node whose outputs are projected (default: the input of the last layer, the penultimate output). */
  nodeId?: string;
}

export interface EmbeddingPoint {
  /** Test-split index (for getSample / activations). */
  index: number;
  x: number;
  y: number;
  label: number;
  predicted: number;
}

export interface Embeddings {
  runId: string;
  method: ProjectionMethod;
  nodeId: string;
  layerName: string;
  /** Width of the projected vectors. */
  dimensions: number;
  classNames: string[];
  points: EmbeddingPoint[];
  elapsedMs: number;
}

export interface ConfusionSamplesRequest {
  runId: string;
  /** The true and the predicted class of the confusion cell. */
  actual: number;
  predicted: number;
  /** Most samples returned (default 24, at most 200). */
  limit?: number;
}

export interface ConfusionSamples {
  runId: string;
  actual: number;
  predicted: number;
  /** Samples in the cell in all (items may be fewer). */
  total: number;
  items: SampleInfo[];
}

/** Request limits (checked by the schemas). */
export const MAX_ACTIVATION_CHANNELS = 512;
export const DEFAULT_ACTIVATION_CHANNELS = 64;
export const MAX_EMBEDDING_SAMPLES = 5000;
export const DEFAULT_EMBEDDING_SAMPLES = 1000;
export const MAX_CONFUSION_SAMPLES = 200;
export const HISTOGRAM_BINS = 30;

/**
 * The engine methods (merged into EngineApi in engine.ts):
 *   getSample(SampleRequest): SampleInfo
 *   activations(ActivationsRequest): Activations
 *   explain(ExplainRequest): Explanation
 *   trainingHealth({ runId }): TrainingHealth
 *   embeddings(EmbeddingsRequest): Embeddings
 *   confusionSamples(ConfusionSamplesRequest): ConfusionSamples
 * Evaluation (engine.ts) gains per-class precision, recall, F1 and support.
 */
export interface InsightApi {
  getSample(req: SampleRequest): Promise<SampleInfo>;
  activations(req: ActivationsRequest): Promise<Activations>;
  explain(req: ExplainRequest): Promise<Explanation>;
  trainingHealth(req: { runId: string }): Promise<TrainingHealth>;
  embeddings(req: EmbeddingsRequest): Promise<Embeddings>;
  confusionSamples(req: ConfusionSamplesRequest): Promise<ConfusionSamples>;
}
