import { defineLayer, ShapeError } from './define';
import { intList } from './params';
import { formatList, formatShape } from './shapeUtils';

export const permute = defineLayer({
  type: 'Permute',
  category: 'Reshaping',
  label: 'Permute',
  description: 'Reorders the axes of a sample, e.g. [2, 1] swaps T×F into F×T (1-based, batch axis excluded, as in Keras).',
  namePrefix: 'permute',
  params: {
    dims: intList([2, 1], { min: 1, minLength: 1, maxLength: 8, description: 'New order of the axes, 1-based.' }),
  },
  inputs: { min: 1, max: 1 },
  checkParams: (p) => {
    const sorted = [...p.dims].sort((a, b) => a - b);
    return sorted.every((d, i) => d === i + 1)
      ? []
      : [['dims', `dims ${formatList(p.dims)} must be an ordering of 1..${p.dims.length}, each once`]];
  },
  outputShape: ([inp], p) => {
    if (p.dims.length !== inp!.length) {
      throw new ShapeError(
        `dims ${formatList(p.dims)} has ${p.dims.length} entries but the input ${formatShape(inp!)} has ${inp!.length} axes`,
        'dims',
      );
    }
    return p.dims.map((d) => inp![d - 1]!);
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.permute({ name, dims: [...p.dims] }),
  summary: (p) => formatList(p.dims),
});
