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
import { compileGraph } from '../compile';
import type { LoadedDataset, Split } from '../datasets/types';
import { fillBatch, planSplit, range, seededRandom, shuffleInPlace, type SplitPlan } from './data';
import { isOutOfMemory, OOM_HINT } from './oom';
import { createOptimizer, learningRateAt, type RunOptimizer } from './optimizers';
import type {
  EndReason,
  EpochMetrics,
  EvaluationResult,
  ModelSummary,
  RunResult,
  TrainingEvent,
} from './types';

type Tf = typeof tfjs;

/** Stop / pause requests, checked between batches. */
export interface TrainControl {
  stopRequested(): boolean;
  pauseRequested(): boolean;
  /** Resolves when the run is resumed or stopped. */
  waitWhilePaused(): Promise<void>;
}

export const noControl: TrainControl = {
  stopRequested: () => false,
  pauseRequested: () => false,
  waitWhilePaused: async () => {},
};

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
  readonly notes: string[] = [];
  private readonly softmaxHolder: ActivationHolder | null;
  private readonly linear: ActivationHolder['activation'];
  private readonly softmax: ActivationHolder['activation'] | null;
  private opt: RunOptimizer | null = null;

  static fromGraph(tf: Tf, graph: Graph, settings: TrainingSettings, dataset: LoadedDataset | null, backend: string, name = 'model'): Trainer {
    const { model } = withSeededMathRandom(settings.seed, () => compileGraph(tf, graph, name));
    return new Trainer({ tf, model, settings, dataset, backend });
  }

  constructor(init: TrainerInit) {
    const { tf, model } = init;
    this.tf = tf;
    this.model = model;
    this.settings = init.settings;
    this.dataset = init.dataset;
    this.backend = init.backend;
    if (model.inputs.length !== 1) {
      throw new TrainingError(`the model has ${model.inputs.length} inputs (${model.inputNames.join(', ')}); training on an image dataset needs exactly one`);
    }
    if (model.outputs.length !== 1) {
      throw new TrainingError(`the model has ${model.outputs.length} outputs (${model.outputNames.join(', ')}); classification training needs exactly one`);
    }
    const input = model.inputs[0]!;
    this.inputShape = input.shape.slice(1) as number[];
    this.inputDtype = input.dtype === 'int32' ? 'int32' : 'float32';
    const outShape = model.outputs[0]!.shape.slice(1);
    const outLayer = model.outputLayers[0]!;
    if (outShape.length !== 1 || outShape[0] == null) {
      throw new TrainingError(`the output layer '${outLayer.name}' produces ${fmt(outShape)} per sample; classification needs a vector of class scores (add Flatten/GlobalAvgPool2D and a Dense layer)`);
    }
    this.classes = outShape[0];
    const holder = outLayer as unknown as Partial<ActivationHolder>;
    const isSoftmax = typeof holder.activation?.getClassName === 'function' && holder.activation.getClassName() === 'softmax';
    this.softmaxHolder = isSoftmax ? (holder as ActivationHolder) : null;
    this.softmax = isSoftmax ? holder.activation! : null;
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
    if (fmt(ds.shape) !== fmt(this.inputShape)) this.notes.push(`samples of ${fmt(ds.shape)} are reshaped to the model input ${fmt(this.inputShape)}`);
    const nClasses = ds.info.classNames.length;
    if (nClasses > this.classes) {
      throw new TrainingError(
        `the output layer '${this.model.outputLayers[0]!.name}' has ${this.classes} units but the dataset '${ds.info.id}' has ${nClasses} classes`,
      );
    }
    for (const split of [ds.train, ds.test]) {
      if (split.images.length !== split.count * size) {
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
      outputShape: [this.classes],
      classes: this.classes,
      loss: this.softmaxHolder ? "softmax-cross-entropy (from the softmax layer's logits)" : 'softmax-cross-entropy (output used as logits)',
    };
  }

  /** Forward pass returning logits (the softmax output layer runs as linear). */
  private logits(x: tfjs.Tensor, training: boolean): tfjs.Tensor {
    if (!this.softmaxHolder) return this.model.apply(x, { training }) as tfjs.Tensor;
    this.softmaxHolder.activation = this.linear;
    try {
      return this.model.apply(x, { training }) as tfjs.Tensor;
    } finally {
      this.softmaxHolder.activation = this.softmax!;
    }
  }

  private makeBuffers(n: number): { x: Float32Array | Int32Array; y: Int32Array } {
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    return { x: this.inputDtype === 'int32' ? new Int32Array(n * size) : new Float32Array(n * size), y: new Int32Array(n) };
  }

  private toTensors(x: Float32Array | Int32Array, y: Int32Array, n: number): { xs: tfjs.Tensor; ys: tfjs.Tensor1D } {
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    const xs = this.tf.tensor(x.subarray(0, n * size), [n, ...this.inputShape], this.inputDtype);
    const ys = this.tf.tensor1d(y.subarray(0, n), 'int32');
    return { xs, ys };
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
      emit({
        type: 'started',
        runId,
        backend: this.backend,
        backendReason,
        model: this.summary(),
        dataset: { id: ds.info.id, name: ds.info.name, classNames: ds.info.classNames },
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

      for (let epoch = 0; epoch < settings.epochs; epoch++) {
        shuffleInPlace(order, rand);
        let lossSum = 0;
        let correctSum = 0;
        let seen = 0;
        let epochTrainMs = 0;
        let stopped = false;
        for (let b = 0; b < batches; b++) {
          if (control.pauseRequested() && !control.stopRequested()) {
            emit({ type: 'paused', epoch: epoch + 1, batch: b });
            const p0 = performance.now();
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
          fillBatch(ds.train, ds.shape, order, from, n, buf.x, buf.y, isImage ? augment : null, rand);
          const { xs, ys } = this.toTensors(buf.x, buf.y, n);
          let correctT: tfjs.Tensor | null = null;
          const lossT = opt.optimizer.minimize(
            () => {
              const logits = this.logits(xs, true);
              const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, this.classes), logits) as tfjs.Scalar;
              correctT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), ys), 'int32')));
              return loss;
            },
            true,
            vars,
          );
          opt.afterStep(vars);
          const loss = (await lossT!.data())[0]!;
          const correct = (await correctT!.data())[0]!;
          tf.dispose([xs, ys, lossT!, correctT!]);
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
          correctSum += correct;
          seen += n;
          const now = performance.now();
          if (b === 0 || now - lastEmit >= 250) {
            lastEmit = now;
            const elapsed = now - t0 - pausedMs;
            emit({
              type: 'batch',
              epoch: epoch + 1,
              epochs: settings.epochs,
              batch: b + 1,
              batches,
              loss: lossSum / seen,
              accuracy: correctSum / seen,
              batchLoss: loss,
              imagesPerSecond: (seen / epochTrainMs) * 1000,
              elapsedMs: elapsed,
              etaMs: (elapsed / batchesDone) * (totalBatches - batchesDone),
              learningRate: lr,
            });
          }
          if (control.stopRequested()) {
            stopped = true;
            break;
          }
        }
        if (seen === 0) break;
        let valLoss: number | null = null;
        let valAccuracy: number | null = null;
        if (valCount > 0) {
          const ev = this.evaluateIndices(useTest ? ds.test : valSplit, useTest ? range(ds.test.count) : plan.val, false);
          valLoss = ev.loss;
          valAccuracy = ev.accuracy;
        }
        epochsDone = stopped ? epochsDone : epoch + 1;
        const elapsed = performance.now() - t0 - pausedMs;
        const metrics: EpochMetrics = {
          epoch: epoch + 1,
          loss: lossSum / seen,
          accuracy: correctSum / seen,
          valLoss,
          valAccuracy,
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
      return result('completed', `trained ${epochsDone} epoch${epochsDone === 1 ? '' : 's'} on ${plan.train.length} images`);
    } catch (error) {
      return result('error', describeError(error));
    }
  }

  private evaluateIndices(split: Split, indices: Int32Array, wantConfusion: boolean): { loss: number; accuracy: number; confusion: number[][] | null; ms: number } {
    const { tf } = this;
    const ds = this.dataset!;
    const bs = 256;
    const buf = this.makeBuffers(bs);
    const confusion = wantConfusion ? Array.from({ length: this.classes }, () => new Array<number>(this.classes).fill(0)) : null;
    let lossSum = 0;
    let correct = 0;
    const t0 = performance.now();
    for (let from = 0; from < indices.length; from += bs) {
      const n = Math.min(bs, indices.length - from);
      fillBatch(split, ds.shape, indices, from, n, buf.x, buf.y, null, Math.random);
      const { xs, ys } = this.toTensors(buf.x, buf.y, n);
      const [lossT, predT] = tf.tidy(() => {
        const logits = this.logits(xs, false);
        const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, this.classes), logits, undefined, undefined, tf.Reduction.SUM);
        return [loss, tf.argMax(logits, -1)];
      });
      lossSum += lossT!.dataSync()[0]!;
      const pred = predT!.dataSync();
      for (let k = 0; k < n; k++) {
        const p = pred[k]!;
        const t = buf.y[k]!;
        if (p === t) correct++;
        if (confusion && t < this.classes) confusion[t]![p]!++;
      }
      tf.dispose([xs, ys, lossT!, predT!]);
    }
    const count = indices.length;
    return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN, confusion, ms: performance.now() - t0 };
  }

  /** Accuracy, per-class accuracy and confusion matrix on a split (the test split by default). */
  evaluate(split: 'train' | 'test' = 'test', limit?: number): EvaluationResult {
    const ds = this.dataset;
    if (!ds) throw new TrainingError('no dataset loaded to evaluate on');
    const s = split === 'train' ? ds.train : ds.test;
    const n = limit && limit > 0 ? Math.min(limit, s.count) : s.count;
    const ev = this.evaluateIndices(s, range(n), true);
    const confusion = ev.confusion!;
    const classNames = ds.info.classNames.length ? ds.info.classNames : Array.from({ length: this.classes }, (_, i) => String(i));
    const perClassAccuracy = confusion.slice(0, classNames.length).map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total ? row[i]! / total : null;
    });
    return {
      split,
      count: n,
      loss: ev.loss,
      accuracy: ev.accuracy,
      classNames,
      perClassAccuracy,
      confusion: confusion.slice(0, classNames.length).map((r) => r.slice(0, classNames.length)),
      imagesPerSecond: ev.ms > 0 ? (n / ev.ms) * 1000 : 0,
    };
  }

  /** Class probabilities for `count` samples of uint8 pixels in the dataset's layout. */
  predict(images: Uint8Array, count: number): number[][] {
    const { tf } = this;
    const size = this.inputShape.reduce((a, b) => a * b, 1);
    if (images.length !== count * size) {
      throw new TrainingError(`predict: expected ${count} samples of ${size} values (${count * size} bytes), got ${images.length} bytes`);
    }
    const shape: readonly [number, number, number] = this.dataset?.shape ?? (this.inputShape.length === 3 ? (this.inputShape as [number, number, number]) : [1, 1, size]);
    const split: Split = { count, images, labels: new Uint8Array(count) };
    const out: number[][] = [];
    const bs = 256;
    const buf = this.makeBuffers(bs);
    const idx = range(count);
    for (let from = 0; from < count; from += bs) {
      const n = Math.min(bs, count - from);
      fillBatch(split, shape, idx, from, n, buf.x, buf.y, null, Math.random);
      const { xs, ys } = this.toTensors(buf.x, buf.y, n);
      const probs = tf.tidy(() => tf.softmax(this.logits(xs, false)));
      const data = probs.dataSync();
      for (let k = 0; k < n; k++) out.push(Array.from(data.subarray(k * this.classes, (k + 1) * this.classes)));
      tf.dispose([xs, ys, probs]);
    }
    return out;
  }

  dispose(): void {
    this.opt?.dispose();
    this.opt = null;
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
