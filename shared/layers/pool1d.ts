import { defineLayer } from './define';
import { checkWindow1d } from './conv1d';
import { choice, int } from './params';
import { convOutputLength, expectRank } from './shapeUtils';

/** Max and average pooling along a sequence (T×F -> T'×F): the same params, shapes and FLOPs; only the tfjs factory differs. */
function definePool1d(kind: { type: string; label: string; description: string; namePrefix: string; factory: 'maxPooling1d' | 'averagePooling1d' }) {
  return defineLayer({
    type: kind.type,
    category: 'Pooling',
    label: kind.label,
    description: kind.description,
    namePrefix: kind.namePrefix,
    params: {
      poolSize: int(2, { min: 1, max: 255, description: 'Window length in steps.' }),
      strides: int(0, { min: 0, max: 255, description: '0 means "same as poolSize".' }),
      padding: choice(['valid', 'same'], 'valid'),
    },
    inputs: { min: 1, max: 1 },
    outputShape: ([inp], p) => {
      expectRank(inp!, 2, 'a sequence (T×F)');
      checkWindow1d(inp!, p.poolSize, 'poolSize', p.padding);
      return [convOutputLength(inp![0]!, p.poolSize, p.padding, p.strides || p.poolSize), inp![1]!];
    },
    paramCount: () => 0,
    flops: (_i, p, out) => out[0]! * out[1]! * p.poolSize,
    build: ({ tf }, p, name) => tf.layers[kind.factory]({ name, poolSize: p.poolSize, strides: p.strides || p.poolSize, padding: p.padding }),
    summary: (p) => `${p.poolSize}${p.strides && p.strides !== p.poolSize ? ` /${p.strides}` : ''}`,
  });
}

export const maxPool1d = definePool1d({
  type: 'MaxPool1D',
  label: 'Max Pool 1D',
  description: 'Keeps the largest value in each window of steps: shortens a sequence and keeps the strongest responses.',
  namePrefix: 'max_pooling1d',
  factory: 'maxPooling1d',
});

export const avgPool1d = definePool1d({
  type: 'AvgPool1D',
  label: 'Average Pool 1D',
  description: 'Averages each window of steps: shortens a sequence smoothly.',
  namePrefix: 'average_pooling1d',
  factory: 'averagePooling1d',
});
