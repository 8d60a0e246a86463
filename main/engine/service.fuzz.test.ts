/**
 * Fuzz: the real Engine (fake dataset and training ports) served over the in-process proxy, under random
 * sequences of plausible-but-wrong requests (unknown runs and datasets, invalid graphs, runs stopped,
 * paused, deleted and evaluated in any order, two runs at once). Every request is answered (a result or
 * a typed error), nothing rejects unhandled, and the engine keeps working.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMutations, FuzzTally, mutationPlans } from '../../scripts/security/fuzz';
import { ApiError, createClient, ENGINE_NAMES, ENGINE_SPEC, inProcessPair, serveApi, type ApiErrorCode, type EngineApi } from '../../shared/api';
import type { DatasetInfo } from '../../shared/api/datasets';
import { defaultTrainingSettings, parseProjectText } from '../../shared/project';
import { Engine } from './service';
import type { DatasetsPort, RunHandle, TrainingPort } from './service/ports';
import type { RunResult } from './training/types';

const tally = new FuzzTally('engine requests (real Engine over the proxy)');
const dataDir = mkdtempSync(join(tmpdir(), 'lf-engine-fuzz-'));
afterAll(() => {
  tally.report();
  rmSync(dataDir, { recursive: true, force: true });
});

const template = parseProjectText(readFileSync(new URL('../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8'));
const classNames = ['a', 'b', 'c'];
const info: DatasetInfo = { id: 'tiny', name: 'Tiny', inputShape: [32, 32, 3], classNames, trainSize: 6, testSize: 4, license: '', homepage: '', status: 'ready', downloadable: false };

const datasets: DatasetsPort = {
  list: async () => [info, { ...info, id: 'missing', name: 'Missing', status: 'missing' }],
  prepare: async (id) => {
    if (id !== 'tiny') throw new Error(`Unknown dataset '${id}'`);
    return info;
  },
  importFrom: async (req) => {
    throw new Error(`cannot import ${req.path}`);
  },
  preview: async (id) => {
    if (id !== 'tiny') throw new Error(`Unknown dataset '${id}'`);
    return { id: 'tiny', classNames, trainCounts: [2, 2, 2], testCounts: [2, 1, 1], samples: [] };
  },
  load: async () => ({ info, shape: [32, 32, 3], train: { count: 0, images: new Uint8Array(), labels: new Uint8Array() }, test: { count: 4, images: new Uint8Array(4 * 3072), labels: new Uint8Array([0, 1, 2, 0]) } }),
};

/** Runs end when stopped, or by themselves after a few ms (completed or failed, at random). */
const training: TrainingPort = {
  startRun(opts) {
    let resolve!: (r: RunResult) => void;
    const done = new Promise<RunResult>((r) => (resolve = r));
    const end = (reason: RunResult['reason'], message = '') =>
      resolve({ runId: opts.runId, reason, message, backend: 'cpu', epochsCompleted: 1, batchesCompleted: 1, trainImages: 6, imagesTrained: 6, trainImagesPerSecond: 1, elapsedMs: 1, history: [] });
    const timer = setTimeout(() => end(Math.random() < 0.5 ? 'completed' : 'error', 'fuzz'), 5 + Math.floor(Math.random() * 20));
    const handle: RunHandle = {
      stop: () => {
        clearTimeout(timer);
        end('stopped');
      },
      pause: () => opts.onEvent({ type: 'paused', epoch: 1, batch: 1 }),
      resume: () => opts.onEvent({ type: 'resumed' }),
      done,
    };
    return handle;
  },
  evaluate: async () => ({ split: 'test', task: 'classification', count: 4, loss: 1, accuracy: 0.5, metrics: { accuracy: 0.5 }, classNames, perClassAccuracy: [0.5, 1, 0], confusion: [[1, 1, 0], [0, 1, 0], [0, 1, 0]], imagesPerSecond: 1 }),
  predictFeatures: async (_dir, _id, _features, count) => Array.from({ length: count }, () => [0.1, 0.9, 0]),
  predictTokens: async (_dir, _id, _tokens, count) => Array.from({ length: count }, () => [0.1, 0.9, 0]),
  predict: async (_dir, _id, _images, count) => ({ predicted: Array.from({ length: count }, () => 1), confidence: Array.from({ length: count }, () => 0.9) }),
};

const CODES: ApiErrorCode[] = ['bad-request', 'unknown-method', 'not-found', 'busy', 'failed', 'disconnected', 'too-large'];

