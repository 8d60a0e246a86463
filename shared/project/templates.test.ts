import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../main/engine/compile';
import { analyzeGraph } from '../graph';
import { parseProjectText, serializeProject } from '.';

const DIR = 'resources/templates';
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('templates', () => {
  it('include the six issue 2 asks for, the tabular ones of issue 13, mini-GPT and the text classifier of issue 14', () => {
    expect(files).toEqual([
      'cifar10-cnn.json',
      'lenet5.json',
      'lstm-classifier.json',
      'mini-gpt.json',
      'resnet-small.json',
      'tabular-classifier.json',
      'tabular-regression.json',
      'text-lstm.json',
      'transformer-classifier.json',
      'vgg-cnn.json',
    ]);
  });

  it('templates that follow the dataset say so (fitToDataset); the fixed-size ones do not', () => {
    const fits = files.filter((f) => parseProjectText(readFileSync(`${DIR}/${f}`, 'utf8')).fitToDataset);
    expect(fits).toEqual(['mini-gpt.json', 'tabular-classifier.json', 'tabular-regression.json', 'text-lstm.json']);
  });

  it('cifar10-cnn has exactly 315,722 parameters', () => {
    const p = parseProjectText(readFileSync(`${DIR}/cifar10-cnn.json`, 'utf8'));
    expect(analyzeGraph(p.graph).totals.params).toBe(315_722);
  });

  it.each(files)('%s parses, validates, round-trips and compiles to a model with our shapes and parameter total', async (file) => {
    const text = readFileSync(`${DIR}/${file}`, 'utf8');
    const project = parseProjectText(text, file);
    expect(project.name.length).toBeGreaterThan(0);
    expect(project.description?.length ?? 0).toBeGreaterThan(10);
    expect(parseProjectText(serializeProject(project))).toEqual(project);

    const analysis = analyzeGraph(project.graph);
    expect(analysis.problems).toEqual([]);
    expect(analysis.outputs).toHaveLength(1);
    // Laid out top to bottom: every edge points down the canvas.
    const pos = new Map(project.graph.nodes.map((n) => [n.id, n.position]));
    for (const e of project.graph.edges) expect(pos.get(e.target)!.y, `${e.source} -> ${e.target}`).toBeGreaterThanOrEqual(pos.get(e.source)!.y);

    const { model } = compileGraph(tf, project.graph);
    expect(model.countParams()).toBe(analysis.totals.params);
    for (const n of project.graph.nodes) {
      const layer = model.getLayer(n.name);
      const shape = (layer.output as tf.SymbolicTensor).shape;
      expect([...shape.slice(1)], n.name).toEqual([...analysis.nodes[n.id]!.shape!]);
    }

    // A forward pass gives probabilities (classifiers), one value (regression) or logits over the
    // vocabulary at every position (language models); small classifiers also take a training step with a
    // finite loss (conv training on the pure-JS cpu backend takes tens of seconds; the engine's tests train those).
    const inputNode = project.graph.nodes.find((n) => n.id === analysis.inputs[0])!;
    const inShape = [...analysis.nodes[inputNode.id]!.shape!];
    const outShape = analysis.nodes[analysis.outputs[0]!]!.shape!;
    const outNode = project.graph.nodes.find((n) => n.id === analysis.outputs[0])!;
    const batch = 2;
    const vocab = Number(project.graph.nodes.find((n) => n.type === 'Embedding')?.params.inputDim ?? 1000);
    const x = inputNode.params.kind === 'tokens'
      ? tf.randomUniform([batch, ...inShape], 0, vocab, 'int32', 1)
      : tf.randomUniform([batch, ...inShape], 0, 1, 'float32', 1);
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([batch, ...outShape]);
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    const classifier = outShape.length === 1 && outNode.params.activation === 'softmax';
    if (classifier) for (const s of tf.sum(y, 1).dataSync()) expect(s).toBeCloseTo(1, 4);
    const classes = outShape[0]!;
    if (classifier && analysis.totals.flops < 5e6) {
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const loss = (await model.trainOnBatch(x, tf.oneHot(tf.tensor1d([0, 1], 'int32'), classes))) as number;
      expect(Number.isFinite(loss), `loss ${loss}`).toBe(true);
    }
    model.dispose();
  });
});
