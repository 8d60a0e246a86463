import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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

  it('refuses an invalid graph with every problem named', () => {
    expect(() => compileGraph(tf, { nodes: [], edges: [] })).toThrow(CompileError);
  });
});
