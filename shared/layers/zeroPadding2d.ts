import { defineLayer } from './define';
import { int } from './params';
import { expectRank } from './shapeUtils';

export const zeroPadding2d = defineLayer({
  type: 'ZeroPadding2D',
  category: 'Reshaping',
  label: 'Zero Padding 2D',
  description: 'Adds rows and columns of zeros around an image, e.g. to keep the size through a "valid" convolution.',
  namePrefix: 'zero_padding2d',
  params: {
    padding: int(1, { min: 0, max: 1024, description: 'Rows added at top and bottom.' }),
    paddingWidth: int(-1, { min: -1, max: 1024, description: 'Columns added left and right; -1 means "same as padding".' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    const pw = p.paddingWidth < 0 ? p.padding : p.paddingWidth;
    return [inp![0]! + 2 * p.padding, inp![1]! + 2 * pw, inp![2]!];
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => {
    const pw = p.paddingWidth < 0 ? p.padding : p.paddingWidth;
    return tf.layers.zeroPadding2d({ name, padding: [p.padding, pw] });
  },
  summary: (p) => (p.paddingWidth < 0 || p.paddingWidth === p.padding ? `${p.padding}` : `${p.padding}, ${p.paddingWidth}`),
});
