/**
 * The data kinds whose preprocessing lives in the engine (tables, labelled text, corpora) travel to train.py as
 * .npy arrays: a table regression, a labelled-text classifier and a character language model each train for an
 * epoch under PyTorch and come back into a model folder that predicts what torch predicts.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { defaultTrainingSettings } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';
import { createDatasetRegistry } from '../datasets';
import { chain } from '../export/fixtures';
import { loadModelFolder } from '../export/modelFolder';
import { writeTrainingBundle } from './bundle';
import { modelFolderFromTorch } from './weightsBack';

const PYTHON = process.env.LAYERFORGE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`dataKinds.test: ${PYTHON} has no torch/numpy: skipped (CI installs python3-torch)`);

const work = mkdtempSync(join(tmpdir(), 'lf-datakinds-'));
const dataDir = join(work, 'data');
const registry = createDatasetRegistry({ root: dataDir, env: {} });
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Line {
  type: string;
  [k: string]: unknown;
}

/** Bundle, one epoch of train.py, weights back; returns the bundle folder, the JSON lines and the model folder. */
async function trainAndBack(name: string, graph: Graph, datasetId: string) {
  const dir = join(work, name);
  const b = await writeTrainingBundle({ dir, graph, settings: { ...defaultTrainingSettings(), epochs: 1, batchSize: 16, learningRate: 0.01 }, name, datasetId, dataDir, tf });
  const r = spawnSync(PYTHON, ['train.py', '--out', '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  expect(lines.at(-1)).toMatchObject({ type: 'ended', reason: 'completed' });
  await modelFolderFromTorch({ bundleDir: dir, weights: join(dir, 'weights.safetensors'), outDir: join(dir, 'model'), tf });
  return { dir, lines, bundle: b, folder: await loadModelFolder(tf, join(dir, 'model')) };
}

/** torch's output for `x.npy` (written by the caller) through the bundle's model.py and trained weights. */
function torchPredict(dir: string): Float32Array {
  const py = `import numpy as np, torch
from model import load
m = load('weights.safetensors').eval()
x = torch.from_numpy(np.load('x.npy'))
with torch.no_grad():
    m(x).numpy().astype(np.float32).tofile('y.bin')`;
  const r = spawnSync(PYTHON, ['-c', py], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return new Float32Array(new Uint8Array(readFileSync(join(dir, 'y.bin'))).buffer);
}

function npy(data: Float32Array | Int32Array, shape: number[]): Buffer {
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe.skipIf(!hasTorch)('tables and texts through the PyTorch bundle (.npy arrays)', () => {
  it('a table regression: standardised features and target, MSE, R²; the model folder keeps the preprocessing', async () => {
    const rand = mulberry32(3);
    const rows = ['x1,x2,colour,y'];
    for (let i = 0; i < 200; i++) {
      const x1 = rand() * 10;
      const x2 = rand() * 5;
      const colour = ['red', 'green', 'blue'][i % 3]!;
      rows.push(`${x1.toFixed(3)},${x2.toFixed(3)},${colour},${(3 * x1 - 2 * x2 + (colour === 'red' ? 5 : 0) + rand()).toFixed(3)}`);
    }
    writeFileSync(join(work, 'houses.csv'), rows.join('\n'));
    const { info } = await registry.import(join(work, 'houses.csv'), { as: 'table', target: 'y', name: 'houses' });
    const f = info.inputShape[0]!;
    const graph = chain({ kind: 'features', features: f }, [['Dense', { units: 16, activation: 'relu' }], ['Dense', { units: 1, activation: 'linear' }]]);
    const { dir, lines, bundle, folder } = await trainAndBack('table', graph, info.id);
    expect(bundle.dataset).toMatchObject({ kind: 'table', source: { type: 'arrays' } });
    expect(bundle.config).toMatchObject({ loss: 'mse', head: 'none', task: { id: 'regression' } });
    const epoch = lines.find((l) => l.type === 'epoch')!;
    expect(Object.keys(epoch.valMetrics as object).sort()).toEqual(['mae', 'r2', 'rmse']);
    expect(folder.preprocessing?.target.name).toBe('y');
    const x = Float32Array.from({ length: 5 * f }, (_, i) => (i % 7) / 7 - 0.5);
    writeFileSync(join(dir, 'x.npy'), npy(x, [5, f]));
    const want = new Float32Array((folder.model.predict(tf.tensor(x, [5, f])) as tf.Tensor).dataSync());
    expect(maxDiff(want, torchPredict(dir))).toBeLessThan(1e-4);
    folder.model.dispose();
  }, 60_000);

  it('labelled text (token ids) and a character language model (corpus windows, per-token loss, perplexity)', async () => {
    const texts = join(work, 'reviews');
    const words = { good: 'great lovely fine superb nice', bad: 'awful poor broken sad dull' };
    for (const [cls, vocab] of Object.entries(words)) {
      mkdirSync(join(texts, cls), { recursive: true });
      const w = vocab.split(' ');
      for (let i = 0; i < 30; i++) writeFileSync(join(texts, cls, `${i}.txt`), `this was ${w[i % 5]} and ${w[(i * 3) % 5]} really ${w[(i + 2) % 5]}`);
    }
    const labelled = (await registry.import(texts, { as: 'text', name: 'reviews', seqLen: 8 })).info;
    const tGraph = chain({ kind: 'tokens', length: 8 }, [['Embedding', { inputDim: labelled.vocabSize!, outputDim: 8 }], ['GlobalAvgPool1D'], ['Dense', { units: 2, activation: 'softmax' }]]);
    const t = await trainAndBack('text', tGraph, labelled.id);
    expect(t.bundle.dataset).toMatchObject({ kind: 'text', source: { type: 'arrays' } });
    expect(t.folder.tokenizer?.kind).toBe('word');
    const ids = Int32Array.from({ length: 3 * 8 }, (_, i) => (i * 5) % labelled.vocabSize!);
    writeFileSync(join(t.dir, 'x.npy'), npy(ids, [3, 8]));
    expect(maxDiff(new Float32Array((t.folder.model.predict(tf.tensor(ids, [3, 8], 'int32')) as tf.Tensor).dataSync()), torchPredict(t.dir))).toBeLessThan(1e-4);
    t.folder.model.dispose();

    writeFileSync(join(work, 'corpus.txt'), 'the quick brown fox jumps over the lazy dog. '.repeat(60));
    const corpus = (await registry.import(join(work, 'corpus.txt'), { as: 'corpus', name: 'fox', seqLen: 16 })).info;
    const v = corpus.vocabSize!;
    const lm = chain({ kind: 'tokens', length: 16 }, [['Embedding', { inputDim: v, outputDim: 8 }], ['Dense', { units: v, activation: 'softmax' }]]);
    const c = await trainAndBack('corpus', lm, corpus.id);
    expect(c.bundle.dataset).toMatchObject({ kind: 'corpus', source: { type: 'arrays', seqLen: 16 } });
    expect(c.bundle.config).toMatchObject({ task: { id: 'language-modelling' }, head: 'softmax' });
    const started = c.lines[0]!;
    expect(started.trainImages).toBe(corpus.trainSize);
    const epoch = c.lines.find((l) => l.type === 'epoch')!;
    expect((epoch.metrics as { perplexity: number }).perplexity).toBeGreaterThan(1);
    expect((epoch.metrics as { perplexity: number }).perplexity).toBeLessThan(v);
    c.folder.model.dispose();
  }, 90_000);
});
