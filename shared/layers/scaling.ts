/** Fixed (not trained) affine maps of the input: Keras's Rescaling and Normalization. */
import { defineLayer, ShapeError } from './define';
import { float } from './params';
import { lastDim, product } from './shapeUtils';

export const rescaling = defineLayer({
  type: 'Rescaling',
  category: 'Normalization',
  label: 'Rescaling',
  description: 'Multiplies every value by a fixed scale and adds an offset, e.g. scale 1/255 for pixels, or 1/127.5 with offset −1 for [−1, 1].',
  namePrefix: 'rescaling',
  params: {
    scale: float(1 / 255, { min: -1e6, max: 1e6, description: 'Factor every value is multiplied by.' }),
    offset: float(0, { min: -1e6, max: 1e6, description: 'Added after scaling.' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: ([inp]) => 2 * product(inp!),
  build: ({ tf }, p, name) => tf.layers.rescaling({ name, scale: p.scale, offset: p.offset }),
  summary: (p) => `×${Number(p.scale.toPrecision(4))}${p.offset ? ` ${p.offset > 0 ? '+' : '−'} ${Math.abs(p.offset)}` : ''}`,
});

export const normalization = defineLayer({
  type: 'Normalization',
  category: 'Normalization',
  label: 'Normalization',
  description: 'Standardises each channel (last axis) with a fixed mean and variance: (x − mean) / √variance. Not trained.',
  namePrefix: 'normalization',
  params: {
    mean: float(0, { min: -1e9, max: 1e9, description: 'Starting mean of every channel (an imported model brings one per channel).' }),
    variance: float(1, { min: 0, max: 1e12, exclusiveMin: true, description: 'Starting variance of every channel (an imported model brings one per channel).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    if (inp!.length === 0) throw new ShapeError('expects at least one dimension, got a scalar');
    return inp!;
  },
  // mean and variance per channel: weights, but not trainable
  paramCount: ([inp]) => 2 * lastDim(inp!),
  flops: ([inp]) => 2 * product(inp!),
  build: ({ custom }, p, name) => custom.normalization({ name, mean: p.mean, variance: p.variance }),
  summary: (p) => (p.mean === 0 && p.variance === 1 ? '' : `μ ${p.mean} · σ² ${p.variance}`),
});
