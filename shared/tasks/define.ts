/**
 * The task registry's shape. A task (classification, regression, and what comes next) says what the
 * model's output must look like, which losses it offers, how its metrics are computed and which result
 * views it shows. Training, the CLI summary, the dashboard and graph checks ask the task, never
 * `if (regression)`. The tfjs parts get `tf` injected (as layer builds do), so this stays pure.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Analysis, Graph, Problem } from '../graph/types';
import type { Shape } from '../layers';

export type Tf = typeof tfjs;
export type TaskId = 'classification' | 'regression' | 'language-modelling';
export const LOSSES = ['auto', 'cross-entropy', 'binary-cross-entropy', 'mse', 'mae', 'huber'] as const;
export type LossId = (typeof LOSSES)[number];

/** What the training data tells a task about its target. */
export interface TargetInfo {
  /** Classification: number of classes. */
  classes: number;
  /** Regression: the target's training mean and std (the model sees (y - mean) / std); 0 and 1 when unknown. */
  mean: number;
  std: number;
  /** Name of the target (column), for messages. */
  name?: string;
  /** Language modelling: tokens per window (T); `classes` is then the vocabulary size. */
  length?: number;
}

/** The task of a model and what it knows of its target: kept with every model folder (metrics.json `task`). */
export interface ModelTask {
  id: TaskId;
  target: TargetInfo;
}

/** The model's output as the task needs to see it. */
export interface OutputInfo {
  name: string;
  type: string;
  /** Per-sample output shape. */
  shape: Shape;
  /** The final activation, when the output node has one ('linear' when none). */
  activation: string;
}

export interface MetricDef {
  id: string;
  label: string;
  /** How to show it: a fraction shown as a percentage, or a plain number (in the target's units). */
  format: 'percent' | 'number';
  higherIsBetter: boolean;
  /** How charts draw it: 'log' for a figure that spans orders of magnitude (perplexity falls from the vocabulary size to a few). Default linear. */
  scale?: 'linear' | 'log';
}

/** Result views the dashboard can show; each task lists its own, in order. */
export type ResultView = 'confusion' | 'per-class' | 'gallery' | 'misclassified-rows' | 'misclassified-texts' | 'scatter' | 'residuals' | 'worst-rows' | 'samples' | 'perplexity';

/** How a task turns the model's output into a loss: what the trainer strips from the output layer first. */
export type OutputHead = 'softmax' | 'sigmoid' | 'none';

export interface TaskPlan {
  /** The loss actually used (never 'auto'). */
  loss: Exclude<LossId, 'auto'>;
  /** The output activation the trainer runs as linear in training steps (the loss then works on logits). */
  head: OutputHead;
  /** Loss in words, for the run header. */
  describe: string;
}

export interface TaskDef {
  readonly id: TaskId;
  readonly label: string;
  readonly description: string;
  /** Losses offered, first is the default. */
  readonly losses: readonly Exclude<LossId, 'auto'>[];
  /** The epoch metrics besides loss; the first one is the headline (charts, run list, early stopping is on loss). */
  readonly metrics: readonly MetricDef[];
  readonly views: readonly ResultView[];
  /** Why this output does not fit the task, with the fix in words; null when it fits. */
  checkOutput(out: OutputInfo, target: TargetInfo): string | null;
  /** Problems elsewhere in the graph that the task cannot train with (e.g. non-causal attention in a language model), pinned to their nodes. */
  checkGraph?(graph: Graph, analysis: Analysis): Problem[];
  /** Chooses the loss and output head for a run; throws an Error with a message for the user on a mismatch. */
  plan(out: OutputInfo, target: TargetInfo, loss: LossId): TaskPlan;
  /** Mean loss over the batch from the raw (head-stripped) output and targets (int32 labels or float32 standardised values). */
  loss(tf: Tf, plan: TaskPlan, raw: tfjs.Tensor, y: tfjs.Tensor, target: TargetInfo): tfjs.Scalar;
  /**
   * Per-batch sums for the metrics, as one float32 vector (summed over batches by the trainer): e.g.
   * [correct] or [sum |e|, sum e², sum y, sum y²]. Runs inside tf.tidy.
   */
  stats(tf: Tf, plan: TaskPlan, raw: tfjs.Tensor, y: tfjs.Tensor): tfjs.Tensor1D;
  /** Metric values from the summed stats over `count` samples, in the target's units. */
  metricsFrom(sums: ArrayLike<number>, count: number, target: TargetInfo): Record<string, number>;
  /** The model's prediction for the raw output of a batch, as probabilities (classification) or values in target units (regression). */
  predict(tf: Tf, plan: TaskPlan, raw: tfjs.Tensor, target: TargetInfo): tfjs.Tensor;
}
