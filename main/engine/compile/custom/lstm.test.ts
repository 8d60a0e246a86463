import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from '../../backends/inventory';
import { GRU_GRAD_KERNEL, GRU_KERNEL, LSTM_GRAD_KERNEL, LSTM_KERNEL } from '../../backends/recurrent';
import { initWasmBackend } from '../../backends/wasm';
import { customLayerFactories, registerCustomLayers } from '.';
import { setFusedRecurrentEnabled } from './lstm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  await tf.setBackend('wasm');
  registerCustomLayers(tf);
});
afterAll(() => setFusedRecurrentEnabled(true));

/** The model's output and the gradients of sum(y·w) with respect to every trainable weight, and which kernels ran. */
async function run(model: tf.LayersModel, x: tf.Tensor, training: boolean): Promise<{ out: Float32Array[]; kernels: Set<string> }> {
  let out: Float32Array[] = [];
  const profile = await tf.profile(() => {
    out = tf.tidy(() => {
      const rand = seededRandom(7);
      const y = model.apply(x, { training }) as tf.Tensor;
      const w = tf.tensor(randomValues(y.size, rand), y.shape);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training }) as tf.Tensor, w)) as tf.Scalar, model.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val));
      return [y.dataSync() as Float32Array, ...model.trainableWeights.map((v) => grads[(v as unknown as { val: tf.Variable }).val.name]!.dataSync() as Float32Array)];
    });
    return [];
  });
  return { out, kernels: new Set(profile.kernels.map((k) => k.name)) };
}

function expectClose(a: Float32Array, b: Float32Array, label: string, tol = 1e-4): void {
  expect(a.length, label).toBe(b.length);
  let scale = 1e-3, worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  expect(worst / scale, `${label}: max abs diff ${worst} vs scale ${scale}`).toBeLessThanOrEqual(tol);
}

/** Fused (our op) against tfjs's own step loop, same model and weights. */
async function compare(model: tf.LayersModel, x: tf.Tensor, fusedExpected: boolean, training = true, [kernel, gradKernel] = [LSTM_KERNEL, LSTM_GRAD_KERNEL]): Promise<void> {
  setFusedRecurrentEnabled(false);
  const want = await run(model, x, training);
  setFusedRecurrentEnabled(true);
  const got = await run(model, x, training);
  expect(want.kernels.has(kernel)).toBe(false);
  expect(got.kernels.has(kernel), [...got.kernels].join(' ')).toBe(fusedExpected);
  if (fusedExpected) expect(got.kernels.has(gradKernel)).toBe(true);
  expect(got.out.length).toBe(want.out.length);
  want.out.forEach((w, i) => expectClose(got.out[i]!, w, i === 0 ? 'y' : `d${model.trainableWeights[i - 1]!.name}`));
}

describe("our LSTM layer (tfjs's class name, config and weights; the fused op where it can run)", () => {
  it('Bidirectional (concat, every step) over a masked Embedding: same output and gradients as tfjs, backward copy is ours, config unchanged', async () => {
    const custom = customLayerFactories(tf);
    const input = tf.input({ shape: [6], dtype: 'int32' });
    const embedded = tf.layers.embedding({ inputDim: 12, outputDim: 5, maskZero: true }).apply(input);
    const inner = custom.lstm({ name: 'lstm_cell', units: 6, returnSequences: true, recurrentInitializer: 'glorotUniform' });
    const bi = tf.layers.bidirectional({ layer: inner as never, mergeMode: 'concat' });
    const y = bi.apply(embedded) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(y)) as tf.SymbolicTensor });
    const b = bi as unknown as { forwardLayer: object; backwardLayer: object };
    expect(b.forwardLayer.constructor).toBe(inner.constructor);
    expect(b.backwardLayer.constructor).toBe(inner.constructor);
    expect(inner.getClassName()).toBe('LSTM');
    expect(Object.keys(inner.getConfig()).sort()).toEqual(Object.keys(tf.layers.lstm({ units: 6 }).getConfig()).sort());
    // Trailing zeros (padding) and one zero inside a row: masked steps.
    const ids = tf.tensor2d([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 8, 9, 10, 11], [11, 10, 9, 0, 0, 0]], [4, 6], 'int32');
    await compare(model, ids, true);
  });

  it('a single LSTM (last output, hardSigmoid gates) as the registry builds it; dropout while training falls back to tfjs, inference with it does not', async () => {
    const rand = seededRandom(3);
    const x = tf.tensor(randomValues(9 * 4 * 3, rand), [9, 4, 3]);
    const make = (dropout: number) => {
      const input = tf.input({ shape: [4, 3] });
      const l = customLayerFactories(tf).lstm({ name: `lstm_${dropout}`, units: 5, recurrentActivation: 'hardSigmoid', dropout, recurrentDropout: dropout });
      return tf.model({ inputs: input, outputs: l.apply(input) as tf.SymbolicTensor });
    };
    await compare(make(0), x, true);
    const dropping = make(0.3);
    setFusedRecurrentEnabled(true);
    expect((await run(dropping, x, true)).kernels.has(LSTM_KERNEL)).toBe(false);
    await compare(dropping, x, true, false);
  });
});

