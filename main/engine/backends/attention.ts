/**
 * Scaled dot-product attention of MultiHeadAttention as one op with its own gradient:
 * O = dropout(softmax(scale·Q·Kᵀ + causal mask))·V per (batch, head), on the layer's [batch, T, heads·d]
 * projections as they are (no reshapes or transposes between heads), Q, K and V either three tensors or
 * column ranges of one packed [batch, T, heads·(2·dk + dv)] tensor (self-attention: one projection
 * product for all three).
 *
 * The layer did this as three transposes, QKᵀ (BatchMatMul), attentionSoftmax, dropout (randomUniform,
 * Add, Floor, RealDiv, Multiply), P·V, a transpose back, and the gradient of each: ~25 kernels per layer
 * per step. On wasm with our module (native/attention.c: attn_forward, attn_backward) each direction is
 * one call over the (batch, head) pairs, split over two threads. The softmax's weights P are saved for
 * the backward pass (as the unfused path saved them too). Dropout's mask is a hash of a per-call seed
 * and each weight's index, computed in both kernels (no randomUniform in JavaScript: ~0.7 ms per
 * [32, 2, 32, 32] step, and nothing stored); with noise: 'tensor' it draws tfjs's randomUniform and keeps
 * exactly what tf.dropout keeps (fl(u + keep) >= 1, scaled by 1/keep). LAYERFORGE_FUSED_ATTENTION=0
 * turns the op off (the layer's tfjs ops).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernelHere, registerNativeKernel } from './native/heap';

export const ATTENTION_KERNEL = 'LayerforgeAttention';
export const ATTENTION_GRAD_KERNEL = 'LayerforgeAttentionGrad';

/** A float32's bits as an int32 (our kernels take integer arguments only). */
function floatBits(x: number): number {
  return new Int32Array(new Float32Array([x]).buffer)[0]!;
}

interface Attrs {
  heads: number;
  keyDim: number;
  valueDim: number;
  scale: number;
  causal: boolean;
  /** Keep probability of the weights' dropout (1: none). */
  keep: number;
  /** The hashed dropout's seed (int32; without a noise tensor u). */
  seed: number;
  /** Q, K and V are column ranges [0, H·dk), [H·dk, 2·H·dk), [2·H·dk, …) of one tensor (input q). */
  packed: boolean;
}

/** Geometry shared by both kernels: row strides and column offsets (floats) of q, k, v. */
function layout(q: tfjs.TensorInfo, k: tfjs.TensorInfo | undefined, v: tfjs.TensorInfo | undefined, a: Attrs) {
  const [batch, tq, qs] = q.shape as [number, number, number];
  const hk = a.heads * a.keyDim;
  if (a.packed) return { batch, tq, tk: tq, qs, ks: qs, vs: qs, kOff: hk, vOff: 2 * hk };
  return { batch, tq, tk: k!.shape[1]!, qs, ks: k!.shape[2]!, vs: v!.shape[2]!, kOff: 0, vOff: 0 };
}

/** Below this many multiply-adds per call the second thread's hand-off costs more than it saves. */
const SPLIT_WORK = 1 << 16;

export function registerAttentionKernels(tf: Tf): void {
  registerNativeKernel(tf, { name: ATTENTION_KERNEL, inputs: ['q'], optional: ['k', 'v', 'u'] }, ({ native, inputs, attrs, at, output, scratch }) => {
    const a = attrs as unknown as Attrs;
    const { q, u } = inputs;
    const k = a.packed ? q : inputs.k!, v = a.packed ? q : inputs.v!;
    const g = layout(q, k, v, a);
    const pairs = g.batch * a.heads;
    const tk8 = (g.tk + 7) & ~7;
    const per = a.keyDim * tk8 + g.tq * tk8 + g.tk * a.valueDim;
    const o = output([g.batch, g.tq, a.heads * a.valueDim]);
    const p = output([g.batch, a.heads, g.tq, g.tk]);
    const helper = native.helper?.ready && pairs > 1 && pairs * g.tq * g.tk * (a.keyDim + a.valueDim) >= SPLIT_WORK ? native.helper : null;
    const work = scratch(helper ? 2 * per : per);
    const args = (s: number) => [at(q), at(k) + 4 * g.kOff, at(v) + 4 * g.vOff, at(o), at(p), u ? at(u) : 0, s, a.heads, g.tq, g.tk, a.keyDim, a.valueDim, g.qs, g.ks, g.vs, a.heads * a.valueDim, floatBits(a.scale), a.causal ? 1 : 0, floatBits(a.keep), a.seed | 0];
    const f = native.fn('attn_forward');
    if (helper) {
      const half = pairs >> 1;
      helper.alongside('attn_forward', [...args(at(work) + 4 * per), half, pairs], () => f(...args(at(work)), 0, half));
    } else f(...args(at(work)), 0, pairs);
    return [o, p];
  });
  registerNativeKernel(tf, { name: ATTENTION_GRAD_KERNEL, inputs: ['q', 'p', 'dy'], optional: ['k', 'v', 'u'] }, ({ native, inputs, attrs, at, output, scratch }) => {
    const a = attrs as unknown as Attrs;
    const { q, p, dy, u } = inputs;
    const k = a.packed ? q : inputs.k!, v = a.packed ? q : inputs.v!;
    const g = layout(q, k, v, a);
    const pairs = g.batch * a.heads;
    const tk8 = (g.tk + 7) & ~7;
    const per = a.valueDim * tk8 + g.tq * tk8 + g.tk * g.tq + Math.max(g.tq, g.tk) * Math.max(a.keyDim, a.valueDim);
    const dq = output(q.shape.slice());
    const dk = a.packed ? dq : output(k.shape.slice());
    const dv = a.packed ? dq : output(v.shape.slice());
    const helper = native.helper?.ready && pairs > 1 && pairs * g.tq * g.tk * (a.keyDim + a.valueDim) >= SPLIT_WORK ? native.helper : null;
    const work = scratch(helper ? 2 * per : per);
    const args = (s: number) => [
      at(q), at(k) + 4 * g.kOff, at(v) + 4 * g.vOff, at(p), u ? at(u) : 0, at(dy), at(dq), at(dk) + 4 * g.kOff, at(dv) + 4 * g.vOff, s,
      a.heads, g.tq, g.tk, a.keyDim, a.valueDim, g.qs, g.ks, g.vs, a.heads * a.valueDim, g.qs, g.ks, g.vs, floatBits(a.scale), a.causal ? 1 : 0, floatBits(a.keep), a.seed | 0,
    ];
    const f = native.fn('attn_backward');
    if (helper) {
      const half = pairs >> 1;
      helper.alongside('attn_backward', [...args(at(work) + 4 * per), half, pairs], () => f(...args(at(work)), 0, half));
    } else f(...args(at(work)), 0, pairs);
    return a.packed ? dq : [dq, dk, dv];
  });
}

