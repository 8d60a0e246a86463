/**
 * A residual merge and the ReLU after it in one wasm pass (kernels.c add_relu), for the inference plan
 * (../inference/plan.ts: Add -> Activation relu, as in resnet-small's blocks). tfjs runs Add and Relu as
 * two single-threaded passes over the block's output (~4 ms each for 256×32×32×16 floats here); ours is
 * one pass, split over two threads. Inference only: no gradient is registered (the plan never runs under
 * a gradient tape). On other backends, without our module, or for other shapes and dtypes: tfjs's ops.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels } from './native';
import { registerElementwiseKernel } from './elementwise';
import { WASM } from './kernels';

export const ADD_RELU_KERNEL = 'LayerforgeAddRelu';

function register(tf: Tf): void {
  registerElementwiseKernel(tf, ADD_RELU_KERNEL, ['a', 'b'], 'add_relu');
}

/** relu(a + b): one fused pass on wasm with our module (same shapes, float32), tfjs's Add and Relu otherwise. */
export function addRelu(tf: Tf, a: tfjs.Tensor, b: tfjs.Tensor): tfjs.Tensor {
  const fused =
    tf.getBackend() === WASM &&
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    a.size > 0 &&
    a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]) &&
    nativeKernels(tf.backend()) !== null;
  if (!fused) return tf.tidy(() => tf.relu(tf.add(a, b)));
  register(tf);
  return tf.engine().runKernel(ADD_RELU_KERNEL, { a, b }) as tfjs.Tensor;
}
