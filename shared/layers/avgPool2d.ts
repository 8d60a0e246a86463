import { defineLayer } from './define';
import { choice, int } from './params';
import { checkWindow, convOutputLength, expectRank } from './shapeUtils';

export const avgPool2d = defineLayer({
  type: 'AvgPool2D',
  category: 'Pooling',
  label: 'Average Pool 2D',
  description: 'Averages each window: shrinks the image smoothly, keeping the overall response.',
  namePrefix: 'average_pooling2d',
  params: {
    poolSize: int(2, { min: 1, max: 255 }),
    strides: int(0, { min: 0, max: 255, description: '0 means "same as poolSize".' }),
    padding: choice(['valid', 'same'], 'valid'),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    checkWindow(inp!, p.poolSize, 'poolSize', p.padding);
    const s = p.strides || p.poolSize;
    return [convOutputLength(inp![0]!, p.poolSize, p.padding, s), convOutputLength(inp![1]!, p.poolSize, p.padding, s), inp![2]!];
  },
  paramCount: () => 0,
  flops: (_i, p, out) => out[0]! * out[1]! * out[2]! * p.poolSize * p.poolSize,
  build: ({ tf }, p, name) =>
    tf.layers.averagePooling2d({ name, poolSize: p.poolSize, strides: p.strides || p.poolSize, padding: p.padding }),
  summary: (p) => `${p.poolSize}x${p.poolSize}${p.strides && p.strides !== p.poolSize ? ` /${p.strides}` : ''}`,
});
