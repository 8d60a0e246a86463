/**
 * The training loop itself, independent of where it runs: the worker (worker.ts) drives it, and tests
 * can drive it in-process. It owns the model, the optimizer and the data plan of one run.
 *
 * The step is a custom `optimizer.minimize` (no tfjs fit machinery): uint8 pixels are normalised into
 * one reused Float32Array per batch, the loss is softmax cross-entropy on logits (a softmax output
 * layer is switched to linear for the forward pass of the step, so the fused, stable
 * softmax-cross-entropy gradient is used), labels are int32, and loss + correct count are the only
 * values read back per batch.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Graph } from '../../../shared/graph';
import type { TrainingSettings } from '../../../shared/project';
import { getTask, type OutputInfo, type TargetInfo, type TaskDef, type TaskPlan } from '../../../shared/tasks';
import { compileGraph } from '../compile';
import type { LoadedDataset, Split } from '../datasets/types';
import { windows } from '../datasets/text/windows';
import { decode } from '../../../shared/text';
import { generate } from '../text/generate';
import { fillBatch, planSplit, range, seededRandom, shuffleInPlace, type Augment, type SplitPlan } from './data';
import { isOutOfMemory, OOM_HINT } from './oom';
import { createOptimizer, learningRateAt, type RunOptimizer } from './optimizers';
import { createFastMlp, type FastMlp } from './fastMlp';
import { planInference, type InferencePlan } from '../inference/plan';
import { HealthProbe, type HealthSnapshot } from '../insight/health';
import type {
  EndReason,
  EpochMetrics,
  EvaluationResult,
  ModelSummary,
  ModelTask,
  RunResult,
  TrainingEvent,
} from './types';

type Tf = typeof tfjs;

/** Stop / pause requests, checked between batches. */
export interface TrainControl {
  stopRequested(): boolean;
  /** A stop that must be quick (shutdown): the partial epoch is not validated. */
  quickStopRequested?(): boolean;
  pauseRequested(): boolean;
  /** Resolves when the run is resumed or stopped. */
  waitWhilePaused(): Promise<void>;
  /** Called between batches: the worker answers insight requests on the model here (activations while it trains). */
  between?(): Promise<void>;
}

export const noControl: TrainControl = {
  stopRequested: () => false,
  pauseRequested: () => false,
  waitWhilePaused: async () => {},
};

/** Samples per evaluation and prediction batch. */
const EVAL_BATCH = 256;

/** Samples in the fixed batch training health is measured on. */
const HEALTH_BATCH = 64;

/** An error in a run whose message is meant for the user as is. */
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

const fmt = (shape: readonly (number | null)[]) => shape.join('×');

/** Runs `f` with Math.random replaced by a seeded generator, so tfjs's unseeded initialisers are reproducible. */
export function withSeededMathRandom<T>(seed: number, f: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    return f();
  } finally {
    Math.random = original;
  }
}

interface ActivationHolder {
  activation: { getClassName(): string; apply(x: tfjs.Tensor): tfjs.Tensor };
}

export interface TrainerInit {
  tf: Tf;
  model: tfjs.LayersModel;
  settings: TrainingSettings;
  /** Needed to train and evaluate; predict works without. */
  dataset: LoadedDataset | null;
  backend: string;
  /** The task and target when there is no dataset to take them from (a model folder opened for prediction). */
  task?: ModelTask;
  /** Measure training health (weights, gradients, dead units) at the end of every epoch (default true). */
  health?: boolean;
}

/** The task and target a dataset declares (classification with its classes unless it says otherwise). */
export function taskOfDataset(ds: LoadedDataset): ModelTask {
  const t = ds.table?.preprocessing.target;
  if (ds.text?.kind === 'corpus') {
    return { id: 'language-modelling', target: { classes: ds.info.vocabSize ?? 0, mean: 0, std: 1, length: ds.text.seqLen } };
  }
  return {
    id: ds.info.task ?? 'classification',
    target: { classes: ds.info.classNames.length, mean: t?.mean ?? 0, std: t?.std ?? 1, ...(t ? { name: t.name } : {}) },
  };
}

export class Trainer {
  readonly tf: Tf;
  readonly model: tfjs.LayersModel;
  readonly settings: TrainingSettings;
  readonly dataset: LoadedDataset | null;
  readonly backend: string;
  /** Per-sample model input shape. */
  readonly inputShape: number[];
  readonly inputDtype: 'float32' | 'int32';
  readonly classes: number;
  /** Per-sample output shape: [classes], [1], or [T, vocabulary] for a language model. */
  readonly outShape: number[];
  readonly notes: string[] = [];
  readonly task: TaskDef;
  readonly target: TargetInfo;
  readonly plan: TaskPlan;
  /** The output layer whose activation is run as linear in steps (the loss works on logits), when the plan strips one. */
  private readonly headHolder: ActivationHolder | null;
  private readonly linear: ActivationHolder['activation'];
  private readonly head: ActivationHolder['activation'] | null;
  private opt: RunOptimizer | null = null;
  /** Training health at the end of each epoch (insight/health.ts), on one fixed batch of the training split. */
  private readonly health: boolean;
  private healthProbe: HealthProbe | null = null;
  private healthBatch: { xs: tfjs.Tensor; ys: tfjs.Tensor } | null = null;
  /** The inference plan (BatchNorm folded, activations fused; ../inference/plan.ts): built on first use, null when nothing folds. */
  private inference: InferencePlan | null | undefined;

