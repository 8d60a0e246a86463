import { defineLayer, ShapeError, tfActivation } from './define';
import { activation, bool, int } from './params';
import { formatShape } from './shapeUtils';

export const dense = defineLayer({
  type: 'Dense',
  category: 'Core',
  label: 'Dense',
  description: 'Fully connected layer: every output is a weighted sum of every input feature. On a sequence (T×F) it applies to each step, as Keras\'s TimeDistributed(Dense).',
  namePrefix: 'dense',
  params: {
    units: int(128, { min: 1, max: 1_000_000, description: 'Number of outputs.' }),
    activation: activation('relu'),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    if (inp!.length === 0) throw new ShapeError('expects a vector or sequence input, got a scalar');
    if (inp!.length > 2) {
      throw new ShapeError(`expects a vector (or sequence), got ${formatShape(inp!)}: add a Flatten or a global pooling layer before it`);
    }
    return [...inp!.slice(0, -1), p.units];
  },
  paramCount: ([inp], p) => inp![inp!.length - 1]! * p.units + (p.useBias ? p.units : 0),
  flops: ([inp], p) => 2 * inp!.reduce((a, b) => a * b, 1) * p.units,
  build: ({ tf }, p, name) => tf.layers.dense({ name, units: p.units, activation: tfActivation(p.activation), useBias: p.useBias }),
  summary: (p) => `${p.units} · ${p.activation}`,
});
