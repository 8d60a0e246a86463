/**
 * The layer registry: every layer type, one file each. Everything else (palette, inspector, shape
 * inference, engine, exporters) asks this registry instead of switching on type names.
 * Adding a layer = one file + one line here.
 */
import type { AnyLayerDef } from './define';
import { input } from './input';
import { conv2d } from './conv2d';
import { maxPool2d } from './maxPool2d';
import { flatten } from './flatten';
import { dense } from './dense';
import { add } from './add';
import { conv2dTranspose } from './conv2dTranspose';
import { depthwiseConv2d } from './depthwiseConv2d';
import { avgPool2d } from './avgPool2d';
import { globalAvgPool2d, globalMaxPool2d, globalAvgPool1d, globalMaxPool1d } from './globalPool';
import { upSampling2d } from './upSampling2d';
import { zeroPadding2d } from './zeroPadding2d';
import { dropout } from './dropout';
import { batchNormalization, layerNormalization } from './normalization';
import { activationLayer } from './activationLayer';
import { conv1d } from './conv1d';
import { avgPool1d, maxPool1d } from './pool1d';
import { separableConv2d } from './separableConv2d';
import { cropping1d, cropping2d, upSampling1d, zeroPadding1d } from './reshaping1d';
import { eluLayer, leakyRelu, prelu, reluLayer, softmaxLayer } from './activationLayers';
import { reshape } from './reshape';
import { permute } from './permute';
import { simpleRnn, lstm, gru } from './recurrent';
import { embedding } from './embedding';
import { multiHeadAttention, positionalEmbedding } from './attention';
import { concatenate, multiply, average, subtract, maximum, minimum } from './merge';
import { dot } from './dot';
import { gaussianDropout, gaussianNoise, spatialDropout1d, spatialDropout2d } from './noise';
import { normalization, rescaling } from './scaling';
import { repeatVector } from './repeatVector';

export const LAYERS: readonly AnyLayerDef[] = [
  input,
  conv2d,
  conv2dTranspose,
  depthwiseConv2d,
  separableConv2d,
  conv1d,
  maxPool2d,
  avgPool2d,
  maxPool1d,
  avgPool1d,
  globalAvgPool2d,
  globalMaxPool2d,
  globalAvgPool1d,
  globalMaxPool1d,
  flatten,
  dense,
  activationLayer,
  reluLayer,
  leakyRelu,
  prelu,
  eluLayer,
  softmaxLayer,
  dropout,
  spatialDropout1d,
  spatialDropout2d,
  gaussianNoise,
  gaussianDropout,
  batchNormalization,
  layerNormalization,
  rescaling,
  normalization,
  reshape,
  permute,
  upSampling2d,
  zeroPadding2d,
  cropping2d,
  upSampling1d,
  zeroPadding1d,
  cropping1d,
  repeatVector,
  simpleRnn,
  lstm,
  gru,
  embedding,
  positionalEmbedding,
  multiHeadAttention,
  add,
  concatenate,
  multiply,
  average,
  subtract,
  maximum,
  minimum,
  dot,
];

const byType = new Map(LAYERS.map((l) => [l.type, l]));

export function getLayer(type: string): AnyLayerDef | undefined {
  return byType.get(type);
}

export function layerTypes(): string[] {
  return LAYERS.map((l) => l.type);
}

/** Default param values of a layer type. */
export function defaultParams(def: AnyLayerDef): Record<string, import('./params').ParamValue> {
  return Object.fromEntries(Object.entries(def.params).map(([k, spec]) => [k, structuredClone(spec.default)]));
}

export * from './define';
export * from './params';
