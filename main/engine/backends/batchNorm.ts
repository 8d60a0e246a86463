/**
 * BatchNormalization in training as ONE op with its own gradient, for every backend.
 *
 * tfjs's BatchNormalization layer in training runs tf.moments (Mean, Sub, Square, Mean) and
 * batchNorm, and differentiates through all of them: about a dozen kernels per layer per step, the
 * backward ones at the input's full size (broadcast Subs and Muls, reductions over the batch). Here
 * the forward pass returns y with the batch mean and (biased) variance, and the backward pass is the
 * closed form, with x̂ = (x − mean)·rstd, rstd = 1/sqrt(var + eps):
 *   dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy   (means and sums per channel)
 * On wasm with our module (native/batchNorm.c) the statistics are one pass over x (per block of rows
 * in cache a float32 mean and Σ(x − block mean)², merged in float64), the normalisation one pass, the backward two
 * passes (the per-channel sums, then dx), each split over two threads by rows; elsewhere (cpu, webgpu,
 * module off) the same formulas run as tfjs ops. The channel is the last axis (NHWC, [N, C], [N, T, C]).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import type { NativeKernels } from './native';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const BATCH_NORM_TRAIN_KERNEL = 'LayerforgeBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD_KERNEL = 'LayerforgeBatchNormTrainGrad';

/** Below this many elements a kernel runs on one thread (the hand-off costs more than it saves). */
const SPLIT_MIN = 1 << 15;

let enabled = process.env.LAYERFORGE_BATCHNORM !== '0';

/**
 * For benchmarks and tests: whether our BatchNormalization layer trains through batchNormTrain (on,
 * the default; LAYERFORGE_BATCHNORM=0 starts it off) or through tfjs's own moments + batchNorm (off).
 */
export function setBatchNormTrainEnabled(on: boolean): void {
  enabled = on;
}

export function batchNormTrainEnabled(): boolean {
  return enabled;
}

/**
 * Runs here(rowBegin, rowEnd) over [0, rows), the second half on the helper thread when it is up and
 * the tensor is large enough (helperArgs(half, rows): the export's full argument list for that half).
 * Returns the rows done on this thread (rows, or the first half when the helper took the rest).
 */
function split(native: NativeKernels, name: string, rows: number, c: number, helperArgs: (begin: number, end: number) => number[], here: (begin: number, end: number) => void): number {
  const half = rows >> 1;
  if (native.helper?.ready && rows * c >= SPLIT_MIN && half > 0) {
    native.helper.alongside(name, helperArgs(half, rows), () => here(0, half));
    return half;
  }
  here(0, rows);
  return rows;
}

/** Registers the two wasm kernels (idempotent per tf instance). The op works without them. */
export function registerBatchNormKernels(tf: Tf): void {
  registerNativeKernel(tf, { name: BATCH_NORM_TRAIN_KERNEL, inputs: ['x'], optional: ['gamma', 'beta'] }, ({ native, inputs: { x, gamma, beta }, attrs, at, output, scratch }) => {
    const c = x.shape.at(-1)!;
    const rows = sizeOf(x.shape) / c;
    const eps = Number(attrs.epsilon ?? 1e-3);
    const y = output(x.shape);
    const mean = output([c]);
    const variance = output([c]);
    // Scratch: two float64 (mean, M2) sets (one per thread, 4c floats each), then mul and bias (c each).
    const px = at(x), py = at(y), pm = at(mean), pv = at(variance), s = at(scratch(10 * c));
    const acc0 = s, acc1 = s + 16 * c, mul = s + 32 * c, bias = s + 36 * c;
    if (rows === 0) throw new Error(`${BATCH_NORM_TRAIN_KERNEL}: an empty batch has no statistics`);
    const n0 = split(native, 'bn_stats', rows, c, (r0, r1) => [px, acc1, c, r0, r1], (r0, r1) => native.fn('bn_stats')(px, acc0, c, r0, r1));
    native.fn('bn_stats_finish')(acc0, n0 < rows ? acc1 : 0, n0, rows - n0, at(gamma), at(beta), pm, pv, mul, bias, c, eps);
    split(native, 'bn_apply', rows, c, (r0, r1) => [px, pm, mul, bias, py, c, r0, r1], (r0, r1) => native.fn('bn_apply')(px, pm, mul, bias, py, c, r0, r1));
    return [y, mean, variance];
  });
  registerNativeKernel(tf, { name: BATCH_NORM_TRAIN_GRAD_KERNEL, inputs: ['dy', 'x', 'mean', 'variance'], optional: ['gamma'] }, ({ native, inputs: { dy, x, mean, variance, gamma }, attrs, at, output, scratch }) => {
    const c = x.shape.at(-1)!;
    const rows = sizeOf(x.shape) / c;
    const eps = Number(attrs.epsilon ?? 1e-3);
    const dx = output(x.shape);
    const dgamma = output([c]);
    const dbeta = output([c]);
    // Scratch: two float64 sum sets (4c floats each), then the dx factors A, B, C (c each).
    const pdy = at(dy), px = at(x), pm = at(mean), pdx = at(dx), s = at(scratch(11 * c));
    const acc0 = s, acc1 = s + 16 * c, coef = s + 32 * c;
    const n0 = split(native, 'bn_grad_sums', rows, c, (r0, r1) => [pdy, px, pm, acc1, c, r0, r1], (r0, r1) => native.fn('bn_grad_sums')(pdy, px, pm, acc0, c, r0, r1));
    native.fn('bn_grad_finish')(acc0, n0 < rows ? acc1 : 0, at(variance), at(gamma), at(dgamma), at(dbeta), coef, c, rows, eps);
    split(native, 'bn_grad_dx', rows, c, (r0, r1) => [pdy, px, pm, coef, pdx, c, r0, r1], (r0, r1) => native.fn('bn_grad_dx')(pdy, px, pm, coef, pdx, c, r0, r1));
    return [dx, dgamma, dbeta];
  });
}

