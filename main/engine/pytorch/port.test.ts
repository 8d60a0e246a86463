/**
 * Runs with backend 'pytorch' through the one dispatcher (startTrainingRun) and the real engine wiring: a tiny
 * CIFAR-10 trains under torchrun with real torch (skipped, saying why, where this machine has none; CI
 * installs python3-torch), progress reaches the run store, the run ends 'completed' with a model that
 * evaluates and predicts like a tfjs run's. Without torch the run ends with the reason, never a trace.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
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
    expect(result.message).toBe(`the PyTorch run could not start: the pytorch backend is not available: LAYERFORGE_PYTHON (${join(dir, 'no-python')}) does not exist`);
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

      // Its ONNX export passes the exporters' parity bar against the model folder in tfjs (< 1e-4).
      const onnxPath = join(dir, 'pytorch-run.onnx');
      await engine.exportModel({ runId: run.id, format: 'onnx', outPath: onnxPath });
      expect(await onnxParity(join(runDir, 'model'), onnxPath)).toBeLessThan(1e-4);
    } finally {
      await engine.dispose();
    }
  }, 300_000);

  it('an engine shut down mid-run ends the run and leaves no PyTorch process behind', async () => {
    const engine = createEngine({ dataDir: join(dir, 'data2'), host: 'test' });
    let runDir = '';
    try {
      await engine.importDataset({ path: writeTinyCifar10(join(dir, 'src2'), 20, 40), as: 'cifar10' });
      const progress: TrainingProgress[] = [];
      engine.onTrainingProgress((p) => progress.push(p));
      const run = await engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...defaultTrainingSettings(), epochs: 500, batchSize: 8, backend: 'pytorch', procs: 2 }, maxTrainSamples: 64, maxTestSamples: 40 });
      runDir = join(dir, 'data2', 'runs', run.id, 'pytorch');
      await until('a batch', () => progress.some((p) => p.batches.length > 0), 240_000);
      expect(processesIn(runDir).length).toBeGreaterThanOrEqual(3); // torchrun + 2 ranks
    } finally {
      await engine.dispose({ graceMs: 60_000 });
    }
    await until('the processes to end', () => processesIn(runDir).length === 0, 20_000);
  }, 300_000);
});

/** Live processes whose working folder is `cwd` (torchrun and its ranks run in the run folder). */
function processesIn(cwd: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) !== cwd) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const t = Date.now();
  while (!check()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The largest difference between the ONNX file in onnxruntime and the model folder in tfjs, on random inputs. */
async function onnxParity(modelDir: string, onnxPath: string): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const ort = await import('onnxruntime-node');
  const { loadModelFolder } = await import('../export/modelFolder');
  const folder = await loadModelFolder(tf, modelDir);
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 3);
  const want = (folder.model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
  const session = await ort.InferenceSession.create(readFileSync(onnxPath));
  const got = Object.values(await session.run({ [folder.model.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) }))[0]!.data as Float32Array;
  await session.release();
  folder.model.dispose();
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(Number(want[i]) - got[i]!));
  return max;
}
