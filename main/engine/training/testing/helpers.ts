/** Test helpers: train a graph in-process on a synthetic dataset shaped to it. */
import type { Graph } from '../../../../shared/graph';
import { defaultTrainingSettings, type TrainingSettings } from '../../../../shared/project';
import { selectBackend } from '../../backends';
import { Trainer, type TrainControl } from '../trainer';
import type { EpochEvent, TrainingEvent } from '../types';
import { graphDataShape, syntheticCorpus, syntheticDataset } from './synthetic';
import { analyzeGraph } from '../../../../shared/graph';
import { syntheticTable } from './syntheticTable';
import type { LoadedDataset } from '../../datasets/types';

/** A learnable synthetic dataset shaped to a graph: a table for a feature-vector input (regression for one linear output), else images/sequences/tokens. */
export function syntheticFor(graph: Graph, n: number, nTest: number): LoadedDataset {
  const input = graph.nodes.find((node) => node.type === 'Input');
  if (input?.params.kind === 'features') {
    const sinks = graph.nodes.filter((node) => !graph.edges.some((e) => e.source === node.id));
    const out = sinks[0]?.params as Record<string, unknown> | undefined;
    const units = Number(out?.units ?? 2);
    const regression = units === 1 && (out?.activation ?? 'linear') === 'linear';
    return syntheticTable({ features: Number(input.params.features ?? 28), train: n, test: nTest, task: regression ? 'regression' : Math.max(2, units) });
  }
  // A language model (token input, a T×vocabulary output): a synthetic corpus.
  const analysis = analyzeGraph(graph);
  const outShape = analysis.outputs.length === 1 ? analysis.nodes[analysis.outputs[0]!]?.shape : undefined;
  if (input?.params.kind === 'tokens' && outShape?.length === 2) {
    return syntheticCorpus({ T: outShape[0]!, vocab: outShape[1]!, trainWindows: n, testWindows: nTest });
  }
  const { shape, classes, vocab } = graphDataShape(graph);
  return syntheticDataset({ shape, classes, train: n, test: nTest, ...(vocab ? { vocab } : {}) });
}

export function settings(over: Partial<TrainingSettings> = {}): TrainingSettings {
  return { ...defaultTrainingSettings(), epochs: 3, batchSize: 16, learningRate: 0.003, ...over };
}

export async function train(backend: 'cpu' | 'wasm', graph: Graph, s: TrainingSettings, n = 64, control?: TrainControl, nTest = 32) {
  const { tf, name } = await selectBackend({ force: backend });
  const ds = syntheticFor(graph, n, nTest);
  const trainer = Trainer.fromGraph(tf, graph, s, ds, name);
  const events: TrainingEvent[] = [];
  const result = await trainer.train('t', undefined, (e) => events.push(e), control);
  return { tf, trainer, events, result, ds, epochs: events.filter((e): e is EpochEvent => e.type === 'epoch') };
}