/** Whether this backend runs our fused kernels (wasm with our module loaded). */
function fusedHere(tf: Tf): boolean {
  return nativeKernelHere(tf, BATCH_NORM_TRAIN_KERNEL);
}

export interface BatchNormTrainResult {
  /** (x − mean)/sqrt(var + eps)·γ + β, differentiable with respect to x, γ and β. */
  y: tfjs.Tensor;
  /** The batch statistics per channel ([C]; not differentiable): for the moving averages. */
  mean: tfjs.Tensor;
  /** Biased (divided by the number of rows), as tf.moments. */
  variance: tfjs.Tensor;
}

/**
 * Batch normalisation in training over every axis but the last of x (float32, at least 2-d): y with
 * the batch mean and variance. γ / β: [C], or null when the layer has no scale / no centre.
 */
export function batchNormTrain(tf: Tf, x: tfjs.Tensor, gamma: tfjs.Tensor | null, beta: tfjs.Tensor | null, epsilon: number): BatchNormTrainResult {
  if (x.rank < 2) throw new Error(`batchNormTrain: x must have a batch and a channel axis, got shape ${JSON.stringify(x.shape)}`);
  const c = x.shape.at(-1)!;
  const rows = x.size / c;
  if (rows === 0) throw new Error(`batchNormTrain: an empty batch (shape ${JSON.stringify(x.shape)}) has no statistics`);
  const g = gamma ?? tf.ones([c]);
  const b = beta ?? tf.zeros([c]);
  // The statistics leave customGrad's forward function (which runs inside a tidy) as kept tensors.
  let stats: [tfjs.Tensor, tfjs.Tensor] | null = null;
  const op = tf.customGrad(((xi: tfjs.Tensor, gi: tfjs.Tensor, bi: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    if (fusedHere(tf)) {
      const inputs: Record<string, tfjs.Tensor> = { x: xi };
      if (gamma) inputs.gamma = gi;
      if (beta) inputs.beta = bi;
      const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, inputs as unknown as tfjs.NamedTensorMap, { epsilon } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
      stats = [tf.keep(mean!), tf.keep(variance!)];
      save([xi, gi, mean!, variance!]);
      return {
        value: y!,
        gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
          const [sx, sg, sm, sv] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
          const gradInputs: Record<string, tfjs.Tensor> = { dy, x: sx, mean: sm, variance: sv };
          if (gamma) gradInputs.gamma = sg;
          const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD_KERNEL, gradInputs as unknown as tfjs.NamedTensorMap, { epsilon } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor[];
          return [dx!, dgamma!, dbeta!];
        },
      };
    }
    // The same formulas as tfjs ops (any backend), on x as [rows, C].
    const x2 = tf.reshape(xi, [rows, c]);
    const mean = tf.mean(x2, 0);
    const xc = tf.sub(x2, mean);
    const variance = tf.mean(tf.square(xc), 0);
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(xc, rstd);
    stats = [tf.keep(mean), tf.keep(variance)];
    save([xhat, rstd, gi]);
    return {
      value: tf.reshape(tf.add(tf.mul(xhat, gi), bi), xi.shape),
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => {
        const [sxh, sr, sg] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
        const dy2 = tf.reshape(dy, [rows, c]);
        const dbeta = tf.sum(dy2, 0);
        const dgamma = tf.sum(tf.mul(dy2, sxh), 0);
        const inner = tf.sub(tf.sub(dy2, tf.div(dbeta, rows)), tf.mul(sxh, tf.div(dgamma, rows)));
        const dx = tf.reshape(tf.mul(tf.mul(sg, sr), inner), dy.shape);
        return [dx, dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  const y = (op as unknown as (a: tfjs.Tensor, b: tfjs.Tensor, c: tfjs.Tensor) => tfjs.Tensor)(x, g, b);
  const [keptMean, keptVariance] = stats as unknown as [tfjs.Tensor, tfjs.Tensor];
  // Hand the statistics to the caller's scope (tracked like any result) and release the kept handles.
  const mean = tf.clone(keptMean), variance = tf.clone(keptVariance);
  keptMean.dispose();
  keptVariance.dispose();
  // Stand-ins for an absent γ / β (the tape keeps only their shapes, the backward pass its saved copies).
  if (!gamma) g.dispose();
  if (!beta) b.dispose();
  return { y, mean, variance };
}
