import { defineLayer, tfActivation } from './define';
import { activation, bool, choice, int } from './params';
import { checkWindow, convOutputLength, expectRank } from './shapeUtils';

export const conv2d = defineLayer({
  type: 'Conv2D',
  category: 'Convolution',
  label: 'Conv 2D',
  description: 'Slides learned filters over an image: finds local patterns such as edges and textures.',
  namePrefix: 'conv2d',
  params: {
    filters: int(32, { min: 1, max: 65_536, description: 'Number of output channels.' }),
    kernelSize: int(3, { min: 1, max: 255, description: 'Square kernel size.' }),
    strides: int(1, { min: 1, max: 255 }),
    padding: choice(['valid', 'same'], 'valid'),
    dilation: int(1, { min: 1, max: 64, label: 'dilationRate' }),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    checkWindow(inp!, p.kernelSize, 'kernelSize', p.padding, p.dilation);
    const [h, w] = inp!;
    return [
      convOutputLength(h!, p.kernelSize, p.padding, p.strides, p.dilation),
      convOutputLength(w!, p.kernelSize, p.padding, p.strides, p.dilation),
      p.filters,
    ];
  },
  checkParams: (p) => (p.dilation > 1 && p.strides > 1 ? [['dilation', 'dilation > 1 cannot be combined with strides > 1']] : []),
  paramCount: ([inp], p) => p.kernelSize * p.kernelSize * inp![2]! * p.filters + (p.useBias ? p.filters : 0),
  flops: ([inp], p, out) => 2 * out[0]! * out[1]! * p.filters * p.kernelSize * p.kernelSize * inp![2]!,
  build: ({ tf }, p, name) =>
    tf.layers.conv2d({
      name,
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      dilationRate: p.dilation,
      activation: tfActivation(p.activation),
      useBias: p.useBias,
    }),
  summary: (p) => `${p.filters} · ${p.kernelSize}x${p.kernelSize}${p.strides > 1 ? ` /${p.strides}` : ''} · ${p.activation}`,
});