  static fromGraph(tf: Tf, graph: Graph, settings: TrainingSettings, dataset: LoadedDataset | null, backend: string, name = 'model'): Trainer {
    const { model } = withSeededMathRandom(settings.seed, () => compileGraph(tf, graph, name));
    return new Trainer({ tf, model, settings, dataset, backend });
  }

  /** The task and target this model trains for (stored with its model folder). */
  get modelTask(): ModelTask {
    return { id: this.task.id, target: this.target };
  }

  constructor(init: TrainerInit) {
    const { tf, model } = init;
    this.tf = tf;
    this.model = model;
    this.settings = init.settings;
    this.dataset = init.dataset;
    this.backend = init.backend;
    this.health = init.health ?? true;
    if (model.inputs.length !== 1) {
      throw new TrainingError(`the model has ${model.inputs.length} inputs (${model.inputNames.join(', ')}); training on an image dataset needs exactly one`);
    }
    const mt = init.dataset ? taskOfDataset(init.dataset) : (init.task ?? { id: 'classification', target: { classes: 0, mean: 0, std: 1 } });
    this.task = getTask(mt.id);
    this.target = mt.target;
    if (model.outputs.length !== 1) {
      throw new TrainingError(`the model has ${model.outputs.length} outputs (${model.outputNames.join(', ')}); ${this.task.label.toLowerCase()} training needs exactly one`);
    }
    const input = model.inputs[0]!;
    this.inputShape = input.shape.slice(1) as number[];
    this.inputDtype = input.dtype === 'int32' ? 'int32' : 'float32';
    const outShape = model.outputs[0]!.shape.slice(1);
    const outLayer = model.outputLayers[0]!;
    const sequenceOut = this.task.id === 'language-modelling';
    if (sequenceOut) {
      if (outShape.length !== 2 || outShape.some((d) => d == null)) {
        throw new TrainingError(`the output layer '${outLayer.name}' produces ${fmt(outShape)} per sample; a language model needs T×vocabulary (a Dense layer over the sequence, no Flatten or pooling)`);
      }
    } else if (outShape.length !== 1 || outShape[0] == null) {
      throw new TrainingError(
        this.task.id === 'classification'
          ? `the output layer '${outLayer.name}' produces ${fmt(outShape)} per sample; classification needs a vector of class scores (add Flatten/GlobalAvgPool2D and a Dense layer)`
          : `the output layer '${outLayer.name}' produces ${fmt(outShape)} per sample; ${this.task.label.toLowerCase()} needs a vector (end with a Dense layer)`,
      );
    }
    this.outShape = outShape as number[];
    this.classes = outShape.at(-1)!;
    const holder = outLayer as unknown as Partial<ActivationHolder>;
    const activation = typeof holder.activation?.getClassName === 'function' ? holder.activation.getClassName() : 'linear';
    const out: OutputInfo = { name: outLayer.name, type: outLayer.getClassName(), shape: this.outShape, activation };
    // A model opened without its target knows its classes from its output.
    let target = this.task.id === 'classification' && this.target.classes === 0 ? { ...this.target, classes: this.classes === 1 ? 2 : this.classes } : this.target;
    if (sequenceOut && !target.classes) target = { ...target, classes: this.classes, length: this.outShape[0]! };
    this.target = target;
    try {
      this.plan = this.task.plan(out, target, init.settings.loss ?? 'auto');
    } catch (error) {
      const ds = init.dataset;
      const what = ds ? ` for the dataset '${ds.info.id}'${target.name ? ` (target '${target.name}')` : ''}` : '';
      throw new TrainingError(`${error instanceof Error ? error.message : String(error)}${what}`);
    }
    const strip = this.plan.head !== 'none';
    this.headHolder = strip ? (holder as ActivationHolder) : null;
    this.head = strip ? holder.activation! : null;
    this.linear = (tf.layers.activation({ activation: 'linear' }) as unknown as ActivationHolder).activation;
    if (init.dataset) this.checkDataset(init.dataset);
  }

