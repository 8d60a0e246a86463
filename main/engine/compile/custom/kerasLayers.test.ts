import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCustomLayers } from '.';

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
