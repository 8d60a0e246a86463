import { defineLayer, ShapeError } from './define';
import { formatShape, product } from './shapeUtils';

export const flatten = defineLayer({
  type: 'Flatten',
  category: 'Reshaping',
  label: 'Flatten',
  description: 'Unrolls every value of a sample into one long vector, e.g. before Dense layers.',
  namePrefix: 'flatten',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    if (inp!.length < 2) {
      throw new ShapeError(`expects an input with 2 or more axes (an image or a sequence), got ${inp!.length === 0 ? 'a scalar' : formatShape(inp!)}: it is already flat`);
    }
    return [product(inp!)];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, _p, name) => tf.layers.flatten({ name }),
  summary: () => '',
});
