import { defineLayer } from './define';
import { float } from './params';

export const dropout = defineLayer({
  type: 'Dropout',
  category: 'Regularization',
  label: 'Dropout',
  description: 'While training, zeroes a random fraction of values (and rescales the rest) to curb overfitting.',
  namePrefix: 'dropout',
  params: {
    rate: float(0.5, { min: 0, max: 0.99, description: 'Fraction of values dropped while training.' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.dropout({ name, rate: p.rate }),
  summary: (p) => `${p.rate}`,
});
