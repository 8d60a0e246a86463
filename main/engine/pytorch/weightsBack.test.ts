import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainingSettings } from '../../../shared/project';
import { compileGraph } from '../compile';
import { registerCustomLayers } from '../compile/custom';
import { exportGraphOf } from '../export/exportGraph';
import { chain, layerFixtures, randomInputs, randomizeWeights, templateFixtures } from '../export/fixtures';
import { loadModelFolder } from '../export/modelFolder';
import { buildPytorch, pytorchUnsupported } from '../export/pytorch';
import { decodeSafetensors } from '../export/pytorch/safetensors';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { writeTrainingBundle } from './bundle';
import { modelFolderFromTorch, setTorchWeights } from './weightsBack';

const PYTHON = process.env.LAYERFORGE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`weightsBack.test: ${PYTHON} has no torch/numpy: the torch-trained round trip is skipped (CI installs python3-torch)`);

const work = mkdtempSync(join(tmpdir(), 'lf-weightsback-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCustomLayers(tf);
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function predictAll(model: tf.LayersModel, xs: tf.Tensor[]): Float32Array[] {
  return ([model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[]).map((t) => new Float32Array(t.dataSync()));
}

describe('modelFolderFromTorch: PyTorch weights back into tfjs', () => {
  const fixtures = [...templateFixtures(), ...layerFixtures()];
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: the PyTorch export read back gives the same predictions (< 1e-6)', (_name, f) => {
    const { model } = compileGraph(tf, f.graph);
    if (pytorchUnsupported(exportGraphOf(f.graph, model)).length) {
      model.dispose();
      return; // the export refuses this graph, so there is nothing to read back
    }
    randomizeWeights(tf, model, 5);
    const { tensors } = decodeSafetensors(buildPytorch(exportGraphOf(f.graph, model)).weights);
    const fresh = compileGraph(tf, f.graph).model; // other (initial) weights
    setTorchWeights(tf, f.graph, fresh, tensors);
    const xs = randomInputs(tf, model, 3);
    const want = predictAll(model, xs);
    const got = predictAll(fresh, xs);
    want.forEach((w, i) => expect(maxDiff(w, got[i]!)).toBeLessThan(1e-6));
    tf.dispose(xs);
    model.dispose();
    fresh.dispose();
  });

  it('adds nn.LSTM\'s bias_hh to bias_ih (Keras has one bias), and names missing or misshaped keys', () => {
    const graph = chain({ kind: 'sequence', timesteps: 5, features: 3 }, [['LSTM', { units: 4 }], ['Dense', { units: 2, activation: 'softmax' }]]);
    const { model } = compileGraph(tf, graph);
    randomizeWeights(tf, model, 3);
    const { tensors } = decodeSafetensors(buildPytorch(exportGraphOf(graph, model)).weights);
    const key = Object.keys(tensors).find((k) => k.endsWith('.bias_ih_l0'))!;
    const ih = tensors[key]!.data as Float32Array;
    const hh = tensors[key.replace('bias_ih', 'bias_hh')]!.data as Float32Array;
    for (let i = 0; i < ih.length; i++) {
      hh[i] = 0.25 * (i % 3);
      ih[i] = ih[i]! - hh[i]!;
    }
    const fresh = compileGraph(tf, graph).model;
    setTorchWeights(tf, graph, fresh, tensors);
    const xs = randomInputs(tf, model, 2);
    expect(maxDiff(predictAll(model, xs)[0]!, predictAll(fresh, xs)[0]!)).toBeLessThan(1e-6);
    const dense = Object.keys(tensors).find((k) => k.endsWith('.weight') && tensors[k]!.shape.length === 2 && !k.includes('l0'))!;
    const { [dense]: _gone, ...rest } = tensors;
    expect(() => setTorchWeights(tf, graph, fresh, rest)).toThrow(`missing ${dense}`);
    expect(() => setTorchWeights(tf, graph, fresh, { ...tensors, [dense]: { ...tensors[dense]!, shape: [1, tensors[dense]!.data.length] } })).toThrow(/is \[1, \d+\], the model needs/);
    tf.dispose(xs);
    model.dispose();
    fresh.dispose();
  });

  it.skipIf(!hasTorch)('a bundle trained by train.py comes back: tfjs predicts what torch predicts (< 1e-4)', async () => {
    const root = join(work, 'trained');
    writeTinyCifar10(root, 10, 20);
    const graph = chain({ kind: 'image', height: 32, width: 32, channels: 3 }, [
      ['Conv2D', { filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }],
      ['BatchNormalization', {}],
      ['MaxPool2D', { poolSize: 2 }],
      ['Flatten'],
      ['Dense', { units: 10, activation: 'softmax' }],
    ]);
    const dir = join(root, 'bundle');
    await writeTrainingBundle({ dir, graph, settings: { ...defaultTrainingSettings(), epochs: 1, batchSize: 10, learningRate: 0.01 }, name: 'tiny', datasetId: 'cifar10', dataDir: root, tf });
    const train = spawnSync(PYTHON, ['train.py', '--out', '.'], { cwd: dir, encoding: 'utf8' });
    expect(train.status, train.stderr).toBe(0);
    expect(train.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string }).at(-1)).toMatchObject({ type: 'ended', reason: 'completed' });
    const initial = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'initial.safetensors')))).tensors;
    const trained = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'weights.safetensors')))).tensors;
    expect(Object.keys(trained).sort()).toEqual(Object.keys(initial).sort());
    const k = Object.keys(trained).find((n) => n.endsWith('.weight'))!;
    expect(maxDiff(trained[k]!.data as Float32Array, initial[k]!.data as Float32Array)).toBeGreaterThan(1e-4); // it trained

    const out = join(dir, 'model');
    await modelFolderFromTorch({ bundleDir: dir, weights: join(dir, 'weights.safetensors'), outDir: out, tf });
    const folder = await loadModelFolder(tf, out);
    expect(folder.metrics).toMatchObject({ backend: 'pytorch', reason: 'completed' });
    expect(folder.task?.id).toBe('classification');
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 7);
    const want = new Float32Array((folder.model.predict(x) as tf.Tensor).dataSync());
    writeFileSync(join(dir, 'x.bin'), Buffer.from(new Float32Array(tf.transpose(x, [0, 3, 1, 2]).dataSync()).buffer));
    const py = `import numpy as np, torch
from model import load
m = load('weights.safetensors').eval()
x = torch.from_numpy(np.fromfile('x.bin', dtype=np.float32).reshape(4, 3, 32, 32))
with torch.no_grad():
    m(x).numpy().astype(np.float32).tofile('y.bin')`;
    const run = spawnSync(PYTHON, ['-c', py], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const got = new Float32Array(new Uint8Array(readFileSync(join(dir, 'y.bin'))).buffer);
    const diff = maxDiff(want, got);
    console.log(`torch-trained bundle: tfjs vs torch predictions max abs diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    x.dispose();
    folder.model.dispose();
  }, 60_000);
});

