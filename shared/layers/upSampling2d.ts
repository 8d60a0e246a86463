import { defineLayer } from './define';
import { choice, int } from './params';
import { expectRank, product } from './shapeUtils';

export const upSampling2d = defineLayer({
  type: 'UpSampling2D',
  category: 'Reshaping',
  label: 'Up Sampling 2D',
  description: 'Enlarges an image by repeating (or interpolating) pixels: H×W×C becomes (H·size)×(W·size)×C.',
  namePrefix: 'up_sampling2d',
  params: {
    size: int(2, { min: 1, max: 64, description: 'Scale factor for height and width.' }),
    interpolation: choice(['nearest', 'bilinear'], 'nearest'),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    return [inp![0]! * p.size, inp![1]! * p.size, inp![2]!];
  },
  paramCount: () => 0,
  flops: (_i, p, out) => (p.interpolation === 'bilinear' ? 4 : 0) * product(out),
  build: ({ tf }, p, name) => tf.layers.upSampling2d({ name, size: [p.size, p.size], interpolation: p.interpolation }),
  summary: (p) => `×${p.size} · ${p.interpolation}`,
});
