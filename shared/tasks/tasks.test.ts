/** The task registry: every task complete and consistent; the graph check and dataset fitting. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../graph';
import type { Graph } from '../graph/types';
import { checkGraphForTask, fitGraphToDataset, getTask, TASKS, type OutputInfo, type TaskDef } from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** An output that fits each task (the registry's coverage guard uses it: a new task must add one). */
const FITTING: Record<string, { out: OutputInfo; y: () => tf.Tensor; classes: number }> = {
  classification: { out: { name: 'o', type: 'Dense', shape: [3], activation: 'softmax' }, y: () => tf.tensor1d([0, 2, 1, 2], 'int32'), classes: 3 },
  regression: { out: { name: 'o', type: 'Dense', shape: [1], activation: 'linear' }, y: () => tf.tensor1d([0.5, -1, 2, 0]), classes: 0 },
  'language-modelling': { out: { name: 'o', type: 'Dense', shape: [3, 5], activation: 'softmax' }, y: () => tf.tensor2d([[0, 1, 2], [4, 4, 4], [1, 0, 3], [2, 2, 0]], [4, 3], 'int32'), classes: 5 },
};

describe('task registry', () => {
  it('every task is complete: losses, metrics, views, and a plan/loss/stats/metrics/predict that fit together', () => {
    for (const task of TASKS) {
      const f = FITTING[task.id];
      expect(f, `add an example output for task '${task.id}' to this test`).toBeDefined();
      expect(task.losses.length).toBeGreaterThan(0);
      expect(task.metrics.length).toBeGreaterThan(0);
      expect(task.views.length).toBeGreaterThan(0);
      const target = { classes: f!.classes, mean: 10, std: 2 };
      expect(task.checkOutput(f!.out, target)).toBeNull();
      const plan = task.plan(f!.out, target, 'auto');
      expect(task.losses).toContain(plan.loss);
      tf.tidy(() => {
        const raw = tf.randomNormal([4, ...f!.out.shape], 0, 1, 'float32', 1);
        const y = f!.y();
        const loss = task.loss(tf, plan, raw, y, target);
        expect(loss.rank).toBe(0);
        expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
        const stats = task.stats(tf, plan, raw, y);
        expect(stats.rank).toBe(1);
        const m = task.metricsFrom(stats.dataSync(), 4, target);
        expect(Object.keys(m).sort()).toEqual(task.metrics.map((d) => d.id).sort());
        expect(task.predict(tf, plan, raw, target).shape[0]).toBe(4);
      });
    }
    expect(getTask(undefined).id).toBe('classification');
    expect(() => getTask('clustering')).toThrow(/Unknown task 'clustering'. Known: classification, regression, language-modelling/);
  });

  it('regression metrics are in the target units and R² is unit-free', () => {
    const task = getTask('regression');
    // Standardised errors e = [1, -1], y = [1, -1] (std 10): MAE 10, RMSE 10, R² = 1 - 2/2 = 0.
    const m = task.metricsFrom([2, 2, 0, 2], 2, { classes: 0, mean: 100, std: 10 });
    expect(m).toEqual({ mae: 10, rmse: 10, r2: 0 });
    const out = tf.tidy(() => task.predict(tf, task.plan(FITTING.regression!.out, { classes: 0, mean: 100, std: 10 }, 'auto'), tf.tensor2d([[1], [-0.5]]), { classes: 0, mean: 100, std: 10 }).dataSync());
    expect(Array.from(out)).toEqual([110, 95]);
  });

  it('binary classification: one sigmoid unit plans binary cross-entropy and predicts two probabilities', () => {
    const task = getTask('classification');
    const out: OutputInfo = { name: 'o', type: 'Dense', shape: [1], activation: 'sigmoid' };
    const plan = task.plan(out, { classes: 2, mean: 0, std: 1 }, 'auto');
    expect(plan).toMatchObject({ loss: 'binary-cross-entropy', head: 'sigmoid' });
    const p = tf.tidy(() => task.predict(tf, plan, tf.tensor2d([[0], [2]]), { classes: 2, mean: 0, std: 1 }).arraySync() as number[][]);
    expect(p[0]).toEqual([0.5, 0.5]);
    expect(p[1]![1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(() => task.plan(out, { classes: 3, mean: 0, std: 1 }, 'auto')).toThrow(/has 1 unit but the dataset has 3 classes/);
  });

  it('refuses mismatched outputs with the fix in words', () => {
    const reg = getTask('regression');
    const cls: TaskDef = getTask('classification');
    const t = { classes: 3, mean: 0, std: 1 };
    expect(reg.checkOutput({ name: 'dense_9', type: 'Dense', shape: [3], activation: 'softmax' }, t)).toMatch(/^dense_9: a regression target needs an output of size 1.*Dense layer of 1 unit and a linear activation/);
    expect(reg.checkOutput({ name: 'd', type: 'Dense', shape: [1], activation: 'relu' }, t)).toMatch(/linear activation, not relu/);
    expect(cls.checkOutput({ name: 'd', type: 'Dense', shape: [5], activation: 'relu' }, t)).toMatch(/softmax \(or linear\) activation, not relu/);
    expect(cls.checkOutput({ name: 'd', type: 'Conv2D', shape: [4, 4, 3], activation: 'softmax' }, t)).toMatch(/add Flatten/);
    expect(() => reg.plan({ name: 'd', type: 'Dense', shape: [1], activation: 'linear' }, t, 'cross-entropy')).toThrow(/is for classification/);
  });
});

const node = (id: string, type: string, params: Record<string, string | number>) => ({ id, type, name: id, params, position: { x: 0, y: 0 } });
const chain = (nodes: ReturnType<typeof node>[]): Graph => ({ nodes, edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id, targetPort: 0 })) });

