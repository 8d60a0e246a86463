import type * as tfjs from '@tensorflow/tfjs';
import type { CustomLayerFactories, Tf } from '../../../../shared/layers';
import { defineCustomLayerClasses, type CustomLayerClasses } from './classes';
import { defineConv1dClass, type Conv1DArgs } from './causalConv1d';
import { defineGruClass, type GRUArgs } from './gru';
import { defineKerasClasses, type KerasClasses } from './kerasLayers';
import { defineLstmClass } from './lstm';

export type { CustomLayerClasses, MultiHeadAttentionArgs, PositionalEmbeddingArgs } from './classes';

const cache = new WeakMap<object, CustomLayerClasses>();
const kerasCache = new WeakMap<object, KerasClasses>();
const gruCache = new WeakMap<object, new (args: GRUArgs) => tfjs.layers.Layer>();
const conv1dCache = new WeakMap<object, new (args: Conv1DArgs) => tfjs.layers.Layer>();
const lstmCache = new WeakMap<object, ReturnType<typeof defineLstmClass>>();

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
    gruCache.set(tf, defineGruClass(tf));
    conv1dCache.set(tf, defineConv1dClass(tf));
    lstmCache.set(tf, defineLstmClass(tf));
    cache.set(tf, classes);
  }
  return classes;
}

/** Factories the registry's build() uses through ctx.custom (registers the classes as a side effect). */
export function customLayerFactories(tf: Tf): CustomLayerFactories {
  const c = registerCustomLayers(tf);
  const k = kerasCache.get(tf)!;
  const GRU = gruCache.get(tf)!;
  const Conv1D = conv1dCache.get(tf)!;
  const LSTM = lstmCache.get(tf)!;
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
    gru: (config) => new GRU(config),
    lstm: (config) => new LSTM(config),
    conv1d: (config) => new Conv1D(config),
    multiHeadAttention: (config) => new c.MultiHeadAttention(config),
    positionalEmbedding: (config) => new c.PositionalEmbedding(config),
    layerNormalization: (config) => new c.LayerNormalization({ ...config, axis: -1 }),
    batchNormalization: (config) => new c.BatchNormalization({ ...config, axis: -1 }),
  };
}

/** A GRU (or a Bidirectional around one) with Keras's resetAfter, which plain tfjs's GRUCell refuses. */
function resetAfterGru(cls: string, c: Record<string, unknown>): boolean {
  if (cls === 'GRU') return c.resetAfter === true;
  const inner = cls === 'Bidirectional' ? (c.layer as { className?: unknown; config?: Record<string, unknown> } | undefined) : undefined;
  return inner?.className === 'GRU' && inner.config?.resetAfter === true;
}

/** The recurrent activation of an LSTM / GRU (or a Bidirectional around one) config. */
function recurrentActivationOf(cls: string, c: Record<string, unknown>): unknown {
  if (cls === 'LSTM' || cls === 'GRU') return c.recurrentActivation;
  const inner = cls === 'Bidirectional' ? (c.layer as { config?: Record<string, unknown> } | undefined) : undefined;
  return inner?.config?.recurrentActivation;
}

/** Our own tfjs classes: a plain TensorFlow.js cannot load a model.json that uses them until they are registered. */
const OWN_CLASSES = new Set(['MultiHeadAttention', 'PositionalEmbedding', 'ZeroPadding1D', 'Cropping1D', 'UpSampling1D', 'SpatialDropout2D', 'Subtract', 'Normalization']);

/**
 * The layers of a model that plain TensorFlow.js (without registerCustomLayers) would refuse to load or
 * would compute differently, each as "name (why)": our own classes, the 'hardSwish' activation, the
 * 'hardSigmoidKeras3' gate activation of LSTM / GRU, and the
 * Keras options we add to tfjs's ReLU (negativeSlope, threshold: silently ignored), ELU (alpha: refused),
 * Softmax (an axis but the last: fails when run), GRU (resetAfter: refused) and Conv1D (padding 'causal':
 * fails when run). Empty when the model is plain tfjs.
 */
export function needsOurClasses(model: { layers: readonly { name: string; getClassName(): string; getConfig(): object }[] }): string[] {
  const out: string[] = [];
  for (const l of model.layers) {
    const cls = l.getClassName();
    const c = l.getConfig() as Record<string, unknown>;
    if (OWN_CLASSES.has(cls)) out.push(`${l.name} (${cls})`);
    else if (c.activation === 'hardSwish') out.push(`${l.name} (activation hardSwish)`);
    else if (cls === 'ReLU' && (Number(c.negativeSlope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0)) out.push(`${l.name} (ReLU with negativeSlope / threshold)`);
    else if (cls === 'ELU' && Number(c.alpha ?? 1) !== 1) out.push(`${l.name} (ELU with alpha ${String(c.alpha)})`);
    else if (cls === 'Softmax' && c.axis !== -1 && c.axis !== undefined) out.push(`${l.name} (Softmax on axis ${String(c.axis)})`);
    else if (recurrentActivationOf(cls, c) === 'hardSigmoidKeras3') out.push(`${l.name} (recurrentActivation hardSigmoidKeras3)`);
    else if (resetAfterGru(cls, c)) out.push(`${l.name} (GRU with resetAfter)`);
    else if (cls === 'Conv1D' && c.padding === 'causal') out.push(`${l.name} (Conv1D with padding causal)`);
  }
  return out;
}
