/**
 * Activation layers with their own params (Keras's ReLU, LeakyReLU, PReLU, ELU, Softmax): what real
 * models use as separate layers (MobileNet's ReLU(max_value=6), GANs' LeakyReLU, …). Keras's semantics
 * and config names, so imported models map onto them one to one.
 */
import { defineLayer, ShapeError, type Shape } from './define';
import { float, int, intList } from './params';
import { formatList, formatShape, product } from './shapeUtils';

/** Keras's ReLU: max_value (0 here = none), negative_slope, threshold. */
export const reluLayer = defineLayer({
  type: 'ReLU',
  category: 'Activation',
  label: 'ReLU',
  description: 'Rectified linear unit with Keras\'s options: a cap (maxValue 6 = ReLU6), a slope below the threshold, a threshold.',
  namePrefix: 're_lu',
  params: {
    maxValue: float(0, { min: 0, max: 1e6, description: 'Largest output value; 0 means no cap (6 makes ReLU6).' }),
    negativeSlope: float(0, { min: 0, max: 1000, description: 'Slope below the threshold (0: those values become 0).' }),
    threshold: float(0, { min: 0, max: 1e6, description: 'Values at or below it become negativeSlope · (x − threshold).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ custom }, p, name) => custom.relu({ name, maxValue: p.maxValue > 0 ? p.maxValue : null, negativeSlope: p.negativeSlope, threshold: p.threshold }),
  summary: (p) =>
    [p.maxValue > 0 ? `max ${p.maxValue}` : '', p.negativeSlope > 0 ? `slope ${p.negativeSlope}` : '', p.threshold > 0 ? `≥ ${p.threshold}` : ''].filter(Boolean).join(' · '),
});

export const leakyRelu = defineLayer({
  type: 'LeakyReLU',
  category: 'Activation',
  label: 'Leaky ReLU',
  description: 'Like ReLU, but negative values are scaled by a small slope (alpha) instead of zeroed.',
  namePrefix: 'leaky_re_lu',
  params: {
    alpha: float(0.3, { min: 0, max: 1000, description: 'Slope for negative values (Keras 3 calls it negative_slope).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ tf }, p, name) => tf.layers.leakyReLU({ name, alpha: p.alpha }),
  summary: (p) => `α ${p.alpha}`,
});

/** The PReLU alpha shape: the input's, with 1 on each shared axis (1-based sample axes, as Keras counts them). */
export function preluAlphaShape(inp: Shape, sharedAxes: readonly number[]): number[] {
  const seen = new Set<number>();
  for (const a of sharedAxes) {
    if (a > inp.length) {
      throw new ShapeError(`sharedAxes ${formatList(sharedAxes)} names axis ${a}, but the input ${formatShape(inp)} has ${inp.length} (axes 1…${inp.length})`, 'sharedAxes');
    }
    if (seen.has(a)) throw new ShapeError(`sharedAxes ${formatList(sharedAxes)} names axis ${a} twice`, 'sharedAxes');
    seen.add(a);
  }
  return inp.map((d, i) => (seen.has(i + 1) ? 1 : d));
}

export const prelu = defineLayer({
  type: 'PReLU',
  category: 'Activation',
  label: 'PReLU',
  description: 'Leaky ReLU whose negative slope is learned, one per value or shared along axes (sharedAxes [1, 2]: one per channel).',
  namePrefix: 'p_re_lu',
  params: {
    sharedAxes: intList([], {
      min: 1,
      maxLength: 4,
      description: 'Axes (1 = first axis of a sample) that share one slope; empty: a slope per value. [1, 2] on an image: one per channel.',
    }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    if (inp!.length === 0) throw new ShapeError('expects at least one dimension, got a scalar');
    preluAlphaShape(inp!, p.sharedAxes);
    return inp!;
  },
  paramCount: ([inp], p) => product(preluAlphaShape(inp!, p.sharedAxes)),
  flops: ([inp]) => 2 * product(inp!),
  build: ({ tf }, p, name) => tf.layers.prelu({ name, ...(p.sharedAxes.length ? { sharedAxes: [...p.sharedAxes] } : {}) }),
  summary: (p) => (p.sharedAxes.length ? `shared ${formatList(p.sharedAxes)}` : ''),
});

export const eluLayer = defineLayer({
  type: 'ELU',
  category: 'Activation',
  label: 'ELU',
  description: 'Exponential linear unit: x above 0, alpha · (eˣ − 1) below, a smooth ReLU whose negative side saturates at −alpha.',
  namePrefix: 'elu',
  params: {
    alpha: float(1, { min: 0, max: 1000, description: 'Scale of the negative side (it tends to −alpha).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: ([inp]) => 2 * product(inp!),
  build: ({ custom }, p, name) => custom.elu({ name, alpha: p.alpha }),
  summary: (p) => `α ${p.alpha}`,
});

/** Keras axis (−1 = last, 1 = first axis of a sample, 0 = the batch: refused) -> index into the sample shape, or a ShapeError naming `field`. */
export function sampleAxis(axis: number, shape: Shape, field = 'axis'): number {
  const rank = shape.length;
  const ax = axis < 0 ? rank + axis : axis - 1;
  if (axis === 0 || ax < 0 || ax >= rank) {
    throw new ShapeError(`${field} ${axis} is out of range for an input of shape ${formatShape(shape)} (use -${rank}…-1 or 1…${rank})`, field);
  }
  return ax;
}

export const softmaxLayer = defineLayer({
  type: 'Softmax',
  category: 'Activation',
  label: 'Softmax',
  description: 'Turns scores into probabilities along one axis (the last by default): each slice is positive and sums to 1.',
  namePrefix: 'softmax',
  params: {
    axis: int(-1, { min: -8, max: 8, description: 'Axis the probabilities sum over: -1 = last, 1 = first axis of a sample (0, the batch, is not allowed).' }),
  },
  inputs: { min: 1, max: 1 },
  checkParams: (p) => (p.axis === 0 ? [['axis', 'axis 0 is the batch axis; use -1 (last) or 1…rank']] : []),
  outputShape: ([inp], p) => {
    sampleAxis(p.axis, inp!);
    return inp!;
  },
  paramCount: () => 0,
  flops: ([inp]) => 3 * product(inp!),
  build: ({ custom }, p, name) => custom.softmax({ name, axis: p.axis }),
  summary: (p) => (p.axis === -1 ? '' : `axis ${p.axis}`),
});