describe('Engine under fuzzing', () => {
  it('random request sequences: every request answered, typed errors only, engine keeps working', { timeout: 120_000 }, async () => {
    const engine = new Engine({ dataDir, datasets, training, host: 'test' });
    const [c, s] = inProcessPair();
    serveApi(ENGINE_SPEC, engine, s);
    const client = createClient<EngineApi>(ENGINE_NAMES, c);
    const knownRuns: string[] = [];
    const outcomes: Record<string, number> = {};
    const runId = fc.oneof(fc.constantFrom('run-1', 'x', 'a..b', 'r:1'), fc.integer({ min: 0, max: 9 }).map((i) => knownRuns[i % Math.max(1, knownRuns.length)] ?? 'none'));
    const op = fc.oneof(
      fc.record({ m: fc.constant('startTraining'), graph: fc.oneof(fc.constant(template.graph), mutationPlans(2).map((p) => applyMutations(template.graph, p))), datasetId: fc.constantFrom('tiny', 'missing', 'nope', 'folder:x') }),
      ...(['stopTraining', 'pauseTraining', 'resumeTraining', 'getRun', 'deleteRun', 'evaluate'] as const).map((m) => fc.record({ m: fc.constant(m), runId })),
      fc.record({ m: fc.constant('predict'), runId, count: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ m: fc.constant('exportModel'), runId, outPath: fc.constantFrom('/tmp/x', '../../etc/passwd') }),
      fc.record({ m: fc.constantFrom('datasetPreview', 'prepareDataset', 'cancelDatasetPreparation'), id: fc.constantFrom('tiny', 'missing', 'nope', 'folder:x', 'cifar10') }),
      fc.record({ m: fc.constant('importDataset'), path: fc.constantFrom('/nonexistent', '') }),
      fc.record({ m: fc.constant('importModel'), path: fc.constantFrom('/nonexistent/model.json') }),
      fc.record({ m: fc.constantFrom('listRuns', 'listDatasets', 'getInfo', 'listBackends', 'listProjects', 'openProjectDialog') }),
      fc.record({
        m: fc.constant('saveProject'),
        text: fc.oneof(fc.constant(JSON.stringify(template)), fc.constant('{'), mutationPlans(2).map((p) => JSON.stringify(applyMutations(template, p)))),
        name: fc.constantFrom('a.json', 'b.json', '../x.json', 'a/b.json', '.h.json', 'con.json'),
        overwrite: fc.boolean(),
      }),
      fc.record({ m: fc.constant('saveProject'), text: fc.constant(JSON.stringify(template)), path: fc.constantFrom(join(dataDir, 'projects', 'a.json'), join(dataDir, 'x.json'), '/etc/passwd', 'rel.json') }),
      fc.record({ m: fc.constant('openProject'), name: fc.constantFrom('a.json', 'b.json', 'missing.json', '../x.json') }),
      fc.record({ m: fc.constant('saveRecovery'), key: fc.constantFrom('tab-1', 'tab-2', '../up', ''), text: fc.constantFrom(JSON.stringify(template), 'nope') }),
      fc.record({ m: fc.constant('discardRecovery'), key: fc.constantFrom('tab-1', 'tab-3', '../up') }),
      fc.record({ m: fc.constant('listRecovery') }),
      // Generation: these runs are classification runs (or unknown): refused with a typed error, never a crash.
      fc.record({ m: fc.constant('generateText'), runId, prompt: fc.constantFrom('', 'The ', 'x'.repeat(10_000)), tokens: fc.integer({ min: 1, max: 2000 }) }),
      fc.record({ m: fc.constant('stopGeneration'), requestId: fc.constantFrom('gen-1', 'x', 'a..b') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), fc.boolean(), async (ops, concurrent) => {
        const call = async (o: Record<string, unknown>) => {
          tally.add('engine request');
          const { m, ...rest } = o as { m: string } & Record<string, unknown>;
          const arg =
            m === 'startTraining' ? { graph: rest.graph, datasetId: rest.datasetId, settings: defaultTrainingSettings() }
            : m === 'exportModel' ? { runId: rest.runId, format: 'onnx', outPath: rest.outPath }
            : Object.keys(rest).length ? rest : undefined;
          try {
            const v = await (client as unknown as Record<string, (a?: unknown) => Promise<unknown>>)[m]!(arg);
            if (m === 'startTraining') knownRuns.push((v as { id: string }).id);
            outcomes[`${m} ok`] = (outcomes[`${m} ok`] ?? 0) + 1;
          } catch (error) {
            expect(error).toBeInstanceOf(ApiError);
            expect(CODES).toContain((error as ApiError).code);
            outcomes[`${m} ${(error as ApiError).code}`] = (outcomes[`${m} ${(error as ApiError).code}`] ?? 0) + 1;
          }
        };
        if (concurrent) await Promise.all(ops.map(call));
        else for (const o of ops) await call(o);
        expect((await client.getInfo()).host).toBe('test');
        expect(Array.isArray(await client.listRuns())).toBe(true);
      }),
      { numRuns: 400 },
    );
    // Let runs end, then the engine still answers and every run has a final state.
    for (const r of await client.listRuns()) if (!['completed', 'stopped', 'failed'].includes(r.status)) await client.stopTraining({ runId: r.id }).catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    const runs = await client.listRuns();
    for (const r of runs) expect(['completed', 'stopped', 'failed']).toContain(r.status);
    // Project requests never wrote outside the projects folder (plus the recent list and the runs).
    expect(readdirSync(dataDir).filter((f) => !['projects', 'runs', 'recovery', 'recent-projects.json'].includes(f))).toEqual([]);
    for (const f of readdirSync(join(dataDir, 'recovery'))) expect(f).toMatch(/^[0-9a-f]{32}\.json$/);
    for (const f of readdirSync(join(dataDir, 'projects'))) expect(f).toMatch(/^[ab]\.json(\.bak)?$/);
    console.log(`[fuzz] engine outcomes: ${Object.entries(outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
});
