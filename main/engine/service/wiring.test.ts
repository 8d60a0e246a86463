import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingEnded, TrainingProgress } from '../../../shared/api';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { writeTinyCifar10 } from './tinyCifar';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-wiring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the real engine wiring (datasets + training worker + run store)', () => {
  it('imports a tiny CIFAR-10, trains the template in a worker, evaluates and predicts', async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    const info = await engine.importDataset({ path: writeTinyCifar10(join(dir, 'src'), 20, 40), as: 'cifar10' });
    expect(info).toMatchObject({ id: 'cifar10', status: 'ready', trainSize: 100, testSize: 40 });
    const preview = await engine.datasetPreview({ id: 'cifar10', perClass: 2 });
    expect(preview.samples[0]!.images[0]).toMatch(/^data:image\/png;base64,/);

    const graph = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')).graph;
    const progress: TrainingProgress[] = [];
    engine.onTrainingProgress((p) => progress.push(p));
    const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
    const run = await engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...defaultTrainingSettings(), epochs: 1, batchSize: 32, backend: 'wasm' }, maxTrainSamples: 64, maxTestSamples: 40 });
    const end = await ended;
    expect(end).toMatchObject({ runId: run.id, status: 'completed', summary: { hasModel: true, epochsDone: 1 } });
    expect(progress.some((p) => p.batches.length > 0)).toBe(true);
    expect(progress.at(-1)!.epochPoint?.epoch).toBe(1);

    const detail = await engine.getRun({ runId: run.id });
    expect(detail.evaluation?.count).toBe(40);
    expect(detail.evaluation?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(40);
    const preds = await engine.predict({ runId: run.id, count: 5 });
    expect(preds.items).toHaveLength(5);
    expect(preds.classNames).toHaveLength(10);
    await engine.dispose();
  });
});
