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
 * heap as they are; dW comes back in W's shape and db in the bias's. The products are kernels.ts's heap-level
 * `runProduct` / `productCall` (the same code as BatchMatMul and _FusedMatMul: the packed `gemm_pk` with bias and
 * relu in its store where it applies, else `gemm` + `bias_act`, LAYERFORGE_GEMM_PACKED followed).
 * Threads: products of at least gemmHelperMinimum() multiply-adds (2^22, LAYERFORGE_GEMM_HELPER_MIN) use the
 * helper thread: the forward splits its product in two (rows, or columns of a wide one); below 2^24 the
 * gradient runs dW there while this thread computes dx and db (one hand-off), from 2^24 on each product is
 * split in two. Smaller products stay on this thread (a hand-off costs more than their half). Activations
 * fused: linear and relu; any other activation runs after the op as the
 * layer's own. LAYERFORGE_FUSED_DENSE=0 turns it off (tfjs's ops).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { gemmHelperMinimum, productCall, productScratchFloats, productSplits, runProduct, type HeapProduct } from './kernels';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const DENSE_KERNEL = 'LayerforgeDense';
export const DENSE_GRAD_KERNEL = 'LayerforgeDenseGrad';

/** Activations fused into the op (bias_act's and gemm_pk's codes). */
const ACT_CODE = { linear: 0, relu: 1 } as const;
export type DenseActivation = keyof typeof ACT_CODE;

/** From this many multiply-adds on, the gradient splits each of its two products over both threads. */
const SPLIT_EACH = 1 << 24;

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
    const p: HeapProduct = { a: at(x), b: at(w), c: at(y), m, n, k, bias: at(bias), act };
    const split = productSplits(native, p);
    const floats = productScratchFloats(native, p);
    runProduct(native, p, floats ? at(scratch(split ? 2 * floats : floats)) : 0, split);
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
    const pdx: HeapProduct = { a: g, b: at(w), c: at(dx), m, n: k, k: n, tb: true };
    const pdw: HeapProduct = { a: at(x), b: g, c: at(dw), m: k, n, k: m, ta: true };
    const work = m * n * k;
    const each = work >= SPLIT_EACH;
    const fx = productScratchFloats(native, pdx), fw = productScratchFloats(native, pdw);
    const packX = fx ? at(scratch(each ? 2 * fx : fx)) : 0;
    const packW = fw ? at(scratch(each ? 2 * fw : fw)) : 0;
    const sums = () => {
      if (db) native.sumRows(g, at(db), m, n);
    };
    if (native.helper?.ready && work >= gemmHelperMinimum() && !each) {
      // One hand-off: dW on the helper while this thread computes dx and db.
      const [fn, args] = productCall(native, pdw, packW);
      native.helper.alongside(fn, args, () => {
        runProduct(native, pdx, packX, false);
        sums();
      });
    } else {
      runProduct(native, pdx, packX, each);
      runProduct(native, pdw, packW, each);
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
