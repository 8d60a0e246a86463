/**
 * Attention maps of a text model: for a text, the weights softmax(QK^T/√keyDim + causal mask) of every
 * MultiHeadAttention layer, per head, over the text's real tokens. The model reads the text as in prediction
 * (its first T tokens, padded with PAD at the end); a sub-model up to the attention layers' inputs gives
 * what each layer read, and the weights are computed from the layer's own kernels with tf ops (the layer class
 * in compile/custom is not asked for them). Reads are async only.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { AttentionLayerMap, AttentionMap } from '../../../shared/api/engine';
import { DEFAULT_ATTENTION_TOKENS } from '../../../shared/api/engine';
import type { Graph } from '../../../shared/graph';
import { encode, PAD_ID, tokenString, type Tokenizer } from '../../../shared/text';

export interface AttentionOptions {
  /** Keep at most this many tokens of the text (default 128; never more than the model's T). */
  maxTokens?: number;
  /** The model's graph (its project's), to name each layer's node id. */
  graph?: Graph;
}

/** Why attention maps cannot be made (the service turns these into 'bad-request' reasons). */
export type AttentionProblem = 'not-a-text-model' | 'no-attention' | 'empty-text';

export class AttentionError extends Error {
  constructor(
    readonly reason: AttentionProblem,
    message: string,
  ) {
    super(message);
  }
}

const VISIBLE: Record<string, string> = { ' ': '␣', '\n': '⏎', '\r': '␍', '\t': '⇥' };

/** A token's text with whitespace and control characters made visible: '␣' space, '⏎' line break, '⇥' tab, ␀…␟ others. */
export function visibleToken(text: string): string {
  let out = '';
  for (const c of text.replace(/\r\n/g, '\n')) {
    const code = c.codePointAt(0)!;
    out += VISIBLE[c] ?? (code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '␡' : c);
  }
  return out;
}

/** The MultiHeadAttention layers of a model, in its order. */
export function attentionLayers(model: tfjs.LayersModel): tfjs.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'MultiHeadAttention');
}

interface MhaConfig {
  numHeads: number;
  keyDim: number;
  causal: boolean;
  useBias: boolean;
}

function configOf(layer: tfjs.layers.Layer): MhaConfig {
  const c = layer.getConfig() as Partial<MhaConfig>;
  const numHeads = Number(c.numHeads);
  const keyDim = Number(c.keyDim);
  if (!(numHeads >= 1) || !(keyDim >= 1)) throw new Error(`attention layer '${layer.name}' has no numHeads/keyDim in its config`);
  return { numHeads, keyDim, causal: c.causal === true, useBias: c.useBias !== false };
}

/** A layer's weight by its Keras name ('query/kernel', …), whatever prefix or uniqueness suffix tfjs gave it. */
function weightOf(layer: tfjs.layers.Layer, key: string): tfjs.Tensor {
  const w = layer.weights.find((v) => {
    const parts = (v.originalName ?? v.name).split('/');
    return `${parts.at(-2)}/${parts.at(-1)!.replace(/_\d+$/, '')}` === key;
  });
  if (!w) throw new Error(`attention layer '${layer.name}' has no weight '${key}'`);
  return w.read();
}

/** The symbolic tensors a layer reads (its first call in the model). */
function inboundTensors(layer: tfjs.layers.Layer): tfjs.SymbolicTensor[] {
  const node = layer.inboundNodes[0];
  if (!node) throw new Error(`attention layer '${layer.name}' is not connected in the model`);
  return node.inputTensors;
}

// One sub-model per model (from its input to every attention layer's inputs), built once.
const subModels = new WeakMap<tfjs.LayersModel, { model: tfjs.LayersModel; outputs: tfjs.SymbolicTensor[] }>();

function subModel(tf: typeof tfjs, model: tfjs.LayersModel, layers: tfjs.layers.Layer[]): { model: tfjs.LayersModel; outputs: tfjs.SymbolicTensor[] } {
  let sub = subModels.get(model);
  if (!sub) {
    const outputs = [...new Set(layers.flatMap(inboundTensors))];
    sub = { model: tf.model({ inputs: model.inputs, outputs, name: `${model.name}_attention_inputs` }), outputs };
    subModels.set(model, sub);
  }
  return sub;
}

