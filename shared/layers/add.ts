import { defineLayer } from './define';
import { sameShapes } from './merge';

export const add = defineLayer({
  type: 'Add',
  category: 'Merge',
  label: 'Add',
  description: 'Adds its inputs element-wise (all the same shape): the join of a residual / skip connection.',
  namePrefix: 'add',
  params: {},
  inputs: { min: 2, max: Infinity },
  outputShape: (inputs) => sameShapes(inputs, 'Add'),
  paramCount: () => 0,
  flops: (inputs, _p, out) => (inputs.length - 1) * out.reduce((a, b) => a * b, 1),
  build: ({ tf }, _p, name) => tf.layers.add({ name }),
  summary: () => '',
});
