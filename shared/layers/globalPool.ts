import { defineLayer } from './define';
import { expectRank, product } from './shapeUtils';

export const globalAvgPool2d = defineLayer({
  type: 'GlobalAvgPool2D',
  category: 'Pooling',
  label: 'Global Average Pool 2D',
  description: 'Averages each channel over the whole image: H×W×C becomes a vector of C values.',
  namePrefix: 'global_average_pooling2d',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    return [inp![2]!];
  },
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ tf }, _p, name) => tf.layers.globalAveragePooling2d({ name }),
  summary: () => '',
});

export const globalMaxPool2d = defineLayer({
  type: 'GlobalMaxPool2D',
  category: 'Pooling',
  label: 'Global Max Pool 2D',
  description: 'Keeps the largest value of each channel over the whole image: H×W×C becomes a vector of C values.',
  namePrefix: 'global_max_pooling2d',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    return [inp![2]!];
  },
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ tf }, _p, name) => tf.layers.globalMaxPooling2d({ name }),
  summary: () => '',
});

export const globalAvgPool1d = defineLayer({
  type: 'GlobalAvgPool1D',
  category: 'Pooling',
  label: 'Global Average Pool 1D',
  description: 'Averages a sequence over its steps: T×F becomes a vector of F values (e.g. before a classifier head).',
  namePrefix: 'global_average_pooling1d',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    return [inp![1]!];
  },
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ tf }, _p, name) => tf.layers.globalAveragePooling1d({ name }),
  summary: () => '',
});

export const globalMaxPool1d = defineLayer({
  type: 'GlobalMaxPool1D',
  category: 'Pooling',
  label: 'Global Max Pool 1D',
  description: 'Keeps the largest value of each feature over a sequence: T×F becomes a vector of F values.',
  namePrefix: 'global_max_pooling1d',
  params: {},
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    return [inp![1]!];
  },
  paramCount: () => 0,
  flops: ([inp]) => product(inp!),
  build: ({ tf }, _p, name) => tf.layers.globalMaxPooling1d({ name }),
  summary: () => '',
});
