/**
 * Fits a graph's sizes to a dataset: the Input's shape and the output layer's units (and, for
 * regression, its linear activation). Templates and projects that say `fitToDataset` get this when a
 * dataset is chosen (app) or named (`layerforge train --dataset`), so a 13-feature, 3-class table or a
 * 1-channel image folder just works. Pure: returns a new graph and the changes in words.
 */
import { analyzeGraph } from '../graph/analyze';
import type { Graph, GraphNode } from '../graph/types';
import type { TaskId } from './define';

export interface DatasetShapeInfo {
  inputShape: readonly number[];
  /** 'image' (default), 'table', or a token kind ('text', 'corpus'). */
  kind?: string;
  task?: TaskId;
  classNames: readonly string[];
  /** Token datasets: the tokenizer's vocabulary size (Embedding inputDim, a language model's output units). */
  vocabSize?: number;
}

export interface FitResult {
  graph: Graph;
  /** What changed, e.g. "input: 13 features (was 8)"; empty when the graph already fits. */
  changes: string[];
}

export function fitGraphToDataset(graph: Graph, ds: DatasetShapeInfo): FitResult {
  const changes: string[] = [];
  const nodes = graph.nodes.map((n) => ({ ...n, params: { ...n.params } }));
  const inputs = nodes.filter((n) => n.type === 'Input');
  if (inputs.length === 1) fitInput(inputs[0]!, ds, changes);
  if (ds.vocabSize && ds.inputShape.length === 1 && ds.kind !== 'table') fitTokenLayers(nodes, ds.inputShape[0]!, ds.vocabSize, changes);
  const analysis = analyzeGraph({ nodes, edges: graph.edges });
  if (analysis.outputs.length === 1) {
    const out = nodes.find((n) => n.id === analysis.outputs[0]);
    if (out) fitOutput(out, ds, changes);
  }
  return { graph: changes.length ? { nodes, edges: graph.edges } : graph, changes };
}

function set(node: GraphNode, key: string, value: string | number, changes: string[], what: string): void {
  const before = node.params[key];
  if (before === value) return;
  node.params[key] = value;
  changes.push(`${node.name}: ${what}${before === undefined ? '' : ` (was ${String(before)})`}`);
}

function fitInput(node: GraphNode, ds: DatasetShapeInfo, changes: string[]): void {
  const shape = ds.inputShape;
  if (ds.vocabSize && shape.length === 1 && ds.kind !== 'table') {
    if (node.params.kind !== 'tokens') set(node, 'kind', 'tokens', changes, 'kind tokens');
    set(node, 'length', shape[0]!, changes, `${shape[0]} tokens`);
    return;
  }
  if (ds.kind === 'table' && shape.length === 1) {
    if (node.params.kind !== 'features') set(node, 'kind', 'features', changes, 'kind features');
    set(node, 'features', shape[0]!, changes, `${shape[0]} features`);
    return;
  }
  if ((node.params.kind ?? 'image') === 'image' && shape.length === 3) {
    set(node, 'height', shape[0]!, changes, `height ${shape[0]}`);
    set(node, 'width', shape[1]!, changes, `width ${shape[1]}`);
    set(node, 'channels', shape[2]!, changes, `${shape[2]} channels`);
  }
}

/** Token models: every Embedding reads the whole vocabulary, every PositionalEmbedding spans the window. */
function fitTokenLayers(nodes: GraphNode[], length: number, vocab: number, changes: string[]): void {
  for (const n of nodes) {
    if (n.type === 'Embedding') set(n, 'inputDim', vocab, changes, `vocabulary of ${vocab} tokens`);
    if (n.type === 'PositionalEmbedding') set(n, 'sequenceLength', length, changes, `${length} positions`);
  }
}

function fitOutput(node: GraphNode, ds: DatasetShapeInfo, changes: string[]): void {
  if (node.type !== 'Dense') return;
  if (ds.task === 'language-modelling') {
    if (ds.vocabSize) set(node, 'units', ds.vocabSize, changes, `${ds.vocabSize} units (one per token)`);
    const act = node.params.activation;
    if (act !== 'softmax' && act !== 'linear') set(node, 'activation', 'linear', changes, 'linear activation (logits over the vocabulary)');
    return;
  }
  if (ds.task === 'regression') {
    set(node, 'units', 1, changes, '1 unit (regression)');
    set(node, 'activation', 'linear', changes, 'linear activation (regression)');
    return;
  }
  const k = ds.classNames.length;
  if (k < 2) return;
  const binarySigmoid = node.params.units === 1 && node.params.activation === 'sigmoid' && k === 2;
  if (binarySigmoid) return;
  set(node, 'units', k, changes, `${k} units (${k} classes)`);
  const act = node.params.activation;
  if (act !== 'softmax' && act !== 'linear') set(node, 'activation', 'softmax', changes, 'softmax activation');
}
