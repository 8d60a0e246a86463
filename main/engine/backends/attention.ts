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
 *
 * Self-attention as a whole layer (`LayerforgeSelfAttention` / `…Grad`, fusedMhaSelfAttention): the Q, K, V
 * kernels packed side by side in scratch (attn_copy_cols) and projected in one product, the attention, and
 * the output projection, all in one kernel call each way; the products are the dense op's kernels called
 * directly (no engine bookkeeping), the packed weight gradient split back into the three kernels' shapes.
 * The layer's weights, names and saved layout are unchanged; per layer and step this replaces two Concats,
 * two dense ops and the attention forward, two SplitVs, two dense gradients and the attention gradient.
 * LAYERFORGE_FUSED_MHA=0 gives the previous path. The softmax's exp is simd.h's exp4_le0 (instead of exp4
 * with LAYERFORGE_ATTENTION_FAST_EXP=0).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels, type NativeKernels } from './native';
import { DENSE_GRAD_KERNEL, DENSE_KERNEL, fusedDenseHere } from './dense';
import { nativeKernelHere, registerNativeKernel, sizeOf, type HeapBackend } from './native/heap';

export const ATTENTION_KERNEL = 'LayerforgeAttention';
export const ATTENTION_GRAD_KERNEL = 'LayerforgeAttentionGrad';
export const MHA_KERNEL = 'LayerforgeSelfAttention';
export const MHA_GRAD_KERNEL = 'LayerforgeSelfAttentionGrad';

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

/**
 * The softmax's exponential: simd.h's exp4_le0 (pmax instead of NaN-exact max, the magic-number rounding
 * instead of nearest + trunc_sat), or simd.h's exp4 with LAYERFORGE_ATTENTION_FAST_EXP=0.
 */
const fastExp = () => process.env.LAYERFORGE_ATTENTION_FAST_EXP !== '0';

/** What the attention passes need of a kernel's context (native/heap.ts). */
interface Ctx {
  native: NativeKernels;
  backend: HeapBackend;
  at: (t: tfjs.TensorInfo | undefined) => number;
  scratch: (floats: number) => tfjs.TensorInfo;
}

/** attn_forward over every (batch, head) pair (two threads above SPLIT_WORK): o and p filled. */
function forwardPass(c: Ctx, q: tfjs.TensorInfo, k: tfjs.TensorInfo, v: tfjs.TensorInfo, u: tfjs.TensorInfo | undefined, o: tfjs.TensorInfo, p: tfjs.TensorInfo, a: Attrs): void {
  const { native, at, scratch } = c;
  const g = layout(q, k, v, a);
  const pairs = g.batch * a.heads;
  const tk8 = (g.tk + 7) & ~7;
  const per = a.keyDim * tk8 + g.tq * tk8 + g.tk * a.valueDim;
  const helper = native.helper?.ready && pairs > 1 && pairs * g.tq * g.tk * (a.keyDim + a.valueDim) >= SPLIT_WORK ? native.helper : null;
  const work = scratch(helper ? 2 * per : per);
  const args = (s: number) => [at(q), at(k) + 4 * g.kOff, at(v) + 4 * g.vOff, at(o), at(p), u ? at(u) : 0, s, a.heads, g.tq, g.tk, a.keyDim, a.valueDim, g.qs, g.ks, g.vs, a.heads * a.valueDim, floatBits(a.scale), a.causal ? 1 : 0, floatBits(a.keep), a.seed | 0, fastExp() ? 1 : 0];
  const f = native.fn('attn_forward');
  if (helper) {
    const half = pairs >> 1;
    helper.alongside('attn_forward', [...args(at(work) + 4 * per), half, pairs], () => f(...args(at(work)), 0, half));
  } else f(...args(at(work)), 0, pairs);
}

/** attn_backward over every pair: dq, dk, dv filled (one tensor for all three when packed). */
function backwardPass(c: Ctx, q: tfjs.TensorInfo, k: tfjs.TensorInfo, v: tfjs.TensorInfo, p: tfjs.TensorInfo, u: tfjs.TensorInfo | undefined, dy: tfjs.TensorInfo, dq: tfjs.TensorInfo, dk: tfjs.TensorInfo, dv: tfjs.TensorInfo, a: Attrs): void {
  const { native, at, scratch } = c;
  const g = layout(q, k, v, a);
  const pairs = g.batch * a.heads;
  const tk8 = (g.tk + 7) & ~7;
  const per = a.valueDim * tk8 + g.tq * tk8 + g.tk * g.tq + Math.max(g.tq, g.tk) * Math.max(a.keyDim, a.valueDim);
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
}

/** Runs another registered wasm kernel's function directly (no engine bookkeeping): its outputs are the caller's to free. */
function kernelCall(tf: Tf, name: string, backend: unknown, inputs: Record<string, tfjs.TensorInfo>, attrs: Record<string, unknown>): tfjs.TensorInfo[] {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`${MHA_KERNEL}: kernel ${name} is not registered on wasm`);
  const r = k.kernelFunc({ inputs: inputs as unknown as tfjs.NamedTensorInfoMap, backend: backend as tfjs.KernelBackend, attrs: attrs as unknown as tfjs.NamedAttrMap });
  return Array.isArray(r) ? r : [r];
}

