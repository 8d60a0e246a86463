import { defineLayer } from './define';
import { int } from './params';
import { expectRank } from './shapeUtils';

export const repeatVector = defineLayer({
  type: 'RepeatVector',
  category: 'Reshaping',
  label: 'Repeat Vector',
  description: 'Repeats a vector n times into a sequence (F → n×F), e.g. to feed an encoding to a recurrent decoder.',
  namePrefix: 'repeat_vector',
  params: { n: int(4, { min: 1, max: 65_536, description: 'Number of steps of the output sequence.' }) },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 1, 'a vector (F)');
    return [p.n, inp![0]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.repeatVector({ name, n: p.n }),
  summary: (p) => `×${p.n}`,
});
