/**
 * A dataset file that disappears (deleted or truncated) while a run trains (issue #8, point 4), with
 * real files in a temporary LAYERFORGE_DATA_DIR, through the real engine (datasets + worker + run
 * store); plus an out-of-memory run through the engine. Each must end only the affected run with a
 * clear message; the engine, other runs and the project file stay intact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingEnded } from '../../../shared/api';
import type { Graph, GraphNode } from '../../../shared/graph';
import { defaultTrainingSettings, newProject, serializeProject } from '../../../shared/project';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { createEngine } from '../service/wiring';
import { startRun } from './index';

const node = (id: string, type: string, name: string, params: GraphNode['params']): GraphNode => ({ id, type, name, params, position: { x: 0, y: 0 } });
const chain = (nodes: GraphNode[]): Graph => ({
  nodes,
  edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id, targetPort: 0 })),
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

  it('deleted or truncated while training: the run completes from memory; the next run is refused naming the file; the engine and project stay intact (and an out-of-memory run through the engine fails alone)', { timeout: 120_000 }, async () => {
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
    // Out of memory through the engine too: a model too big to allocate fails only its run, naming it.
    const huge = chain([
      node('in', 'Input', 'input_1', { kind: 'image', height: 32, width: 32, channels: 3 }),
      node('c', 'Conv2D', 'conv2d_1', { filters: 64, kernelSize: 3, activation: 'relu' }),
      node('f', 'Flatten', 'flatten_1', {}),
      node('o', 'Dense', 'dense_1', { units: 1_000_000, activation: 'softmax' }), // 57,600 x 1,000,000 weights
    ]);
    const big = await engine.startTraining({ graph: huge, datasetId: 'cifar10', settings: s, name: 'too big' });
    const bigEnd = await endOf(big.id);
    expect(bigEnd.status).toBe('failed');
    expect(bigEnd.error).toMatch(/^run 'too big' ran out of memory \(RangeError: .*\)\. Try a smaller batch size or a smaller model/);
    const again = await engine.startTraining({ graph: TINY_GRAPH, datasetId: 'cifar10', settings: { ...s, epochs: 1 }, name: 'after re-import' });
    expect((await endOf(again.id)).status).toBe('completed');
    expect((await engine.listRuns()).map((r) => `${r.name}: ${r.status}`).sort()).toEqual(['after re-import: completed', 'delete run: completed', 'too big: failed', 'truncate run: completed']);
    await engine.dispose();
  });
});