  private checkDataset(ds: LoadedDataset): void {
    const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
    const want = this.inputShape.reduce((a, b) => a * b, 1);
    const inputName = this.model.inputNames[0] ?? 'input';
    if (size !== want) {
      throw new TrainingError(
        `bad data shape: the dataset '${ds.info.id}' has samples of ${fmt(ds.shape)} (${size} values) but the model input '${inputName}' expects ${fmt(this.inputShape)} (${want} values)`,
      );
    }
    const table = Boolean(ds.table);
    if (table) {
      if (this.inputDtype !== 'float32' || this.inputShape.length !== 1) {
        throw new TrainingError(`bad data shape: the table dataset '${ds.info.id}' has rows of ${size} features but the model input '${inputName}' is ${fmt(this.inputShape)}${this.inputDtype === 'int32' ? ' token ids' : ''}: use an Input of kind 'features' with ${size} features`);
      }
    } else if (!ds.text && fmt(ds.shape) !== fmt(this.inputShape)) this.notes.push(`samples of ${fmt(ds.shape)} are reshaped to the model input ${fmt(this.inputShape)}`);
    for (const split of [ds.train, ds.test]) {
      if (table) {
        if (split.features?.length !== split.count * size) throw new TrainingError(`bad data: a split of '${ds.info.id}' says ${split.count} rows but holds ${split.features?.length ?? 0} feature values (expected ${split.count * size})`);
        if (this.task.id === 'regression' && split.targets?.length !== split.count) throw new TrainingError(`bad data: a split of '${ds.info.id}' has ${split.targets?.length ?? 0} targets for ${split.count} rows`);
      } else if (split.stream) {
        // A corpus: windows of T+1 tokens cut from the stream at batch time.
        if (ds.text && ds.text.seqLen !== size) {
          throw new TrainingError(`bad data shape: the corpus '${ds.info.id}' is cut into windows of ${ds.text.seqLen} tokens but the model input '${inputName}' reads ${size}: set the Input length to ${ds.text.seqLen} (or fit the model to the dataset)`);
        }
        continue;
      } else if (split.tokens) {
        // Labelled text: count rows of T token ids.
        if (split.tokens.length !== split.count * size) throw new TrainingError(`bad data: a split of '${ds.info.id}' says ${split.count} texts but holds ${split.tokens.length} token ids (expected ${split.count} x ${size})`);
      } else if (split.images.length !== split.count * size) {
        throw new TrainingError(`bad data: a split of '${ds.info.id}' says ${split.count} samples but holds ${split.images.length} bytes (expected ${split.count * size})`);
      }
      if (split.labels.length !== split.count) throw new TrainingError(`bad data: a split of '${ds.info.id}' has ${split.labels.length} labels for ${split.count} samples`);
    }
  }

  summary(): ModelSummary {
    const trainable = this.model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
    return {
      name: this.model.name,
      params: this.model.countParams(),
      trainableParams: trainable,
      layers: this.model.layers.length,
      inputShape: this.inputShape,
      outputShape: this.outShape,
      classes: this.task.id === 'classification' ? this.target.classes : 0,
      task: this.task.id,
      loss: this.plan.describe,
    };
  }

  /** Forward pass returning the raw output: logits where the plan strips the output activation (softmax/sigmoid run as linear). */
  logits(x: tfjs.Tensor, training: boolean): tfjs.Tensor {
    if (!this.headHolder) return this.model.apply(x, { training }) as tfjs.Tensor;
    this.headHolder.activation = this.linear;
    try {
      return this.model.apply(x, { training }) as tfjs.Tensor;
    } finally {
      this.headHolder.activation = this.head!;
    }
  }

  /**
   * The raw output (as `logits(x, false)`) through the inference plan: BatchNormalizations folded into the
   * layer before them and activation layers fused (evaluate, predict, validation; never a training step
   * and never a gradient). Equal to `logits(x, false)` to float32 rounding. LAYERFORGE_INFERENCE_PLAN=0
   * turns the plan off.
   */
  inferenceLogits(x: tfjs.Tensor): tfjs.Tensor {
    const plan = this.inferencePlanOf();
    if (!plan) return this.logits(x, false);
    if (this.headHolder) this.headHolder.activation = this.linear;
    try {
      return plan.run(x) as tfjs.Tensor;
    } catch (error) {
      // A plan that fails where the model itself works is a plan bug: say so once and keep the model's path.
      if (isOutOfMemory(error)) throw error;
      console.error(`inference plan turned off for '${this.model.name}' (${describeError(error)}); predicting through the model`);
      this.inference?.dispose();
      this.inference = null;
    } finally {
      if (this.headHolder) this.headHolder.activation = this.head!;
    }
    return this.logits(x, false);
  }

  /** What the inference plan folded and fused ("2 BatchNormalizations folded, …"), or null when it changes nothing. */
  get inferencePlan(): string | null {
    return this.inferencePlanOf()?.describe ?? null;
  }

  private inferencePlanOf(): InferencePlan | null {
    if (this.inference !== undefined) return this.inference;
    this.inference = null;
    if (globalThis.process?.env.LAYERFORGE_INFERENCE_PLAN === '0') return null;
    try {
      this.inference = planInference(this.tf, this.model);
    } catch (error) {
      console.error(`no inference plan for '${this.model.name}' (${describeError(error)}); predicting through the model`);
    }
    return this.inference;
  }

  private get regression(): boolean {
    return this.task.id === 'regression';
  }

