import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import type { DatasetInfo } from '../../../shared/api';
import { parseProjectText } from '../../../shared/project';
import { analyzeDoc } from '../store/analysis';
import { createGraphStore } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { taskTargetOf } from '../training/taskTarget';
import { trainingStore } from '../training/runsStore';
import { fitDoc } from './fitToDataset';
import { dispatch, type ActionContext } from './index';

const template = (name: string) => parseProjectText(readFileSync(new URL(`../../../resources/templates/${name}.json`, import.meta.url), 'utf8'));

const diabetes: DatasetInfo = {
  id: 'table:diabetes', name: 'diabetes', inputShape: [11], classNames: [], trainSize: 354, testSize: 88, license: '', homepage: '',
  status: 'ready', downloadable: false, kind: 'table', task: 'regression', target: 'progression',
};
const wine: DatasetInfo = { ...diabetes, id: 'table:wine', name: 'wine', inputShape: [13], classNames: ['1', '2', '3'], task: 'classification', target: 'class' };

function setup(name: string) {
  const graph = createGraphStore();
  graph.getState().loadProject(template(name), null);
  const ctx: ActionContext = { graph, ui: uiStore, view: { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) }, io: {} as ActionContext['io'] };
  uiStore.setState({ notice: null });
  trainingStore.setState({ lastFit: null, datasets: [diabetes, wine] });
  return { graph, ctx };
}

describe('fit model to dataset', () => {
  it('changes only the nodes that need it and says what changed', () => {
    const { graph } = setup('tabular-classifier');
    const doc = graph.getState().doc;
    const r = fitDoc(doc, wine);
    expect(r.changes.join('\n')).toMatch(/13 features/);
    const input = r.doc.nodes.find((n) => n.type === 'Input')!;
    expect(input.params.features).toBe(13);
    // Untouched nodes stay the same objects (shape inference and node rendering are memoised on them).
    expect(r.doc.nodes.filter((n, i) => n === doc.nodes[i]).length).toBe(doc.nodes.length - 1);
    expect(fitDoc(r.doc, wine)).toEqual({ doc: r.doc, changes: [] });
  });

  it('is one undoable edit, remembered for the panel until undone', () => {
    const { graph, ctx } = setup('tabular-classifier');
    const before = graph.getState().doc;
    dispatch('fitToDataset', diabetes, ctx);
    const after = graph.getState().doc;
    expect(after).not.toBe(before);
    const out = after.nodes.find((n) => n.name === 'output')!;
    expect(out.params).toMatchObject({ units: 1, activation: 'linear' });
    expect(uiStore.getState().notice?.text).toMatch(/Fitted the model to diabetes: .*11 features/);
    expect(trainingStore.getState().lastFit?.nodes).toBe(after.nodes);
    expect(graph.getState().undo()).toBe(true);
    expect(graph.getState().doc).toBe(before);
    expect(graph.getState().undo()).toBe(false);
  });

  it('says so when the model already fits, and asks for a dataset when there is none', () => {
    const { ctx } = setup('tabular-regression');
    dispatch('fitToDataset', { ...diabetes, inputShape: [4] }, ctx);
    expect(uiStore.getState().notice?.text).toMatch(/already fits/);
    dispatch('fitToDataset', undefined, ctx);
    expect(uiStore.getState().notice?.kind).toBe('error');
  });

  it('the task problem joins the analysis, pinned to the output node, and leaves with the fit', () => {
    const { graph, ctx } = setup('tabular-classifier');
    const target = taskTargetOf(diabetes)!;
    const a = analyzeDoc(graph.getState().doc, target);
    const task = a.problems.filter((p) => p.code === 'task');
    expect(task).toHaveLength(1);
    expect(task[0]!.nodeId).toBe('out');
    expect(task[0]!.message).toMatch(/regression on diabetes/);
    expect(a.valid).toBe(false);
    // Memoised: the same document and target give the same analysis object.
    expect(analyzeDoc(graph.getState().doc, taskTargetOf(diabetes))).toBe(a);
    // Without a dataset the check is not made.
    expect(analyzeDoc(graph.getState().doc).problems.some((p) => p.code === 'task')).toBe(false);
    dispatch('fitToDataset', diabetes, ctx);
    expect(analyzeDoc(graph.getState().doc, target).problems.some((p) => p.code === 'task')).toBe(false);
  });

  it('image templates fit their own datasets: no task problem for the CIFAR-10 CNN on 10 classes', () => {
    const { graph } = setup('cifar10-cnn');
    const cifar: DatasetInfo = { ...diabetes, id: 'cifar10', name: 'CIFAR-10', inputShape: [32, 32, 3], classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), kind: 'image', task: 'classification' };
    delete cifar.target;
    expect(analyzeDoc(graph.getState().doc, taskTargetOf(cifar)).problems.filter((p) => p.code === 'task')).toEqual([]);
    expect(fitDoc(graph.getState().doc, cifar).changes).toEqual([]);
  });

  it('the text classifier template fits labelled text: its T, vocabulary and classes, then no task problem', () => {
    const { graph } = setup('text-lstm');
    const fortunes: DatasetInfo = {
      id: 'text:fortunes', name: 'fortunes', inputShape: [32], classNames: ['computers', 'food', 'love', 'sports'], trainSize: 384, testSize: 96, license: '', homepage: '',
      status: 'ready', downloadable: false, kind: 'text', task: 'classification', vocabSize: 1500, tokenizer: 'word',
    };
    const r = fitDoc(graph.getState().doc, fortunes);
    expect(r.changes.join('\n')).toMatch(/32 tokens[^]*vocabulary of 1500 tokens[^]*4 units/);
    const params = (type: string) => r.doc.nodes.find((n) => n.type === type)!.params;
    expect(params('Input')).toMatchObject({ kind: 'tokens', length: 32 });
    expect(params('Embedding')).toMatchObject({ inputDim: 1500, outputDim: 64 });
    expect(params('LSTM')).toMatchObject({ bidirectional: true, units: 64 });
    expect(params('Dense')).toMatchObject({ units: 4, activation: 'softmax' });
    expect(analyzeDoc(r.doc, taskTargetOf(fortunes)).problems).toEqual([]);
  });
});
