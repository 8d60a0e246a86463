import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph, resolvedParams, type Graph } from '../../../shared/graph';
import { getLayer } from '../../../shared/layers';
import { compileGraph } from '../compile';
import { layerFixtures, templateFixtures } from '../export/fixtures';
import { folderLoadHandler, saveModelFolder } from '../export/modelFolder';
import { exportTfjs } from '../export/tfjs';
import { newProject } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';
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
    expect(res.kind).toBe('tfjs-layers');
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
    const a = tf.layers.alphaDropout({ rate: 0.1, name: 'ad' }).apply(i) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 2, kernelSize: [3, 1], name: 'tall' }).apply(a) as tf.SymbolicTensor;
    const c = tf.layers.dense({ units: 2, activation: 'gelu_new', name: 'hs' }).apply(tf.layers.flatten({ name: 'fl' }).apply(b) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const m = tf.model({ inputs: i, outputs: c });
    let err: unknown;
    try {
      importKerasModelJson({ modelTopology: m.toJSON(null, false) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelImportError);
    const e = err as ModelImportError;
    expect(e.layers.map((l) => l.name)).toEqual(['ad', 'tall', 'hs']);
    expect(e.message).toMatch(/3 layers not supported: ad \(AlphaDropout\): Layerforge has no layer type for Keras class AlphaDropout; tall \(Conv2D\): kernel_size \[3,1\] is not square.*; hs \(Dense\): activation 'gelu_new' is not supported/);
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

/**
 * The classic TensorFlow.js example "abalone-node" (tfjs-examples): predict an abalone's age (rings)
 * from 8 measurements with Dense 50 sigmoid -> Dense 50 sigmoid -> Dense 1, saved by tfjs-layers as a
 * Sequential model.json. A flat [null, 8] input is a table row: it imports as an Input of kind 'features'.
 */
function abaloneModelJson(): { json: Record<string, unknown>; specs: { name: string; shape: number[]; dtype: 'float32' }[] } {
  const init = (seed: number | null) => ({ class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed } });
  const dense = (name: string, units: number, activation: string, first = false) => ({
    class_name: 'Dense',
    config: {
      units,
      activation,
      use_bias: true,
      kernel_initializer: init(null),
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: true,
      ...(first ? { batch_input_shape: [null, 8], dtype: 'float32' } : {}),
    },
  });
  const specs = [
    { name: 'dense_Dense1/kernel', shape: [8, 50], dtype: 'float32' as const },
    { name: 'dense_Dense1/bias', shape: [50], dtype: 'float32' as const },
    { name: 'dense_Dense2/kernel', shape: [50, 50], dtype: 'float32' as const },
    { name: 'dense_Dense2/bias', shape: [50], dtype: 'float32' as const },
    { name: 'dense_Dense3/kernel', shape: [50, 1], dtype: 'float32' as const },
    { name: 'dense_Dense3/bias', shape: [1], dtype: 'float32' as const },
  ];
  return {
    specs,
    json: {
      format: 'layers-model',
      generatedBy: 'TensorFlow.js tfjs-layers v1.2.8',
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 'sequential_1', layers: [dense('dense_Dense1', 50, 'sigmoid', true), dense('dense_Dense2', 50, 'sigmoid'), dense('dense_Dense3', 1, 'linear')] },
        keras_version: 'tfjs-layers 1.2.8',
        backend: 'tensor_flow.js',
      },
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    },
  };
}

describe('import of a table model (flat input)', () => {
  it('imports the tfjs-examples abalone regression MLP: features input, valid graph, 3051 parameters, same predictions', async () => {
    const { json, specs } = abaloneModelJson();
    const dir = mkdtempSync(join(tmpdir(), 'lf-import-abalone-'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const r = mulberry32(3);
    const n = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    writeFileSync(join(dir, 'weights.bin'), Float32Array.from({ length: n }, () => r() - 0.5));

    const res = await importModelPath(dir);
    expect(res.kind).toBe('tfjs-layers');
    expect(res.hasWeights).toBe(true);
    const g = res.project.graph;
    expect(g.nodes.map((nd) => nd.type)).toEqual(['Input', 'Dense', 'Dense', 'Dense']);
    expect(g.nodes[0]!.params).toMatchObject({ kind: 'features', features: 8 });
    expect(g.nodes.slice(1).map((nd) => [nd.name, nd.params.units, nd.params.activation])).toEqual([
      ['dense_Dense1', 50, 'sigmoid'],
      ['dense_Dense2', 50, 'sigmoid'],
      ['dense_Dense3', 1, 'linear'],
    ]);
    const a = analyzeGraph(g);
    expect(a.valid).toBe(true);
    expect(a.nodes[g.nodes[0]!.id]!.shape).toEqual([8]);
    expect(a.totals.params).toBe(8 * 50 + 50 + 50 * 50 + 50 + 50 + 1);

    // with its weights: the rebuilt model predicts what tf.loadLayersModel of the same files predicts
    const { folder } = await importWithWeights(tf, dir);
    const source = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    expect(folder.model.countParams()).toBe(3051);
    const x = tf.randomUniform([4, 8]);
    const want = source.predict(x) as tf.Tensor;
    const got = folder.model.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(want, got))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, want, got]);
    source.dispose();
    folder.model.dispose();
  });

  it('imports a Keras 3 Sequential MLP whose InputLayer has batch_shape [null, 13]', () => {
    const layer = (class_name: string, config: Record<string, unknown>) => ({ module: 'keras.layers', class_name, config, registered_name: null });
    const json = {
      class_name: 'Sequential',
      config: {
        name: 'wine',
        trainable: true,
        layers: [
          layer('InputLayer', { batch_shape: [null, 13], dtype: 'float32', sparse: false, name: 'input_layer' }),
          layer('Dense', { name: 'hidden', trainable: true, units: 16, activation: 'relu', use_bias: true }),
          layer('Dropout', { name: 'drop', trainable: true, rate: 0.2 }),
          layer('Dense', { name: 'classes', trainable: true, units: 3, activation: 'softmax', use_bias: true }),
        ],
      },
    };
    const g = importKerasModelJson({ modelTopology: json }, 'wine').project.graph;
    expect(g.nodes[0]!.params).toMatchObject({ kind: 'features', features: 13 });
    const a = analyzeGraph(g);
    expect(a.valid).toBe(true);
    expect(a.totals.params).toBe(13 * 16 + 16 + 16 * 3 + 3);
  });
});
