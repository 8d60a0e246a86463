import { defineLayer, ShapeError, type Shape } from './define';
import { int } from './params';
import { formatShape, product } from './shapeUtils';

/** For element-wise merges: every input must have the first input's shape. */
export function sameShapes(inputs: readonly Shape[], what: string): Shape {
  const first = inputs[0]!;
  inputs.forEach((s, port) => {
    if (s.length !== first.length || s.some((d, i) => d !== first[i])) {
      throw new ShapeError(
        `${what} needs inputs of the same shape, but input 1 is ${formatShape(first)} and input ${port + 1} is ${formatShape(s)}`,
        undefined,
        port,
      );
    }
  });
  return first;
}

export const multiply = defineLayer({
  type: 'Multiply',
  category: 'Merge',
  label: 'Multiply',
  description: 'Multiplies its inputs element-wise (all the same shape), e.g. for gating.',
  namePrefix: 'multiply',
  params: {},
  inputs: { min: 2, max: Infinity },
  outputShape: (inputs) => sameShapes(inputs, 'Multiply'),
  paramCount: () => 0,
  flops: (inputs, _p, out) => (inputs.length - 1) * product(out),
  build: ({ tf }, _p, name) => tf.layers.multiply({ name }),
  summary: () => '',
});

export const average = defineLayer({
  type: 'Average',
  category: 'Merge',
  label: 'Average',
  description: 'Averages its inputs element-wise (all the same shape), e.g. to ensemble branches.',
  namePrefix: 'average',
  params: {},
  inputs: { min: 2, max: Infinity },
  outputShape: (inputs) => sameShapes(inputs, 'Average'),
  paramCount: () => 0,
  flops: (inputs, _p, out) => inputs.length * product(out),
  build: ({ tf }, _p, name) => tf.layers.average({ name }),
  summary: () => '',
});

/**
 * Concatenate's axis counts like Keras's: -1 is the last axis, 1 the first axis of a sample; 0 (the
 * batch axis) is not allowed.
 */
export const concatenate = defineLayer({
  type: 'Concatenate',
  category: 'Merge',
  label: 'Concatenate',
  description: 'Joins its inputs along one axis (channels by default); the other axes must match.',
  namePrefix: 'concatenate',
  params: {
    axis: int(-1, { min: -8, max: 8, description: 'Axis to join along: -1 = last, 1 = first axis of a sample (0, the batch, is not allowed).' }),
  },
  inputs: { min: 2, max: Infinity },
  checkParams: (p) => (p.axis === 0 ? [['axis', 'axis 0 is the batch axis; use -1 (last) or 1…rank']] : []),
  outputShape: (inputs, p) => {
    const first = inputs[0]!;
    const rank = first.length;
    const ax = p.axis < 0 ? rank + p.axis : p.axis - 1;
    if (ax < 0 || ax >= rank) {
      throw new ShapeError(`axis ${p.axis} is out of range for inputs of shape ${formatShape(first)} (use -${rank}…-1 or 1…${rank})`, 'axis');
    }
    let joined = 0;
    inputs.forEach((s, port) => {
      if (s.length !== rank || s.some((d, i) => i !== ax && d !== first[i])) {
        throw new ShapeError(
          `Concatenate along axis ${p.axis} needs the other axes to match, but input 1 is ${formatShape(first)} and input ${port + 1} is ${formatShape(s)}`,
          undefined,
          port,
        );
      }
      joined += s[ax]!;
    });
    return first.map((d, i) => (i === ax ? joined : d));
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.concatenate({ name, axis: p.axis }),
  summary: (p) => `axis ${p.axis}`,
});

export const subtract = defineLayer({
  type: 'Subtract',
  category: 'Merge',
  label: 'Subtract',
  description: 'Subtracts its second input from its first, element-wise (same shape), e.g. for a difference of two branches.',
  namePrefix: 'subtract',
  params: {},
  inputs: { min: 2, max: 2, names: ['a', 'b'] },
  outputShape: (inputs) => sameShapes(inputs, 'Subtract'),
  paramCount: () => 0,
  flops: (_inputs, _p, out) => product(out),
  build: ({ custom }, _p, name) => custom.subtract({ name }),
  summary: () => 'a − b',
});

export const maximum = defineLayer({
  type: 'Maximum',
  category: 'Merge',
  label: 'Maximum',
  description: 'Takes the element-wise maximum of its inputs (all the same shape).',
  namePrefix: 'maximum',
  params: {},
  inputs: { min: 2, max: Infinity },
  outputShape: (inputs) => sameShapes(inputs, 'Maximum'),
  paramCount: () => 0,
  flops: (inputs, _p, out) => (inputs.length - 1) * product(out),
  build: ({ tf }, _p, name) => tf.layers.maximum({ name }),
  summary: () => '',
});

export const minimum = defineLayer({
  type: 'Minimum',
  category: 'Merge',
  label: 'Minimum',
  description: 'Takes the element-wise minimum of its inputs (all the same shape).',
  namePrefix: 'minimum',
  params: {},
  inputs: { min: 2, max: Infinity },
  outputShape: (inputs) => sameShapes(inputs, 'Minimum'),
  paramCount: () => 0,
  flops: (inputs, _p, out) => (inputs.length - 1) * product(out),
  build: ({ tf }, _p, name) => tf.layers.minimum({ name }),
  summary: () => '',
});
