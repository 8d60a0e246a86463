import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProjectText } from '../../../shared/project';
import { compileGraph } from '../compile';
import { loadModelFolder, saveModelFolder } from './modelFolder';

describe('model folder', () => {
  it('saves and loads a compiled model with identical predictions', async () => {
    await tf.setBackend('cpu');
    const project = parseProjectText(readFileSync('resources/templates/cifar10-cnn.json', 'utf8'));
    const { model } = compileGraph(tf, project.graph);
    const dir = mkdtempSync(join(tmpdir(), 'lf-model-'));
    await saveModelFolder(tf, dir, { project, model, metrics: { testAccuracy: 0.5 } });
    const back = await loadModelFolder(tf, dir);
    const x = tf.randomUniform([2, 32, 32, 3]);
    const a = model.predict(x) as tf.Tensor;
    const b = back.model.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    expect(back.metrics.testAccuracy).toBe(0.5);
    expect(back.project.graph.nodes.length).toBe(project.graph.nodes.length);
    tf.dispose([x, a, b]);
    model.dispose();
    back.model.dispose();
  });
});
