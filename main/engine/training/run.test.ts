/**
 * The worker side of training runs: events, stop/pause/resume, errors that end a run with a named
 * cause (bad data, NaN loss, terminated worker, crashed worker), checkpoint round trip.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { defaultTrainingSettings, type TrainingSettings } from '../../../shared/project';
import { openModel, startRun, type EndedEvent, type TrainingEvent } from './index';
import { syntheticDataset } from './testing/synthetic';

const graph: Graph = {
  nodes: [
    { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'image', height: 8, width: 8, channels: 1 }, position: { x: 0, y: 0 } },
    { id: 'c', type: 'Conv2D', name: 'conv2d_1', params: { filters: 4, kernelSize: 3, activation: 'relu' }, position: { x: 0, y: 0 } },
    { id: 'f', type: 'Flatten', name: 'flatten_1', params: {}, position: { x: 0, y: 0 } },
    { id: 'o', type: 'Dense', name: 'dense_1', params: { units: 3, activation: 'softmax' }, position: { x: 0, y: 0 } },
  ],
  edges: [
    { id: 'e1', source: 'in', target: 'c', targetPort: 0 },
    { id: 'e2', source: 'c', target: 'f', targetPort: 0 },
    { id: 'e3', source: 'f', target: 'o', targetPort: 0 },
  ],
};
const settings = (over: Partial<TrainingSettings> = {}): TrainingSettings => ({ ...defaultTrainingSettings(), epochs: 2, batchSize: 16, backend: 'cpu', learningRate: 0.01, ...over });
const data = (train = 64) => syntheticDataset({ shape: [8, 8, 1], classes: 3, train, test: 24 });

function collect() {
  const events: TrainingEvent[] = [];
  return { events, onEvent: (e: TrainingEvent) => events.push(e), ended: () => events.filter((e): e is EndedEvent => e.type === 'ended') };
}

describe('training runs in a worker', () => {
  it('streams started, batch, epoch and one ended event; evaluate, predict and a checkpoint round trip', async () => {
    const c = collect();
    const ds = data();
    const run = startRun({ graph, settings: settings({ epochs: 3 }), dataset: ds }, c.onEvent);
    const result = await run.done;
    expect(result.reason, result.message).toBe('completed');
    expect(c.events[0]!.type).toBe('started');
    const started = c.events[0] as Extract<TrainingEvent, { type: 'started' }>;
    expect(started.backend).toBe('cpu');
    expect(started.backendReason).toMatch(/forced/);
    expect(started.model.params).toBeGreaterThan(0);
    expect(c.events.filter((e) => e.type === 'batch').length).toBeGreaterThan(0);
    const epochs = c.events.filter((e) => e.type === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    // No tensor growth from epoch to epoch (optimizer slots exist after the first step).
    expect(new Set(epochs.map((e) => e.numTensors)).size).toBe(1);
    expect(c.ended()).toHaveLength(1);
    expect(c.events.at(-1)!.type).toBe('ended');
    expect(JSON.parse(JSON.stringify(c.events))).toEqual(c.events);

    const ev = await run.evaluate('test');
    expect(ev.count).toBe(24);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(24);
    const samples = { images: ds.test.images.subarray(0, 4 * 64), count: 4 };
    const probs = await run.predict(samples);
    expect(probs).toHaveLength(4);
    const dir = mkdtempSync(join(tmpdir(), 'lf-run-'));
    await run.save(dir, { metrics: { testAccuracy: ev.accuracy } });
    await run.dispose();

    const back = await openModel({ dir, dataset: ds, backend: 'cpu' });
    const probs2 = await back.predict(samples);
    for (let i = 0; i < 4; i++) for (let k = 0; k < 3; k++) expect(Math.abs(probs2[i]![k]! - probs[i]![k]!)).toBeLessThan(1e-5);
    expect((await back.evaluate('test')).accuracy).toBeCloseTo(ev.accuracy!, 10);
    await back.dispose();
  });

  it('stop during the first batch finishes it, keeps the weights and ends as stopped', async () => {
    const c = collect();
    const run = startRun({ graph, settings: settings({ epochs: 50 }), dataset: data(512) }, (e) => {
      c.onEvent(e);
      if (e.type === 'started') run.stop();
    });
    const result = await run.done;
    expect(result.reason).toBe('stopped');
    expect(result.batchesCompleted).toBe(1);
    expect(c.ended()[0]!.reason).toBe('stopped');
    expect((await run.evaluate('test')).count).toBe(24);
    await run.dispose();
  });

  it('pauses and resumes', async () => {
    const c = collect();
    let resumedAt = 0;
    const run = startRun({ graph, settings: settings({ epochs: 3 }), dataset: data(256) }, (e) => {
      c.onEvent(e);
      if (e.type === 'batch' && e.epoch === 1 && e.batch === 1) run.pause();
      if (e.type === 'paused') {
        resumedAt = c.events.length;
        setTimeout(() => run.resume(), 300);
      }
    });
    const result = await run.done;
    expect(result.reason, result.message).toBe('completed');
    const types = c.events.map((e) => e.type);
    expect(types.filter((t) => t === 'paused')).toHaveLength(1);
    expect(types.indexOf('resumed')).toBe(resumedAt);
    expect(types.filter((t) => t === 'epoch')).toHaveLength(3);
    await run.dispose();
  });

  it('a bad data shape ends the run with an error naming it', async () => {
    const c = collect();
    const run = startRun({ graph, settings: settings(), dataset: syntheticDataset({ shape: [5, 5, 1], classes: 3, train: 16, test: 8 }) }, c.onEvent);
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/bad data shape.*5×5×1.*'input_1' expects 8×8×1/);
    expect(c.ended()[0]).toMatchObject({ reason: 'error', message: result.message });
    await run.dispose();
  });

  it('a NaN loss from a huge learning rate ends the run with an error naming it', async () => {
    const linear: Graph = { ...graph, nodes: graph.nodes.map((n) => (n.id === 'c' ? { ...n, params: { ...n.params, activation: 'linear' } } : n)) };
    const run = startRun({ graph: linear, settings: settings({ optimizer: 'sgd', learningRate: 1e6, epochs: 30 }), dataset: data() });
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/loss became (NaN|infinite) at epoch \d+, batch \d+/);
    await run.dispose();
  });

  it('a worker terminated mid-run ends the run with an error naming it', async () => {
    const c = collect();
    const run = startRun({ graph, settings: settings({ epochs: 50 }), dataset: data(512) }, (e) => {
      c.onEvent(e);
      if (e.type === 'batch') void run.worker.terminate();
    });
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/training worker exited unexpectedly \(exit code \d+\)/);
    expect(c.ended()).toHaveLength(1);
    await expect(run.evaluate()).rejects.toThrow(/exited unexpectedly/);
  });

  it('a crashing worker (process.exit inside it) ends the run with an error naming it', async () => {
    const c = collect();
    const run = startRun({ graph, settings: settings({ epochs: 50 }), dataset: data(512), workerEntry: new URL('./testing/crash-worker.mjs', import.meta.url) }, c.onEvent);
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/exit code 7/);
    expect(c.ended()[0]!.reason).toBe('error');
  });

  it('an unknown dataset id ends the run with an error naming it', async () => {
    const run = startRun({ graph, settings: settings(), dataset: { id: 'no-such-set', dataDir: tmpdir() } });
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/dataset 'no-such-set'/);
    await run.dispose();
  });
});
