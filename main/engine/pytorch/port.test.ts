/**
 * Runs with backend 'pytorch' through the one dispatcher (startTrainingRun) and the real engine wiring: a tiny
 * CIFAR-10 trains under torchrun with real torch (skipped, saying why, where this machine has none; CI
 * installs python3-torch), progress reaches the run store, the run ends 'completed' with a model that
 * evaluates and predicts like a tfjs run's. Without torch the run ends with the reason, never a trace.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingEnded, TrainingProgress } from '../../../shared/api';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { createEngine } from '../service/wiring';
import type { TrainingEvent } from '../training/types';
import { detectTorch } from './backend';
import { processCommand, startTrainingRun, usesProcessEngine } from './port';

const dir = mkdtempSync(join(tmpdir(), 'lf-pytorch-port-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const graph = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')).graph;
const torch = await detectTorch();
if (!torch.available) console.warn(`pytorch engine tests skipped: ${torch.reason}`);

describe('the dispatcher', () => {
  it('sends pytorch to the process engine and the command to the Python with torch', () => {
    expect(usesProcessEngine('pytorch')).toBe(true);
    expect(usesProcessEngine('wasm')).toBe(false);
    expect(usesProcessEngine(undefined)).toBe(false);
    expect(processCommand(['torchrun', '--standalone', '--nproc_per_node=2', 'train.py', '--out', '.'], '/usr/bin/python3')).toEqual([
      '/usr/bin/python3', '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', 'train.py', '--out', '.', '--metrics', '-',
    ]);
    expect(processCommand(['python3', 'train.py', '--metrics', 'm.jsonl'], '/opt/py')).toEqual(['/opt/py', 'train.py', '--metrics', 'm.jsonl']);
  });

  it('a pytorch run where no Python has torch ends with the reason', async () => {
    const events: TrainingEvent[] = [];
    const run = startTrainingRun(
      { graph, settings: { ...defaultTrainingSettings(), backend: 'pytorch' }, dataset: { id: 'cifar10', dataDir: dir }, env: { PATH: join(dir, 'nothing'), LAYERFORGE_PYTHON: join(dir, 'no-python') } },
      (e) => events.push(e),
    );
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toBe(`writing the PyTorch run folder failed: the pytorch backend is not available: LAYERFORGE_PYTHON (${join(dir, 'no-python')}) does not exist`);
    expect(events).toEqual([{ type: 'ended', reason: 'error', message: result.message, epochsCompleted: 0, batchesCompleted: 0 }]);
    await run.dispose();
  });
});

describe.skipIf(!torch.available)('a pytorch run in the engine (real torch, torchrun, gloo)', () => {
  it('trains a tiny CIFAR-10 with 2 processes: live progress, completed, a model that evaluates and predicts', async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    try {
      const backends = await engine.listBackends();
      expect(backends.find((b) => b.name === 'pytorch')).toMatchObject({ available: true });
      await engine.importDataset({ path: writeTinyCifar10(join(dir, 'src'), 20, 40), as: 'cifar10' });
      const progress: TrainingProgress[] = [];
      engine.onTrainingProgress((p) => progress.push(p));
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({
        graph, datasetId: 'cifar10', settings: { ...defaultTrainingSettings(), epochs: 2, batchSize: 16, backend: 'pytorch', procs: 2 }, maxTrainSamples: 64, maxTestSamples: 40,
      });
      const end = await ended;
      expect(end.error).toBeUndefined();
      expect(end).toMatchObject({ runId: run.id, status: 'completed', summary: { hasModel: true, epochsDone: 2 } });
      expect(end.summary.backend).toMatch(/^pytorch \(torch [\d.]+\S*, CPU, gloo, 2 processes\)$/);
      expect(progress.some((p) => p.batches.length > 0)).toBe(true);
      expect(progress.filter((p) => p.epochPoint).map((p) => p.epochPoint!.epoch)).toEqual([1, 2]);
      expect(progress.find((p) => p.backend)?.backend).toBe(end.summary.backend);

      const detail = await engine.getRun({ runId: run.id });
      expect(detail.evaluation?.count).toBe(40);
      expect(detail.evaluation?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(40);
      // train.py's last validation (the test split) and our evaluation of the weights that came back agree.
      expect(detail.evaluation!.accuracy).toBeCloseTo(detail.epochPoints.at(-1)!.valAccuracy!, 5);
      const preds = await engine.predict({ runId: run.id, count: 5 });
      expect(preds.items).toHaveLength(5);
      // The run folder: the bundle and the process' log, beside the model folder.
      const runDir = join(dir, 'data', 'runs', run.id);
      expect(existsSync(join(runDir, 'pytorch', 'train.py'))).toBe(true);
      expect(existsSync(join(runDir, 'pytorch', 'train.log'))).toBe(true);
      expect(existsSync(join(runDir, 'model', 'model.json'))).toBe(true);
    } finally {
      await engine.dispose();
    }
  }, 300_000);
});
