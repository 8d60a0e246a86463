/**
 * A dense layer's product on inputs of any rank as ONE op with its own gradient (wasm with our module).
 *
 * tfjs-layers' Dense on a [batch, T, K] input runs K.dot: Reshape x to 2-D, an identity Transpose of the
 * kernel, Reshapes to 3-D for fused.matMul, _FusedMatMul, a Reshape back; its gradient adds the activation
 * gradient, two BatchMatMuls, a Sum for the bias and Reshapes for each of those: ~15 kernels per layer per
 * step, each with tfjs's per-op bookkeeping (the transformer templates are dispatch-bound). Here:
 *   forward  `LayerforgeDense`:     y = act(x·W + b)                       one product with its epilogue
 *   backward `LayerforgeDenseGrad`: g = dy·act'(y); dx = g·Wᵀ, dW = xᵀ·g, db = Σ g      one call
 * reading x [..., K] and W (any shape of K·N floats, e.g. MultiHeadAttention's [K, heads, dim]) on the
 * heap as they are; dW comes back in W's shape and db in the bias's. The products are kernels.c's: the
 * packed `gemm_pk` (bias and relu in its store) where kernels.ts would take it, else `gemm` + `bias_act`.
 * Threads: products of >= 2^18 multiply-adds use the helper thread; below 2^24 the gradient runs dW there
 * while this thread computes dx and db (one hand-off), from 2^24 on each product is split in two (rows, or
 * columns of a wide dW). Activations fused: linear and relu; any other activation runs after the op as the
 * layer's own. LAYERFORGE_FUSED_DENSE=0 turns it off (tfjs's ops).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import type { NativeKernels } from './native';
import { gemmHelperMinimum, packedGemmEnabled } from './kernels';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const DENSE_KERNEL = 'LayerforgeDense';
export const DENSE_GRAD_KERNEL = 'LayerforgeDenseGrad';

/** Activations fused into the op (bias_act's and gemm_pk's codes). */
const ACT_CODE = { linear: 0, relu: 1 } as const;
export type DenseActivation = keyof typeof ACT_CODE;

/** From this many multiply-adds on, the gradient splits each of its two products over both threads. */
const SPLIT_EACH = 1 << 24;
/** Below this many multiply-adds (or k < 8) a product takes the plain gemm, as in kernels.ts. */
const PACKED_MIN = 16_384;

/** C [m, n] = op(A)·op(B) (+ bias, act) on heap offsets. */
interface Product {
  a: number;
  b: number;
  c: number;
  m: number;
  n: number;
  k: number;
  ta: number;
  tb: number;
  bias: number;
  act: number;
}
type Part = readonly [rowBegin: number, rowEnd: number, colBegin: number, colEnd: number];

const packed = (native: NativeKernels, p: Product) => p.k >= 8 && p.m * p.n * p.k >= PACKED_MIN && packedGemmEnabled() && native.has('gemm_pk');
/** Scratch floats one thread needs for p (gemm_pk's panels: 256 · (min(n, 256) + 8), or gemm's transposed B). */
const packFloats = (native: NativeKernels, p: Product) => (packed(native, p) ? 256 * (Math.min(p.n, 256) + 8) : p.tb ? p.k * p.n : 0);

/** The export and arguments that compute `part` of p. Plain gemm: whole rows only, and no epilogue (bias_act after). */
function call(native: NativeKernels, p: Product, pack: number, part: Part): [string, number[]] {
  const [r0, r1, c0, c1] = part;
  if (packed(native, p)) return ['gemm_pk', [p.a, p.b, p.c, pack, p.m, p.n, p.k, p.ta, p.tb, 0, 0, 0, 1, r0, r1, c0, c1, p.bias, p.act]];
  return ['gemm', [p.a, p.b, p.c, pack, p.m, p.n, p.k, p.ta, p.tb, 0, 0, 0, 1, r0, r1]];
}

/** Two halves of p for two threads (as kernels.ts splits: columns of a wide, short packed product, else rows), or null. */
function halves(native: NativeKernels, p: Product): [Part, Part] | null {
  if (packed(native, p) && p.n > p.m && p.n >= 16) {
    const h = Math.floor(p.n / 16) * 8;
    return [[0, p.m, 0, h], [0, p.m, h, p.n]];
  }
  if (p.m < 8) return null;
  const h = Math.floor(p.m / 8) * 4;
  return [[0, h, 0, p.n], [h, p.m, 0, p.n]];
}

/** p on this thread, or split over both (then `pack` holds 2 · packFloats floats). */
function run(native: NativeKernels, p: Product, pack: number, split: boolean): void {
  const two = split && native.helper?.ready ? halves(native, p) : null;
  if (two) {
    const [fn, args] = call(native, p, pack, two[0]);
    const [, other] = call(native, p, pack + 4 * packFloats(native, p), two[1]);
    native.helper!.alongside(fn, other, () => native.fn(fn)(...args));
  } else {
    const [fn, args] = call(native, p, pack, [0, p.m, 0, p.n]);
    native.fn(fn)(...args);
  }
  if (!packed(native, p) && p.bias) native.biasAct(p.c, p.bias, p.m, p.n, p.act);
}

const registeredOn = new WeakSet<object>();

