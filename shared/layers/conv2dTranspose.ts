import { defineLayer, tfActivation } from './define';
import { activation, bool, choice, int } from './params';
import { deconvLength, expectRank } from './shapeUtils';

export const conv2dTranspose = defineLayer({
  type: 'Conv2DTranspose',
  category: 'Convolution',
  label: 'Conv 2D Transpose',
  description: 'Learned upsampling ("deconvolution"): spreads each input pixel over a window of outputs.',
  namePrefix: 'conv2d_transpose',
  params: {
    filters: int(32, { min: 1, max: 65_536, description: 'Number of output channels.' }),
    kernelSize: int(3, { min: 1, max: 255, description: 'Square kernel size.' }),
    strides: int(2, { min: 1, max: 255, description: 'Upsampling factor.' }),
    padding: choice(['valid', 'same'], 'same'),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    return [
      deconvLength(inp![0]!, p.strides, p.kernelSize, p.padding),
      deconvLength(inp![1]!, p.strides, p.kernelSize, p.padding),
      p.filters,
    ];
  },
  paramCount: ([inp], p) => p.kernelSize * p.kernelSize * inp![2]! * p.filters + (p.useBias ? p.filters : 0),
  flops: ([inp], p) => 2 * inp![0]! * inp![1]! * inp![2]! * p.kernelSize * p.kernelSize * p.filters,
  build: ({ tf }, p, name) =>
    tf.layers.conv2dTranspose({
      name,
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      activation: tfActivation(p.activation),
      useBias: p.useBias,
    }),
  summary: (p) => `${p.filters} · ${p.kernelSize}x${p.kernelSize}${p.strides > 1 ? ` ×${p.strides}` : ''} · ${p.activation}`,
});
