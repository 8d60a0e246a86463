/**
 * Faults in training, injected for real (issue #8, point 4), beyond those in run.test.ts:
 * - out of memory: a worker that exhausts its V8 heap limit (`resourceLimits`), a model too big to
 *   allocate (tfjs's own RangeError), and the allocation-failure messages of tfjs / wasm / V8;
 * - a dataset file that disappears (deleted or truncated) while a run trains, with real files in a
 *   temporary LAYERFORGE_DATA_DIR, through the real engine (datasets + worker + run store).
 * Each must end only the affected run with a clear message; the engine, other runs and the project
 * file stay intact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingEnded } from '../../../shared/api';
import type { Graph, GraphNode } from '../../../shared/graph';
import { defaultTrainingSettings, newProject, serializeProject, type TrainingSettings } from '../../../shared/project';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { createEngine } from '../service/wiring';
import { startRun, type EndedEvent, type TrainingEvent } from './index';
import { isOutOfMemory, OOM_HINT } from './oom';
import { syntheticDataset } from './testing/synthetic';
import { describeError } from './trainer';

const node = (id: string, type: string, name: string, params: GraphNode['params']): GraphNode => ({ id, type, name, params, position: { x: 0, y: 0 } });
const chain = (nodes: GraphNode[]): Graph => ({
  nodes,
  edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id, targetPort: 0 })),
});
const small = chain([
  node('in', 'Input', 'input_1', { kind: 'image', height: 8, width: 8, channels: 1 }),
  node('f', 'Flatten', 'flatten_1', {}),
  node('o', 'Dense', 'dense_1', { units: 3, activation: 'softmax' }),
]);
const settings = (over: Partial<TrainingSettings> = {}): TrainingSettings => ({ ...defaultTrainingSettings(), epochs: 2, batchSize: 16, backend: 'cpu', learningRate: 0.01, ...over });
const data = (train = 64) => syntheticDataset({ shape: [8, 8, 1], classes: 3, train, test: 16 });
const OOM_RUN = /^run 'oom-run' \(run-[a-z0-9-]+\) ran out of memory/;

describe('out of memory', () => {
  it('allocation failures of V8, tfjs-backend-wasm / Emscripten and TensorFlow are all reported as out of memory, with what to try', () => {
    const oom: unknown[] = [
      new RangeError('Array buffer allocation failed'),
      new RangeError('Invalid typed array length: 12288000000'),
      new RangeError('Invalid array buffer length'),
      new Error('Out of memory'),
      new Error('Cannot allocate Wasm memory for new instance'),
      Object.assign(new Error('Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM).)'), { name: 'RuntimeError' }),
      Object.assign(new Error('Aborted(OOM)'), { name: 'RuntimeError' }),
      new Error('OOM when allocating tensor with shape[64,1000000] and type float'),
      new Error('std::bad_alloc'),
      Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' }),
      'Out of memory',
    ];
    for (const e of oom) {
      expect(isOutOfMemory(e), String(e)).toBe(true);
      const m = describeError(e);
      expect(m).toMatch(/^out of memory \(/);
      expect(m.endsWith(OOM_HINT)).toBe(true);
      expect(OOM_HINT).toMatch(/smaller batch size or a smaller model/);
    }
    expect(describeError(new RangeError('Array buffer allocation failed'))).toBe(`out of memory (RangeError: Array buffer allocation failed). ${OOM_HINT}`);
    // Not out of memory: left as they are.
    for (const e of [new RangeError('Maximum call stack size exceeded'), new TypeError('x is not a function'), new Error("Kernel 'Foo' not registered for backend 'wasm'"), new Error('memoryless')]) {
      expect(isOutOfMemory(e), String(e)).toBe(false);
      expect(describeError(e)).not.toMatch(/out of memory/);
    }
  });

  it('a worker that exhausts its heap limit ends only its own run with an out-of-memory message naming it; a run beside it and one after it complete', { timeout: 60_000 }, async () => {
    const events: TrainingEvent[] = [];
    // Real exhaustion: the worker gets a 64 MB old-generation limit and, after its first batch, allocates until V8 gives up.
    const oomRun = startRun(
      { graph: small, settings: settings({ epochs: 50 }), dataset: data(512), name: 'oom-run', resourceLimits: { maxOldGenerationSizeMb: 64 }, workerEntry: new URL('./testing/oom-worker.mjs', import.meta.url) },
      (e) => events.push(e),
    );
    const beside = startRun({ graph: small, settings: settings({ epochs: 3 }), dataset: data(256), name: 'beside' });
    const [r, b] = await Promise.all([oomRun.done, beside.done]);
    expect(r.reason).toBe('error');
    expect(r.message).toMatch(OOM_RUN);
    expect(r.message).toContain('the training worker reached its memory limit and was ended (Worker terminated due to reaching memory limit: JS heap out of memory)');
    expect(r.message.endsWith(OOM_HINT)).toBe(true);
    expect(events.filter((e): e is EndedEvent => e.type === 'ended')).toEqual([{ type: 'ended', reason: 'error', message: r.message, epochsCompleted: 0, batchesCompleted: 1 }]);
    expect(events.filter((e) => e.type === 'batch').length).toBeGreaterThanOrEqual(1);
    await expect(oomRun.evaluate()).rejects.toThrow(/ran out of memory|memory limit/);
    expect(b.reason, b.message).toBe('completed');
    expect((await beside.evaluate('test')).count).toBe(16);
    await beside.dispose();

    const after = startRun({ graph: small, settings: settings(), dataset: data(), name: 'after' });
    const a = await after.done;
    expect(a.reason, a.message).toBe('completed');
    expect(a.epochsCompleted).toBe(2);
    await after.dispose();
  });

  it('a model too big to allocate (tfjs throws a real RangeError building its weights) ends the run as out of memory', { timeout: 60_000 }, async () => {
    const huge = chain([
      node('in', 'Input', 'input_1', { kind: 'image', height: 8, width: 8, channels: 1 }),
      node('c', 'Conv2D', 'conv2d_1', { filters: 1024, kernelSize: 3, activation: 'relu' }),
      node('f', 'Flatten', 'flatten_1', {}),
      node('o', 'Dense', 'dense_1', { units: 1_000_000, activation: 'softmax' }), // 36,864 x 1,000,000 weights
    ]);
    const run = startRun({ graph: huge, settings: settings(), dataset: data(), name: 'oom-run' });
    const r = await run.done;
    expect(r.reason).toBe('error');
    expect(r.message).toMatch(OOM_RUN);
    expect(r.message).toMatch(/ran out of memory \(RangeError: (Invalid typed array length|Array buffer allocation failed)/);
    expect(r.message.endsWith(OOM_HINT)).toBe(true);
    await run.dispose();
  });
});

const TINY_GRAPH = chain([
  node('in', 'Input', 'input_1', { kind: 'image', height: 32, width: 32, channels: 3 }),
  node('f', 'Flatten', 'flatten_1', {}),
  node('o', 'Dense', 'dense_1', { units: 10, activation: 'softmax' }),
]);

describe('a dataset file that disappears mid-run (real files, real engine)', () => {
  const root = mkdtempSync(join(tmpdir(), 'lf-faults-'));
  const dataDir = join(root, 'data');
  const projectPath = join(root, 'my-project.layerforge.json');
  const oldEnv = process.env.LAYERFORGE_DATA_DIR;
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  let projectHash = '';
  beforeAll(() => {
    process.env.LAYERFORGE_DATA_DIR = dataDir;
    writeFileSync(projectPath, serializeProject(newProject('my-project', TINY_GRAPH)));
    projectHash = sha(projectPath);
  });
  afterAll(() => {
    if (oldEnv === undefined) delete process.env.LAYERFORGE_DATA_DIR;
    else process.env.LAYERFORGE_DATA_DIR = oldEnv;
    rmSync(root, { recursive: true, force: true });
  });

  it('deleted or truncated while training: the run completes from memory; the next run is refused naming the file; the engine and project stay intact', { timeout: 120_000 }, async () => {
    const engine = createEngine({ dataDir, host: 'test' });
    const ended = new Map<string, TrainingEnded>();
    engine.onTrainingEnded((e) => ended.set(e.runId, e));
    const endOf = async (id: string) => {
      for (let i = 0; i < 1200 && !ended.has(id); i++) await new Promise((r) => setTimeout(r, 50));
      return ended.get(id)!;
    };
    const src = writeTinyCifar10(join(root, 'src'), 20, 40);
    const file = join(dataDir, 'datasets', 'cifar10', 'data.bin');
    const s = { ...defaultTrainingSettings(), epochs: 3, batchSize: 10, backend: 'cpu' as const };

    for (const fault of ['delete', 'truncate'] as const) {
      expect((await engine.importDataset({ path: src, as: 'cifar10' })).status).toBe('ready');
      let injected = false;
      let progressAfter = 0;
      let runId = '';
      const off = engine.onTrainingProgress((p) => {
        if (injected && p.step > 1) progressAfter++;
        if (injected || p.batches.length === 0) return;
        injected = true;
        // Pause after the first batch, so the file goes while the run is surely mid-way; then resume.
        void engine.pauseTraining({ runId: p.runId }).then(() => {
          if (fault === 'delete') unlinkSync(file);
          else truncateSync(file, 100);
          return engine.resumeTraining({ runId: p.runId });
        });
        runId = p.runId;
      });
      const run = await engine.startTraining({ graph: TINY_GRAPH, datasetId: 'cifar10', settings: s, name: `${fault} run` });
      const end = await endOf(run.id);
      off();
      expect(injected).toBe(true);
      expect(runId).toBe(run.id);
      expect(progressAfter).toBeGreaterThan(0); // it trained on after the file was gone
      // Datasets are decoded into memory when a run starts: losing the file mid-run does not hurt it.
      expect(end, end?.error).toMatchObject({ status: 'completed', summary: { epochsDone: 3, hasModel: true } });
      expect((await engine.getRun({ runId: run.id })).evaluation?.count).toBe(40);

      // The dataset now reports the damage, naming the file …
      const info = (await engine.listDatasets()).find((d) => d.id === 'cifar10')!;
      const problem = fault === 'delete' ? `${file} is missing (deleted since the dataset was prepared)` : `${file} has 100 bytes but`;
      expect(info.status).toBe('error');
      expect(info.message).toContain(problem);
      expect(info.message).toMatch(/Prepare \(download\) or import CIFAR-10 again\.$/);
      // … a new run is refused with a clear error (no crash, no silent empty dataset) …
      await expect(engine.startTraining({ graph: TINY_GRAPH, datasetId: 'cifar10', settings: s })).rejects.toThrow(`dataset 'CIFAR-10' is not ready: ${info.message}`);
      // … and so is a run started directly on the damaged cache (the worker loads it by id).
      const direct = startRun({ graph: TINY_GRAPH, settings: s, dataset: { id: 'cifar10', dataDir } });
      const d = await direct.done;
      expect(d.reason).toBe('error');
      expect(d.message).toContain(`dataset 'cifar10' is not ready: The cached data of 'cifar10' is damaged: ${problem}`);
      await direct.dispose();
    }
    // The engine is up, both runs are kept, and the project file was never touched.
    expect((await engine.getInfo()).host).toBe('test');
    const runs = await engine.listRuns();
    expect(runs.filter((r) => r.status === 'completed').map((r) => r.name).sort()).toEqual(['delete run', 'truncate run']);
    expect(sha(projectPath)).toBe(projectHash);
    // Importing again makes it ready, and training works.
    expect((await engine.importDataset({ path: src, as: 'cifar10' })).status).toBe('ready');
    const again = await engine.startTraining({ graph: TINY_GRAPH, datasetId: 'cifar10', settings: { ...s, epochs: 1 }, name: 'after re-import' });
    expect((await endOf(again.id)).status).toBe('completed');
    await engine.dispose();
  });
});
