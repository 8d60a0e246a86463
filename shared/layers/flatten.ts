import { defineLayer } from './define';
import { product } from './shapeUtils';

export const flatten = defineLayer({
  type: 'Flatten',
  category: 'Reshaping',
  label: 'Flatten',
  description: 'Unrolls every value of a sample into one long vector, e.g. before Dense layers.',
  namePrefix: 'flatten',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => [product(inp!)],
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, _p, name) => tf.layers.flatten({ name }),
  summary: () => '',
});
