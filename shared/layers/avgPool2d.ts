import { definePool2d } from './pool2d';

export const avgPool2d = definePool2d({
  type: 'AvgPool2D',
  label: 'Average Pool 2D',
  description: 'Averages each window: shrinks the image smoothly, keeping the overall response.',
  namePrefix: 'average_pooling2d',
  make: (tf) => tf.layers.averagePooling2d,
});
