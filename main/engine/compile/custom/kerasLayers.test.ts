import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { customLayerFactories, registerCustomLayers } from '.';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCustomLayers(tf);
});

/** Saves a model to memory and loads it back (what a model folder and the tfjs export go through). */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

describe("the 'hardSwish' activation", () => {
  it('is x * relu6(x + 3) / 6 at and between its corners, with that gradient', () => {
    const layer = tf.layers.activation({ activation: 'hardSwish' as never });
    const x = tf.tensor1d([-5, -3, -1.5, 0, 1, 3, 4.5]);
    const want = [-5, -3, -1.5, 0, 1, 3, 4.5].map((v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6);
    const got = Array.from((layer.apply(x) as tf.Tensor).dataSync());
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 6));
    const grad = tf.grad((t: tf.Tensor) => (layer.apply(t) as tf.Tensor).sum())(tf.tensor1d([-4, -1, 0, 1, 4]));
    // d/dx = 0 below -3, (2x + 3) / 6 between, 1 above 3
    Array.from(grad.dataSync()).forEach((g, i) => expect(g).toBeCloseTo([0, 1 / 6, 0.5, 5 / 6, 1][i]!, 6));
  });

  it('is saved by name in a Dense config and loads back with the same predictions', async () => {
    const inp = tf.input({ shape: [3] });
    const out = tf.layers.dense({ units: 2, activation: 'hardSwish' as never, name: 'd' }).apply(inp) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    expect((model.getLayer('d').getConfig() as { activation: unknown }).activation).toBe('hardSwish');
    const back = await roundTrip(model);
    const x = tf.tensor2d([[4, -2, 1], [-6, 0.5, 3]]);
    expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
  });
});

/** Keras's relu(x, negative_slope, max_value, threshold), written out per value. */
function kerasRelu(x: number, slope: number, max: number | null, threshold: number): number {
  let y = threshold !== 0 ? (x > threshold ? x : 0) : Math.max(x, 0);
  if (max !== null) y = Math.min(Math.max(y, 0), max);
  return y - slope * Math.max(threshold - x, 0);
}

const XS = [-3, -1, -0.25, 0, 0.1, 0.5, 0.75, 1, 2.5, 7];

describe('Keras activation layers tfjs lacks (ReLU options, ELU alpha, Softmax axis)', () => {
  it.each([
    [null, 0, 0],
    [6, 0, 0],
    [0.6, 0.2, 0],
    [null, 0.5, 0.5],
    [2, 0.1, 0.75],
  ] as const)('ReLU(maxValue %s, negativeSlope %s, threshold %s) computes Keras\'s formula', (max, slope, threshold) => {
    const relu = customLayerFactories(tf).relu({ name: `relu_${max}_${slope}_${threshold}`.replace(/\./g, '_'), maxValue: max, negativeSlope: slope, threshold });
    const got = Array.from((relu.apply(tf.tensor1d(XS)) as tf.Tensor).dataSync());
    got.forEach((g, i) => expect(g, `x = ${XS[i]}`).toBeCloseTo(kerasRelu(XS[i]!, slope, max, threshold), 6));
  });

  it('ELU with alpha 0.5 is x above 0 and 0.5 (e^x - 1) below, and keeps alpha through save/load', async () => {
    const inp = tf.input({ shape: [XS.length] });
    const model = tf.model({ inputs: inp, outputs: customLayerFactories(tf).elu({ alpha: 0.5, name: 'e' }).apply(inp) as tf.SymbolicTensor });
    const x = tf.tensor2d([XS]);
    const got = Array.from((model.predict(x) as tf.Tensor).dataSync());
    got.forEach((g, i) => expect(g).toBeCloseTo(XS[i]! > 0 ? XS[i]! : 0.5 * Math.expm1(XS[i]!), 6));
    const back = await roundTrip(model);
    expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(got);
  });

  it('Softmax on a middle axis sums to 1 along that axis and matches the last-axis softmax of the transposed input', () => {
    const x = tf.randomNormal([2, 3, 4, 5], 0, 2, 'float32', 3);
    const y = customLayerFactories(tf).softmax({ name: 'sm', axis: 2 }).apply(x) as tf.Tensor;
    const sums = Array.from(tf.sum(y, 2).dataSync());
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    const ref = tf.transpose(tf.softmax(tf.transpose(x, [0, 1, 3, 2])), [0, 1, 3, 2]);
    expect(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]).toBeLessThan(1e-6);
  });
});