export interface AttentionOptions {
  heads: number;
  keyDim: number;
  valueDim: number;
  causal: boolean;
  /** Dropout rate on the attention weights (0: none). */
  dropout?: number;
  /**
   * Where the dropout mask comes from: 'hash' (default) computes it in the kernels from a seed and each
   * weight's index (nothing drawn in JavaScript or stored; the backward pass recomputes it); 'tensor'
   * draws tfjs's randomUniform noise and keeps what tf.dropout keeps (with a seed: the same draws as
   * tf.dropout(…, seed)).
   */
  noise?: 'hash' | 'tensor';
  /** Seed of the dropout mask (default: a fresh random one per call). */
  seed?: number;
}

/**
 * Whether the fused op runs here for these sizes: wasm with our module, float32, dk, dv and Tk multiples
 * of 4, and not switched off by LAYERFORGE_FUSED_ATTENTION=0.
 */
export function fusedAttentionHere(tf: Tf, keyDim: number, valueDim: number, tk: number | null | undefined): boolean {
  if (process.env.LAYERFORGE_FUSED_ATTENTION === '0') return false;
  if (tk == null || tk % 4 !== 0 || keyDim % 4 !== 0 || valueDim % 4 !== 0) return false;
  return nativeKernelHere(tf, ATTENTION_KERNEL) && nativeKernelHere(tf, ATTENTION_GRAD_KERNEL);
}

function attrsOf(o: AttentionOptions, packed: boolean): Attrs {
  const seed = o.seed ?? Math.floor(Math.random() * 0x100000000) | 0;
  return { heads: o.heads, keyDim: o.keyDim, valueDim: o.valueDim, scale: 1 / Math.sqrt(o.keyDim), causal: o.causal, keep: 1 - (o.dropout ?? 0), seed, packed };
}

function noise(tf: Tf, batch: number, heads: number, tq: number, tk: number, o: AttentionOptions): tfjs.Tensor | null {
  return (o.dropout ?? 0) > 0 && o.noise === 'tensor' ? tf.randomUniform([batch, heads, tq, tk], 0, 1, 'float32', o.seed) : null;
}

/**
 * Self-attention on a packed projection qkv [batch, T, heads·(2·keyDim + valueDim)] (Q, K, V in that
 * column order, head by head inside each): [batch, T, heads·valueDim]. Call only where fusedAttentionHere.
 */
export function fusedSelfAttention(tf: Tf, qkv: tfjs.Tensor, o: AttentionOptions): tfjs.Tensor {
  const attrs = attrsOf(o, true);
  const [batch, t] = qkv.shape as [number, number, number];
  const op = tf.customGrad(((x: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    const u = noise(tf, batch, o.heads, t, t, o);
    const [out, p] = tf.engine().runKernel(ATTENTION_KERNEL, u ? { q: x, u } : { q: x }, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
    save(u ? [x, p!, u] : [x, p!]);
    return {
      value: out!,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sx, sp, su] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor | undefined];
        return [tf.engine().runKernel(ATTENTION_GRAD_KERNEL, su ? { q: sx, p: sp, dy, u: su } : { q: sx, p: sp, dy }, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(qkv);
}

/**
 * Attention of q [batch, Tq, heads·keyDim] over k [batch, Tk, heads·keyDim] and v [batch, Tk,
 * heads·valueDim]: [batch, Tq, heads·valueDim]. Call only where fusedAttentionHere.
 */
export function fusedAttention(tf: Tf, q: tfjs.Tensor, k: tfjs.Tensor, v: tfjs.Tensor, o: AttentionOptions): tfjs.Tensor {
  const attrs = attrsOf(o, false);
  const [batch, tq] = q.shape as [number, number, number];
  const tk = k.shape[1]!;
  const op = tf.customGrad(((qi: tfjs.Tensor, ki: tfjs.Tensor, vi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    const u = noise(tf, batch, o.heads, tq, tk, o);
    const inputs = { q: qi, k: ki, v: vi, ...(u ? { u } : {}) };
    const [out, p] = tf.engine().runKernel(ATTENTION_KERNEL, inputs, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
    save(u ? [qi, ki, vi, p!, u] : [qi, ki, vi, p!]);
    return {
      value: out!,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sq, sk, sv, sp, su] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor | undefined];
        return tf.engine().runKernel(ATTENTION_GRAD_KERNEL, { q: sq, k: sk, v: sv, p: sp, dy, ...(su ? { u: su } : {}) }, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor) => tfjs.Tensor)(q, k, v);
}
