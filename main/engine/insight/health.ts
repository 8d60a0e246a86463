/**
 * Training health, measured at the end of every epoch on one fixed batch (outside the timed training steps):
 * per layer with weights, a histogram of its weights and of their gradients, the L2 norms of both, and for
 * ReLU layers (a ReLU activation, or conv/dense → [BatchNorm →] ReLU) the fraction of units that output 0 for
 * every sample of the batch. Plain-words warnings name vanishing and exploding gradients and dead units.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { HISTOGRAM_BINS, type HealthWarningKind, type Histogram } from '../../../shared/api/insight';

type Tf = typeof tfjs;
type Layer = tfjs.layers.Layer;

/** One layer's figures for one epoch (layer names; the service maps them to node ids). */
export interface LayerHealthSample {
  layerName: string;
  /** The tfjs class (Conv2D, Dense, BatchNormalization, …). */
  className: string;
  weights: Histogram;
  gradients?: Histogram;
  weightNorm: number;
  /** Absent when the gradients were not finite (see the warnings). */
  gradNorm?: number;
  deadFraction?: number;
}

export interface HealthWarningSample {
  layerName: string;
  kind: HealthWarningKind;
  message: string;
}

/** What the trainer sends with an epoch. */
export interface HealthSnapshot {
  epoch: number;
  /** Samples in the batch the gradients and dead units were measured on. */
  batch: number;
  layers: LayerHealthSample[];
  warnings: HealthWarningSample[];
  /** Time the measurement took. */
  ms: number;
}

/** Thresholds of the warnings. */
export const VANISHING_RATIO = 1e-7;
export const VANISHING_SPREAD = 1e4;
export const EXPLODING_NORM = 1e3;
export const DEAD_FRACTION = 0.5;

/** A histogram of the finite values of several arrays over `bins` equal bins from their min to their max. */
export function histogram(arrays: ArrayLike<number>[], bins = HISTOGRAM_BINS): Histogram {
  let min = Infinity;
  let max = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (v < min && v > -Infinity) min = v;
      if (v > max && v < Infinity) max = v;
    }
  }
  const counts = new Array<number>(bins).fill(0);
  if (!(min <= max)) return { min: 0, max: 0, counts };
  const width = (max - min) / bins;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (!Number.isFinite(v)) continue;
      counts[width > 0 ? Math.min(bins - 1, Math.floor((v - min) / width)) : 0]!++;
    }
  }
  return { min, max, counts };
}

