import { defineLayer, tfActivation } from './define';
import { activation, bool, choice, int } from './params';
import { checkWindow, convOutputLength, expectRank } from './shapeUtils';

export const depthwiseConv2d = defineLayer({
  type: 'DepthwiseConv2D',
  category: 'Convolution',
  label: 'Depthwise Conv 2D',
  description: 'Filters each channel on its own (no mixing across channels): cheap spatial filtering, as in MobileNet.',
  namePrefix: 'depthwise_conv2d',
  params: {
    kernelSize: int(3, { min: 1, max: 255, description: 'Square kernel size.' }),
    strides: int(1, { min: 1, max: 255 }),
    padding: choice(['valid', 'same'], 'same'),
    depthMultiplier: int(1, { min: 1, max: 256, description: 'Output channels per input channel.' }),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    checkWindow(inp!, p.kernelSize, 'kernelSize', p.padding);
    return [
      convOutputLength(inp![0]!, p.kernelSize, p.padding, p.strides),
      convOutputLength(inp![1]!, p.kernelSize, p.padding, p.strides),
      inp![2]! * p.depthMultiplier,
    ];
  },
  paramCount: ([inp], p) => p.kernelSize * p.kernelSize * inp![2]! * p.depthMultiplier + (p.useBias ? inp![2]! * p.depthMultiplier : 0),
  flops: (_i, p, out) => 2 * out[0]! * out[1]! * out[2]! * p.kernelSize * p.kernelSize,
  build: ({ tf }, p, name) =>
    tf.layers.depthwiseConv2d({
      name,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      depthMultiplier: p.depthMultiplier,
      activation: tfActivation(p.activation),
      useBias: p.useBias,
    }),
  summary: (p) => `${p.kernelSize}x${p.kernelSize}${p.strides > 1 ? ` /${p.strides}` : ''}${p.depthMultiplier > 1 ? ` ×${p.depthMultiplier}` : ''} · ${p.activation}`,
});
