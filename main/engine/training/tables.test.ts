/** Training on table datasets: regression (standardised targets, metrics in the target's units) and classification (softmax and single sigmoid). */
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { selectBackend } from '../backends';
import { settings } from './testing/helpers';
import { syntheticTable } from './testing/syntheticTable';
import { Trainer } from './trainer';
import type { EpochEvent, TrainingEvent } from './types';

function mlp(features: number, units: number, activation: string): Graph {
  return {
    nodes: [
      { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'features', features }, position: { x: 0, y: 0 } },
      { id: 'h', type: 'Dense', name: 'dense_1', params: { units: 16, activation: 'relu' }, position: { x: 0, y: 0 } },
      { id: 'o', type: 'Dense', name: 'output', params: { units, activation }, position: { x: 0, y: 0 } },
    ],
    edges: [
      { id: 'e1', source: 'in', target: 'h', targetPort: 0 },
      { id: 'e2', source: 'h', target: 'o', targetPort: 0 },
    ],
  };
}

async function run(graph: Graph, ds: ReturnType<typeof syntheticTable>, over = {}) {
  const { tf, name } = await selectBackend({ force: 'cpu' });
  const trainer = Trainer.fromGraph(tf, graph, settings({ epochs: 30, batchSize: 32, learningRate: 0.01, ...over }), ds, name);
  const events: TrainingEvent[] = [];
  const result = await trainer.train('t', undefined, (e) => events.push(e));
  return { trainer, result, events, epochs: events.filter((e): e is EpochEvent => e.type === 'epoch') };
}

describe('table training', () => {
  it('regression: learns a target around 150, reports R², MAE and RMSE in its units, predicts in its units', async () => {
    const ds = syntheticTable({ features: 4, train: 400, test: 100, task: 'regression' });
    const { trainer, result, epochs, events } = await run(mlp(4, 1, 'linear'), ds);
    expect(result.reason, result.message).toBe('completed');
    const started = events.find((e) => e.type === 'started');
    expect(started).toMatchObject({ task: 'regression', dataset: { kind: 'table', target: 'y' } });
    expect(epochs[0]!.accuracy).toBeNull();
    expect(Object.keys(epochs[0]!.metrics).sort()).toEqual(['mae', 'r2', 'rmse']);
    expect(epochs.at(-1)!.valMetrics!.r2).toBeGreaterThan(epochs[0]!.valMetrics!.r2!);
    const ev = await trainer.evaluate('test', undefined, true);
    expect(ev.task).toBe('regression');
    expect(ev.accuracy).toBeNull();
    expect(ev.metrics.r2).toBeGreaterThan(0.9);
    // Metrics are in the target's units: recompute them from the per-sample predictions.
    const p = ev.predictions!;
    const n = p.truth.length;
    const mae = p.truth.reduce((a, t, i) => a + Math.abs(p.predicted[i]! - t), 0) / n;
    const mean = p.truth.reduce((a, b) => a + b, 0) / n;
    const sse = p.truth.reduce((a, t, i) => a + (p.predicted[i]! - t) ** 2, 0);
    const sst = p.truth.reduce((a, t) => a + (t - mean) ** 2, 0);
    expect(ev.metrics.mae).toBeCloseTo(mae, 2);
    expect(ev.metrics.rmse).toBeCloseTo(Math.sqrt(sse / n), 2);
    expect(ev.metrics.r2).toBeCloseTo(1 - sse / sst, 4);
    expect(mean).toBeGreaterThan(100); // truth is in the target's units, not standardised
    const preds = await trainer.predict({ features: ds.test.features!.subarray(0, 3 * 4), count: 3 });
    for (let i = 0; i < 3; i++) expect(preds[i]![0]!).toBeCloseTo(p.predicted[i]!, 3);
    trainer.dispose();
  });

  it('regression with mae and huber losses trains too', async () => {
    const ds = syntheticTable({ features: 3, train: 200, test: 50, task: 'regression', seed: 3 });
    for (const loss of ['mae', 'huber'] as const) {
      const { trainer, result, epochs } = await run(mlp(3, 1, 'linear'), ds, { loss, epochs: 10 });
      expect(result.reason, result.message).toBe('completed');
      expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
      expect(trainer.summary().loss).toMatch(loss === 'mae' ? /absolute/ : /Huber/);
      trainer.dispose();
    }
  });

  it('classification on a table: softmax over 3 classes', async () => {
    const ds = syntheticTable({ features: 4, train: 300, test: 100, task: 3 });
    const { trainer, result } = await run(mlp(4, 3, 'softmax'), ds);
    expect(result.reason, result.message).toBe('completed');
    const ev = await trainer.evaluate('test', undefined, true);
    expect(ev.accuracy).toBeGreaterThan(0.8);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(100);
    expect(ev.predictions!.confidence!.every((c) => c >= 1 / 3 && c <= 1)).toBe(true);
    trainer.dispose();
  });

  it('binary classification with one sigmoid unit uses binary cross-entropy', async () => {
    const ds = syntheticTable({ features: 4, train: 300, test: 100, task: 2 });
    const { trainer, result } = await run(mlp(4, 1, 'sigmoid'), ds);
    expect(result.reason, result.message).toBe('completed');
    expect(trainer.summary().loss).toMatch(/binary cross-entropy/);
    const ev = await trainer.evaluate('test');
    expect(ev.accuracy).toBeGreaterThan(0.85);
    const probs = await trainer.predict({ features: ds.test.features!.subarray(0, 8), count: 2 });
    for (const p of probs) expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
    trainer.dispose();
  });

  it('refuses an output that does not fit the task, naming the node and the fix', async () => {
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const reg = syntheticTable({ features: 4, train: 20, test: 10, task: 'regression' });
    expect(() => Trainer.fromGraph(tf, mlp(4, 3, 'softmax'), settings(), reg, name)).toThrow(/output: a regression target needs an output of size 1.*Dense layer of 1 unit.*target 'y'/);
    expect(() => Trainer.fromGraph(tf, mlp(4, 1, 'sigmoid'), settings(), reg, name)).toThrow(/linear activation/);
    const cls = syntheticTable({ features: 4, train: 20, test: 10, task: 3 });
    expect(() => Trainer.fromGraph(tf, mlp(4, 2, 'softmax'), settings(), cls, name)).toThrow(/has 2 units but the dataset has 3 classes: set units to 3/);
    expect(() => Trainer.fromGraph(tf, mlp(5, 3, 'softmax'), settings(), cls, name)).toThrow(/bad data shape/);
    expect(() => Trainer.fromGraph(tf, mlp(4, 3, 'softmax'), settings({ loss: 'mse' }), cls, name)).toThrow(/loss mse does not fit classification/);
  });
});
