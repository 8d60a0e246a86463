import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convFusedTrainingCalls, RELU_GRAD_BIAS_KERNEL, setConvFusedTraining, setReluGradBias } from './convFusedTraining';
import { randomValues, seededRandom } from './inventory';
import { expectClose, oneThread, onCpu, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  setConvFusedTraining(true); // on by default; the tests switch it
});
afterEach(() => setConvFusedTraining(true));

/** A lenet-like stack (1-channel 5x5 relu conv, pool, 6-channel 5x5 relu conv, a strided 3x3 relu conv, a linear conv), weights from seed. */
function model(seed: number): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'linear' }));
  const rand = seededRandom(seed);
  m.setWeights(m.getWeights().map((w) => tf.tensor(randomValues(w.size, rand, w.rank === 1 ? 0.2 : 0.4), w.shape)));
  return m;
}

/** The loss Σ w ⊙ model(x) and every weight's gradient, as arrays. */
function gradsOf(m: tf.Sequential, xv: Float32Array, wv: Float32Array): { loss: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, [3, 12, 12, 1]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x, { training: true }) as tf.Tensor, tf.tensor(wv, [3, 2, 2, 4]))) as tf.Scalar);
    return { loss: value.dataSync()[0]!, grads: m.trainableWeights.map((w) => grads[w.originalName]!.dataSync() as Float32Array) };
  });
}

describe('Conv2D + bias + ReLU fused while training (convFusedTraining.ts)', () => {
  it('gives the same loss and weight gradients as cpu, on two threads, one, without our module, and off; the first layer gets no input gradient', async () => {
    const rand = seededRandom(3);
    const xv = randomValues(3 * 12 * 12, rand, 1), wv = randomValues(3 * 2 * 2 * 4, rand, 1);
    await tf.setBackend('cpu');
    const m = model(5);
    const want = gradsOf(m, xv, wv);
    const native = await wasmWithHelper(tf);
    const check = (label: string, got: { loss: number; grads: Float32Array[] }) => {
      expectClose([got.loss], [want.loss], `${label}: loss`);
      for (const [i, g] of got.grads.entries()) expectClose(g, want.grads[i]!, `${label}: ${m.trainableWeights[i]!.name}`);
    };
    const before = convFusedTrainingCalls();
    const { result, kernels } = await profiled(tf, () => gradsOf(m, xv, wv));
    check('two threads', result);
    expect(convFusedTrainingCalls() - before, 'the three relu convs fused').toBe(3);
    expect(kernels.has('LayerforgeConvBiasRelu')).toBe(true);
    expect(kernels.has('Relu'), 'no separate Relu').toBe(false);
    expect(kernels.has(RELU_GRAD_BIAS_KERNEL), 'relu and bias gradients in one pass').toBe(true);
    const sums = async () => (await tf.profile(() => gradsOf(m, xv, wv).loss)).kernels.filter((k) => k.name === 'Sum').length;
    const fusedSums = await sums();
    setReluGradBias(false);
    check('LAYERFORGE_RELU_GRAD_BIAS=0', gradsOf(m, xv, wv));
    expect((await sums()) - fusedSums, 'the three relu convs\' bias Sums fused').toBe(3);
    setReluGradBias(true);
    check('one thread', oneThread(native, () => gradsOf(m, xv, wv)));
    check('no module', withoutNativeKernels(() => gradsOf(m, xv, wv)));
    setConvFusedTraining(false);
    const off = convFusedTrainingCalls();
    check('off', gradsOf(m, xv, wv));
    expect(convFusedTrainingCalls()).toBe(off);
    setConvFusedTraining(true);
    // The first layer's input is data: one Conv2DBackpropInput per later relu conv (2), and the linear conv's (1).
    const bpi = await tf.profile(() => gradsOf(m, xv, wv).loss);
    expect(bpi.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length).toBe(3);
  });

  it('LayerforgeReluGradBias: dy·(y > 0) and its column sums equal cpu for channel counts 1-64 (every register-sum width, and wider), odd row counts, NaN kept', async () => {
    const rand = seededRandom(11);
    for (const [rows, c] of [[1, 1], [7, 3], [1031, 5], [2049, 6], [4099, 16], [517, 7], [3, 2], [300, 12], [2049, 8], [600, 24], [1100, 32], [300, 64], [777, 18]] as [number, number][]) {
      const yv = randomValues(rows * c, rand, 1), dv = randomValues(rows * c, rand, 1);
      if (rows > 100) yv[17] = NaN;
      const want = await onCpu(tf, () => tf.tidy(() => {
        const y = tf.tensor2d(yv, [rows, c]), d = tf.tensor2d(dv, [rows, c]);
        const dz = tf.mul(d, tf.where(tf.isNaN(y), tf.fill([rows, c], NaN), tf.step(y)));
        return [dz.dataSync() as Float32Array, tf.sum(dz, 0).dataSync() as Float32Array];
      }));
      const native = await wasmWithHelper(tf);
      const run = () => tf.tidy(() => {
        const [dz, db] = tf.engine().runKernel(RELU_GRAD_BIAS_KERNEL, { y: tf.tensor2d(yv, [rows, c]), dy: tf.tensor2d(dv, [rows, c]) }) as tf.Tensor[];
        return [dz!.dataSync() as Float32Array, db!.dataSync() as Float32Array];
      });
      for (const [label, got] of [['two threads', run()], ['one thread', oneThread(native, run)]] as const) {
        const [dz, db] = got;
        expect(Number.isNaN(dz![17]!) === (rows > 100), `${label} ${rows}x${c}: NaN kept`).toBe(true);
        const finite = (a: Float32Array) => a.map((v) => (Number.isNaN(v) ? 0 : v));
        expectClose(finite(dz!), finite(want[0]!), `${label} ${rows}x${c}: dz`);
        if (rows > 100) expect(Number.isNaN(db![17 % c]!), `${label}: NaN reaches its bias`).toBe(true);
        else expectClose(db!, want[1]!, `${label} ${rows}x${c}: db`);
      }
    }
  });

  it('leaves inference, other backends and tape-free calls to tfjs-layers (same outputs)', async () => {
    await wasmWithHelper(tf);
    const m = model(7);
    const x = tf.tensor4d(randomValues(3 * 12 * 12, seededRandom(8), 1), [3, 12, 12, 1]);
    const before = convFusedTrainingCalls();
    const y = (m.predict(x) as tf.Tensor).dataSync();
    expect(convFusedTrainingCalls()).toBe(before);
    const want = await onCpu(tf, () => {
      const r = tf.tidy(() => gradsOf(m, x.dataSync() as Float32Array, new Float32Array(48).fill(1)));
      return { r, y: (m.predict(x) as tf.Tensor).dataSync() };
    });
    expect(convFusedTrainingCalls(), 'cpu: not fused').toBe(before);
    expectClose(y, want.y, 'predict');
    x.dispose();
  });
});
