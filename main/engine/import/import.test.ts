import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph, resolvedParams, type Graph } from '../../../shared/graph';
import { getLayer } from '../../../shared/layers';
import { compileGraph } from '../compile';
import { layerFixtures, templateFixtures } from '../export/fixtures';
import { saveModelFolder } from '../export/modelFolder';
import { exportTfjs } from '../export/tfjs';
import { newProject } from '../../../shared/project';
import { layerFixtures as fx, randomInputs, randomizeWeights } from '../export/fixtures';
import { importKerasModelJson, importModelPath, importWithWeights, ModelImportError } from '.';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Types, resolved params, shapes and wiring by node name: what "equivalent graph" means. */
function summary(g: Graph) {
  const a = analyzeGraph(g);
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  return {
    nodes: Object.fromEntries(
      g.nodes.map((n) => [n.name, { type: n.type, params: resolvedParams(getLayer(n.type)!, n.params), shape: a.nodes[n.id]!.shape }]),
    ),
    edges: g.edges.map((e) => `${byId.get(e.source)!.name} -> ${byId.get(e.target)!.name}:${e.targetPort}`).sort(),
  };
}

const fixtures = [...templateFixtures(), ...layerFixtures()];

describe('import of TensorFlow.js / Keras model.json', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))('%s: model.toJSON() imports back to an equivalent graph', (_n, f) => {
    const { model } = compileGraph(tf, f.graph);
    const json = model.toJSON(null, false);
    const res = importKerasModelJson({ modelTopology: json }, 'x');
    expect(summary(res.project.graph)).toEqual(summary(f.graph));
    expect(res.hasWeights).toBe(false);
    expect(analyzeGraph(res.project.graph).valid).toBe(true);
    // laid out: no two nodes on the same spot
    const spots = new Set(res.project.graph.nodes.map((n) => `${n.position.x},${n.position.y}`));
    expect(spots.size).toBe(res.project.graph.nodes.length);
    model.dispose();
  });

  it('imports a Sequential topology (no InputLayer) from an exported folder with weights', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, activation: 'relu', name: 'c1' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }),
        tf.layers.flatten({ name: 'f' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'd' }),
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'lf-import-'));
    await exportTfjs(tf, m, dir);
    const res = await importModelPath(dir);
    expect(res.kind).toBe('keras-model-json');
    expect(res.hasWeights).toBe(true);
    const g = res.project.graph;
    expect(g.nodes.map((n) => n.type)).toEqual(['Input', 'Conv2D', 'MaxPool2D', 'Flatten', 'Dense']);
    expect(g.nodes[0]!.params).toMatchObject({ kind: 'image', height: 8, width: 8, channels: 1 });
    expect(analyzeGraph(g).totals.params).toBe(m.countParams());
    m.dispose();
  });

  it('reads Keras 3 functional inbound nodes (keras_history)', () => {
    const t = (name: string) => ({ class_name: '__keras_tensor__', config: { keras_history: [name, 0, 0] } });
    const json = {
      class_name: 'Functional',
      config: {
        name: 'k3',
        layers: [
          { name: 'inp', class_name: 'InputLayer', config: { batch_shape: [null, 4, 4, 2], dtype: 'float32', name: 'inp' }, inbound_nodes: [] },
          { name: 'c', class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: [1, 1], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true }, inbound_nodes: [{ args: [t('inp')], kwargs: {} }] },
          { name: 'sum', class_name: 'Add', config: { name: 'sum' }, inbound_nodes: [{ args: [[t('c'), t('inp')]], kwargs: {} }] },
        ],
        input_layers: [['inp', 0, 0]],
        output_layers: [['sum', 0, 0]],
      },
    };
    const g = importKerasModelJson(json).project.graph;
    expect(g.edges.map((e) => `${e.source}->${e.target}:${e.targetPort}`).sort()).toEqual(['c->sum:0', 'inp->c:0', 'inp->sum:1']);
  });

  it('names every unsupported layer in one error instead of dropping them', () => {
    const i = tf.input({ shape: [8, 8, 3], name: 'img' });
    const a = tf.layers.cropping2D({ cropping: 1, name: 'crop' }).apply(i) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 2, kernelSize: [3, 1], name: 'tall' }).apply(a) as tf.SymbolicTensor;
    const c = tf.layers.dense({ units: 2, activation: 'hardSigmoid', name: 'hs' }).apply(tf.layers.flatten({ name: 'fl' }).apply(b) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const m = tf.model({ inputs: i, outputs: c });
    let err: unknown;
    try {
      importKerasModelJson({ modelTopology: m.toJSON(null, false) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelImportError);
    const e = err as ModelImportError;
    expect(e.layers.map((l) => l.name)).toEqual(['crop', 'tall', 'hs']);
    expect(e.message).toMatch(/3 layers not supported: crop \(Cropping2D\): Layerforge has no layer type for Keras class Cropping2D; tall \(Conv2D\): kernel_size \[3,1\] is not square.*; hs \(Dense\): activation 'hard_sigmoid' is not supported/);
    m.dispose();
  });

  it('rejects files that are not model topologies with a clear message', () => {
    expect(() => importKerasModelJson({ modelTopology: { class_name: 'Nope' } })).toThrow(/expected a Keras Sequential or Functional model topology, got class_name "Nope"/);
    expect(() => importKerasModelJson(42)).toThrow(/not a JSON object/);
  });

  it('imports a tfjs export with its weights: the rebuilt model predicts the same', async () => {
    for (const f of [templateFixtures()[0]!, fx().find((x) => x.name === 'attention')!, fx().find((x) => x.name === 'lstm')!]) {
      const { model } = compileGraph(tf, f.graph);
      randomizeWeights(tf, model, 5);
      const dir = mkdtempSync(join(tmpdir(), 'lf-import-w-'));
      await exportTfjs(tf, model, dir);
      const { folder } = await importWithWeights(tf, join(dir, 'model.json'));
      const xs = randomInputs(tf, model, 2);
      const a = model.predict(xs[0]!) as tf.Tensor;
      const b = folder.model.predict(xs[0]!) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], f.name).toBeLessThan(1e-6);
      tf.dispose([...xs, a, b]);
      model.dispose();
      folder.model.dispose();
    }
  });

  it('imports our own model folder and project files as they are', async () => {
    const f = templateFixtures()[0]!;
    const { model } = compileGraph(tf, f.graph);
    const dir = mkdtempSync(join(tmpdir(), 'lf-import-own-'));
    const project = { ...newProject('Mine'), graph: f.graph };
    await saveModelFolder(tf, dir, { project, model, metrics: {} });
    const res = await importModelPath(dir);
    expect(res.kind).toBe('layerforge-model-folder');
    expect(res.hasWeights).toBe(true);
    expect(res.project.graph).toEqual(project.graph);
    const file = join(dir, 'copy.json');
    writeFileSync(file, JSON.stringify(project));
    expect((await importModelPath(file)).kind).toBe('layerforge-project');
    model.dispose();
  });
});
