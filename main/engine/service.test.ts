import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiError, createClient, ENGINE_NAMES, ENGINE_SPEC, inProcessPair, serveApi, type EngineApi, type TrainingEnded, type TrainingProgress } from '../../shared/api';
import type { DatasetInfo } from '../../shared/api/datasets';
import { defaultTrainingSettings, parseProjectText } from '../../shared/project';
import { Engine } from './service';
import type { DatasetsPort, RunHandle, StartRunOptions, TrainingPort } from './service/ports';
import type { RunResult } from './training/types';

const template = parseProjectText(readFileSync(new URL('../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8'));
const classNames = ['a', 'b', 'c'];
const info: DatasetInfo = { id: 'tiny', name: 'Tiny', inputShape: [2, 2, 3], classNames, trainSize: 6, testSize: 4, license: '', homepage: '', status: 'ready', downloadable: false };

function fakeDatasets(): DatasetsPort {
  const images = new Uint8Array(4 * 12).map((_, i) => i);
  return {
    list: async () => [info, { ...info, id: 'missing', name: 'Missing', status: 'missing' }],
    prepare: async () => info,
    importFrom: async () => info,
    preview: async () => ({ id: 'tiny', classNames, trainCounts: [2, 2, 2], testCounts: [2, 1, 1], samples: [] }),
    load: async () => ({ info, shape: [2, 2, 3], train: { count: 0, images: new Uint8Array(), labels: new Uint8Array() }, test: { count: 4, images, labels: new Uint8Array([0, 1, 2, 0]) } }),
  };
}

/** A training port whose runs are driven by the test. */
function fakeTraining() {
  const runs: { opts: StartRunOptions; end(reason: RunResult['reason'], message?: string): void; stopped: boolean }[] = [];
  const port: TrainingPort = {
    startRun(opts) {
      let resolve!: (r: RunResult) => void;
      const done = new Promise<RunResult>((r) => (resolve = r));
      const entry = {
        opts,
        stopped: false,
        end(reason: RunResult['reason'], message = '') {
          resolve({ runId: opts.runId, reason, message, backend: 'cpu', epochsCompleted: 1, batchesCompleted: 2, trainImages: 6, imagesTrained: 12, trainImagesPerSecond: 1, elapsedMs: 1, history: [] });
        },
      };
      runs.push(entry);
      const handle: RunHandle = { stop: () => (entry.stopped = true), pause: () => opts.onEvent({ type: 'paused', epoch: 1, batch: 1 }), resume: () => opts.onEvent({ type: 'resumed' }), done };
      return handle;
    },
    evaluate: async () => ({ split: 'test', task: 'classification', count: 4, loss: 1, accuracy: 0.5, metrics: { accuracy: 0.5 }, classNames, perClassAccuracy: [0.5, 1, 0], confusion: [[1, 1, 0], [0, 1, 0], [0, 1, 0]], imagesPerSecond: 1 }),
    predictFeatures: async (_dir, _id, _features, count) => Array.from({ length: count }, () => [0.1, 0.9, 0]),
    predictTokens: async (_dir, _id, _tokens, count) => Array.from({ length: count }, () => [0.1, 0.9, 0]),
    predict: async (_dir, _id, _images, count) => ({ predicted: Array.from({ length: count }, () => 1), confidence: Array.from({ length: count }, () => 0.9) }),
  };
  return { port, runs };
}

const dirs: string[] = [];
afterEach(() => {
  // A run's last save may still be under way when a test ends: retry while the folder fills (ENOTEMPTY).
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

function setup(dataDir = mkdtempSync(join(tmpdir(), 'lf-engine-'))) {
  dirs.push(dataDir);
  const training = fakeTraining();
  const engine = new Engine({ dataDir, datasets: fakeDatasets(), training: training.port, host: 'test' });
  const [c, s] = inProcessPair();
  serveApi(ENGINE_SPEC, engine, s);
  const client = createClient<EngineApi>(ENGINE_NAMES, c);
  return { engine, client, training, dataDir };
}

const flush = () => new Promise((r) => setTimeout(r, 5));
async function until(cond: () => boolean | Promise<boolean>, what: string) {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Engine over the proxy', () => {
  it('trains, streams progress, evaluates, predicts and keeps the run across a restart', async () => {
    const { client, training, dataDir } = setup();
    const progress: TrainingProgress[] = [];
    const ended: TrainingEnded[] = [];
    client.onTrainingProgress((p) => progress.push(p));
    client.onTrainingEnded((e) => ended.push(e));
    await flush();
    const run = await client.startTraining({ graph: template.graph, datasetId: 'tiny', settings: { ...defaultTrainingSettings(), epochs: 1 }, maxTestSamples: 4 });
    expect(run.status).toBe('starting');
    const [r] = training.runs;
    r!.opts.onEvent({ type: 'started', runId: run.id, backend: 'cpu', backendReason: '', model: {} as never, dataset: { id: 'tiny', name: 'Tiny', classNames, kind: 'image' }, task: 'classification', trainImages: 6, valImages: 0, validation: 'test', epochs: 1, batchSize: 3, batchesPerEpoch: 2, settings: defaultTrainingSettings(), notes: [] });
    r!.opts.onEvent({ type: 'batch', epoch: 1, epochs: 1, batch: 1, batches: 2, loss: 2, accuracy: 0.3, metrics: { accuracy: 0.3 }, batchLoss: 2.1, imagesPerSecond: 10, elapsedMs: 5, etaMs: 5, learningRate: 0.001 });
    await client.pauseTraining({ runId: run.id });
    await client.resumeTraining({ runId: run.id });
    r!.opts.onEvent({ type: 'epoch', epoch: 1, epochs: 1, loss: 1.5, accuracy: 0.4, valLoss: 1.6, valAccuracy: 0.45, metrics: { accuracy: 0.4 }, valMetrics: { accuracy: 0.45 }, imagesPerSecond: 10, elapsedMs: 10, etaMs: 0, learningRate: 0.001, numTensors: 10 });
    r!.end('completed');
    await until(() => ended.length > 0, 'the run to end');
    expect(progress.map((p) => p.status)).toEqual(['running', 'running', 'paused', 'running', 'running']);
    expect(progress[1]!.batches[0]).toMatchObject({ step: 1, loss: 2.1 });
    expect(progress[4]!.epochPoint).toMatchObject({ epoch: 1, valAccuracy: 0.45 });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ runId: run.id, status: 'completed', summary: { testAccuracy: 0.5, hasModel: true, backend: 'cpu' } });

    const detail = await client.getRun({ runId: run.id });
    expect(detail.evaluation?.perClass.map((p) => p.count)).toEqual([2, 1, 1]);
    const preds = await client.predict({ runId: run.id, count: 3 });
    expect(preds.items.map((i) => i.index)).toEqual([0, 2, 3]); // the misclassified ones (label != 1) first
    expect(preds.items[0]!.image).toMatch(/^data:image\/png;base64,/);
    // An image run is no text classifier: predictText says so.
    await expect(client.predictText({ runId: run.id, texts: ['hello'] })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'not-a-text-classifier' } });

    const again = setup(dataDir);
    const runs = await again.client.listRuns();
    expect(runs.map((x) => x.id)).toEqual([run.id]);
    expect((await again.client.getRun({ runId: run.id })).epochPoints).toHaveLength(1);
  });

  it('refuses an invalid graph, a missing dataset and a second concurrent run with typed errors', async () => {
    const { client, training } = setup();
    const bad = { nodes: [...template.graph.nodes], edges: template.graph.edges.slice(1) };
    const err = (await client.startTraining({ graph: bad, datasetId: 'tiny', settings: defaultTrainingSettings() }).catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('bad-request');
    expect((err.details as { problems: { nodeId?: string }[] }).problems.length).toBeGreaterThan(0);
    await expect(client.startTraining({ graph: template.graph, datasetId: 'missing', settings: defaultTrainingSettings() })).rejects.toMatchObject({ code: 'not-found' });
    await expect(client.startTraining({ graph: template.graph, datasetId: 'nope', settings: defaultTrainingSettings() })).rejects.toMatchObject({ code: 'not-found' });
    const first = await client.startTraining({ graph: template.graph, datasetId: 'tiny', settings: defaultTrainingSettings() });
    await expect(client.startTraining({ graph: template.graph, datasetId: 'tiny', settings: defaultTrainingSettings() })).rejects.toMatchObject({ code: 'busy' });
    const ended: TrainingEnded[] = [];
    client.onTrainingEnded((e) => ended.push(e));
    await flush();
    await client.stopTraining({ runId: first.id });
    expect(training.runs[0]!.stopped).toBe(true);
    training.runs[0]!.end('stopped');
    // 'ended' comes after the run is evaluated and saved (its status flips before that).
    await until(() => ended.length > 0, 'the run to stop');
    expect((await client.listRuns())[0]).toMatchObject({ status: 'stopped', hasModel: true });
    await expect(client.stopTraining({ runId: first.id })).rejects.toMatchObject({ code: 'bad-request' });
    await expect(client.getRun({ runId: 'run-20200101-000000-abcdef' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('reports a failed run with its message and marks runs interrupted by a restart as failed', async () => {
    const { client, training, dataDir } = setup();
    const ended: TrainingEnded[] = [];
    client.onTrainingEnded((e) => ended.push(e));
    await flush();
    const a = await client.startTraining({ graph: template.graph, datasetId: 'tiny', settings: defaultTrainingSettings() });
    training.runs[0]!.end('error', 'loss became NaN at epoch 1, batch 3');
    await until(() => ended.length > 0, 'the run to fail');
    expect(ended[0]).toMatchObject({ status: 'failed', error: 'loss became NaN at epoch 1, batch 3', summary: { hasModel: false } });
    await expect(client.predict({ runId: a.id })).rejects.toMatchObject({ code: 'not-found' });
    const b = await client.startTraining({ graph: template.graph, datasetId: 'tiny', settings: defaultTrainingSettings() });
    const restarted = setup(dataDir);
    const runs = await restarted.client.listRuns();
    expect(runs.find((r) => r.id === b.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) });
    await restarted.client.deleteRun({ runId: a.id });
    expect((await restarted.client.listRuns()).map((r) => r.id)).toEqual([b.id]);
  });
});
