import { defineLayer, ShapeError } from './define';
import { bool, float } from './params';
import { lastDim, product } from './shapeUtils';

export const batchNormalization = defineLayer({
  type: 'BatchNormalization',
  category: 'Normalization',
  label: 'Batch Normalization',
  description: 'Normalises each channel with batch statistics (moving averages at inference), then scales and shifts it.',
  namePrefix: 'batch_normalization',
  params: {
    momentum: float(0.99, { min: 0, max: 1, description: 'Moving-average momentum of the statistics.' }),
    epsilon: float(0.001, { min: 0, max: 1, exclusiveMin: true }),
    center: bool(true, { description: 'Learn a shift (beta).' }),
    scale: bool(true, { description: 'Learn a scale (gamma).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    if (inp!.length === 0) throw new ShapeError('expects at least one dimension, got a scalar');
    return inp!;
  },
  // gamma, beta (trainable) + moving mean and variance (not trainable, still counted by countParams()).
  paramCount: ([inp], p) => lastDim(inp!) * (2 + (p.center ? 1 : 0) + (p.scale ? 1 : 0)),
  flops: ([inp]) => 2 * product(inp!),
  build: ({ custom }, p, name) => custom.batchNormalization({ name, momentum: p.momentum, epsilon: p.epsilon, center: p.center, scale: p.scale }),
  summary: () => '',
});

export const layerNormalization = defineLayer({
  type: 'LayerNormalization',
  category: 'Normalization',
  label: 'Layer Normalization',
  description: 'Normalises each sample over its last (feature) axis, then scales and shifts it: the Transformer norm.',
  namePrefix: 'layer_normalization',
  params: {
    epsilon: float(0.001, { min: 0, max: 1, exclusiveMin: true }),
    center: bool(true, { description: 'Learn a shift (beta).' }),
    scale: bool(true, { description: 'Learn a scale (gamma).' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    if (inp!.length === 0) throw new ShapeError('expects at least one dimension, got a scalar');
    return inp!;
  },
  paramCount: ([inp], p) => lastDim(inp!) * ((p.center ? 1 : 0) + (p.scale ? 1 : 0)),
  flops: ([inp]) => 5 * product(inp!),
  build: ({ custom }, p, name) => custom.layerNormalization({ name, epsilon: p.epsilon, center: p.center, scale: p.scale }),
  summary: () => '',
});
