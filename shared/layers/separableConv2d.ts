import { defineLayer, tfActivation } from './define';
import { activation, bool, choice, int } from './params';
import { checkWindow, convOutputLength, expectRank } from './shapeUtils';

export const separableConv2d = defineLayer({
  type: 'SeparableConv2D',
  category: 'Convolution',
  label: 'Separable Conv 2D',
  description: 'A depthwise convolution (each channel filtered on its own) then a 1×1 convolution mixing channels: far fewer weights than Conv 2D (Xception).',
  namePrefix: 'separable_conv2d',
  params: {
    filters: int(32, { min: 1, max: 65_536, description: 'Number of output channels (of the 1×1 step).' }),
    kernelSize: int(3, { min: 1, max: 255, description: 'Square kernel size of the depthwise step.' }),
    strides: int(1, { min: 1, max: 255 }),
    padding: choice(['valid', 'same'], 'valid'),
    dilation: int(1, { min: 1, max: 64, label: 'dilationRate' }),
    depthMultiplier: int(1, { min: 1, max: 256, description: 'Depthwise output channels per input channel.' }),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    checkWindow(inp!, p.kernelSize, 'kernelSize', p.padding, p.dilation);
    return [
      convOutputLength(inp![0]!, p.kernelSize, p.padding, p.strides, p.dilation),
      convOutputLength(inp![1]!, p.kernelSize, p.padding, p.strides, p.dilation),
      p.filters,
    ];
  },
  checkParams: (p) => (p.dilation > 1 && p.strides > 1 ? [['dilation', 'dilation > 1 cannot be combined with strides > 1']] : []),
  // depthwise kernel [k, k, C, m] + pointwise kernel [1, 1, C·m, filters] + bias [filters]
  paramCount: ([inp], p) => p.kernelSize * p.kernelSize * inp![2]! * p.depthMultiplier + inp![2]! * p.depthMultiplier * p.filters + (p.useBias ? p.filters : 0),
  flops: ([inp], p, out) => 2 * out[0]! * out[1]! * inp![2]! * p.depthMultiplier * (p.kernelSize * p.kernelSize + p.filters),
  build: ({ custom }, p, name) =>
    custom.separableConv2d({
      name,
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      dilationRate: p.dilation,
      depthMultiplier: p.depthMultiplier,
      activation: tfActivation(p.activation),
      useBias: p.useBias,
    }),
  summary: (p) => `${p.filters} · ${p.kernelSize}x${p.kernelSize}${p.strides > 1 ? ` /${p.strides}` : ''}${p.depthMultiplier > 1 ? ` ×${p.depthMultiplier}` : ''} · ${p.activation}`,
});
