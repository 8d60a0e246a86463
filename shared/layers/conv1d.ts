import { defineLayer, ShapeError, tfActivation, type Shape } from './define';
import { activation, bool, choice, int } from './params';
import { convOutputLength, expectRank, type Padding } from './shapeUtils';

/** Checks a 1-D window (kernel or pool) against a T×F sequence for 'valid' padding: "kernelSize 7 is larger than its 5-step input". */
export function checkWindow1d(input: Shape, size: number, field: string, padding: Padding, dilation = 1): void {
  const dilated = size + (size - 1) * (dilation - 1);
  if (padding === 'valid' && dilated > input[0]!) {
    throw new ShapeError(`${field} ${size}${dilation > 1 ? ` (dilated to ${dilated})` : ''} is larger than its ${input[0]}-step input`, field);
  }
}

export const conv1d = defineLayer({
  type: 'Conv1D',
  category: 'Convolution',
  label: 'Conv 1D',
  description: 'Slides learned filters along a sequence (T×F): finds local patterns in time series, audio or text embeddings.',
  namePrefix: 'conv1d',
  params: {
    filters: int(32, { min: 1, max: 65_536, description: 'Number of output channels.' }),
    kernelSize: int(3, { min: 1, max: 255, description: 'Window length in steps.' }),
    strides: int(1, { min: 1, max: 255 }),
    padding: choice(['valid', 'same', 'causal'], 'valid', {
      description: "'same' keeps the length (at stride 1); 'causal' too, padding only the start with (kernelSize − 1) · dilationRate zero steps, so step t sees only steps up to t (WaveNet, TCNs).",
    }),
    dilation: int(1, { min: 1, max: 64, label: 'dilationRate' }),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    // causal: (kernelSize − 1) · dilation zero steps before the start, then 'valid': the length of 'same'
    const padding = p.padding === 'causal' ? 'same' : p.padding;
    checkWindow1d(inp!, p.kernelSize, 'kernelSize', padding, p.dilation);
    return [convOutputLength(inp![0]!, p.kernelSize, padding, p.strides, p.dilation), p.filters];
  },
  checkParams: (p) => (p.dilation > 1 && p.strides > 1 ? [['dilation', 'dilation > 1 cannot be combined with strides > 1']] : []),
  paramCount: ([inp], p) => p.kernelSize * inp![1]! * p.filters + (p.useBias ? p.filters : 0),
  flops: ([inp], p, out) => 2 * out[0]! * p.filters * p.kernelSize * inp![1]!,
  build: ({ tf, custom }, p, name) =>
    (p.padding === 'causal' ? custom.conv1d : tf.layers.conv1d)({
      name,
      filters: p.filters,
      kernelSize: p.kernelSize,
      strides: p.strides,
      padding: p.padding,
      dilationRate: p.dilation,
      activation: tfActivation(p.activation),
      useBias: p.useBias,
    }),
  summary: (p) => `${p.filters} · ${p.kernelSize}${p.strides > 1 ? ` /${p.strides}` : ''}${p.dilation > 1 ? ` d${p.dilation}` : ''}${p.padding === 'causal' ? ' · causal' : ''} · ${p.activation}`,
});
