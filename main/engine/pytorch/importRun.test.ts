/**
 * The cluster round trip on one machine: `layerforge export PROJECT --format pytorch-train`, train.py run by hand in
 * the bundle, `layerforge import-run DIR`, and the engine lists the run with its charts, evaluates, predicts and
 * exports it; a run exported again starts from its trained weights.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainingSettings, newProject, serializeProject } from '../../../shared/project';
import { main } from '../../cli';
import type { CliIO } from '../../cli/command';
import { chain } from '../export/fixtures';
import { decodeSafetensors } from '../export/pytorch/safetensors';
import { RunStore } from '../service/runStore';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { createEngine } from '../service/wiring';
import { runFromLines } from './importRun';

const PYTHON = process.env.LAYERFORGE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`importRun.test: ${PYTHON} has no torch/numpy: the train-and-import round trip is skipped (CI installs python3-torch)`);

const work = mkdtempSync(join(tmpdir(), 'lf-import-run-'));
const dataDir = join(work, 'data');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIO = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false };
  return { cli, out, err };
}

describe('runFromLines', () => {
  it('keeps a resumed run\'s second try of an epoch, skips other output and cut lines', () => {
    const started = { type: 'started', epochs: 3, dataset: { classNames: ['a', 'b'] }, batchesPerEpoch: 2 };
    const batch = (epoch: number, b: number, loss: number) => ({ type: 'batch', epoch, epochs: 3, batch: b, batches: 2, loss, batchLoss: loss, accuracy: 0.5, metrics: { accuracy: 0.5 }, learningRate: 0.1 });
    const epoch = (e: number, loss: number) => ({ type: 'epoch', epoch: e, loss, accuracy: 0.5, valLoss: null, valAccuracy: null, metrics: { accuracy: 0.5 }, valMetrics: null, learningRate: 0.1, elapsedMs: e });
    const lines = [started, batch(1, 1, 1), batch(1, 2, 0.9), epoch(1, 0.95), batch(2, 1, 0.8)].map((l) => JSON.stringify(l));
    const resumed = [started, batch(2, 1, 0.7), batch(2, 2, 0.6), epoch(2, 0.65), { type: 'ended', reason: 'completed', message: '', epochsCompleted: 2, batchesCompleted: 4 }].map((l) => JSON.stringify(l));
    const r = runFromLines([...lines, '{"type": "batch", "epo', 'a warning', ...resumed].join('\n'));
    expect(r.bad).toBe(1);
    expect(r.batches.map((b) => [b.step, b.loss])).toEqual([[1, 1], [2, 0.9], [3, 0.7], [4, 0.6]]);
    expect(r.epochPoints.map((p) => [p.epoch, p.loss])).toEqual([[1, 0.95], [2, 0.65]]);
    expect(r.ended?.reason).toBe('completed');
  });
});

describe('layerforge export --format pytorch-train + import-run', () => {
  it('names what is wrong: no such run or project, a folder that is not a bundle', async () => {
    const a = io();
    expect(await main(['export', join(work, 'nope'), '--format', 'pytorch-train', '--out', join(work, 'x'), '--data-dir', dataDir], a.cli)).toBe(1);
    expect(a.err.join('\n')).toContain('is neither a run id');
    const b = io();
    expect(await main(['import-run', work, '--data-dir', dataDir], b.cli)).toBe(1);
    expect(b.err.join('\n')).toContain('is not a Layerforge PyTorch bundle');
  });

  it.skipIf(!hasTorch)('a project exported, trained by train.py, imported: the engine lists, evaluates, predicts and exports the run', async () => {
    const setup = createEngine({ dataDir, host: 'test' });
    await setup.importDataset({ path: writeTinyCifar10(join(work, 'src'), 20, 40), as: 'cifar10' });
    await setup.dispose();
    const graph = chain({ kind: 'image', height: 32, width: 32, channels: 3 }, [
      ['Conv2D', { filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }],
      ['Flatten'],
      ['Dense', { units: 10, activation: 'softmax' }],
    ]);
    const projectFile = join(work, 'tiny.json');
    writeFileSync(projectFile, serializeProject({ ...newProject('Tiny CNN', graph), training: { ...defaultTrainingSettings(), epochs: 2, batchSize: 20, learningRate: 0.01 }, dataset: 'cifar10' }));
    const bundleDir = join(work, 'bundle');
    const ex = io();
    expect(await main(['export', projectFile, '--format', 'pytorch-train', '--out', bundleDir, '--data-dir', dataDir, '--procs', '2', '--json'], ex.cli), ex.err.join('\n')).toBe(0);
    const exported = JSON.parse(ex.out.join('\n')) as { format: string; files: string[]; notes: string[]; weightsFrom: string | null };
    expect(exported).toMatchObject({ format: 'pytorch-train', weightsFrom: null });
    expect(exported.notes[0]).toContain('fresh initialisation');
    const data = JSON.parse(readFileSync(join(bundleDir, 'data.json'), 'utf8')) as { source: { type: string; dir: string } };
    expect(data.source).toEqual({ type: 'layerforge-cache', dir: join(dataDir, 'datasets', 'cifar10') }); // the engine's decoded cache, memory-mapped
    expect(readFileSync(join(bundleDir, 'README.md'), 'utf8')).toContain('--nproc_per_node=2');

    const train = spawnSync(PYTHON, ['train.py', '--out', '.', '--metrics', 'metrics.jsonl'], { cwd: bundleDir, encoding: 'utf8' });
    expect(train.status, train.stderr).toBe(0);

    const im = io();
    expect(await main(['import-run', bundleDir, '--data-dir', dataDir, '--json'], im.cli), im.err.join('\n')).toBe(0);
    const imported = JSON.parse(im.out.join('\n')) as { runId: string; status: string; epochsDone: number };
    expect(imported).toMatchObject({ status: 'completed', epochsDone: 2 });
    const stored = (await new RunStore(join(dataDir, 'runs')).loadAll()).find((r) => r.id === imported.runId)!;
    expect(stored).toMatchObject({ name: 'Tiny CNN (PyTorch)', datasetId: 'cifar10', backend: 'pytorch', hasModel: true, epochs: 2, task: 'classification' });
    expect(stored.epochPoints.map((p) => p.epoch)).toEqual([1, 2]);
    expect(stored.batches.length).toBeGreaterThan(1);
    expect(stored.classNames).toHaveLength(10);

    const engine = createEngine({ dataDir, host: 'test' });
    try {
      expect((await engine.listRuns()).map((r) => r.id)).toContain(imported.runId);
      const detail = await engine.getRun({ runId: imported.runId });
      expect(detail.evaluation?.count).toBe(40);
      expect(detail.evaluation?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(40);
      expect(detail.testAccuracy).toBeGreaterThanOrEqual(0);
      const preds = await engine.predict({ runId: imported.runId, count: 5 });
      expect(preds.items).toHaveLength(5);
      const onnx = await engine.exportModel({ runId: imported.runId, format: 'onnx', outPath: join(work, 'tiny.onnx') });
      expect(onnx.files.length).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }

    // exported again from the run: the bundle starts from the weights PyTorch trained
    const again = io();
    const bundle2 = join(work, 'bundle2');
    expect(await main(['export', imported.runId, '--format', 'pytorch-train', '--out', bundle2, '--data-dir', dataDir, '--json'], again.cli), again.err.join('\n')).toBe(0);
    expect((JSON.parse(again.out.join('\n')) as { weightsFrom: string }).weightsFrom).toBe(join(dataDir, 'runs', imported.runId, 'model'));
    const trained = decodeSafetensors(new Uint8Array(readFileSync(join(bundleDir, 'weights.safetensors')))).tensors;
    const initial = decodeSafetensors(new Uint8Array(readFileSync(join(bundle2, 'initial.safetensors')))).tensors;
    let diff = 0;
    for (const k of Object.keys(trained)) {
      const a = trained[k]!.data;
      const b = initial[k]!.data;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(Number(a[i]) - Number(b[i])));
    }
    expect(diff).toBeLessThan(1e-6);
  }, 120_000);
});