describe('language modelling', () => {
  it('perplexity is exp of the mean per-token cross-entropy; uniform logits give the vocabulary size', () => {
    const task = getTask('language-modelling');
    const target = { classes: 5, mean: 0, std: 1, length: 3 };
    const plan = task.plan(FITTING['language-modelling']!.out, target, 'auto');
    tf.tidy(() => {
      const raw = tf.zeros([4, 3, 5]);
      const y = FITTING['language-modelling']!.y();
      const m = task.metricsFrom(task.stats(tf, plan, raw, y).dataSync(), 4, target);
      expect(m.perplexity).toBeCloseTo(5, 4);
      expect(task.loss(tf, plan, raw, y, target).dataSync()[0]).toBeCloseTo(Math.log(5), 5);
    });
    expect(task.checkOutput({ name: 'head', type: 'Dense', shape: [3, 7], activation: 'softmax' }, target)).toMatch(/has 7 units but the vocabulary has 5 tokens/);
    expect(task.checkOutput({ name: 'head', type: 'Dense', shape: [15], activation: 'softmax' }, target)).toMatch(/no Flatten or pooling/);
  });

  it('non-causal attention is a problem pinned to the attention node', () => {
    const g: Graph = {
      nodes: [
        node('in', 'Input', { kind: 'tokens', length: 8 }),
        node('emb', 'Embedding', { inputDim: 20, outputDim: 8 }),
        { ...node('att', 'MultiHeadAttention', { numHeads: 2, keyDim: 4 }), params: { numHeads: 2, keyDim: 4, causal: false } } as never,
        node('head', 'Dense', { units: 20, activation: 'softmax' }),
      ],
      edges: [
        { id: 'e1', source: 'in', target: 'emb', targetPort: 0 },
        { id: 'e2', source: 'emb', target: 'att', targetPort: 0 },
        { id: 'e3', source: 'emb', target: 'att', targetPort: 1 },
        { id: 'e4', source: 'att', target: 'head', targetPort: 0 },
      ],
    };
    const task = getTask('language-modelling');
    const problems = checkGraphForTask(g, analyzeGraph(g), task, { classes: 20, mean: 0, std: 1, length: 8 });
    expect(problems).toEqual([expect.objectContaining({ code: 'task', nodeId: 'att', field: 'causal', message: expect.stringMatching(/^att: attention in a language model must be causal: .*sees the tokens it must predict/) })]);
    (g.nodes[2]!.params as Record<string, unknown>).causal = true;
    expect(checkGraphForTask(g, analyzeGraph(g), task, { classes: 20, mean: 0, std: 1, length: 8 })).toEqual([]);
  });
});

describe('graph checks and fitting to a dataset', () => {
  const mlp = () => chain([node('input_1', 'Input', { kind: 'features', features: 4 }), node('dense_1', 'Dense', { units: 8, activation: 'relu' }), node('out', 'Dense', { units: 3, activation: 'softmax' })]);

  it('pins a task problem to the output node', () => {
    const g = mlp();
    const problems = checkGraphForTask(g, analyzeGraph(g), getTask('regression'), { classes: 0, mean: 0, std: 1 }, "'diabetes'");
    expect(problems).toEqual([expect.objectContaining({ code: 'task', nodeId: 'out', severity: 'error', message: expect.stringMatching(/^out: a regression target.*\(regression on 'diabetes'\)$/) })]);
    expect(checkGraphForTask(g, analyzeGraph(g), getTask('classification'), { classes: 3, mean: 0, std: 1 })).toEqual([]);
  });

  it('fits the input and output to a table, once, and says what changed', () => {
    const r = fitGraphToDataset(mlp(), { inputShape: [13], kind: 'table', task: 'regression', classNames: [] });
    expect(r.changes).toEqual(['input_1: 13 features (was 4)', 'out: 1 unit (regression) (was 3)', 'out: linear activation (regression) (was softmax)']);
    expect(analyzeGraph(r.graph).nodes.out!.shape).toEqual([1]);
    expect(fitGraphToDataset(r.graph, { inputShape: [13], kind: 'table', task: 'regression', classNames: [] }).changes).toEqual([]);
    const c = fitGraphToDataset(mlp(), { inputShape: [30], kind: 'table', task: 'classification', classNames: ['a', 'b'] });
    expect(c.changes).toEqual(['input_1: 30 features (was 4)', 'out: 2 units (2 classes) (was 3)']);
  });

  it('fits an image input and keeps a binary sigmoid output', () => {
    const g = chain([node('in', 'Input', { kind: 'image', height: 32, width: 32, channels: 3 }), node('f', 'Flatten', {}), node('o', 'Dense', { units: 1, activation: 'sigmoid' })]);
    const r = fitGraphToDataset(g, { inputShape: [28, 28, 1], classNames: ['cat', 'dog'] });
    expect(r.changes).toEqual(['in: height 28 (was 32)', 'in: width 28 (was 32)', 'in: 1 channels (was 3)']);
  });
});