/** [1, T, D] -> [heads, T, dim] through kernel [D, heads, dim] (+ bias [heads, dim]). */
function project(tf: typeof tfjs, x: tfjs.Tensor, layer: tfjs.layers.Layer, name: string, cfg: MhaConfig): tfjs.Tensor {
  const kernel = weightOf(layer, `${name}/kernel`);
  const [din, heads, dim] = kernel.shape as [number, number, number];
  const t = x.shape[1]!;
  let y = tf.matMul(tf.reshape(x, [t, din]), tf.reshape(kernel, [din, heads * dim]));
  if (cfg.useBias) y = tf.add(y, tf.reshape(weightOf(layer, `${name}/bias`), [heads * dim]));
  return tf.transpose(tf.reshape(y, [t, heads, dim]), [1, 0, 2]);
}

/** The weights [heads, Tq, Tk] of one attention layer for its inputs (query, and key/value when it has two). */
export function attentionWeights(tf: typeof tfjs, layer: tfjs.layers.Layer, query: tfjs.Tensor, keyValue: tfjs.Tensor = query): tfjs.Tensor3D {
  const cfg = configOf(layer);
  return tf.tidy(() => {
    const q = project(tf, query, layer, 'query', cfg);
    const k = project(tf, keyValue, layer, 'key', cfg);
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(cfg.keyDim));
    if (cfg.causal) {
      const allowed = tf.linalg.bandPart(tf.ones([query.shape[1]!, keyValue.shape[1]!]), -1, 0);
      scores = tf.add(scores, tf.mul(tf.sub(1, allowed), -1e9));
    }
    return tf.softmax(scores, -1) as tfjs.Tensor3D;
  });
}

/**
 * Every attention layer's weights for `text`, read by `model` (one input of T token ids) with `tokenizer`.
 * Throws AttentionError when the model does not read tokens, has no attention layer, or the text has no token.
 */
export async function attentionMaps(tf: typeof tfjs, model: tfjs.LayersModel, tokenizer: Tokenizer, text: string, opts: AttentionOptions = {}): Promise<AttentionMap> {
  const shape = model.inputs[0]?.shape ?? [];
  const T = shape[1];
  if (model.inputs.length !== 1 || shape.length !== 2 || typeof T !== 'number' || model.inputs[0]!.dtype !== 'int32') {
    throw new AttentionError('not-a-text-model', `attention maps need a model that reads one sequence of token ids; this one reads ${model.inputs.map((i) => `${i.shape.slice(1).join('×')} ${i.dtype}`).join(', ')}`);
  }
  const layers = attentionLayers(model);
  if (layers.length === 0) throw new AttentionError('no-attention', `the model '${model.name}' has no attention layer (MultiHeadAttention): there are no attention weights to show`);
  const all = encode(tokenizer, text);
  const n = Math.min(all.length, T, Math.max(1, Math.floor(opts.maxTokens ?? DEFAULT_ATTENTION_TOKENS)));
  if (all.length === 0) throw new AttentionError('empty-text', 'the text has no tokens: type some text to see what the model attends to');
  const ids = all.slice(0, n);
  const window = new Int32Array(T);
  window.set(ids);
  for (let i = n; i < T; i++) window[i] = PAD_ID;

  const sub = subModel(tf, model, layers);
  const input = tf.tensor2d(window, [1, T], 'int32');
  const outs = sub.model.predict(input);
  const list = Array.isArray(outs) ? outs : [outs];
  const nodeIdOf = new Map((opts.graph?.nodes ?? []).map((node) => [node.name, node.id]));
  const result: AttentionLayerMap[] = [];
  try {
    for (const layer of layers) {
      const ins = inboundTensors(layer).map((s) => list[sub.outputs.indexOf(s)]!);
      const q = ins[0]!;
      const kv = ins[1] ?? q;
      if (q.shape[1] !== T || kv.shape[1] !== T) continue; // reads another sequence than the tokens (none of our templates)
      const cfg = configOf(layer);
      const [weights, padding] = tf.tidy(() => {
        const w = attentionWeights(tf, layer, q, kv);
        const real = tf.slice(w, [0, 0, 0], [-1, n, n]);
        const pad = n < T ? tf.sum(tf.slice(w, [0, 0, n], [-1, n, -1]), -1) : tf.zeros([cfg.numHeads, n]);
        return [real, pad];
      });
      try {
        const [wv, pv] = await Promise.all([weights.array(), padding.array()]);
        const nodeId = nodeIdOf.get(layer.name);
        result.push({ name: layer.name, ...(nodeId ? { nodeId } : {}), heads: cfg.numHeads, keyDim: cfg.keyDim, causal: cfg.causal, weights: wv as number[][][], paddingWeight: pv as number[][] });
      } finally {
        tf.dispose([weights, padding]);
      }
    }
  } finally {
    tf.dispose([input, ...list]);
  }
  return { tokens: ids.map((id) => visibleToken(tokenString(tokenizer, id))), ids, textTokens: all.length, truncated: all.length > n, seqLen: T, layers: result };
}
