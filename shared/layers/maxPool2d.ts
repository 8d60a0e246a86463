import { definePool2d } from './pool2d';

export const maxPool2d = definePool2d({
  type: 'MaxPool2D',
  label: 'Max Pool 2D',
  description: 'Keeps the largest value in each window: shrinks the image and keeps the strongest responses.',
  namePrefix: 'max_pooling2d',
  make: (tf) => tf.layers.maxPooling2d,
});
