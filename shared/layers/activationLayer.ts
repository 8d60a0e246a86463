import { defineLayer, tfActivation } from './define';
import { activation } from './params';
import { product } from './shapeUtils';

export const activationLayer = defineLayer({
  type: 'Activation',
  category: 'Activation',
  label: 'Activation',
  description: 'Applies an activation function (relu, softmax, …) to every value.',
  namePrefix: 'activation',
  params: {
    activation: activation('relu'),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: ([inp], p) => (p.activation === 'linear' ? 0 : product(inp!)),
  build: ({ tf }, p, name) => tf.layers.activation({ name, activation: tfActivation(p.activation) }),
  summary: (p) => p.activation,
});
