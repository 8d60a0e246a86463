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
});
