/**
 * ReLU's gradient in one wasm pass (kernels.c relu_grad) instead of tfjs's Step + Cast + Multiply,
 * each a full pass over the activation (the largest tensors of a CNN step). Gradients are registered
 * for every backend at once, so the registered gradient uses our kernel only on a wasm backend with
 * our module loaded and tfjs's formula everywhere else.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels } from './native';
import { registerElementwiseKernel } from './elementwise';
import { WASM } from './kernels';

export const RELU_GRAD_KERNEL = 'LayerforgeReluGrad';

let registered = false;

export function registerFusedReluGrad(tf: Tf): void {
  if (registered) return;
  registered = true;
  // Large tensors: the helper thread takes the second half.
  registerElementwiseKernel(tf, RELU_GRAD_KERNEL, ['x', 'dy'], 'relu_grad');
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