const GRU_KERNELS: [string, string] = [GRU_KERNEL, GRU_GRAD_KERNEL];

describe("our GRU layer (tfjs's / Keras's GRU, reset_after false and true; the fused op where it can run)", () => {
  for (const resetAfter of [false, true]) {
    it(`reset_after ${resetAfter}: Bidirectional (concat, every step) over a masked Embedding, then Dense: same output and every weight's gradient as tfjs's path`, async () => {
      const custom = customLayerFactories(tf);
      const input = tf.input({ shape: [6], dtype: 'int32' });
      const embedded = tf.layers.embedding({ inputDim: 12, outputDim: 5, maskZero: true }).apply(input);
      const inner = custom.gru({ name: `gru_bi_${resetAfter}`, units: 6, returnSequences: true, recurrentActivation: 'sigmoid', recurrentInitializer: 'glorotUniform', biasInitializer: 'randomNormal', resetAfter });
      const bi = tf.layers.bidirectional({ layer: inner as never, mergeMode: 'concat' });
      const y = bi.apply(embedded) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(y)) as tf.SymbolicTensor });
      const b = bi as unknown as { forwardLayer: object; backwardLayer: object };
      expect(b.forwardLayer.constructor).toBe(inner.constructor);
      expect(b.backwardLayer.constructor).toBe(inner.constructor);
      expect(inner.getClassName()).toBe('GRU');
      const ids = tf.tensor2d([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 8, 9, 10, 11], [11, 10, 9, 0, 0, 0], [1, 1, 2, 2, 3, 3], [4, 0, 0, 0, 0, 0], [5, 6, 7, 8, 0, 0], [9, 8, 7, 6, 5, 4], [2, 4, 6, 8, 10, 0]], [9, 6], 'int32');
      await compare(model, ids, true, true, GRU_KERNELS);
    });

    it(`reset_after ${resetAfter}: a single GRU (last output, tfjs's default hardSigmoid gates, goBackwards); dropout while training falls back to tfjs, inference with it does not`, async () => {
      const rand = seededRandom(5);
      const x = tf.tensor(randomValues(9 * 4 * 3, rand), [9, 4, 3]);
      const make = (dropout: number) => {
        const input = tf.input({ shape: [4, 3] });
        const l = customLayerFactories(tf).gru({ name: `gru_${resetAfter}_${dropout}`, units: 5, goBackwards: true, biasInitializer: 'randomNormal', dropout, recurrentDropout: dropout, resetAfter });
        return tf.model({ inputs: input, outputs: l.apply(input) as tf.SymbolicTensor });
      };
      await compare(make(0), x, true, true, GRU_KERNELS);
      const dropping = make(0.3);
      setFusedRecurrentEnabled(true);
      expect((await run(dropping, x, true)).kernels.has(GRU_KERNEL)).toBe(false);
      await compare(dropping, x, true, false, GRU_KERNELS);
    });
  }

  it("other activations (Keras 3's hard sigmoid gates, elu) and returnState run tfjs's path", async () => {
    const rand = seededRandom(9);
    const x = tf.tensor(randomValues(9 * 4 * 3, rand), [9, 4, 3]);
    for (const extra of [{ recurrentActivation: 'hardSigmoidKeras3' }, { activation: 'elu' }]) {
      const input = tf.input({ shape: [4, 3] });
      const l = customLayerFactories(tf).gru({ name: `gru_other_${Object.values(extra)[0]}`, units: 5, resetAfter: true, ...(extra as object) });
      await compare(tf.model({ inputs: input, outputs: l.apply(input) as tf.SymbolicTensor }), x, false, true, GRU_KERNELS);
    }
    const l = customLayerFactories(tf).gru({ name: 'gru_state', units: 5, returnState: true, resetAfter: false });
    setFusedRecurrentEnabled(true);
    const profile = await tf.profile(() => (l.apply(x) as tf.Tensor[])[0]!);
    expect(profile.kernels.some((k) => k.name === GRU_KERNEL)).toBe(false);
  });
});
