/**
 * GELU (the erf form tfjs and Keras use: y = x·Φ(x)) as one op with its own gradient
 * dx = dy·(Φ(x) + x·φ(x)).
 *
 * tfjs computes it as div, erf, add, mul, mul and differentiates through each (the wasm Erf kernel
 * is a scalar loop at ~25 ns per element, and its gradient adds square, neg, exp and four more
 * passes): on a mini-GPT's [32, 128, 512] feed-forward activation that was ~60 ms forward and
 * ~170 ms backward per layer. On wasm with our module (native/kernels.c gelu, gelu_grad: SIMD exp
 * and Abramowitz–Stegun erf, absolute error <= 1.5e-7) each direction is one pass, split over two
 * threads; elsewhere the same formulas run as tfjs ops.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels, splitElements } from './native';
import { WASM } from './kernels';

export const GELU_KERNEL = 'LayerforgeGelu';
export const GELU_GRAD_KERNEL = 'LayerforgeGeluGrad';

type TensorInfo = tfjs.TensorInfo;
const registeredOn = new WeakSet<object>();

export function registerGeluKernels(tf: Tf): void {
  if (registeredOn.has(tf) || tf.getKernel(GELU_KERNEL, WASM)) return;
  registeredOn.add(tf);
  const make = (backend: unknown, like: TensorInfo) => (backend as { makeOutput(shape: number[], dtype: 'float32'): TensorInfo }).makeOutput(like.shape, 'float32');
  tf.registerKernel({
    kernelName: GELU_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${GELU_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { x } = inputs as { x: TensorInfo };
      const y = make(backend, x);
      const n = x.shape.reduce((a, b) => a * b, 1);
      splitElements(native, 'gelu', [heapOffset(backend, x.dataId), heapOffset(backend, y.dataId)], n, ([xo, yo], count) => native.gelu(xo!, yo!, count));
      return y;
    },
  });
  tf.registerKernel({
    kernelName: GELU_GRAD_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${GELU_GRAD_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const dx = make(backend, x);
      const n = x.shape.reduce((a, b) => a * b, 1);
      splitElements(native, 'gelu_grad', [heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, dx.dataId)], n, ([xo, dyo, dxo], count) => native.geluGrad(xo!, dyo!, dxo!, count));
      return dx;
    },
  });
}

function fusedHere(tf: Tf, x: tfjs.Tensor): boolean {
  return x.dtype === 'float32' && tf.getBackend() === WASM && tf.getKernel(GELU_KERNEL, WASM) != null && nativeKernels(tf.backend()) !== null;
}

/** GELU, erf form, differentiable. */
export function gelu(tf: Tf, x: tfjs.Tensor): tfjs.Tensor {
  const op = tf.customGrad(((xi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    save([xi]);
    const fused = fusedHere(tf, xi);
    const value = fused ? (tf.engine().runKernel(GELU_KERNEL, { x: xi }) as tfjs.Tensor) : tf.mul(xi, tf.mul(0.5, tf.add(1, tf.erf(tf.div(xi, Math.SQRT2)))));
    return {
      value,
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sx] = saved as [tfjs.Tensor];
        if (fused) return [tf.engine().runKernel(GELU_GRAD_KERNEL, { x: sx, dy }) as tfjs.Tensor];
        const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.div(sx, Math.SQRT2))));
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), 1 / Math.sqrt(2 * Math.PI));
        return [tf.mul(dy, tf.add(cdf, tf.mul(sx, pdf)))];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(x);
}