/** Registers the two wasm kernels (idempotent per tf instance; done on first use by fusedDenseHere). */
export function registerDenseKernels(tf: Tf): void {
  if (registeredOn.has(tf)) return;
  registeredOn.add(tf);
  registerNativeKernel(tf, { name: DENSE_KERNEL, inputs: ['x', 'w'], optional: ['bias'] }, ({ native, inputs: { x, w, bias }, attrs, at, output, scratch }) => {
    const k = x.shape.at(-1)!;
    const m = sizeOf(x.shape) / k;
    const n = sizeOf(w.shape) / k;
    const act = Number(attrs.act ?? 0);
    if (!bias && act !== 0) throw new Error(`${DENSE_KERNEL}: an activation needs a bias input`);
    const y = output([...x.shape.slice(0, -1), n]);
    const p: Product = { a: at(x), b: at(w), c: at(y), m, n, k, ta: 0, tb: 0, bias: at(bias), act };
    const split = m * n * k >= gemmHelperMinimum();
    const pf = packFloats(native, p);
    run(native, p, pf ? at(scratch(split ? 2 * pf : pf)) : 0, split);
    return y;
  });
  registerNativeKernel(tf, { name: DENSE_GRAD_KERNEL, inputs: ['dy', 'x', 'w'], optional: ['y'] }, ({ native, inputs: { dy, x, w, y }, attrs, at, output, scratch }) => {
    const k = x.shape.at(-1)!;
    const m = sizeOf(x.shape) / k;
    const n = sizeOf(w.shape) / k;
    const act = Number(attrs.act ?? 0);
    const dx = output(x.shape.slice());
    const dw = output(w.shape.slice());
    // The bias's shape (attrs.biasShape; absent: no bias): nothing of the bias itself is needed.
    const biasShape = attrs.biasShape as number[] | null | undefined;
    const db = biasShape ? output(biasShape.slice()) : null;
    let g = at(dy);
    if (act === 1) {
      if (!y) throw new Error(`${DENSE_GRAD_KERNEL}: relu needs the forward output y`);
      const masked = scratch(m * n);
      native.reluGrad(at(y), at(dy), at(masked), m * n);
      g = at(masked);
    }
    // dx = g·Wᵀ ([m, n]·[n, k], W read transposed); dW = xᵀ·g ([k, m]·[m, n], x read transposed).
    const pdx: Product = { a: g, b: at(w), c: at(dx), m, n: k, k: n, ta: 0, tb: 1, bias: 0, act: 0 };
    const pdw: Product = { a: at(x), b: g, c: at(dw), m: k, n, k: m, ta: 1, tb: 0, bias: 0, act: 0 };
    const work = m * n * k;
    const each = work >= SPLIT_EACH;
    const fx = packFloats(native, pdx), fw = packFloats(native, pdw);
    const packX = fx ? at(scratch(each ? 2 * fx : fx)) : 0;
    const packW = fw ? at(scratch(each ? 2 * fw : fw)) : 0;
    const sums = () => {
      if (db) native.sumRows(g, at(db), m, n);
    };
    if (native.helper?.ready && work >= gemmHelperMinimum() && !each) {
      const [fn, args] = call(native, pdw, packW, [0, pdw.m, 0, pdw.n]);
      native.helper.alongside(fn, args, () => {
        run(native, pdx, packX, false);
        sums();
      });
    } else {
      run(native, pdx, packX, each);
      run(native, pdw, packW, each);
      sums();
    }
    return db ? [dx, dw, db] : [dx, dw];
  });
}

/** Whether the fused op runs here: wasm with our module, and not switched off by LAYERFORGE_FUSED_DENSE=0. */
export function fusedDenseHere(tf: Tf): boolean {
  if (process.env.LAYERFORGE_FUSED_DENSE === '0') return false;
  registerDenseKernels(tf);
  return nativeKernelHere(tf, DENSE_KERNEL);
}

/**
 * act(x·W + b) over the last axis of x (float32, rank >= 2), differentiable in x, W and b: [..., N] with
 * N = W.size / K. W: K·N floats in any shape ([K, N], or [K, heads, dim]); bias: N floats in any shape or
 * null (then act must be 'linear'). Call only where fusedDenseHere.
 */
export function fusedDense(tf: Tf, x: tfjs.Tensor, w: tfjs.Tensor, bias: tfjs.Tensor | null, act: DenseActivation = 'linear'): tfjs.Tensor {
  if (!bias && act !== 'linear') throw new Error(`fusedDense: activation '${act}' needs a bias`);
  const attrs = { act: ACT_CODE[act] } as unknown as tfjs.NamedAttrMap;
  // The bias is not saved (a save clones a tensor): its gradient needs only its shape.
  const gradAttrs = { act: ACT_CODE[act], biasShape: bias ? bias.shape.slice() : null } as unknown as tfjs.NamedAttrMap;
  const engine = tf.engine();
  const f = (xi: tfjs.Tensor, wi: tfjs.Tensor, bi: tfjs.Tensor | null, save: (ts: tfjs.Tensor[]) => void) => {
    const y = engine.runKernel(DENSE_KERNEL, bi ? { x: xi, w: wi, bias: bi } : { x: xi, w: wi }, attrs) as tfjs.Tensor;
    save(act === 'relu' ? [xi, wi, y] : [xi, wi]);
    return {
      value: y,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sx, sw, sy] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor | undefined];
        return engine.runKernel(DENSE_GRAD_KERNEL, sy ? { dy, x: sx, w: sw, y: sy } : { dy, x: sx, w: sw }, gradAttrs) as tfjs.Tensor[];
      },
    };
  };
  if (bias) {
    const op = tf.customGrad(((xi: tfjs.Tensor, wi: tfjs.Tensor, bi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => f(xi, wi, bi, save)) as unknown as Parameters<Tf['customGrad']>[0]);
    return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor) => tfjs.Tensor)(x, w, bias);
  }
  const op = tf.customGrad(((xi: tfjs.Tensor, wi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => f(xi, wi, null, save)) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor) => tfjs.Tensor)(x, w);
}