  /**
   * Buffers for evaluation and prediction batches, kept between calls (taken while in use). A 3 MB buffer
   * per call (256 CIFAR images as float32), freed later by the GC, made glibc raise its mmap threshold to
   * 3 MB and its trim threshold to 6 MB for the whole process, after which every malloc arena of every
   * thread kept up to that much freed memory: ~20 MB more RSS over a run.
   */
  private spareBuffers: { n: number; buf: ReturnType<Trainer['makeBuffers']> } | null = null;

  private takeBuffers(n: number): { n: number; buf: ReturnType<Trainer['makeBuffers']> } {
    const spare = this.spareBuffers;
    if (spare && spare.n >= n) {
      this.spareBuffers = null;
      return spare;
    }
    return { n, buf: this.makeBuffers(n) };
  }

  private giveBackBuffers(b: { n: number; buf: ReturnType<Trainer['makeBuffers']> }): void {
    if (!this.spareBuffers || this.spareBuffers.n < b.n) this.spareBuffers = b;
  }

  private makeBuffers(n: number): { x: Float32Array | Int32Array; y: Int32Array; t: Float32Array } {
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    const perSample = this.task.id === 'language-modelling' ? this.outShape[0]! : 1;
    return { x: this.inputDtype === 'int32' ? new Int32Array(n * size) : new Float32Array(n * size), y: new Int32Array(n * perSample), t: new Float32Array(this.regression ? n : 0) };
  }

  /** Fills a batch from a split: image pixels or table features, class labels or regression targets. */
  private fill(split: Split, indices: Int32Array, from: number, n: number, buf: ReturnType<Trainer['makeBuffers']>, augment: Augment | null, rand: () => number): void {
    if (split.stream) {
      // A corpus: window w's input is tokens [s, s+T), its target [s+1, s+T+1).
      windows(split, from, n, this.outShape[0]!, { indices, x: buf.x as Int32Array, y: buf.y });
      return;
    }
    const toks = split.tokens;
    if (toks) {
      // Labelled text: rows of T token ids into the int32 batch, labels as for images.
      const size = this.inputShape.reduce((a, b) => a * b, 1);
      for (let k = 0; k < n; k++) {
        const i = indices[from + k]!;
        buf.x.set(toks.subarray(i * size, (i + 1) * size), k * size);
        buf.y[k] = split.labels[i] ?? 0;
      }
      return;
    }
    const feats = split.features;
    if (feats) {
      const size = this.inputShape.reduce((a, b) => a * b, 1);
      const x = buf.x as Float32Array;
      for (let k = 0; k < n; k++) {
        const i = indices[from + k]!;
        x.set(feats.subarray(i * size, (i + 1) * size), k * size);
        buf.y[k] = split.labels[i] ?? 0;
        if (this.regression) buf.t[k] = split.targets![i]!;
      }
      return;
    }
    fillBatch(split, this.dataset!.shape, indices, from, n, buf.x, buf.y, augment, rand);
  }

  private toTensors(buf: ReturnType<Trainer['makeBuffers']>, n: number): { xs: tfjs.Tensor; ys: tfjs.Tensor } {
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    const xs = this.tf.tensor(buf.x.subarray(0, n * size), [n, ...this.inputShape], this.inputDtype);
    const ys =
      this.task.id === 'language-modelling'
        ? this.tf.tensor2d(buf.y.subarray(0, n * this.outShape[0]!), [n, this.outShape[0]!], 'int32')
        : this.regression
          ? this.tf.tensor1d(buf.t.subarray(0, n), 'float32')
          : this.tf.tensor1d(buf.y.subarray(0, n), 'int32');
    return { xs, ys };
  }

  /**
   * The model's input for samples `indices` of a split, prepared as evaluation prepares it (normalised pixels, table
   * features, token rows or corpus windows; no augmentation), with their targets. The caller disposes both.
   */
  inputsFor(split: Split, indices: Int32Array): { xs: tfjs.Tensor; ys: tfjs.Tensor } {
    const n = indices.length;
    const buf = this.makeBuffers(n);
    this.fill(split, indices, 0, n, buf, null, Math.random);
    return this.toTensors(buf, n);
  }

  /** The task's prediction (class probabilities, or values in the target's units) for a model input. */
  predictionOf(x: tfjs.Tensor): tfjs.Tensor {
    return this.tf.tidy(() => this.task.predict(this.tf, this.plan, this.inferenceLogits(x), this.target));
  }

  /** The epoch's accuracy field: the task's accuracy metric, or null when it has none. */
  private static accuracyOf(m: Record<string, number>): number | null {
    return 'accuracy' in m ? m.accuracy! : null;
  }

