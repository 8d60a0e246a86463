/**
 * The training run's plain-data contract: requests, events and results. Everything here crosses a
 * worker boundary (and later IPC / WebSocket), so it is JSON-like data only: no tensors, no classes.
 */
import type { Graph } from '../../../shared/graph';
import type { TrainingSettings } from '../../../shared/project';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

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
  /** How the loss is computed: on the logits of a softmax output layer, or on a linear output as logits. */
  loss: 'softmax-cross-entropy (from the softmax layer\'s logits)' | 'softmax-cross-entropy (output used as logits)';
}

export interface StartedEvent {
  type: 'started';
  runId: string;
  backend: string;
  backendReason: string;
  model: ModelSummary;
  dataset: { id: string; name: string; classNames: string[] };
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
  /** Mean loss and accuracy over the epoch so far. */
  loss: number;
  accuracy: number;
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
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  imagesPerSecond: number;
  elapsedMs: number;
  etaMs: number;
  learningRate: number;
  /** tf.memory().numTensors after the epoch (flat from epoch to epoch = no leak). */
  numTensors: number;
  /** V8 heap in use after the epoch, bytes (after a full GC when `gc` is exposed); absent outside Node. */
  heapUsed?: number;
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
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
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
  elapsedMs: number;
  history: EpochMetrics[];
}

export interface EvaluationResult {
  split: 'train' | 'test';
  count: number;
  loss: number;
  accuracy: number;
  classNames: string[];
  /** Accuracy per true class (null where the split has no sample of that class). */
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  imagesPerSecond: number;
}

/** Samples to predict: uint8 pixels in the dataset's layout (count × H × W × C). */
export interface PredictRequest {
  images: Uint8Array;
  count: number;
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
