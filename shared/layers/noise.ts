/**
 * Regularization layers that act only while training and are the identity at inference (so every
 * exporter writes them as the identity, or as a module that is one in eval mode): Keras's
 * SpatialDropout1D/2D, GaussianNoise, GaussianDropout.
 */
import { defineLayer } from './define';
import { float } from './params';
import { expectRank } from './shapeUtils';

const rate = (what: string) => float(0.5, { min: 0, max: 0.99, description: what });

export const spatialDropout1d = defineLayer({
  type: 'SpatialDropout1D',
  category: 'Regularization',
  label: 'Spatial Dropout 1D',
  description: 'While training, drops whole feature channels of a sequence (T×F) at once: dropout for correlated steps.',
  namePrefix: 'spatial_dropout1d',
  params: { rate: rate('Fraction of channels dropped while training.') },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 2, 'a sequence (T×F)');
    return inp!;
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.spatialDropout1d({ name, rate: p.rate }),
  summary: (p) => `${p.rate}`,
});

export const spatialDropout2d = defineLayer({
  type: 'SpatialDropout2D',
  category: 'Regularization',
  label: 'Spatial Dropout 2D',
  description: 'While training, drops whole channels (feature maps) of an image at once: dropout for convolutional features.',
  namePrefix: 'spatial_dropout2d',
  params: { rate: rate('Fraction of channels dropped while training.') },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => {
    expectRank(inp!, 3, 'an image (H×W×C)');
    return inp!;
  },
  paramCount: () => 0,
  flops: () => 0,
  build: ({ custom }, p, name) => custom.spatialDropout2d({ name, rate: p.rate }),
  summary: (p) => `${p.rate}`,
});

export const gaussianNoise = defineLayer({
  type: 'GaussianNoise',
  category: 'Regularization',
  label: 'Gaussian Noise',
  description: 'While training, adds zero-mean Gaussian noise to every value: a regularizer and a cheap data augmentation.',
  namePrefix: 'gaussian_noise',
  params: { stddev: float(0.1, { min: 0, max: 100, description: 'Standard deviation of the noise added while training.' }) },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.gaussianNoise({ name, stddev: p.stddev }),
  summary: (p) => `σ ${p.stddev}`,
});

export const gaussianDropout = defineLayer({
  type: 'GaussianDropout',
  category: 'Regularization',
  label: 'Gaussian Dropout',
  description: 'While training, multiplies every value by Gaussian noise of mean 1 (variance rate / (1 − rate)).',
  namePrefix: 'gaussian_dropout',
  params: { rate: rate('Drop probability the noise stands for: its variance is rate / (1 − rate).') },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp]) => inp!,
  paramCount: () => 0,
  flops: () => 0,
  build: ({ tf }, p, name) => tf.layers.gaussianDropout({ name, rate: p.rate }),
  summary: (p) => `${p.rate}`,
});