  /**
   * Trains for settings.epochs epochs. Never throws: an error ends the run with reason 'error' and the
   * message (the 'ended' event is emitted by the caller from the returned result).
   */
  async train(runId: string, limit: number | undefined, emit: (e: TrainingEvent) => void, control: TrainControl = noControl, backendReason = ''): Promise<RunResult> {
    const { tf, settings } = this;
    const ds = this.dataset;
    const t0 = performance.now();
    let pausedMs = 0;
    const history: EpochMetrics[] = [];
    let batchesDone = 0;
    let imagesTrained = 0;
    let trainMs = 0;
    let validationMs = 0;
    let epochsDone = 0;
    let plan: SplitPlan = { train: new Int32Array(0), val: new Int32Array(0) };
    const result = (reason: EndReason, message: string): RunResult => ({
      runId,
      reason,
      message,
      backend: this.backend,
      epochsCompleted: epochsDone,
      batchesCompleted: batchesDone,
      trainImages: plan.train.length,
      imagesTrained,
      trainImagesPerSecond: trainMs > 0 ? (imagesTrained / trainMs) * 1000 : 0,
      trainMs,
      validationMs,
      elapsedMs: performance.now() - t0 - pausedMs,
      history,
    });
    try {
      if (!ds) throw new TrainingError('no dataset to train on');
      plan = planSplit(ds.train.count, limit, settings.validationSplit, settings.seed);
      if (plan.train.length === 0) throw new TrainingError(`the dataset '${ds.info.id}' has no training samples`);
      const valSplit: Split = ds.train;
      const useTest = plan.val.length === 0;
      const valCount = useTest ? ds.test.count : plan.val.length;
      const bs = settings.batchSize;
      const batches = Math.ceil(plan.train.length / bs);
      const totalBatches = batches * settings.epochs;
      const { task, plan: taskPlan, target } = this;
      // Small dense models on feature vectors train in our own JS loop (fastMlp.ts): tfjs's per-op
      // overhead dominates their steps. Weights go back to the tfjs model after every epoch.
      const fast: FastMlp | null = ds.train.features ? createFastMlp({ tf, model: this.model, task: this.task, plan: taskPlan, target, settings }) : null;
      if (fast) this.notes.push(`training steps run in Layerforge's fast dense-network loop (${fast.describe})`);
      emit({
        type: 'started',
        runId,
        backend: this.backend,
        backendReason,
        model: this.summary(),
        dataset: { id: ds.info.id, name: ds.info.name, classNames: ds.info.classNames, kind: ds.table ? 'table' : 'image', ...(ds.info.target ? { target: ds.info.target } : {}) },
        task: this.task.id,
        trainImages: plan.train.length,
        valImages: valCount,
        validation: valCount === 0 ? 'none' : useTest ? 'test' : 'validation-split',
        epochs: settings.epochs,
        batchSize: bs,
        batchesPerEpoch: batches,
        settings,
        notes: this.notes,
      });

      this.opt?.dispose();
      const opt = createOptimizer(tf, settings);
      this.opt = opt;
      const vars = this.model.trainableWeights.map((w) => w.read() as tfjs.Variable);
      const rand = seededRandom(settings.seed);
      const order = plan.train.slice();
      const buf = this.makeBuffers(bs);
      const augment = settings.augmentFlip || settings.augmentCrop ? { flip: settings.augmentFlip, crop: settings.augmentCrop } : null;
      const isImage = this.inputShape.length === 3 && this.inputDtype === 'float32';
      let bestVal = Infinity;
      let sinceBest = 0;
      let lastEmit = 0;
      let lr = settings.learningRate;
      this.disposeHealthBatch();

      for (let epoch = 0; epoch < settings.epochs; epoch++) {
        shuffleInPlace(order, rand);
        let lossSum = 0;
        let statSums: Float64Array | null = null;
        let seen = 0;
        let epochTrainMs = 0;
        let stopped = false;
        for (let b = 0; b < batches; b++) {
          if (control.pauseRequested() && !control.stopRequested()) {
            emit({ type: 'paused', epoch: epoch + 1, batch: b });
            const p0 = performance.now();
            fast?.sync(); // a paused run's model (evaluate, export) holds the weights trained so far
            await control.waitWhilePaused();
            pausedMs += performance.now() - p0;
            emit({ type: 'resumed' });
          }
          if (control.stopRequested() && batchesDone > 0) {
            stopped = true;
            break;
          }
          const from = b * bs;
          const n = Math.min(bs, order.length - from);
          lr = learningRateAt(settings, epoch, batchesDone / totalBatches);
          opt.setLearningRate(lr);
          const s0 = performance.now();
          this.fill(ds.train, order, from, n, buf, isImage ? augment : null, rand);
          let loss: number;
          let stats: ArrayLike<number>;
          if (fast) {
            ({ loss, stats } = fast.step(buf.x as Float32Array, this.regression ? buf.t : buf.y, n, lr));
          } else {
            const { xs, ys } = this.toTensors(buf, n);
            let statsT: tfjs.Tensor | null = null;
            const lossT = opt.optimizer.minimize(
              () => {
                const raw = this.logits(xs, true);
                const l = task.loss(tf, taskPlan, raw, ys, target);
                statsT = tf.keep(task.stats(tf, taskPlan, raw, ys));
                return l;
              },
              true,
              vars,
            );
            opt.afterStep(vars);
            loss = (await lossT!.data())[0]!;
            stats = await statsT!.data();
            tf.dispose([xs, ys, lossT!, statsT!]);
          }
          const stepMs = performance.now() - s0;
          epochTrainMs += stepMs;
          trainMs += stepMs;
          batchesDone++;
          imagesTrained += n;
          if (!Number.isFinite(loss)) {
            throw new TrainingError(
              `loss became ${Number.isNaN(loss) ? 'NaN' : 'infinite'} at epoch ${epoch + 1}, batch ${b + 1} (learning rate ${lr}): training diverged; lower the learning rate`,
            );
          }
          lossSum += loss * n;
          statSums ??= new Float64Array(stats.length);
          for (let j = 0; j < stats.length; j++) statSums[j]! += stats[j]!;
          seen += n;
          const now = performance.now();
          if (b === 0 || now - lastEmit >= 250) {
            lastEmit = now;
            const elapsed = now - t0 - pausedMs;
            const m = task.metricsFrom(statSums, seen, target);
            emit({
              type: 'batch',
              epoch: epoch + 1,
              epochs: settings.epochs,
              batch: b + 1,
              batches,
              loss: lossSum / seen,
              accuracy: Trainer.accuracyOf(m),
              metrics: m,
              batchLoss: loss,
              imagesPerSecond: (seen / epochTrainMs) * 1000,
              elapsedMs: elapsed,
              etaMs: (elapsed / batchesDone) * (totalBatches - batchesDone),
              learningRate: lr,
            });
          }
          if (control.between) await control.between();
          if (control.stopRequested()) {
            stopped = true;
            break;
          }
        }
        fast?.sync();
        if (seen === 0) break;
        let valLoss: number | null = null;
        let valAccuracy: number | null = null;
        let valMetrics: Record<string, number> | null = null;
        if (valCount > 0 && !(stopped && control.quickStopRequested?.())) {
          const tv = performance.now();
          const ev = await this.evaluateIndices(useTest ? ds.test : valSplit, useTest ? range(ds.test.count) : plan.val, false);
          validationMs += performance.now() - tv;
          valLoss = ev.loss;
          valMetrics = ev.metrics;
          valAccuracy = Trainer.accuracyOf(ev.metrics);
        }
        epochsDone = stopped ? epochsDone : epoch + 1;
        // Training health on a fixed batch (not timed as training): histograms, gradient norms, dead units.
        let health: HealthSnapshot | undefined;
        if (this.health && !(stopped && control.quickStopRequested?.())) {
          this.healthBatch ??= this.inputsFor(ds.train, plan.train.slice(0, Math.min(plan.train.length, bs, HEALTH_BATCH)));
          health = await this.measureHealth(epoch + 1, this.healthBatch);
        }
        const elapsed = performance.now() - t0 - pausedMs;
        const trainMetrics = task.metricsFrom(statSums!, seen, target);
        // A language model writes a sample from a fixed prompt after every epoch: the text goes from noise to words.
        const sample = task.id === 'language-modelling' && ds.text ? await this.epochSample(ds, epoch) : undefined;
        const metrics: EpochMetrics = {
          epoch: epoch + 1,
          loss: lossSum / seen,
          accuracy: Trainer.accuracyOf(trainMetrics),
          valLoss,
          valAccuracy,
          metrics: trainMetrics,
          valMetrics,
          ...(sample ? { sample } : {}),
          learningRate: lr,
          imagesPerSecond: (seen / epochTrainMs) * 1000,
          elapsedMs: elapsed,
        };
        history.push(metrics);
        emit({
          type: 'epoch',
          ...metrics,
          epochs: settings.epochs,
          etaMs: stopped ? 0 : (elapsed / (epoch + 1)) * (settings.epochs - epoch - 1),
          numTensors: tf.memory().numTensors,
          heapUsed: heapUsedNow(),
          ...(health ? { health } : {}),
        });
        if (stopped) return result('stopped', `stopped by request after ${batchesDone} batch${batchesDone === 1 ? '' : 'es'} (epoch ${epoch + 1}); the weights are kept`);
        if (settings.earlyStoppingPatience > 0 && valLoss != null) {
          if (valLoss < bestVal - 1e-6) {
            bestVal = valLoss;
            sinceBest = 0;
          } else if (++sinceBest >= settings.earlyStoppingPatience) {
            return result('early-stopped', `validation loss did not improve for ${sinceBest} epoch${sinceBest === 1 ? '' : 's'} (best ${bestVal.toFixed(4)}); stopped after epoch ${epoch + 1}`);
          }
        }
      }
      if (control.stopRequested()) return result('stopped', `stopped by request after ${batchesDone} batches; the weights are kept`);
      return result('completed', `trained ${epochsDone} epoch${epochsDone === 1 ? '' : 's'} on ${plan.train.length} ${ds.table ? 'rows' : 'images'}`);
    } catch (error) {
      return result('error', describeError(error));
    }
  }