function sumSquares(arrays: ArrayLike<number>[]): number {
  let s = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

function activationOf(layer: Layer): string {
  const c = layer.getConfig() as { activation?: unknown };
  return typeof c.activation === 'string' ? c.activation : '';
}

const isRelu = (l: Layer) => l.getClassName() === 'ReLU' || (l.getClassName() === 'Activation' && activationOf(l) === 'relu');

/** The single layer that reads `layer`'s output, if there is exactly one. */
function soleConsumer(layer: Layer): Layer | null {
  const outs = layer.outboundNodes;
  return outs.length === 1 ? (outs[0]!.outboundLayer as Layer) : null;
}

/** The ReLU output that tells whether a weight layer's units are dead: its own (relu activation), or a ReLU after it (through one BatchNorm). */
export function reluOutputOf(layer: Layer): tfjs.SymbolicTensor | null {
  if (activationOf(layer) === 'relu') return layer.output as tfjs.SymbolicTensor;
  let next = soleConsumer(layer);
  if (next && next.getClassName() === 'BatchNormalization' && layer.getClassName() !== 'BatchNormalization') next = soleConsumer(next);
  return next && isRelu(next) ? (next.output as tfjs.SymbolicTensor) : null;
}

function fmtNorm(v: number): string {
  return v === 0 ? '0' : v < 1e-3 || v >= 1e4 ? v.toExponential(1) : v.toPrecision(3);
}

/** The warnings of one epoch's figures, in plain words. */
export function healthWarnings(layers: LayerHealthSample[], nonFinite: ReadonlySet<string> = new Set()): HealthWarningSample[] {
  const out: HealthWarningSample[] = [];
  const norms = layers.map((l) => l.gradNorm).filter((g): g is number => g !== undefined && Number.isFinite(g));
  const largest = norms.length ? Math.max(...norms) : 0;
  const top = layers.find((l) => l.gradNorm === largest);
  for (const l of layers) {
    const g = l.gradNorm;
    if (nonFinite.has(l.layerName)) {
      out.push({ layerName: l.layerName, kind: 'exploding-gradients', message: `${l.layerName}: its gradients are not finite (NaN or infinity): training has diverged; lower the learning rate` });
    } else if (g !== undefined && g > EXPLODING_NORM) {
      out.push({ layerName: l.layerName, kind: 'exploding-gradients', message: `${l.layerName}: its gradients are exploding (norm ${fmtNorm(g)}, over ${EXPLODING_NORM}): lower the learning rate, or add BatchNormalization` });
    } else if (g !== undefined && l.weightNorm > 0 && g / l.weightNorm < VANISHING_RATIO) {
      out.push({ layerName: l.layerName, kind: 'vanishing-gradients', message: `${l.layerName}: its gradients are vanishing (norm ${fmtNorm(g)} against weights of norm ${fmtNorm(l.weightNorm)}): it has almost stopped learning; try ReLU activations, BatchNormalization or a skip connection` });
    } else if (g !== undefined && largest > 0 && g * VANISHING_SPREAD < largest && top && top !== l) {
      out.push({ layerName: l.layerName, kind: 'vanishing-gradients', message: `${l.layerName}: its gradients are vanishing (norm ${fmtNorm(g)}, over ${fmtNorm(VANISHING_SPREAD)} times smaller than ${top.layerName}'s ${fmtNorm(largest)}): it learns far more slowly than the rest; try ReLU activations, BatchNormalization or a skip connection` });
    }
    if (l.deadFraction !== undefined && l.deadFraction > DEAD_FRACTION) {
      out.push({ layerName: l.layerName, kind: 'dead-units', message: `${l.layerName}: ${Math.round(l.deadFraction * 100)}% of its units output 0 for every sample (dead ReLUs): lower the learning rate or use LeakyReLU` });
    }
  }
  return out;
}

/**
 * Measures a model's health on one batch. The sub-model of the ReLU outputs is built once; `loss` computes the
 * training loss of the batch (inference mode: no dropout, BatchNorm statistics unchanged).
 */
export class HealthProbe {
  private relu: { model: tfjs.LayersModel | null; owners: { layer: Layer; index: number }[] } | null = null;

  constructor(
    private readonly tf: Tf,
    private readonly model: tfjs.LayersModel,
  ) {}

  private weightLayers(): Layer[] {
    return this.model.layers.filter((l) => l.trainableWeights.length > 0);
  }

  private reluModel() {
    if (!this.relu) {
      const owners: { layer: Layer; index: number }[] = [];
      const outputs: tfjs.SymbolicTensor[] = [];
      for (const layer of this.weightLayers()) {
        const out = reluOutputOf(layer);
        if (!out) continue;
        let index = outputs.indexOf(out);
        if (index < 0) index = outputs.push(out) - 1;
        owners.push({ layer, index });
      }
      this.relu = { model: outputs.length ? this.tf.model({ inputs: this.model.inputs, outputs, name: `${this.model.name}_health_relu` }) : null, owners };
    }
    return this.relu;
  }

  async measure(epoch: number, xs: tfjs.Tensor, loss: () => tfjs.Scalar): Promise<HealthSnapshot> {
    const { tf } = this;
    const t0 = performance.now();
    const layers = this.weightLayers();
    const vars = layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tfjs.Variable));
    const { value, grads } = tf.variableGrads(loss, vars);
    // Dead units: per ReLU output, the units (last axis) whose largest output over the batch (and positions) is 0.
    const relu = this.reluModel();
    const deadT: tfjs.Tensor[] = [];
    if (relu.model) {
      const outs = relu.model.predict(xs);
      const list = Array.isArray(outs) ? outs : [outs];
      for (const o of list) deadT.push(tf.tidy(() => tf.mean(tf.cast(tf.lessEqual(tf.max(tf.reshape(o, [-1, o.shape.at(-1)!]), 0), 0), 'float32'))));
      tf.dispose(list);
    }
    try {
      const dead = await Promise.all(deadT.map(async (t) => (await t.data())[0]!));
      const samples: LayerHealthSample[] = [];
      const nonFinite = new Set<string>();
      for (const layer of layers) {
        const ws = await Promise.all(layer.trainableWeights.map((w) => w.read().data() as Promise<Float32Array>));
        const gs = await Promise.all(layer.trainableWeights.map((w) => grads[(w.read() as tfjs.Variable).name]?.data() as Promise<Float32Array> | undefined).filter((p): p is Promise<Float32Array> => !!p));
        const g2 = sumSquares(gs);
        const owner = relu.owners.find((o) => o.layer === layer);
        if (!Number.isFinite(g2)) nonFinite.add(layer.name);
        samples.push({
          layerName: layer.name,
          className: layer.getClassName(),
          weights: histogram(ws),
          ...(gs.length ? { gradients: histogram(gs) } : {}),
          weightNorm: Math.sqrt(sumSquares(ws)),
          ...(gs.length && Number.isFinite(g2) ? { gradNorm: Math.sqrt(g2) } : {}),
          ...(owner ? { deadFraction: dead[owner.index]! } : {}),
        });
      }
      return { epoch, batch: xs.shape[0] ?? 0, layers: samples, warnings: healthWarnings(samples, nonFinite), ms: performance.now() - t0 };
    } finally {
      tf.dispose([value, ...Object.values(grads), ...deadT]);
    }
  }
}
