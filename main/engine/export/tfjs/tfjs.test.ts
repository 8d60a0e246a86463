import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { layerFixtures, randomInputs, randomizeWeights, templateFixtures } from '../fixtures';
import { folderLoadHandler } from '../modelFolder';
import { exportTfjs } from '.';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TensorFlow.js export', () => {
  it.each([...templateFixtures(), ...layerFixtures()].map((f) => [f.name, f] as const))('%s reloads with tf.loadLayersModel and predicts the same (< 1e-5)', async (_n, f) => {
    const { model } = compileGraph(tf, f.graph);
    randomizeWeights(tf, model, 3);
    const dir = mkdtempSync(join(tmpdir(), 'lf-tfjs-'));
    const res = await exportTfjs(tf, model, dir);
    expect(readdirSync(dir)).toContain('model.json');
    expect(res.files.some((p) => /group1-shard1of\d+\.bin$/.test(p))).toBe(true);
    const back = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    const xs = randomInputs(tf, model, 2);
    const a = [model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    const b = [back.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    let max = 0;
    a.forEach((t, i) => (max = Math.max(max, tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!)));
    console.log(`tfjs ${f.name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-5);
    tf.dispose([...xs, ...a, ...b]);
    model.dispose();
    back.dispose();
  });

  it("names the layers plain TensorFlow.js cannot load or would miscompute (our classes and Keras options), and says nothing for plain models", async () => {
    const notesOf = async (name: string) => {
      const f = layerFixtures().find((x) => x.name === name)!;
      const { model } = compileGraph(tf, f.graph);
      const res = await exportTfjs(tf, model, mkdtempSync(join(tmpdir(), 'lf-tfjs-notes-')));
      model.dispose();
      return res.notes.join('\n');
    };
    const own = await notesOf('activation-layers');
    expect(own).toMatch(/re_lu_2 \(ReLU with negativeSlope \/ threshold\), softmax_4 \(Softmax on axis 1\)/);
    expect(own).toMatch(/elu_9 \(ELU with alpha 0.5\)/);
    expect(own).not.toMatch(/re_lu_6/); // maxValue alone is tfjs's own ReLU
    expect(await notesOf('sequence-conv')).toMatch(/zero_padding1d_2 \(ZeroPadding1D\).*up_sampling1d_4 \(UpSampling1D\).*cropping1d_6 \(Cropping1D\)/);
    expect(await notesOf('conv-same-strided-dilated')).not.toMatch(/register/);
  });
});
