/**
 * ReLU's gradient in one wasm pass (kernels.c relu_grad) instead of tfjs's Step + Cast + Multiply,
 * each a full pass over the activation (the largest tensors of a CNN step). Gradients are registered
 * for every backend at once, so the registered gradient uses our kernel only on a wasm backend with
 * our module loaded and tfjs's formula everywhere else.
 *
 * One thread up to 2^23 elements: the pass is memory-bound, and handing half to the helper thread right
 * after an XNNPACK op (whose pool threads still hold the cores) cost more than it saved: split / one
 * thread, alternating at load 7, [64,10,10,16] 0.64-0.86x, [64,28,28,6] 0.76-0.80x, [64,30,30,32]
 * 0.69-0.88x, [64,32,32,64] 1.11x alone but 0.64x right after a convolution (bench-reluGrad.ts). It was
 * split from 2^16 before; LAYERFORGE_RELU_GRAD_SPLIT=0 restores that.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels } from './native';
import { registerElementwiseKernel } from './elementwise';
import { WASM } from './kernels';

export const RELU_GRAD_KERNEL = 'LayerforgeReluGrad';

/** The split threshold before (LAYERFORGE_RELU_GRAD_SPLIT=0 restores it). */
export const RELU_GRAD_SPLIT_MIN_OLD = 1 << 16;
/** From this many elements the helper thread takes half of the pass (see setReluGradSplitMin). */
export const RELU_GRAD_SPLIT_MIN = 1 << 23;
let splitMin = process.env.LAYERFORGE_RELU_GRAD_SPLIT === '0' ? RELU_GRAD_SPLIT_MIN_OLD : RELU_GRAD_SPLIT_MIN;
/** The number of elements from which the ReLU gradient is split over the helper thread (benchmarks, tests). */
export function setReluGradSplitMin(n: number): void {
  splitMin = n;
}

let registered = false;

export function registerFusedReluGrad(tf: Tf): void {
  if (registered) return;
  registered = true;
  // Large tensors (from reluGradSplitMin elements): the helper thread takes the second half.
  registerElementwiseKernel(tf, RELU_GRAD_KERNEL, ['x', 'dy'], 'relu_grad', () => splitMin);
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tfjs.Tensor];
      const d = dy as tfjs.Tensor;
      const fused = tf.getBackend() === WASM && x.dtype === 'float32' && d.dtype === 'float32' && nativeKernels(tf.backend()) !== null;
      return { x: () => (fused ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { x, dy: d }) as tfjs.Tensor) : tf.mul(d, tf.cast(tf.step(x), 'float32'))) };
    },
  });
}
