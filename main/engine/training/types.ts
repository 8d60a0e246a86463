/**
 * The training run's plain-data contract: requests, events and results. Everything here crosses a
 * worker boundary (and later IPC / WebSocket), so it is JSON-like data only: no tensors, no classes.
 */
import type { Graph } from '../../../shared/graph';
import type { TrainingSettings } from '../../../shared/project';
import type { ModelTask, TaskId } from '../../../shared/tasks';
import type { HealthSnapshot } from '../insight/health';

export type { ModelTask };

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu' | 'pytorch';

/** A small description of the compiled model, sent with 'started'. */
export interface ModelSummary {
  name: string;
  params: number;
  trainableParams: number;
  layers: number;
  /** Per-sample input shape of the model. */
  inputShape: number[];
  outputShape: number[];
  classes: number;
  /** The task (shared/tasks) and how its loss is computed, in words. */
  task: TaskId;
  loss: string;
}

export interface StartedEvent {
  type: 'started';
  runId: string;
  backend: string;
  backendReason: string;
  model: ModelSummary;
  dataset: { id: string; name: string; classNames: string[]; kind: 'image' | 'table'; target?: string };
  task: TaskId;
  trainImages: number;
  valImages: number;
  /** 'validation-split' (held out of train) or 'test' (the dataset's test split). */
  validation: 'validation-split' | 'test' | 'none';
  epochs: number;
  batchSize: number;
  batchesPerEpoch: number;
  settings: TrainingSettings;
  /** Notes, e.g. a reshape of the samples to the model's input. */
  notes: string[];
}

/** Epochs and batches are 1-based. Throttled to a few per second. */
export interface BatchEvent {
  type: 'batch';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean loss and accuracy (null when the task has none) over the epoch so far. */
  loss: number;
  accuracy: number | null;
  /** The task's metrics over the epoch so far (accuracy; or r2, mae, rmse in the target's units). */
  metrics: Record<string, number>;
  /** This batch's own loss. */
  batchLoss: number;
  imagesPerSecond: number;
  elapsedMs: number;
  etaMs: number;
  learningRate: number;
}

/** Sent after every epoch. */
export interface EpochEvent {
  type: 'epoch';
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  metrics: Record<string, number>;
  valMetrics: Record<string, number> | null;
  /** Language models: what the model writes from a fixed prompt after this epoch. */
  sample?: { prompt: string; text: string };
  imagesPerSecond: number;
  elapsedMs: number;
  etaMs: number;
  learningRate: number;
  /** tf.memory().numTensors after the epoch (flat from epoch to epoch = no leak). */
  numTensors: number;
  /** V8 heap in use after the epoch, bytes (after a full GC when `gc` is exposed); absent outside Node. */
  heapUsed?: number;
  /** Training health measured after the epoch (insight/health.ts): per layer histograms, norms, dead units, warnings. */
  health?: HealthSnapshot;
}

export interface PausedEvent {
  type: 'paused';
  epoch: number;
  batch: number;
}
export interface ResumedEvent {
  type: 'resumed';
}

export type EndReason = 'completed' | 'stopped' | 'early-stopped' | 'error';

export interface EndedEvent {
  type: 'ended';
  reason: EndReason;
  message: string;
  epochsCompleted: number;
  batchesCompleted: number;
}

export type TrainingEvent = StartedEvent | BatchEvent | EpochEvent | PausedEvent | ResumedEvent | EndedEvent;

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  metrics: Record<string, number>;
  valMetrics: Record<string, number> | null;
  sample?: { prompt: string; text: string };
  learningRate: number;
  imagesPerSecond: number;
  elapsedMs: number;
}

export interface RunResult {
  runId: string;
  reason: EndReason;
  message: string;
  backend: string;
  epochsCompleted: number;
  batchesCompleted: number;
  /** Training images per epoch (after --limit and the validation split). */
  trainImages: number;
  /** Images pushed through training steps in total. */
  imagesTrained: number;
  /** Training throughput over the whole run, training steps only (no validation). */
  trainImagesPerSecond: number;
  /** Time in training steps, and in the validation after each epoch (both within elapsedMs). */
  trainMs?: number;
  validationMs?: number;
  elapsedMs: number;
  history: EpochMetrics[];
}

export interface EvaluationResult {
  split: 'train' | 'test';
  task: TaskId;
  count: number;
  loss: number;
  /** Classification accuracy; null for tasks without one. */
  accuracy: number | null;
  /** The task's metrics (accuracy; or r2, mae, rmse in the target's units). */
  metrics: Record<string, number>;
  classNames: string[];
  /** Accuracy per true class (null where the split has no sample of that class). */
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] counts (empty for regression). */
  confusion: number[][];
  imagesPerSecond: number;
  /**
   * Per-sample results in split order, when asked for (`withPredictions`): classification gives the true
   * and predicted class and the predicted class's probability; regression the true and predicted values
   * in the target's units.
   */
  predictions?: { truth: number[]; predicted: number[]; confidence?: number[] };
}


/** Samples to predict: uint8 pixels in the dataset's layout (count × H × W × C), (tables) count × F standardised features, or (labelled text) count × T token ids. */
export interface PredictRequest {
  images?: Uint8Array;
  features?: Float32Array;
  tokens?: Int32Array;
  count: number;
}

/** Text generation with a language model (main/engine/text/generate.ts options, as plain data). */
export interface GenerateRequest {
  prompt: string;
  /** New tokens (default 200). */
  tokens?: number;
  /** Default 0.8. */
  temperature?: number;
  topK?: number;
  seed?: number;
}

/** A dataset the worker loads itself: an id (e.g. 'cifar10') and the folder its files are in. */
export interface DatasetRef {
  id: string;
  dataDir?: string;
}

export interface TrainRequestData {
  graph: Graph;
  settings: TrainingSettings;
  /** Train on the first `limit` training images only. */
  limit?: number;
  /** Overrides settings.backend. */
  backend?: BackendName | 'auto';
  /** The project name, for the model name. */
  name?: string;
}
