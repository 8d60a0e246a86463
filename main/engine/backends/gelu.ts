/**
 * GELU (the erf form tfjs and Keras use: y = x·Φ(x)) as one op with its own gradient
 * dx = dy·(Φ(x) + x·φ(x)).
 *
 * tfjs computes it as div, erf, add, mul, mul and differentiates through each (the wasm Erf kernel
 * is a scalar loop at ~25 ns per element, and its gradient adds square, neg, exp and four more
 * passes): on a mini-GPT's [32, 128, 512] feed-forward activation that was ~60 ms forward and
 * ~170 ms backward per layer. On wasm with our module (native/lossAct.c act_gelu, act_gelu_grad: SIMD
 * exp and Abramowitz–Stegun erf, absolute error <= 1.5e-7) each direction is one pass, split over two
 * threads; elsewhere the same formulas run as tfjs ops. Its exp is simd.h's exp4_le0, which avoids the f32x4
 * min/max, nearest and trunc_sat that V8 compiles to long instruction sequences (the same formulas with exp4
 * ran 1.5-2.8x slower).
 * The kernels register through registerNativeKernel (native/heap.ts).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { splitElements } from './native';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const GELU_KERNEL = 'LayerforgeGelu';
export const GELU_GRAD_KERNEL = 'LayerforgeGeluGrad';

export function registerGeluKernels(tf: Tf): void {
  // Large tensors: the helper thread takes the second half (splitElements).
  registerNativeKernel(tf, { name: GELU_KERNEL, inputs: ['x'] }, ({ native, inputs: { x }, at, output }) => {
    const y = output(x.shape);
    const name = 'act_gelu';
    const f = native.fn(name);
    splitElements(native, name, [at(x), at(y)], sizeOf(x.shape), ([xo, yo], count) => f(xo!, yo!, count));
    return y;
  });
  registerNativeKernel(tf, { name: GELU_GRAD_KERNEL, inputs: ['x', 'dy'] }, ({ native, inputs: { x, dy }, at, output }) => {
    const dx = output(x.shape);
    const name = 'act_gelu_grad';
    const f = native.fn(name);
    splitElements(native, name, [at(x), at(dy), at(dx)], sizeOf(x.shape), ([xo, dyo, dxo], count) => f(xo!, dyo!, dxo!, count));
    return dx;
  });
}

function fusedHere(tf: Tf, x: tfjs.Tensor): boolean {
  return x.dtype === 'float32' && nativeKernelHere(tf, GELU_KERNEL);
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
