/**
 * Layer normalisation over the last axis as ONE op with its own gradient, for every backend.
 *
 * tfjs's LayerNormalization layer tiles its mean, variance, gamma and beta to the input's full size
 * (a workaround for batchNormalization's broadcasting gradients) and differentiates through
 * moments + batchNormalization: about 25 kernels per layer per step, four Tiles and their
 * reductions at [batch, T, features] among them (a mini-GPT step spent ~40% of its time there).
 * Here the forward pass keeps the per-row mean and 1/std, and the backward pass is the closed form
 *   dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·γ;   dγ = Σ dy·x̂;   dβ = Σ dy
 * On wasm with our module (native/kernels.c layer_norm, layer_norm_grad) each direction is one pass
 * over the rows (the backward split over two threads); elsewhere the same formulas run as tfjs ops.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const LAYER_NORM_KERNEL = 'LayerforgeLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'LayerforgeLayerNormGrad';

/** Values (rows · features) from which the gradient takes the helper thread. */
export const LAYER_NORM_SPLIT = 1 << 17;

/** Registers the two wasm kernels (idempotent per tf instance). The op works without them. */
export function registerLayerNormKernels(tf: Tf): void {
  registerNativeKernel(tf, { name: LAYER_NORM_KERNEL, inputs: ['x'], optional: ['gamma', 'beta'] }, ({ native, inputs: { x, gamma, beta }, attrs, at, output }) => {
    const c = x.shape.at(-1)!;
    const rows = sizeOf(x.shape) / c;
    const y = output(x.shape);
    const mean = output([rows]);
    const rstd = output([rows]);
    native.layerNorm(at(x), at(gamma), at(beta), at(y), at(mean), at(rstd), c, Number(attrs.epsilon ?? 1e-3), 0, rows);
    return [y, mean, rstd];
  });
  registerNativeKernel(tf, { name: LAYER_NORM_GRAD_KERNEL, inputs: ['dy', 'x', 'mean', 'rstd'], optional: ['gamma'] }, ({ native, backend: b, inputs: { dy, x, mean, rstd, gamma }, at, output, scratch }) => {
    const c = x.shape.at(-1)!;
    const rows = sizeOf(x.shape) / c;
    const dx = output(x.shape);
    const dgamma = output([c]);
    const dbeta = output([c]);
    const args = [at(dy), at(x), at(mean), at(rstd), at(gamma), at(dx)] as const;
    const half = rows >> 1;
    // From 2^17 values (mini-GPT's [32, 128, 128]); below, the hand-off costs more than half a pass (transformer-classifier's
    // [32, 32, 32] gradient took ~13 µs a half while waking the helper took 15 µs idle, 100-300 µs on a loaded machine).
    if (native.helper?.ready && rows * c >= LAYER_NORM_SPLIT && half > 0) {
      // The helper takes the second half of the rows, with its own partial dγ/dβ, added here after.
      const part = scratch(2 * c);
      native.helper.alongside('layer_norm_grad', [...args, at(part), at(part) + 4 * c, c, half, rows], () => native.layerNormGrad(...args, at(dgamma), at(dbeta), c, 0, half));
      const p = b.typedArrayFromHeap(part), g = b.typedArrayFromHeap(dgamma), be = b.typedArrayFromHeap(dbeta);
      for (let j = 0; j < c; j++) {
        g[j]! += p[j]!;
        be[j]! += p[c + j]!;
      }
    } else {
      native.layerNormGrad(...args, at(dgamma), at(dbeta), c, 0, rows);
    }
    return [dx, dgamma, dbeta];
  });
}

/** Whether this backend runs our fused kernels (wasm with our module loaded). */
function fusedHere(tf: Tf): boolean {
  return nativeKernelHere(tf, LAYER_NORM_KERNEL);
}

/**
 * y = (x − mean)/sqrt(var + eps)·γ + β over the last axis of x (float32), differentiable with
 * respect to x, γ and β. γ / β: [features], or null when the layer has no scale / no centre.
 */
export function layerNorm(tf: Tf, x: tfjs.Tensor, gamma: tfjs.Tensor | null, beta: tfjs.Tensor | null, epsilon: number): tfjs.Tensor {
  const c = x.shape.at(-1)!;
  const g = gamma ?? tf.ones([c]);
  const b = beta ?? tf.zeros([c]);
  const op = tf.customGrad(((xi: tfjs.Tensor, gi: tfjs.Tensor, bi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    if (fusedHere(tf)) {
      const inputs: Record<string, tfjs.Tensor> = { x: xi };
      if (gamma) inputs.gamma = gi;
      if (beta) inputs.beta = bi;
      const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM_KERNEL, inputs as unknown as tfjs.NamedTensorMap, { epsilon } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
      save([xi, gi, mean!, rstd!]);
      return {
        value: y!,
        gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
          const [sx, sg, sm, sr] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
          const gradInputs: Record<string, tfjs.Tensor> = { dy, x: sx, mean: sm, rstd: sr };
          if (gamma) gradInputs.gamma = sg;
          const [dx, dgamma, dbeta] = tf.engine().runKernel(LAYER_NORM_GRAD_KERNEL, gradInputs as unknown as tfjs.NamedTensorMap, {}) as tfjs.Tensor[];
          return [dx!, dgamma!, dbeta!];
        },
      };
    }
    // The same formulas as tfjs ops (any backend).
    const mean = tf.mean(xi, -1, true);
    const xc = tf.sub(xi, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), epsilon));
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, gi]);
    return {
      value: tf.add(tf.mul(xhat, gi), bi),
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sxh, sr, sg] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
        const gdy = tf.mul(dy, sg);
        const dx = tf.mul(sr, tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(sxh, tf.mean(tf.mul(gdy, sxh), -1, true))));
        const flat = (t: tfjs.Tensor) => tf.reshape(t, [-1, c]);
        return [dx, tf.sum(flat(tf.mul(dy, sxh)), 0), tf.sum(flat(dy), 0)];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor) => tfjs.Tensor)(x, g, b);
}
