import type { CustomLayerFactories, Tf } from '../../../../shared/layers';
import { defineCustomLayerClasses, type CustomLayerClasses } from './classes';
import { defineKerasClasses, type KerasClasses } from './kerasLayers';

export type { CustomLayerClasses, MultiHeadAttentionArgs, PositionalEmbeddingArgs } from './classes';

const cache = new WeakMap<object, CustomLayerClasses>();
const kerasCache = new WeakMap<object, KerasClasses>();

/**
 * Our own tfjs layer classes (MultiHeadAttention, PositionalEmbedding), defined on this tf instance and
 * registered with its serialization, so tf.loadLayersModel can read models that use them. Call this
 * before loading such a model; idempotent per tf instance.
 */
export function registerCustomLayers(tf: Tf): CustomLayerClasses {
  let classes = cache.get(tf);
  if (!classes) {
    classes = defineCustomLayerClasses(tf);
    kerasCache.set(tf, defineKerasClasses(tf));
    cache.set(tf, classes);
  }
  return classes;
}

/** Factories the registry's build() uses through ctx.custom (registers the classes as a side effect). */
export function customLayerFactories(tf: Tf): CustomLayerFactories {
  const c = registerCustomLayers(tf);
  const k = kerasCache.get(tf)!;
  return {
    relu: (config) => new k.ReLU(config),
    elu: (config) => new k.ELU(config),
    softmax: (config) => new k.Softmax(config),
    zeroPadding1d: (config) => new k.ZeroPadding1D(config),
    cropping1d: (config) => new k.Cropping1D(config),
    upSampling1d: (config) => new k.UpSampling1D(config),
    separableConv2d: (config) => new k.SeparableConv2D(config),
    spatialDropout2d: (config) => new k.SpatialDropout2D(config),
    subtract: (config) => new k.Subtract(config),
    normalization: (config) => new k.Normalization(config),
    multiHeadAttention: (config) => new c.MultiHeadAttention(config),
    positionalEmbedding: (config) => new c.PositionalEmbedding(config),
    layerNormalization: (config) => new c.LayerNormalization({ ...config, axis: -1 }),
  };
}
