/**
 * Padding, cropping and upsampling along a sequence (T×F), and Cropping2D: Keras's ZeroPadding1D,
 * Cropping1D, UpSampling1D (tfjs lacks the 1-D ones: the engine registers them under Keras's class
 * names) and Cropping2D.
 */
import { defineLayer, ShapeError } from './define';
import { int } from './params';
import { expectRank, formatShape } from './shapeUtils';

/** -1 means "the same as the first side". */
const orSame = (v: number, first: number) => (v < 0 ? first : v);

export const zeroPadding1d = defineLayer({
  type: 'ZeroPadding1D',
  category: 'Reshaping',
  label: 'Zero Padding 1D',
  description: 'Adds steps of zeros at the start and end of a sequence (T×F), e.g. for a causal convolution (left padding only).',
  namePrefix: 'zero_padding1d',
  params: {
    padding: int(1, { min: 0, max: 4096, description: 'Steps added at the start.' }),
    paddingEnd: int(-1, { min: -1, max: 4096, description: 'Steps added at the end; -1 means "same as padding".' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    return [inp![0]! + p.padding + orSame(p.paddingEnd, p.padding), inp![1]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ custom }, p, name) => custom.zeroPadding1d({ name, padding: [p.padding, orSame(p.paddingEnd, p.padding)] }),
  summary: (p) => (p.paddingEnd < 0 || p.paddingEnd === p.padding ? `${p.padding}` : `${p.padding}, ${p.paddingEnd}`),
});

export const cropping1d = defineLayer({
  type: 'Cropping1D',
  category: 'Reshaping',
  label: 'Cropping 1D',
  description: 'Removes steps at the start and end of a sequence (T×F).',
  namePrefix: 'cropping1d',
  params: {
    cropping: int(1, { min: 0, max: 4096, description: 'Steps removed at the start.' }),
    croppingEnd: int(-1, { min: -1, max: 4096, description: 'Steps removed at the end; -1 means "same as cropping".' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    const left = inp![0]! - p.cropping - orSame(p.croppingEnd, p.cropping);
    if (left < 1) throw new ShapeError(`cropping ${p.cropping} + ${orSame(p.croppingEnd, p.cropping)} steps leaves nothing of the ${formatShape(inp!)} input`, 'cropping');
    return [left, inp![1]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ custom }, p, name) => custom.cropping1d({ name, cropping: [p.cropping, orSame(p.croppingEnd, p.cropping)] }),
  summary: (p) => (p.croppingEnd < 0 || p.croppingEnd === p.cropping ? `${p.cropping}` : `${p.cropping}, ${p.croppingEnd}`),
});

export const cropping2d = defineLayer({
  type: 'Cropping2D',
  category: 'Reshaping',
  label: 'Cropping 2D',
  description: 'Removes rows and columns at the borders of an image, e.g. to match the size of a skip connection.',
  namePrefix: 'cropping2d',
  params: {
    cropping: int(1, { min: 0, max: 4096, description: 'Rows removed at top and bottom.' }),
    croppingWidth: int(-1, { min: -1, max: 4096, description: 'Columns removed left and right; -1 means "same as cropping".' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    const cw = orSame(p.croppingWidth, p.cropping);
    const h = inp![0]! - 2 * p.cropping;
    const w = inp![1]! - 2 * cw;
    if (h < 1) throw new ShapeError(`cropping ${p.cropping} rows at top and bottom leaves nothing of the ${formatShape(inp!)} input`, 'cropping');
    if (w < 1) throw new ShapeError(`croppingWidth ${cw} columns left and right leaves nothing of the ${formatShape(inp!)} input`, 'croppingWidth');
    return [h, w, inp![2]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => {
    const cw = orSame(p.croppingWidth, p.cropping);
    return tf.layers.cropping2D({ name, cropping: [[p.cropping, p.cropping], [cw, cw]] });
  },
  summary: (p) => (p.croppingWidth < 0 || p.croppingWidth === p.cropping ? `${p.cropping}` : `${p.cropping}, ${p.croppingWidth}`),
});

export const upSampling1d = defineLayer({
  type: 'UpSampling1D',
  category: 'Reshaping',
  label: 'Up Sampling 1D',
  description: 'Lengthens a sequence by repeating each step: T×F becomes (T·size)×F.',
  namePrefix: 'up_sampling1d',
  params: {
    size: int(2, { min: 1, max: 64, description: 'How many times each step is repeated.' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    return [inp![0]! * p.size, inp![1]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ custom }, p, name) => custom.upSampling1d({ name, size: p.size }),
  summary: (p) => `×${p.size}`,
});
