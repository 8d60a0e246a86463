import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { compileGraph, CompileError } from '.';

describe('compileGraph', () => {
  it('compiles the CIFAR-10 CNN template with node names as layer names and 315,722 params', async () => {
    await tf.setBackend('cpu');
    const project = parseProjectText(readFileSync('resources/templates/cifar10-cnn.json', 'utf8'));
    const { model } = compileGraph(tf, project.graph);
    expect(model.countParams()).toBe(315_722);
    expect(model.layers.map((l) => l.name)).toEqual(project.graph.nodes.map((n) => n.name));
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    model.dispose();
  });

  it('freezes nodes with trainable: false (their weights leave trainableWeights; a frozen BatchNormalization runs in inference mode)', async () => {
    await tf.setBackend('cpu');
    const graph: Graph = {
      nodes: [
        { id: 'x', type: 'Input', name: 'x', params: { kind: 'features', features: 4 }, position: { x: 0, y: 0 } },
        { id: 'base', type: 'Dense', name: 'base', params: { units: 3, activation: 'relu' }, position: { x: 0, y: 0 }, trainable: false },
        { id: 'bn', type: 'BatchNormalization', name: 'bn', params: {}, position: { x: 0, y: 0 }, trainable: false },
        { id: 'head', type: 'Dense', name: 'head', params: { units: 2, activation: 'softmax' }, position: { x: 0, y: 0 } },
      ],
      edges: [
        { id: 'e1', source: 'x', target: 'base', targetPort: 0 },
        { id: 'e2', source: 'base', target: 'bn', targetPort: 0 },
        { id: 'e3', source: 'bn', target: 'head', targetPort: 0 },
      ],
    };
    const { model } = compileGraph(tf, graph);
    expect(model.getLayer('base').trainable).toBe(false);
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual(['head/kernel', 'head/bias']);
    expect(model.countParams()).toBe(4 * 3 + 3 + 3 * 4 + 3 * 2 + 2);
    const x = tf.randomNormal([8, 4]);
    const before = model.getLayer('bn').getWeights().map((w) => Array.from(w.dataSync()));
    const train = model.apply(x, { training: true }) as tf.Tensor;
    const infer = model.apply(x, { training: false }) as tf.Tensor;
    // Inference mode while training: same output, moving statistics untouched.
    expect(Array.from(train.dataSync())).toEqual(Array.from(infer.dataSync()));
    expect(model.getLayer('bn').getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    tf.dispose([x, train, infer]);
    model.dispose();
  });

  it('refuses an invalid graph with every problem named', () => {
    expect(() => compileGraph(tf, { nodes: [], edges: [] })).toThrow(CompileError);
  });
});