/** The fused self-attention layer's attributes: the attention's, and whether the layer has biases. */
interface MhaAttrs extends Attrs {
  useBias: boolean;
}

/**
 * The Q, K and V kernels [D, H, d] (or biases [H, d], D = 1) as one [D, H·(2·dk + dv)] operand, each row
 * Q | K | V, as the packed attention reads them.
 */
function packColumns(c: Ctx, parts: readonly tfjs.TensorInfo[], rows: number, hk: number, hv: number): tfjs.TensorInfo {
  const n = 2 * hk + hv;
  const out = c.scratch(rows * n);
  const copy = c.native.fn('attn_copy_cols');
  parts.forEach((t, i) => copy(c.at(t), i < 2 ? hk : hv, c.at(out) + 4 * i * hk, n, rows, i < 2 ? hk : hv));
  return out;
}

export function registerAttentionKernels(tf: Tf): void {
  registerNativeKernel(tf, { name: ATTENTION_KERNEL, inputs: ['q'], optional: ['k', 'v', 'u'] }, (c) => {
    const a = c.attrs as unknown as Attrs;
    const { q, u } = c.inputs;
    const k = a.packed ? q : c.inputs.k!, v = a.packed ? q : c.inputs.v!;
    const g = layout(q, k, v, a);
    const o = c.output([g.batch, g.tq, a.heads * a.valueDim]);
    const p = c.output([g.batch, a.heads, g.tq, g.tk]);
    forwardPass(c, q, k, v, u, o, p, a);
    return [o, p];
  });
  registerNativeKernel(tf, { name: ATTENTION_GRAD_KERNEL, inputs: ['q', 'p', 'dy'], optional: ['k', 'v', 'u'] }, (c) => {
    const a = c.attrs as unknown as Attrs;
    const { q, p, dy, u } = c.inputs;
    const k = a.packed ? q : c.inputs.k!, v = a.packed ? q : c.inputs.v!;
    const dq = c.output(q.shape.slice());
    const dk = a.packed ? dq : c.output(k.shape.slice());
    const dv = a.packed ? dq : c.output(v.shape.slice());
    backwardPass(c, q, k, v, p, u, dy, dq, dk, dv, a);
    return a.packed ? dq : [dq, dk, dv];
  });
  /*
   * MultiHeadAttention's whole self-attention as one op: qkv = x·[Wq|Wk|Wv] + [bq|bk|bv] (the kernels packed
   * side by side in scratch), attention on qkv, out = o·Wo + bo; the products are the dense op's kernels
   * (dense.ts) called directly. Outputs: out, and p, qkv, o (saved for the gradient).
   */
  registerNativeKernel(tf, { name: MHA_KERNEL, inputs: ['x', 'wq', 'wk', 'wv', 'wo'], optional: ['bq', 'bk', 'bv', 'bo'] }, (c) => {
    const a = c.attrs as unknown as MhaAttrs;
    const { x, wq, wk, wv, wo, bq, bk, bv, bo } = c.inputs;
    const [batch, t, d] = x.shape as [number, number, number];
    const hk = a.heads * a.keyDim, hv = a.heads * a.valueDim;
    const w = packColumns(c, [wq, wk, wv], d, hk, hv);
    const b = a.useBias ? packColumns(c, [bq!, bk!, bv!], 1, hk, hv) : undefined;
    const backend = c.backend;
    const made: tfjs.TensorInfo[] = [];
    try {
      const [qkv] = kernelCall(tf, DENSE_KERNEL, backend, b ? { x, w, bias: b } : { x, w }, { act: 0 });
      made.push(qkv!);
      const o = c.output([batch, t, hv]);
      const p = c.output([batch, a.heads, t, t]);
      forwardPass(c, qkv!, qkv!, qkv!, undefined, o, p, { ...a, packed: true });
      const [out] = kernelCall(tf, DENSE_KERNEL, backend, a.useBias ? { x: o, w: wo, bias: bo! } : { x: o, w: wo }, { act: 0 });
      made.push(out!);
      return [out!, p, qkv!, o];
    } catch (error) {
      for (const m of made) c.backend.disposeData(m.dataId);
      throw error;
    }
  });
  registerNativeKernel(tf, { name: MHA_GRAD_KERNEL, inputs: ['dy', 'x', 'wq', 'wk', 'wv', 'wo', 'p', 'qkv', 'o'] }, (c) => {
    const a = c.attrs as unknown as MhaAttrs;
    const { dy, x, wq, wk, wv, wo, p, qkv, o } = c.inputs;
    const d = x.shape.at(-1)!;
    const hk = a.heads * a.keyDim, hv = a.heads * a.valueDim, n = 2 * hk + hv;
    const backend = c.backend;
    const made: tfjs.TensorInfo[] = [];
    try {
      // out = o·Wo + bo: do, dWo, dbo.
      const og = kernelCall(tf, DENSE_GRAD_KERNEL, backend, { dy, x: o, w: wo }, { act: 0, biasShape: a.useBias ? [d] : null });
      made.push(...og);
      const dqkv = c.scratch(sizeOf(qkv.shape));
      backwardPass(c, qkv, qkv, qkv, p, undefined, og[0]!, dqkv, dqkv, dqkv, { ...a, packed: true });
      // qkv = x·W + b: dx, dW, db (W packed again: D·n floats, cheaper to copy than to keep).
      const w = packColumns(c, [wq, wk, wv], d, hk, hv);
      const pg = kernelCall(tf, DENSE_GRAD_KERNEL, backend, { dy: dqkv, x, w }, { act: 0, biasShape: a.useBias ? [n] : null });
      made.push(...pg);
      const copy = c.native.fn('attn_copy_cols');
      const split = (packed: tfjs.TensorInfo, rows: number, shapes: readonly number[][]) =>
        shapes.map((shape, i) => {
          const part = c.output(shape.slice());
          copy(c.at(packed) + 4 * i * hk, n, c.at(part), i < 2 ? hk : hv, rows, i < 2 ? hk : hv);
          return part;
        });
      const dws = split(pg[1]!, d, [wq.shape, wk.shape, wv.shape]);
      const result = [pg[0]!, ...dws, og[1]!];
      if (a.useBias) {
        const hb = (dim: number) => [a.heads, dim];
        result.push(...split(pg[2]!, 1, [hb(a.keyDim), hb(a.keyDim), hb(a.valueDim)]), og[2]!);
      }
      // Returned: dx, dWo, dbo; freed: do, dW, db (packed).
      for (const m of [og[0]!, pg[1]!, ...(a.useBias ? [pg[2]!] : [])]) c.backend.disposeData(m.dataId);
      made.length = 0;
      return result;
    } catch (error) {
      for (const m of made) c.backend.disposeData(m.dataId);
      throw error;
    }
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

/** MultiHeadAttention's weights as the fused self-attention op takes them: kernels [D, H, d] / [H, dv, D], biases [H, d] / [D]. */
export interface MhaWeights {
  wq: tfjs.Tensor;
  wk: tfjs.Tensor;
  wv: tfjs.Tensor;
  wo: tfjs.Tensor;
  /** The four biases (q, k, v, output), or null for a layer without them. */
  biases: [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor] | null;
}

/**
 * Whether the whole self-attention layer runs as one op here (fusedMhaSelfAttention): the fused attention
 * and the fused dense op run here, and LAYERFORGE_FUSED_MHA=0 does not turn it off.
 */
export function fusedMhaHere(tf: Tf, keyDim: number, valueDim: number, t: number | null | undefined): boolean {
  if (process.env.LAYERFORGE_FUSED_MHA === '0') return false;
  if (!fusedAttentionHere(tf, keyDim, valueDim, t) || !fusedDenseHere(tf) || !nativeKernelHere(tf, MHA_KERNEL)) return false;
  return nativeKernels(tf.backend())?.has('attn_copy_cols') === true;
}

/**
 * MultiHeadAttention's self-attention on x [batch, T, D] as ONE op forward and one backward: the Q, K, V
 * projections as one product on the three kernels packed in scratch (no Concat forward, no SplitV in the
 * gradient), the fused attention (hashed dropout), and the output projection. Gradients for x and every
 * weight. Call only where fusedMhaHere.
 */
export function fusedMhaSelfAttention(tf: Tf, x: tfjs.Tensor, w: MhaWeights, o: AttentionOptions): tfjs.Tensor {
  const attrs = { ...attrsOf(o, true), useBias: w.biases !== null } as unknown as tfjs.NamedAttrMap;
  const engine = tf.engine();
  const inputs = [x, w.wq, w.wk, w.wv, w.wo, ...(w.biases ?? [])];
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as (ts: tfjs.Tensor[]) => void;
    const [xi, wq, wk, wv, wo, bq, bk, bv, bo] = args as tfjs.Tensor[];
    const named: Record<string, tfjs.Tensor> = { x: xi!, wq: wq!, wk: wk!, wv: wv!, wo: wo! };
    if (bq) Object.assign(named, { bq, bk, bv, bo });
    const [out, p, qkv, oo] = engine.runKernel(MHA_KERNEL, named as unknown as tfjs.NamedTensorMap, attrs) as tfjs.Tensor[];
    save([xi!, wq!, wk!, wv!, wo!, p!, qkv!, oo!]);
    return {
      value: out!,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sx, sq, sk, sv, so, sp, sqkv, soo] = saved as tfjs.Tensor[];
        return engine.runKernel(MHA_GRAD_KERNEL, { dy, x: sx!, wq: sq!, wk: sk!, wv: sv!, wo: so!, p: sp!, qkv: sqkv!, o: soo! }, attrs) as tfjs.Tensor[];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (...a: tfjs.Tensor[]) => tfjs.Tensor)(...inputs);
}
