/**
 * Fine-tuning in the trainer: initial weights from a model folder (by node name, where shapes fit), frozen nodes
 * untouched bit for bit (a frozen BatchNormalization's moving statistics too), a replaced head trained.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph, GraphNode } from '../../../shared/graph';
import { newProject } from '../../../shared/project';
import { selectBackend } from '../backends';
import { saveModelFolder } from '../export/modelFolder';
import { prepareFineTuning } from './initialWeights';
import { settings } from './testing/helpers';
import { syntheticDataset } from './testing/synthetic';
import { Trainer } from './trainer';
import type { TrainingEvent } from './types';

const dir = mkdtempSync(join(tmpdir(), 'lf-finetune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = { x: 0, y: 0 };
function graph(headUnits: number, frozen: boolean): Graph {
  const base = frozen ? { trainable: false } : {};
  const nodes: GraphNode[] = [
    { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'image', height: 4, width: 4, channels: 1 }, position: at },
    { id: 'c', type: 'Conv2D', name: 'conv', params: { filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }, position: at, ...base },
    { id: 'bn', type: 'BatchNormalization', name: 'bn', params: {}, position: at, ...base },
    { id: 'f', type: 'Flatten', name: 'flatten', params: {}, position: at },
    { id: 'h', type: 'Dense', name: 'head', params: { units: headUnits, activation: 'softmax' }, position: at },
  ];
  const ids = nodes.map((n) => n.id);
  return { nodes, edges: ids.slice(1).map((t, i) => ({ id: `e${i}`, source: ids[i]!, target: t, targetPort: 0 })) };
}

describe('fine-tuning (initialWeights + frozen nodes)', () => {
  it('loads the base by name, keeps a replaced head fresh, trains the head only', async () => {
    const { tf, name } = await selectBackend({ force: 'cpu' });
    // The "pretrained" model: 3 classes, trained one epoch so its weights differ from any initialisation.
    const pre = Trainer.fromGraph(tf, graph(3, false), settings({ epochs: 1 }), syntheticDataset({ shape: [4, 4, 1], classes: 3, train: 32, test: 8 }), name);
    await pre.train('pre', undefined, () => {});
    const folder = join(dir, 'pretrained');
    await saveModelFolder(tf, folder, { project: newProject('pre', graph(3, false)), model: pre.model, metrics: {} });
    const snapshot = (t: Trainer, layer: string) => t.model.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));
    const preConv = snapshot(pre, 'conv');
    const preBn = snapshot(pre, 'bn');
    pre.dispose();

    // Fine-tune: 5 classes (a new head), the base frozen.
    const s = settings({ epochs: 1, batchSize: 8, learningRate: 0.05, initialWeights: folder });
    const ft = Trainer.fromGraph(tf, graph(5, true), s, syntheticDataset({ shape: [4, 4, 1], classes: 5, train: 24, test: 8 }), name);
    await prepareFineTuning(tf, ft.model, s, ft.notes);
    expect(ft.notes.join('\n')).toMatch(/2 layers loaded \(conv, bn\)/);
    expect(ft.notes.join('\n')).toMatch(/fresh initialisation: head \(the folder's weights \[64×3, 3\] do not fit \[64×5, 5\]\)/);
    expect(ft.notes.join('\n')).toMatch(/frozen \(not trained\): 2 layers \(conv, bn\); 325 of 381 parameters train/);
    expect(snapshot(ft, 'conv')).toEqual(preConv);
    const head0 = snapshot(ft, 'head');
    const events: TrainingEvent[] = [];
    const r = await ft.train('ft', undefined, (e) => events.push(e));
    expect(r.reason, r.message).toBe('completed');
    expect(r.batchesCompleted).toBe(3);
    const started = events.find((e) => e.type === 'started');
    expect(started?.type === 'started' && started.model.trainableParams).toBe(325);
    // Frozen: bit for bit (BatchNormalization's moving mean/variance included: it ran in inference mode).
    expect(snapshot(ft, 'conv')).toEqual(preConv);
    expect(snapshot(ft, 'bn')).toEqual(preBn);
    expect(snapshot(ft, 'head')).not.toEqual(head0);
    ft.dispose();
  });

  it('refuses a missing folder and a folder of another model, naming the path', async () => {
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const t = Trainer.fromGraph(tf, graph(3, false), settings(), null, name);
    await expect(prepareFineTuning(tf, t.model, { initialWeights: join(dir, 'nope') }, [])).rejects.toThrow(/initial weights: .*nope is not a trained-model folder \(it needs model.json and project.json/);
    // Another model: no layer name in common.
    const other = Trainer.fromGraph(tf, { ...graph(3, false), nodes: graph(3, false).nodes.map((n) => ({ ...n, name: `${n.name}_x` })) }, settings(), null, name);
    await saveModelFolder(tf, join(dir, 'other'), { project: newProject('other', graph(3, false)), model: other.model, metrics: {} });
    other.dispose();
    await expect(prepareFineTuning(tf, t.model, { initialWeights: join(dir, 'other') }, [])).rejects.toThrow(/no layer of this model fits the weights in .*other \(layers are matched by node name and weight shapes: conv: not in the folder/);
    t.dispose();
  });
});
