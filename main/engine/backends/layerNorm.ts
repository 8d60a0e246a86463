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
import { heapOffset, nativeKernels } from './native';
import { WASM } from './kernels';

export const LAYER_NORM_KERNEL = 'LayerforgeLayerNorm';
export const LAYER_NORM_GRAD_KERNEL = 'LayerforgeLayerNormGrad';

type TensorInfo = tfjs.TensorInfo;
interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): void;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

const registeredOn = new WeakSet<object>();

/** Registers the two wasm kernels (idempotent per tf instance). The op works without them. */
export function registerLayerNormKernels(tf: Tf): void {
  if (registeredOn.has(tf) || tf.getKernel(LAYER_NORM_KERNEL, WASM)) return;
  registeredOn.add(tf);
  tf.registerKernel({
    kernelName: LAYER_NORM_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${LAYER_NORM_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', TensorInfo | undefined>;
      if (!x) throw new Error(`${LAYER_NORM_KERNEL}: missing input x`);
      const b = backend as unknown as HeapBackend;
      const c = x.shape.at(-1)!;
      const rows = x.shape.reduce((p, d) => p * d, 1) / c;
      const y = b.makeOutput(x.shape, 'float32');
      const mean = b.makeOutput([rows], 'float32');
      const rstd = b.makeOutput([rows], 'float32');
      const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t.dataId) : 0);
      native.layerNorm(at(x), at(gamma), at(beta), at(y), at(mean), at(rstd), c, Number((attrs as { epsilon?: number }).epsilon ?? 1e-3), 0, rows);
      return [y, mean, rstd];
    },
  });
  tf.registerKernel({
    kernelName: LAYER_NORM_GRAD_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${LAYER_NORM_GRAD_KERNEL}: Layerforge's wasm kernels are not loaded`);
      const { dy, x, mean, rstd, gamma } = inputs as Record<'dy' | 'x' | 'mean' | 'rstd' | 'gamma', TensorInfo | undefined>;
      if (!dy || !x || !mean || !rstd) throw new Error(`${LAYER_NORM_GRAD_KERNEL}: missing input`);
      const b = backend as unknown as HeapBackend;
      const c = x.shape.at(-1)!;
      const rows = x.shape.reduce((p, d) => p * d, 1) / c;
      const dx = b.makeOutput(x.shape, 'float32');
      const dgamma = b.makeOutput([c], 'float32');
      const dbeta = b.makeOutput([c], 'float32');
      const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t.dataId) : 0);
      const args = [at(dy), at(x), at(mean), at(rstd), at(gamma), at(dx)] as const;
      const half = rows >> 1;
      if (native.helper?.ready && rows * c >= 1 << 15 && half > 0) {
        // The helper takes the second half of the rows, with its own partial dγ/dβ, added here after.
        const part = b.makeOutput([2 * c], 'float32');
        try {
          native.helper.alongside('layer_norm_grad', [...args, at(part), at(part) + 4 * c, c, half, rows], () => native.layerNormGrad(...args, at(dgamma), at(dbeta), c, 0, half));
          const p = b.typedArrayFromHeap(part), g = b.typedArrayFromHeap(dgamma), be = b.typedArrayFromHeap(dbeta);
          for (let j = 0; j < c; j++) {
            g[j]! += p[j]!;
            be[j]! += p[c + j]!;
          }
        } finally {
          b.disposeData(part.dataId);
        }
      } else {
        native.layerNormGrad(...args, at(dgamma), at(dbeta), c, 0, rows);
      }
      return [dx, dgamma, dbeta];
    },
  });
}

/** Whether this backend runs our fused kernels (wasm with our module loaded). */
function fusedHere(tf: Tf): boolean {
  return tf.getBackend() === WASM && tf.getKernel(LAYER_NORM_KERNEL, WASM) != null && nativeKernels(tf.backend()) !== null;
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