  /** The fixed batch of training health lives as long as the model (the tensor count stays flat after a run). */
  private disposeHealthBatch(): void {
    if (this.healthBatch) this.tf.dispose([this.healthBatch.xs, this.healthBatch.ys]);
    this.healthBatch = null;
  }

  /** Training health on one batch (insight/health.ts): the loss in inference mode, its gradients, the ReLU outputs. */
  private async measureHealth(epoch: number, batch: { xs: tfjs.Tensor; ys: tfjs.Tensor }): Promise<HealthSnapshot | undefined> {
    const { tf, task, plan, target } = this;
    this.healthProbe ??= new HealthProbe(tf, this.model);
    try {
      return await this.healthProbe.measure(epoch, batch.xs, () => task.loss(tf, plan, this.logits(batch.xs, false), batch.ys, target));
    } catch (error) {
      // Health is an extra: a model it cannot measure still trains (the reason goes to the console of the worker).
      console.error(`training health not measured at epoch ${epoch}: ${describeError(error)}`);
      return undefined;
    }
  }

  /**
   * Loss and the task's metrics over `indices` of a split, with the confusion matrix (classification)
   * and per-sample predictions when asked. Reads back asynchronously (webgpu-safe).
   */
  private async evaluateIndices(
    split: Split,
    indices: Int32Array,
    wantDetail: boolean,
  ): Promise<{ loss: number; metrics: Record<string, number>; confusion: number[][] | null; predictions?: EvaluationResult['predictions']; ms: number }> {
    const { tf, task, plan, target } = this;
    // Per-sample predictions are for classes and values; a language model's are whole vocabularies per position.
    wantDetail = wantDetail && task.id !== 'language-modelling';
    const bs = EVAL_BATCH;
    const held = this.takeBuffers(bs);
    const buf = held.buf;
    const classification = task.id === 'classification';
    const k = classification ? Math.max(target.classes, this.classes) : 0;
    const confusion = wantDetail && classification ? Array.from({ length: k }, () => new Array<number>(k).fill(0)) : null;
    const truth: number[] = [];
    const predicted: number[] = [];
    const confidence: number[] = [];
    let lossSum = 0;
    let sums: Float64Array | null = null;
    const t0 = performance.now();
    try {
      for (let from = 0; from < indices.length; from += bs) {
        const n = Math.min(bs, indices.length - from);
        this.fill(split, indices, from, n, buf, null, Math.random);
        const { xs, ys } = this.toTensors(buf, n);
        const [lossT, statsT, predT] = tf.tidy(() => {
          const raw = this.inferenceLogits(xs);
          const loss = tf.mul(task.loss(tf, plan, raw, ys, target), n);
          return [loss, task.stats(tf, plan, raw, ys), wantDetail ? task.predict(tf, plan, raw, target) : tf.zeros([0])];
        });
        lossSum += (await lossT!.data())[0]!;
        const st = await statsT!.data();
        sums ??= new Float64Array(st.length);
        for (let j = 0; j < st.length; j++) sums[j]! += st[j]!;
        if (wantDetail) {
          const p = await predT!.data();
          if (classification) {
            const width = p.length / n;
            for (let r = 0; r < n; r++) {
              let best = 0;
              for (let c = 1; c < width; c++) if (p[r * width + c]! > p[r * width + best]!) best = c;
              const t = buf.y[r]!;
              truth.push(t);
              predicted.push(best);
              confidence.push(p[r * width + best]!);
              if (confusion && t < k && best < k) confusion[t]![best]!++;
            }
          } else {
            for (let r = 0; r < n; r++) {
              truth.push(buf.t[r]! * target.std + target.mean);
              predicted.push(p[r]!);
            }
          }
        }
        tf.dispose([xs, ys, lossT!, statsT!, predT!]);
      }
    } finally {
      this.giveBackBuffers(held);
    }
    const count = indices.length;
    return {
      loss: count ? lossSum / count : NaN,
      metrics: task.metricsFrom(sums ?? [], count, target),
      confusion,
      ...(wantDetail ? { predictions: classification ? { truth, predicted, confidence } : { truth, predicted } } : {}),
      ms: performance.now() - t0,
    };
  }

