/**
 * importModel through the real engine wiring: a TensorFlow.js model.json with weights becomes a project plus a
 * finished run holding the weights; that model evaluates on a tiny dataset, exports to ONNX and tfjs with the
 * same predictions (< 1e-5), and fine-tunes (frozen base bit for bit, a replaced head trained).
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingEnded } from '../../../shared/api';
import { ApiError } from '../../../shared/api/proxy';
import { folderLoadHandler, folderSaveHandler, loadModelFolder } from '../export/modelFolder';
import { createDatasetRegistry } from '../datasets';
import { Trainer } from '../training/trainer';
import { writeTinyCifar10 } from './tinyCifar';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-import-wiring-'));
const dataDir = join(dir, 'data');
const src = join(dir, 'pretrained');
let source: tf.LayersModel;
afterAll(() => {
  source?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  await tf.setBackend('cpu');
  // The "pretrained" model, as TensorFlow.js saves one: model.json (topology + weights manifest) + weights.bin.
  source = tf.sequential({
    layers: [
      tf.layers.conv2d({ name: 'conv', inputShape: [32, 32, 3], filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.maxPooling2d({ name: 'pool', poolSize: 4 }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ name: 'head', units: 10, activation: 'softmax' }),
    ],
  });
  // Non-trivial BatchNormalization statistics, so a frozen one that drifted would show.
  const bn = source.getLayer('bn');
  bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, 0.5, 'float32', 10 + i))));
  await source.save(folderSaveHandler(tf, src));
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('importModel (engine wiring)', () => {
  it('imports model.json with weights as a finished run: evaluate on a tiny dataset, export ONNX + tfjs with equal predictions, fine-tune a frozen base', async () => {
    const engine = createEngine({ dataDir, host: 'test' });
    try {
      const imported = await engine.importModel({ path: join(src, 'model.json') });
      expect(imported).toMatchObject({ format: 'tfjs-layers', params: source.countParams(), assumed: [] });
      expect(imported.formatLabel).toMatch(/TensorFlow\.js/);
      expect(imported.weights).not.toBeNull();
      const { runId, modelDir } = imported.weights!;
      expect(imported.project.training.initialWeights).toBe(modelDir);
      const listed = (await engine.listRuns()).find((r) => r.id === runId);
      expect(listed).toMatchObject({ name: 'pretrained (imported)', status: 'completed', hasModel: true });
      // Without a dataset the engine's evaluate says why (the model folder itself evaluates on one below).
      await expect(engine.evaluate({ runId })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'no-dataset' } });

      // Evaluate the imported model folder on a tiny CIFAR-10 (in-process: the Trainer the engine's worker runs).
      await engine.importDataset({ path: writeTinyCifar10(join(dir, 'cifar'), 20, 20), as: 'cifar10' });
      // Imported with a dataset to evaluate on: the run carries it, so the engine's evaluate works at once.
      const withData = await engine.importModel({ path: join(src, 'model.json'), datasetId: 'cifar10' });
      expect(withData.project.dataset).toBe('cifar10');
      const evaluation = await engine.evaluate({ runId: withData.weights!.runId });
      expect(evaluation.accuracy).toBeGreaterThanOrEqual(0);
      // A dataset that is not there (or does not fit) is not attached; the warning says why.
      const noData = await engine.importModel({ path: join(src, 'model.json'), datasetId: 'mnist' });
      expect(noData.project.dataset).toBeNull();
      expect(noData.warnings.join('\n')).toMatch(/not evaluated on .*not ready/);
      const folder = await loadModelFolder(tf, modelDir);
      const evaluator = new Trainer({ tf, model: folder.model, settings: folder.project.training, dataset: await createDatasetRegistry({ root: dataDir }).load('cifar10'), backend: 'cpu' });
      const ev = await evaluator.evaluate('test', 20);
      expect(ev.count).toBe(20);
      expect(Number.isFinite(ev.loss)).toBe(true);
      evaluator.dispose();
      // Exports predict as the source model does.
      const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 3);
      const want = (source.predict(x) as tf.Tensor).dataSync();
      const onnx = await engine.exportModel({ runId, format: 'onnx', outPath: join(dir, 'out', 'model.onnx') });
      const session = await ort.InferenceSession.create(onnx.path);
      const got = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [3, 32, 32, 3]) });
      expect(maxDiff(got[session.outputNames[0]!]!.data as Float32Array, want)).toBeLessThan(1e-5);
      const tfjsOut = await engine.exportModel({ runId, format: 'tfjs', outPath: join(dir, 'out', 'tfjs') });
      const reloaded = await tf.loadLayersModel(folderLoadHandler(tf, tfjsOut.path));
      expect(maxDiff((reloaded.predict(x) as tf.Tensor).dataSync(), want)).toBeLessThan(1e-5);
      reloaded.dispose();
      x.dispose();

      // Fine-tune: freeze conv + bn, replace the head (a new name: it starts fresh), train a few steps.
      const graph = {
        ...imported.project.graph,
        nodes: imported.project.graph.nodes.map((n) => (n.name === 'conv' || n.name === 'bn' ? { ...n, trainable: false } : n.name === 'head' ? { ...n, name: 'new_head' } : n)),
      };
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...imported.project.training, epochs: 1, batchSize: 16, learningRate: 0.05, backend: 'cpu' }, maxTrainSamples: 32, maxTestSamples: 20 });
      const end = await ended;
      expect(end, end.error).toMatchObject({ runId: run.id, status: 'completed' });
      const tuned = await loadModelFolder(tf, join(dataDir, 'runs', run.id, 'model'));
      const bytes = (m: tf.LayersModel, layer: string) => m.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));
      expect(bytes(tuned.model, 'conv')).toEqual(bytes(source, 'conv'));
      expect(bytes(tuned.model, 'bn')).toEqual(bytes(source, 'bn'));
      expect(maxDiff(bytes(tuned.model, 'new_head')[0]!, bytes(source, 'head')[0]!)).toBeGreaterThan(0);
      tuned.model.dispose();
      // A folder that is not a model is refused before a run starts.
      await expect(engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...imported.project.training, initialWeights: join(dir, 'nope') } })).rejects.toMatchObject({
        code: 'bad-request',
        details: { reason: 'initial-weights' },
      });
    } finally {
      await engine.dispose();
    }
  }, 120_000);

  it('refuses a file it cannot import with bad-request: unrecognised (formats listed) or a layer named in details', async () => {
    const engine = createEngine({ dataDir: join(dir, 'data2'), host: 'test' });
    try {
      const junk = join(dir, 'notes.txt');
      writeFileSync(junk, 'not a model');
      const e1 = await engine.importModel({ path: junk }).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(ApiError);
      expect(e1).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/is not a model file Layerforge recognises\. Supported: Layerforge model folder, Layerforge project, .*TensorFlow\.js/) });
      const json = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
      json.modelTopology.config.layers[1]!.class_name = 'Lambda';
      const bad = join(dir, 'lambda.json');
      writeFileSync(bad, JSON.stringify(json));
      const e2 = await engine.importModel({ path: bad }).catch((e: unknown) => e);
      expect(e2).toMatchObject({ code: 'bad-request', message: expect.stringContaining('bn (Lambda)'), details: { layers: [{ name: 'bn', className: 'Lambda' }] } });
      expect(await engine.listRuns()).toEqual([]);
    } finally {
      await engine.dispose();
    }
  });
});
