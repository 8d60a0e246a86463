import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormTrain } from './batchNorm';
import { randomValues, seededRandom } from './inventory';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

interface Out {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

interface Case {
  shape: number[];
  /** Added to every x: a one-pass E[x²]−E[x]² would lose its digits here. */
  offset: number;
  /** The first row far from the rest (40 spreads): a sum shifted by the first row would lose digits. */
  outlierRow?: boolean;
  center: boolean;
  scale: boolean;
}

/** The case's x, w (the loss's weights), γ and β. */
function inputs(k: Case, seed: number) {
  const rand = seededRandom(seed);
  const n = k.shape.reduce((a, b) => a * b, 1);
  const c = k.shape.at(-1)!;
  const xv = randomValues(n, rand, 3).map((v, i) => v + k.offset + (i % c) / c + (k.outlierRow && i < c ? 40 : 0));
  const wv = randomValues(n, rand);
  const gv = randomValues(c, rand).map((v) => 1 + v / 2);
  const bv = randomValues(c, rand);
  return { n, c, xv, wv, gv, bv };
}

/**
 * y, the batch statistics, and the gradients of sum(y·w) (w fixed, random) with respect to x, γ and β.
 * ours: batchNormTrain; otherwise what tfjs's BatchNormalization layer computes in training
 * (tf.moments over every axis but the last, then tf.batchNorm), differentiated by tfjs's autodiff.
 */
function run(k: Case, ours: boolean, seed: number): Out {
  const { c, xv, wv, gv, bv } = inputs(k, seed);
  return tf.tidy(() => {
    const x = tf.tensor(xv, k.shape), w = tf.tensor(wv, k.shape), gamma = tf.tensor1d(gv), beta = tf.tensor1d(bv);
    const axes = k.shape.slice(0, -1).map((_, i) => i);
    const f = (xi: tf.Tensor, gi: tf.Tensor | null, bi: tf.Tensor | null) => {
      if (ours) return batchNormTrain(tf, xi, gi, bi, 1e-3);
      const { mean, variance } = tf.moments(xi, axes);
      // (tfjs's batchNorm gradient fails on an absent offset or scale: ones / zeros stand in.)
      return { y: tf.batchNorm(xi, mean, variance, bi ?? tf.zeros([c]), gi ?? tf.ones([c]), 1e-3), mean, variance };
    };
    const wrt = [x, ...(k.scale ? [gamma] : []), ...(k.center ? [beta] : [])];
    const loss = (...args: tf.Tensor[]) => {
      let i = 1;
      const g = k.scale ? args[i++]! : null;
      const b = k.center ? args[i++]! : null;
      return tf.sum(tf.mul(f(args[0]!, g, b).y, w));
    };
    const fwd = f(x, k.scale ? gamma : null, k.center ? beta : null);
    const partial = tf.grads(loss)(wrt);
    let i = 1;
    const grads = [partial[0]!, k.scale ? partial[i++]! : tf.zeros([c]), k.center ? partial[i++]! : tf.zeros([c])];
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    return { y: read(fwd.y), mean: read(fwd.mean), variance: read(fwd.variance), dx: read(grads[0]!), dgamma: read(grads[1]!), dbeta: read(grads[2]!) };
  });
}

/**
 * The same in float64 JavaScript: the textbook forward pass and the closed-form gradient (which the
 * smaller cases check against tfjs's autodiff). For the large case, where tfjs's cpu autodiff of
 * moments + batchNorm takes seconds.
 */
function reference64(k: Case, seed: number): Out {
  const { n, c, xv, wv, gv, bv } = inputs(k, seed);
  const rows = n / c;
  const mean = new Float64Array(c), variance = new Float64Array(c), dgamma = new Float64Array(c), dbeta = new Float64Array(c);
  for (let i = 0; i < n; i++) mean[i % c]! += xv[i]! / rows;
  for (let i = 0; i < n; i++) variance[i % c]! += (xv[i]! - mean[i % c]!) ** 2 / rows;
  const rstd = variance.map((v) => 1 / Math.sqrt(v + 1e-3));
  const g = (j: number) => (k.scale ? gv[j]! : 1);
  const y = new Float32Array(n), dx = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const j = i % c, xh = (xv[i]! - mean[j]!) * rstd[j]!;
    y[i] = xh * g(j) + (k.center ? bv[j]! : 0);
    dgamma[j]! += wv[i]! * xh;
    dbeta[j]! += wv[i]!;
  }
  for (let i = 0; i < n; i++) {
    const j = i % c, xh = (xv[i]! - mean[j]!) * rstd[j]!;
    dx[i] = g(j) * rstd[j]! * (wv[i]! - dbeta[j]! / rows - (xh * dgamma[j]!) / rows);
  }
  const f32 = (a: Float64Array) => Float32Array.from(a);
  return { y, mean: f32(mean), variance: f32(variance), dx, dgamma: f32(dgamma), dbeta: f32(dbeta) };
}

