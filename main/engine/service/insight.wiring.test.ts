/**
 * Insight through the real engine wiring: a run answers activations between batches while it trains (live),
 * its saved model folder's worker answers once it has ended; training health is kept per epoch (run.json);
 * the evaluation covers the whole test split with per-class precision, recall and F1.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, type TrainingEnded, type TrainingProgress } from '../../../shared/api';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { writeTinyCifar10 } from './tinyCifar';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-insight-wiring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('insight through the engine', () => {
  it('live activations while training, then the saved model answers; health per epoch; whole-split evaluation', { timeout: 120_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    const src = writeTinyCifar10(join(dir, 'src'), 20, 40);
    await engine.importDataset({ path: src, as: 'cifar10' });
    const graph = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')).graph;
    const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
    const firstBatch = new Promise<void>((r) => engine.onTrainingProgress((p: TrainingProgress) => p.batches.length && r()));
    // Many small batches, so the run is still training when the request arrives.
    const run = await engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...defaultTrainingSettings(), epochs: 2, batchSize: 4, backend: 'wasm' }, maxTrainSamples: 96 });
    await firstBatch;
    const live = await engine.activations({ runId: run.id, sample: 3, nodeId: 'fc1' });
    expect(live).toMatchObject({ runId: run.id, nodeId: 'fc1', layerName: 'dense_1', shape: [128], live: true, sample: { index: 3, count: 40, label: 3 } });
    expect(live.epoch).toBeLessThan(2);
    const end = await ended;
    expect(end.status).toBe('completed');

    const done = await engine.activations({ runId: run.id, sample: 3, nodeId: 'conv1', maxChannels: 4 });
    expect(done).toMatchObject({ live: false, epoch: 2, shape: [30, 30, 32], view: { kind: 'feature-maps', totalChannels: 32 } });
    expect(done.view.kind === 'feature-maps' && done.view.channels).toHaveLength(4);
    const sample = await engine.getSample({ runId: run.id, sample: 39 });
    expect(sample.label).toBe(readFileSync(join(src, 'test_batch.bin'))[39 * 3073]);

    // Health: every layer with weights, one entry per epoch, in graph order; kept in run.json, not in getRun.
    const health = await engine.trainingHealth({ runId: run.id });
    expect(health.layers.map((l) => [l.nodeId, l.type, l.epochs.map((e) => e.epoch)])).toEqual([
      ['conv1', 'Conv2D', [1, 2]],
      ['conv2', 'Conv2D', [1, 2]],
      ['fc1', 'Dense', [1, 2]],
      ['out', 'Dense', [1, 2]],
    ]);
    const e2 = health.layers[0]!.epochs[1]!;
    expect(e2.weights.counts).toHaveLength(30);
    expect(e2.weights.counts.reduce((a, b) => a + b, 0)).toBe(3 * 3 * 3 * 32 + 32);
    expect(e2.gradNorm).toBeGreaterThan(0);
    expect(e2.deadFraction).toBeGreaterThanOrEqual(0);
    expect(health.layers[3]!.epochs[1]!.deadFraction).toBeUndefined(); // softmax output
    const stored = JSON.parse(readFileSync(join(dir, 'data', 'runs', run.id, 'run.json'), 'utf8')) as { health?: { layers: unknown[] } };
    expect(stored.health?.layers).toHaveLength(4);
    expect(await engine.getRun({ runId: run.id })).not.toHaveProperty('health');

    // The evaluation: the whole test split (no maxTestSamples given), per-class precision, recall and F1.
    const ev = (await engine.getRun({ runId: run.id })).evaluation!;
    expect(ev.count).toBe(40);
    for (const [i, c] of ev.perClass.entries()) {
      const tp = ev.confusion[i]![i]!;
      const col = ev.confusion.reduce((a, r) => a + r[i]!, 0);
      expect(c.count).toBe(4);
      expect(c.recall).toBeCloseTo(tp / 4, 10);
      expect(c.precision).toBeCloseTo(col ? tp / col : 0, 10);
      expect(c.f1).toBeCloseTo(c.precision! + c.recall! > 0 ? (2 * c.precision! * c.recall!) / (c.precision! + c.recall!) : 0, 10);
    }
    const cell = await engine.confusionSamples({ runId: run.id, actual: 3, predicted: ev.confusion[3]!.indexOf(Math.max(...ev.confusion[3]!)), limit: 2 });
    expect(cell.total).toBe(Math.max(...ev.confusion[3]!));
    expect(cell.items.length).toBe(Math.min(2, cell.total));

    // Errors are the request's fault: 'bad-request' with the reason.
    const bad = await engine.explain({ runId: run.id, sample: 40, method: 'gradcam' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect(bad).toMatchObject({ code: 'bad-request', details: { reason: 'bad-sample' } });
    expect((bad as Error).message).toBe('sample 40 is out of range: the test split has 40 samples (0 … 39)');
    const cam = await engine.explain({ runId: run.id, sample: 5, method: 'gradcam' });
    expect(cam).toMatchObject({ nodeId: 'conv2', live: false, classIndex: cam.sample.predicted });
    await engine.dispose();
  });
});
