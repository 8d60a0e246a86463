import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFusedAdam, fusedAdamAvailable, setFusedAdamInPlace } from './fusedAdam';
import { randomValues, seededRandom } from './inventory';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

/** Runs `steps` optimizer steps on the same variables and gradients; returns every variable and moment. */
async function run(make: () => tf.Optimizer, steps: number, lrAt?: (step: number) => number): Promise<{ vars: Float32Array[]; weights: Float32Array[]; names: string[] }> {
  const rand = seededRandom(3);
  // Sizes with and without a SIMD remainder, like a conv kernel, a bias and a dense kernel.
  const shapes = [[3, 3, 3, 5], [7], [33, 10]];
  const vars = shapes.map((s, i) => tf.variable(tf.tensor(randomValues(s.reduce((a, b) => a * b, 1), rand), s), true, `w${i}_${Math.random()}`));
  const grads = Array.from({ length: steps }, () => shapes.map((s) => randomValues(s.reduce((a, b) => a * b, 1), rand)));
  const opt = make();
  for (let k = 0; k < steps; k++) {
    if (lrAt) (opt as unknown as { learningRate: number }).learningRate = lrAt(k);
    const g = tf.tidy(() => Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(grads[k]![i]!, shapes[i])])));
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  }
  const weights = await opt.getWeights();
  const out = { vars: vars.map((v) => v.dataSync() as Float32Array), weights: weights.map((w) => w.tensor.dataSync() as Float32Array), names: weights.map((w) => w.name.replace(/w(\d)_[0-9.]+/, 'w$1')) };
  opt.dispose();
  tf.dispose(vars);
  return out;
}

function expectClose(a: Float32Array, b: Float32Array, label: string, tol = 1e-6): void {
  expect(a.length, label).toBe(b.length);
  // The first element out of tolerance (NaN included), then one expect: not one per element.
  let bad = -1;
  for (let i = 0; i < a.length && bad < 0; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)))) bad = i;
  expect(bad, bad < 0 ? label : `${label}[${bad}]: ${a[bad]} vs ${b[bad]}`).toBe(-1);
}

describe('fused Adam (wasm)', () => {
  it('is available on the wasm backend', async () => {
    await tf.setBackend('wasm');
    expect(fusedAdamAvailable(tf)).toBe(true);
  });

  it('matches tfjs Adam step for step: weights, moments and iteration count', async () => {
    await tf.setBackend('wasm');
    const lrAt = (k: number) => 1e-2 * (1 - k / 20);
    const ours = await run(() => createFusedAdam(tf, 1e-2, 0.9, 0.999, 1e-7), 12, lrAt);
    const theirs = await run(() => tf.train.adam(1e-2, 0.9, 0.999, 1e-7), 12, lrAt);
    ours.vars.forEach((v, i) => expectClose(v, theirs.vars[i]!, `variable ${i}`));
    expect(ours.names).toEqual(theirs.names);
    ours.weights.forEach((w, i) => expectClose(w, theirs.weights[i]!, `optimizer weight ${ours.names[i]}`));
    // The weights really moved (a no-op optimizer would pass the comparisons above only if tfjs's did nothing too).
    expect(ours.weights[0]![0]).toBe(12);
  });

  it('keeps the tensor count flat across steps', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.ones([100]), true, `flat_${Math.random()}`);
    const opt = createFusedAdam(tf, 1e-3);
    const step = () => tf.tidy(() => opt.applyGradients({ [v.name]: tf.onesLike(v) }));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    v.dispose();
  });

  it('updates in place and through the kernel alike (LAYERFORGE_ADAM_INPLACE)', async () => {
    await tf.setBackend('wasm');
    try {
      setFusedAdamInPlace(true);
      const inPlace = await run(() => createFusedAdam(tf, 1e-2), 5);
      setFusedAdamInPlace(false);
      const kernel = await run(() => createFusedAdam(tf, 1e-2), 5);
      inPlace.vars.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(kernel.vars[i]!)));
      inPlace.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(kernel.weights[i]!)));
    } finally {
      setFusedAdamInPlace(true);
    }
  });

  it('updated in place, weights are seen anew by kernels that cache them packed (a convnet predicts as cpu does after steps)', async () => {
    await tf.setBackend('wasm');
    const rand = seededRandom(7);
    const build = () => {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 24, kernelSize: 3, activation: 'relu' }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 10 }));
      return m;
    };
    const model = build();
    const x = tf.tensor4d(randomValues(8 * 12 * 12 * 3, rand), [8, 12, 12, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
    const opt = createFusedAdam(tf, 0.05);
    const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    step(); // every variable gets a buffer of its own
    const first = model.predict(x) as tf.Tensor; // inference kernels see (and may cache) the weights
    first.dispose();
    const ids = model.trainableWeights.map((w) => w.read().dataId);
    for (let i = 0; i < 3; i++) step();
    expect(model.trainableWeights.map((w) => w.read().dataId)).toEqual(ids); // updated in place
    const got = model.predict(x) as tf.Tensor;
    const ours = (await got.data()) as Float32Array;
    const weights = await Promise.all(model.getWeights().map(async (w) => ({ shape: w.shape, values: (await w.data()) as Float32Array })));
    await tf.setBackend('cpu');
    const ref = build();
    ref.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
    const want = (await (ref.predict(tf.tensor4d(await x.data(), [8, 12, 12, 3])) as tf.Tensor).data()) as Float32Array;
    // Kernels vs cpu through two convs and a dense layer: summation order differs (1e-4, as every kernel test); a stale
    // cached weight after three steps at lr 0.05 would be off by far more.
    expectClose(ours, want, 'predictions after in-place steps', 1e-4);
    await tf.setBackend('wasm');
    tf.dispose([x, y, got]);
    opt.dispose();
  });

  it('leaves a tensor that shares the variable\'s buffer untouched', async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.tensor([1, 2, 3, 4, 5]), true, `shared_${Math.random()}`);
    const opt = createFusedAdam(tf, 0.1);
    const copy = v.clone();
    const alias = v.reshape([5, 1]);
    const before = v.dataId;
    tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.ones([5]) }]));
    expect(v.dataId).not.toBe(before); // shared: the kernel path gave the variable a new buffer
    expect(Array.from(await copy.data())).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(await alias.data())).toEqual([1, 2, 3, 4, 5]);
    const moved = Array.from(await v.data());
    moved.forEach((x, i) => expect(x).toBeCloseTo(i + 1 - 0.1, 5));
    tf.dispose([copy, alias]);
    // Now the variable's buffer is its own: the next step runs in place and still moves it.
    const own = v.dataId;
    tf.tidy(() => opt.applyGradients([{ name: v.name, tensor: tf.ones([5]) }]));
    expect(v.dataId).toBe(own); // in place
    (await v.data()).forEach((x, i) => expect(x).toBeCloseTo(i + 1 - 0.2, 4));
    opt.dispose();
    v.dispose();
  });
});