function expectAllClose(got: Out, want: Out, label: string, k: Case): void {
  expectClose(got.y, want.y, `${label} y`);
  // The mean's error relative to the spread (relative to a mean of 100, 1e-4 would pass anything near it).
  const spread = Math.max(...Array.from(want.variance, Math.sqrt));
  const meanError = Math.max(...Array.from(got.mean, (v, j) => Math.abs(v - want.mean[j]!)));
  expect(meanError / spread, `${label} mean: max abs diff ${meanError} vs spread ${spread}`).toBeLessThanOrEqual(1e-4);
  expectClose(got.variance, want.variance, `${label} variance`);
  expectClose(got.dx, want.dx, `${label} dx`);
  if (k.scale) expectClose(got.dgamma, want.dgamma, `${label} dgamma`);
  if (k.center) expectClose(got.dbeta, want.dbeta, `${label} dbeta`);
}

describe('batchNormTrain (BatchNormalization in training: one op, closed-form gradient) matches tfjs moments + batchNorm differentiated by tfjs', () => {
  // c = 6 and 23 leave SIMD tails (16 + 4 + 3); [4, 16, 16, 32] (32,768 floats) is large enough for the helper thread.
  const cases: Case[] = [
    { shape: [4, 5, 5, 6], offset: 0, center: true, scale: true },
    { shape: [64, 23], offset: 100, center: true, scale: true },
    { shape: [70, 3, 20], offset: 200, outlierRow: true, center: true, scale: true },
    { shape: [3, 7, 23], offset: 10, center: false, scale: true },
    { shape: [4, 16, 16, 32], offset: 10, center: true, scale: true },
    { shape: [9, 6, 6, 16], offset: -3, center: true, scale: false },
  ];
  for (const [i, k] of cases.entries()) {
    it(`${JSON.stringify(k.shape)} offset ${k.offset} center=${k.center} scale=${k.scale}: cpu (ops), wasm with our module on two threads and one, wasm without it`, async () => {
      const seed = 100 + i;
      await tf.setBackend('cpu');
      const large = k.shape.reduce((a, b) => a * b, 1) >= 1 << 15;
      const want = large ? reference64(k, seed) : run(k, false, seed);
      expectAllClose(run(k, true, seed), want, 'cpu ops', k);
      const native = await wasmWithHelper(tf);
      const { result: two, kernels: ran } = await profiled(tf, () => run(k, true, seed));
      expect(ran.has('LayerforgeBatchNormTrain') && ran.has('LayerforgeBatchNormTrainGrad'), [...ran].join(' ')).toBe(true);
      expectAllClose(two, want, native.helper ? 'wasm two threads' : 'wasm one thread (no helper here)', k);
      expectAllClose(oneThread(native, () => run(k, true, seed)), want, 'wasm one thread', k);
      expectAllClose(withoutNativeKernels(() => run(k, true, seed)), want, 'wasm without our module', k);
    });
  }

  it('keeps no tensor behind and refuses a 1-d input', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 3, 3, 5]);
    const before = tf.memory().numTensors;
    const { y, mean, variance } = batchNormTrain(tf, x, null, null, 1e-3);
    expect(tf.memory().numTensors - before).toBe(3);
    tf.dispose([y, mean, variance]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => batchNormTrain(tf, tf.ones([4]), null, null, 1e-3)).toThrow(/batch and a channel axis/);
    x.dispose();
  });
});
