/**
 * Attention weights from raw scores as one op: y = softmax(scale·scores + causal mask) over the last
 * axis, with its own gradient dscores = scale·y·(dy − Σ dy·y).
 *
 * The MultiHeadAttention layer did this as multiply, a fresh band matrix (ones + bandPart), subtract,
 * multiply, add, softmax, and differentiated through each: per layer and step of a mini-GPT about ten
 * passes over [batch, heads, T, T] and two of tfjs's slow last-axis reductions. On wasm with our
 * module (native/kernels.c attention_softmax, attention_softmax_grad; SIMD exp) each direction is one
 * pass over the rows, split over two threads; masked keys get exactly 0 (as exp(−1e9) does). On other
 * backends, or rows of a length that is not a multiple of 4, the same formulas run as tfjs ops.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { WASM } from './kernels';
import { registerAttentionKernels } from './attention';

export const ATTENTION_SOFTMAX_KERNEL = 'LayerforgeAttentionSoftmax';
export const ATTENTION_SOFTMAX_GRAD_KERNEL = 'LayerforgeAttentionSoftmaxGrad';

type TensorInfo = tfjs.TensorInfo;
const registeredOn = new WeakSet<object>();

/** A float32's bits as an int32 (our kernels take integer arguments only). */
function floatBits(x: number): number {
  return new Int32Array(new Float32Array([x]).buffer)[0]!;
}

/** fn over rows [0, rows): the helper thread takes the second half when it is up and the tensor is large. */
function splitRows(native: NonNullable<ReturnType<typeof nativeKernels>>, name: 'attention_softmax' | 'attention_softmax_grad', args: number[], rows: number, n: number, run: (begin: number, end: number) => void): void {
  const half = rows >> 1;
  if (native.helper?.ready && rows * n >= 1 << 15 && half > 0) {
    native.helper.alongside(name, [...args, half, rows], () => run(0, half));
  } else run(0, rows);
}

export function registerAttentionSoftmaxKernels(tf: Tf): void {
  // The whole attention op (attention.ts) registers with its softmax, so wasm.ts registers both.
  registerAttentionKernels(tf);
  if (registeredOn.has(tf) || tf.getKernel(ATTENTION_SOFTMAX_KERNEL, WASM)) return;
  registeredOn.add(tf);
  const make = (backend: unknown, like: TensorInfo) => (backend as { makeOutput(shape: number[], dtype: 'float32'): TensorInfo }).makeOutput(like.shape, 'float32');
  tf.registerKernel({
    kernelName: ATTENTION_SOFTMAX_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${ATTENTION_SOFTMAX_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { x } = inputs as { x: TensorInfo };
      const { scale, causal } = attrs as unknown as { scale: number; causal: boolean };
      const y = make(backend, x);
      const n = x.shape.at(-1)!, tq = x.shape.at(-2)!;
      const rows = x.shape.reduce((a, b) => a * b, 1) / n;
      const args = [heapOffset(backend, x.dataId), heapOffset(backend, y.dataId), n, floatBits(scale), causal ? 1 : 0, tq];
      splitRows(native, 'attention_softmax', args, rows, n, (b, e) => native.attentionSoftmax(args[0]!, args[1]!, n, args[3]!, args[4]!, tq, b, e));
      return y;
    },
  });
  tf.registerKernel({
    kernelName: ATTENTION_SOFTMAX_GRAD_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${ATTENTION_SOFTMAX_GRAD_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { y, dy } = inputs as { y: TensorInfo; dy: TensorInfo };
      const { scale } = attrs as unknown as { scale: number };
      const dx = make(backend, y);
      const n = y.shape.at(-1)!;
      const rows = y.shape.reduce((a, b) => a * b, 1) / n;
      const args = [heapOffset(backend, y.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, dx.dataId), n, floatBits(scale)];
      splitRows(native, 'attention_softmax_grad', args, rows, n, (b, e) => native.attentionSoftmaxGrad(args[0]!, args[1]!, args[2]!, n, args[4]!, b, e));
      return dx;
    },
  });
}

/**
 * softmax(scale·scores + mask) over the last axis of scores [..., Tq, Tk]; with causal, query q sees
 * keys 0..q only. Differentiable with respect to scores.
 */
export function attentionSoftmax(tf: Tf, scores: tfjs.Tensor, scale: number, causal: boolean): tfjs.Tensor {
  const tq = scores.shape.at(-2)!, tk = scores.shape.at(-1)!;
  const fused = scores.dtype === 'float32' && tk % 4 === 0 && tf.getBackend() === WASM && tf.getKernel(ATTENTION_SOFTMAX_KERNEL, WASM) != null && nativeKernels(tf.backend()) !== null;
  const attrs = { scale, causal } as unknown as tfjs.NamedAttrMap;
  const op = tf.customGrad(((s: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    let y: tfjs.Tensor;
    if (fused) {
      y = tf.engine().runKernel(ATTENTION_SOFTMAX_KERNEL, { x: s }, attrs) as tfjs.Tensor;
    } else {
      let z = tf.mul(s, scale);
      if (causal) z = tf.add(z, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([tq, tk]), -1, 0)), -1e9));
      y = tf.softmax(z, -1);
    }
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sy] = saved as [tfjs.Tensor];
        if (fused) return [tf.engine().runKernel(ATTENTION_SOFTMAX_GRAD_KERNEL, { y: sy, dy }, attrs) as tfjs.Tensor];
        return [tf.mul(scale, tf.mul(sy, tf.sub(dy, tf.sum(tf.mul(dy, sy), -1, true))))];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(scores);
}