  /** The fixed prompt of a corpus run's epoch samples: the first 32 tokens of its test text. */
  samplePrompt(): string {
    const ds = this.dataset;
    if (!ds?.text) return '';
    const stream = ds.test.stream ?? ds.train.stream;
    return stream ? decode(ds.text.tokenizer, Array.from(stream.subarray(0, Math.min(32, this.outShape[0]! - 1)))) : '';
  }

  private async epochSample(ds: LoadedDataset, epoch: number): Promise<{ prompt: string; text: string }> {
    const prompt = this.samplePrompt();
    const r = await generate(this.tf, this.model, ds.text!.tokenizer, prompt, { tokens: 100, temperature: 0.8, seed: this.settings.seed + epoch });
    return { prompt, text: r.text };
  }

  /** The task's metrics on a split (the test split by default): accuracy, per-class accuracy and confusion matrix for classes, R²/MAE/RMSE for regression. */
  async evaluate(split: 'train' | 'test' = 'test', limit?: number, withPredictions = false): Promise<EvaluationResult> {
    const ds = this.dataset;
    if (!ds) throw new TrainingError('no dataset loaded to evaluate on');
    const s = split === 'train' ? ds.train : ds.test;
    const n = limit && limit > 0 ? Math.min(limit, s.count) : s.count;
    const ev = await this.evaluateIndices(s, range(n), true);
    const classification = this.task.id === 'classification';
    const classNames = classification ? (ds.info.classNames.length ? ds.info.classNames : Array.from({ length: this.classes }, (_, i) => String(i))) : [];
    const confusion = ev.confusion ?? [];
    const perClassAccuracy = confusion.slice(0, classNames.length).map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total ? row[i]! / total : null;
    });
    return {
      split,
      task: this.task.id,
      count: n,
      loss: ev.loss,
      accuracy: Trainer.accuracyOf(ev.metrics),
      metrics: ev.metrics,
      classNames,
      perClassAccuracy,
      confusion: confusion.slice(0, classNames.length).map((r) => r.slice(0, classNames.length)),
      imagesPerSecond: ev.ms > 0 ? (n / ev.ms) * 1000 : 0,
      ...(withPredictions && ev.predictions ? { predictions: ev.predictions } : {}),
    };
  }

  /**
   * Predictions for `count` samples: uint8 pixels in the dataset's layout, (tables) standardised feature rows,
   * or (token models) rows of T token ids. Class probabilities per sample for classification, [value] in the
   * target's units for regression.
   */
  async predict(samples: { images?: Uint8Array; features?: Float32Array; tokens?: Int32Array; count: number }): Promise<number[][]> {
    const { tf } = this;
    const { count } = samples;
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    if (samples.tokens && this.inputDtype !== 'int32') throw new TrainingError(`predict: this model reads ${fmt(this.inputShape)} numbers, not token ids`);
    const given = samples.tokens ?? samples.features ?? samples.images;
    if (!given || given.length !== count * size) {
      throw new TrainingError(`predict: expected ${count} samples of ${size} values (${count * size} in all), got ${given?.length ?? 0}`);
    }
    const shape: readonly [number, number, number] = this.dataset?.shape ?? (this.inputShape.length === 3 ? (this.inputShape as [number, number, number]) : [1, 1, size]);
    const split: Split = samples.tokens
      ? { count, images: new Uint8Array(0), labels: new Uint8Array(count), tokens: samples.tokens }
      : samples.features
        ? { count, images: new Uint8Array(0), labels: new Uint8Array(count), features: samples.features, targets: new Float32Array(count) }
        : { count, images: samples.images!, labels: new Uint8Array(count) };
    const out: number[][] = [];
    const bs = EVAL_BATCH;
    const held = this.takeBuffers(bs);
    const buf = held.buf;
    const idx = range(count);
    try {
      for (let from = 0; from < count; from += bs) {
        const n = Math.min(bs, count - from);
        if (split.features || split.tokens) this.fill(split, idx, from, n, buf, null, Math.random);
        else fillBatch(split, shape, idx, from, n, buf.x, buf.y, null, Math.random);
        const { xs, ys } = this.toTensors(buf, n);
        const probs = tf.tidy(() => this.task.predict(tf, this.plan, this.inferenceLogits(xs), this.target));
        const data = await probs.data();
        const width = data.length / n;
        for (let k = 0; k < n; k++) out.push(Array.from(data.subarray(k * width, (k + 1) * width)));
        tf.dispose([xs, ys, probs]);
      }
    } finally {
      this.giveBackBuffers(held);
    }
    return out;
  }

  dispose(): void {
    this.disposeHealthBatch();
    this.opt?.dispose();
    this.opt = null;
    this.inference?.dispose();
    this.inference = null;
    this.model.dispose();
  }
}

/**
 * V8 heap in use, for the epoch event (leak checks). When the runtime exposes `gc` (node --expose-gc,
 * or a test's worker entry) a full collection runs first, so the figure is live memory, not garbage.
 */
function heapUsedNow(): number | undefined {
  const g = globalThis as { gc?: () => void; process?: { memoryUsage?: () => { heapUsed: number } } };
  g.gc?.();
  return g.process?.memoryUsage?.().heapUsed;
}

/** A one-line description of an error, naming its kind when tfjs or the runtime gives one. */
export function describeError(error: unknown): string {
  if (error instanceof TrainingError) return error.message;
  if (isOutOfMemory(error)) {
    const e = error as Error;
    return `out of memory (${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message || String(error)}). ${OOM_HINT}`;
  }
  if (error instanceof Error) {
    const msg = error.message || String(error);
    if (/Kernel '.*' not registered/.test(msg)) return `the backend cannot train this model: ${msg}`;
    return `${error.name && error.name !== 'Error' ? `${error.name}: ` : ''}${msg}`;
  }
  return String(error);
}
