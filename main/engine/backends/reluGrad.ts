/**
 * ReLU's gradient in one wasm pass (kernels.c relu_grad) instead of tfjs's Step + Cast + Multiply,
 * each a full pass over the activation (the largest tensors of a CNN step). Gradients are registered
 * for every backend at once, so the registered gradient uses our kernel only on a wasm backend with
 * our module loaded and tfjs's formula everywhere else.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels, splitElements } from './native';
import { WASM } from './kernels';

export const RELU_GRAD_KERNEL = 'LayerforgeReluGrad';

let registered = false;

export function registerFusedReluGrad(tf: Tf): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(RELU_GRAD_KERNEL, WASM)) {
    tf.registerKernel({
      kernelName: RELU_GRAD_KERNEL,
      backendName: WASM,
      kernelFunc: ({ inputs, backend }) => {
        const native = nativeKernels(backend);
        if (!native) throw new Error(`${RELU_GRAD_KERNEL}: Layerforge's wasm kernels are not loaded`);
        const { x, dy } = inputs as Record<'x' | 'dy', tfjs.TensorInfo>;
        const out = (backend as unknown as { makeOutput(shape: number[], dtype: 'float32'): tfjs.TensorInfo }).makeOutput(x.shape, 'float32');
        const n = x.shape.reduce((a, b) => a * b, 1);
        // Large tensors: the helper thread takes the second half.
        splitElements(native, 'relu_grad', [heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, out.dataId)], n, ([xo, dyo, oo], count) => native.reluGrad(xo!, dyo!, oo!, count));
        return out;
      },
    });
  }
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
