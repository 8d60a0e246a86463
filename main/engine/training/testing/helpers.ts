/** Test helpers: train a graph in-process on a synthetic dataset shaped to it. */
import type { Graph } from '../../../../shared/graph';
import { defaultTrainingSettings, type TrainingSettings } from '../../../../shared/project';
import { selectBackend } from '../../backends';
import { Trainer, type TrainControl } from '../trainer';
import type { EpochEvent, TrainingEvent } from '../types';
import { graphDataShape, syntheticDataset } from './synthetic';

export function settings(over: Partial<TrainingSettings> = {}): TrainingSettings {
  return { ...defaultTrainingSettings(), epochs: 3, batchSize: 16, learningRate: 0.003, ...over };
}

export async function train(backend: 'cpu' | 'wasm', graph: Graph, s: TrainingSettings, n = 64, control?: TrainControl, nTest = 32) {
  const { tf, name } = await selectBackend({ force: backend });
  const { shape, classes, vocab } = graphDataShape(graph);
  const ds = syntheticDataset({ shape, classes, train: n, test: nTest, ...(vocab ? { vocab } : {}) });
  const trainer = Trainer.fromGraph(tf, graph, s, ds, name);
  const events: TrainingEvent[] = [];
  const result = await trainer.train('t', undefined, (e) => events.push(e), control);
  return { tf, trainer, events, result, ds, epochs: events.filter((e): e is EpochEvent => e.type === 'epoch') };
}

