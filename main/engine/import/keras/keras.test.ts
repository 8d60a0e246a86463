import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../../../shared/graph';
import { parseProject } from '../../../../shared/project';
import { compileGraph } from '../../compile';
import { layerFixtures, randomInputs, randomizeWeights } from '../../export/fixtures';
import { folderLoadHandler, folderSaveHandler } from '../../export/modelFolder';
import { ModelImportError } from '../errors';
import type { ImportProbe } from '../types';
import { kerasJsonImporter } from './kerasJson';
import { tfjsLayersImporter } from './tfjs';
import { importKerasTopology } from './topology';
import { assignKerasWeights } from './weights';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const L = tf.layers;
const sym = (t: unknown) => t as tf.SymbolicTensor;
const opts = { kind: 'keras-json' as const, hasWeights: false };

function probe(path: string, head: string, ext = '.json', isDirectory = false, entries: string[] = []): ImportProbe {
  return { path, isDirectory, entries, head: new TextEncoder().encode(head.slice(0, 512)), ext };
}

/** Randomises weights (BatchNorm variances kept positive), saves as a tfjs folder, returns the folder. */
async function saveRandom(model: tf.LayersModel, seed: number): Promise<string> {
  randomizeWeights(tf, model, seed);
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    l.setWeights(l.getWeights().map((w, i) => (i === l.getWeights().length - 1 ? tf.add(tf.abs(w), 0.5) : w)));
  }
  const dir = mkdtempSync(join(tmpdir(), 'lf-keras-'));
  await model.save(folderSaveHandler(tf, dir));
  return dir;
}

/** Max |difference| between the imported model's predictions and tf.loadLayersModel's on the same files. */
async function parity(dir: string, inputs: tf.Tensor[]): Promise<number> {
  const { result, folder } = await tfjsLayersImporter.readWithWeights!(tf, dir, {});
  const source = await tf.loadLayersModel(folderLoadHandler(tf, dir));
  expect(result.sourceParams).toBe(source.countParams());
  expect(folder.model.countParams()).toBe(source.countParams());
  const want = [source.predict(inputs)].flat();
  const got = [folder.model.predict(inputs)].flat();
  expect(got.length).toBe(want.length);
  // outputs may come in another order (Layerforge's outputs are its sink nodes): match by shape then value
  let worst = 0;
  for (const w of want) {
    const diffs = got.filter((g) => g.shape.join() === w.shape.join()).map((g) => tf.max(tf.abs(tf.sub(g, w))).dataSync()[0]!);
    worst = Math.max(worst, Math.min(...diffs));
  }
  tf.dispose([...want, ...got]);
  source.dispose();
  folder.model.dispose();
  return worst;
}

describe('TensorFlow.js layers model.json importer', () => {
  it('a CNN with BatchNormalization: predictions match tf.loadLayersModel to < 1e-5', async () => {
    const m = tf.sequential({
      layers: [
        L.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }),
        L.batchNormalization({ name: 'bn' }),
        L.reLU({ maxValue: 6, name: 'relu6' }),
        L.depthwiseConv2d({ kernelSize: 3, strides: 2, name: 'dw' }),
        L.globalAveragePooling2d({ name: 'gap' }),
        L.dense({ units: 5, activation: 'softmax', name: 'out' }),
      ],
    });
    const dir = await saveRandom(m, 3);
    const x = tf.randomNormal([3, 12, 12, 3], 0, 1, 'float32', 1);
    expect(await parity(dir, [x])).toBeLessThan(1e-5);
    tf.dispose(x);
    m.dispose();
  });

  it('several inputs and outputs, recurrent layers and a nested model: predictions match to < 1e-5, the nested model is a group', async () => {
    // the nested base: a Functional used as a layer
    const bi = tf.input({ shape: [6, 3], name: 'base_in' });
    // (tfjs' default recurrent activation is hard sigmoid; Layerforge's gates use sigmoid, as Keras 2+ does)
    const lstm = sym(L.lstm({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid', name: 'enc_lstm' }).apply(bi));
    const base = tf.model({ inputs: bi, outputs: sym(L.gru({ units: 3, recurrentActivation: 'sigmoid', name: 'enc_gru' }).apply(lstm)), name: 'encoder' });
    const seq = tf.input({ shape: [6, 3], name: 'seq' });
    const tab = tf.input({ shape: [5], name: 'tab' });
    const enc = sym(base.apply(seq));
    const t = sym(L.dense({ units: 3, activation: 'tanh', name: 'tab_dense' }).apply(tab));
    const merged = sym(L.concatenate({ name: 'merge' }).apply([enc, t]));
    const cls = sym(L.dense({ units: 4, activation: 'softmax', name: 'cls' }).apply(merged));
    const reg = sym(L.dense({ units: 1, name: 'reg' }).apply(merged));
    const m = tf.model({ inputs: [seq, tab], outputs: [cls, reg], name: 'multi' });
    const dir = await saveRandom(m, 4);

    const res = await tfjsLayersImporter.read(dir, {});
    const g = res.project.graph;
    expect(g.groups).toEqual([{ id: 'group_encoder', name: 'encoder' }]);
    expect(g.nodes.filter((n) => n.group === 'group_encoder').map((n) => n.name)).toEqual(['enc_lstm', 'enc_gru']);
    expect(g.edges.map((e) => `${e.source}->${e.target}:${e.targetPort}`).sort()).toEqual(
      ['enc_gru->merge:0', 'enc_lstm->enc_gru:0', 'merge->cls:0', 'merge->reg:0', 'seq->enc_lstm:0', 'tab->tab_dense:0', 'tab_dense->merge:1'].sort(),
    );
    expect(analyzeGraph(g).outputs).toHaveLength(2);
    expect(() => parseProject(res.project, 'imported')).not.toThrow();

    const xs = [tf.randomNormal([2, 6, 3], 0, 1, 'float32', 5), tf.randomNormal([2, 5], 0, 1, 'float32', 6)];
    expect(await parity(dir, xs)).toBeLessThan(1e-5);
    tf.dispose(xs);
    m.dispose();
  });

  it('a nested Sequential base inside a Sequential (tfjs writes no InputLayer: the first layer of the base carries the shape)', async () => {
    const base = tf.sequential({ name: 'base', layers: [L.dense({ inputShape: [4], units: 6, activation: 'relu', name: 'b1' }), L.dense({ units: 6, activation: 'relu', name: 'b2' })] });
    const m = tf.sequential({ layers: [base, L.dense({ units: 2, name: 'head' })] });
    const dir = await saveRandom(m, 7);
    const res = await tfjsLayersImporter.read(dir, {});
    const g = res.project.graph;
    expect(g.nodes.map((n) => [n.name, n.type, n.group ?? null, n.trainable ?? true])).toEqual([
      ['input_1', 'Input', null, true],
      ['b1', 'Dense', 'group_base', true],
      ['b2', 'Dense', 'group_base', true],
      ['head', 'Dense', null, true],
    ]);
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 8);
    expect(await parity(dir, [x])).toBeLessThan(1e-5);
    tf.dispose(x);
    m.dispose();
  });

  it("Keras applications' ZeroPadding2D((0,1),(0,1)) + stride-2 'valid' conv folds into 'same' (exact on even sizes), refused on odd", async () => {
    const build = (size: number) =>
      tf.sequential({
        layers: [
          L.zeroPadding2d({ inputShape: [size, size, 3], padding: [[0, 1], [0, 1]], name: 'block_1_pad' }),
          L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'block_1_depthwise' }),
          L.conv2d({ filters: 2, kernelSize: 1, name: 'project' }),
        ],
      });
    const m = build(8);
    const dir = await saveRandom(m, 9);
    const res = await tfjsLayersImporter.read(dir, {});
    expect(res.project.graph.nodes.map((n) => n.name)).toEqual(['input_1', 'block_1_depthwise', 'project']);
    expect(res.project.graph.nodes[1]!.params).toMatchObject({ padding: 'same', strides: 2 });
    expect(res.warnings[0]).toMatch(/block_1_pad: ZeroPadding2D \(\(0, 1\), \(0, 1\)\) before block_1_depthwise .* padding 'same'/);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3);
    expect(await parity(dir, [x])).toBeLessThan(1e-5);
    const odd = build(7);
    const oddDir = await saveRandom(odd, 9);
    await expect(tfjsLayersImporter.read(oddDir, {})).rejects.toThrow(/block_1_pad \(ZeroPadding2D\): padding \(\(0, 1\), \(0, 1\)\) before block_1_depthwise is only exact as 'same' padding on an even-sized input, and its input is 7×7×3/);
    tf.dispose(x);
    m.dispose();
    odd.dispose();
  });

  it("Layerforge's own layer fixtures round-trip with weights (model.save -> import -> same predictions)", async () => {
    const names = ['lstm', 'gru', 'separable-crop', 'sequence-conv', 'activation-layers', 'embedding'];
    for (const f of layerFixtures().filter((x) => names.includes(x.name))) {
      const { model } = compileGraph(tf, f.graph);
      const dir = await saveRandom(model, 11);
      const xs = randomInputs(tf, model, 2);
      expect(await parity(dir, xs), f.name).toBeLessThan(1e-5);
      tf.dispose(xs);
      model.dispose();
    }
  });

  it('detects model.json with and without the format key; the folder form; not Keras to_json', async () => {
    const m = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'd' })] });
    const dir = await saveRandom(m, 1);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    delete json.format;
    delete json.generatedBy;
    delete json.convertedBy;
    const old = join(dir, 'old-model.json');
    writeFileSync(old, JSON.stringify(json));
    expect(await tfjsLayersImporter.detect(probe(old, readFileSync(old, 'utf8')))).toBe(true);
    expect(await tfjsLayersImporter.detect(probe(dir, '', '', true, ['model.json', 'weights.bin']))).toBe(true);
    expect(await tfjsLayersImporter.detect(probe(dir, '', '', true, ['model.json', 'project.json']))).toBe(false);
    expect(kerasJsonImporter.detect(probe(old, readFileSync(old, 'utf8')))).toBe(false);
    const { result, folder } = await tfjsLayersImporter.readWithWeights!(tf, old, {});
    expect(result.kind).toBe('tfjs-layers');
    expect(result.sourceParams).toBe(8);
    folder.model.dispose();
    // a graph model is refused with the reason
    writeFileSync(join(dir, 'graph.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] } }));
    await expect(tfjsLayersImporter.read(join(dir, 'graph.json'), {})).rejects.toThrow(/graph-model model; only layers models/);
    m.dispose();
  });

  it('a manifest whose shapes do not fit names the layer; a short weight file is a clear error', async () => {
    const m = tf.sequential({ layers: [L.dense({ inputShape: [3], units: 2, name: 'd1' }), L.dense({ units: 2, name: 'd2' })] });
    const dir = await saveRandom(m, 1);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    json.weightsManifest[0]!.weights.find((w) => w.name === 'd2/kernel')!.shape = [2, 3];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const err = await tfjsLayersImporter.read(dir, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelImportError);
    expect((err as ModelImportError).layers.map((l) => l.name)).toEqual(['d2']);
    expect((err as ModelImportError).message).toMatch(/has 14 parameters but the file's weights hold 16: d2 \(Dense\): 8 parameters in the file, 6 in the imported layer/);
    json.weightsManifest[0]!.weights.find((w) => w.name === 'd2/kernel')!.shape = [2, 2];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(10));
    await expect(tfjsLayersImporter.readWithWeights!(tf, dir, {})).rejects.toThrow(/weight files hold 10 bytes, fewer than the manifest lists/);
    m.dispose();
  });
});

describe('assignKerasWeights', () => {
  it('names every layer whose arrays do not fit, and an imported layer the source gives nothing for', () => {
    const res = importKerasTopology(
      [
        { class_name: 'Dense', config: { name: 'a', units: 3, batch_input_shape: [null, 2] } },
        { class_name: 'Dense', config: { name: 'b', units: 1 } },
      ],
      opts,
    );
    const { model } = compileGraph(tf, res.project.graph);
    const w = new Map([['a', [tf.zeros([2, 3]), tf.zeros([4])]]]);
    expect(() => assignKerasWeights(tf, model, res, w)).toThrow(/2 layers: a \(Dense\): weights \[2x3, 4\] do not fit the imported layer, which holds \[2x3, 3\]; b \(Dense\): the source gives no weights for it/);
    w.set('a', [tf.ones([2, 3]), tf.ones([3])]);
    w.set('b', [tf.ones([3, 1]), tf.ones([1])]);
    assignKerasWeights(tf, model, res, w);
    const y = model.predict(tf.ones([1, 2])) as tf.Tensor;
    expect(y.dataSync()[0]).toBe(3 * 3 + 1);
    model.dispose();
  });
});

/** A Keras 3 layer entry as model.to_json() writes it. */
const k3 = (class_name: string, config: Record<string, unknown>, args?: unknown[]) => ({
  module: 'keras.layers',
  class_name,
  config: { trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }, ...config },
  registered_name: null,
  ...(args ? { build_config: { input_shape: [null, 1] }, name: config.name, inbound_nodes: [{ args, kwargs: {} }] } : {}),
});
const kt = (name: string, shape: (number | null)[] = [null]) => ({ class_name: '__keras_tensor__', config: { shape, dtype: 'float32', keras_history: [name, 0, 0] } });

describe('Keras to_json() topologies', () => {
  it('a Keras 3 Functional with a nested Functional base, DTypePolicy and an input of unknown length', () => {
    const inner = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'text_encoder',
        trainable: false,
        layers: [
          { ...k3('InputLayer', { name: 'tokens_in', batch_shape: [null, null], dtype: 'int32', sparse: false }), name: 'tokens_in', inbound_nodes: [] },
          k3('Embedding', { name: 'emb', input_dim: 50, output_dim: 8 }, [kt('tokens_in')]),
          k3('Bidirectional', { name: 'bi', merge_mode: 'concat', layer: k3('LSTM', { name: 'lstm', units: 4, activation: 'tanh', recurrent_activation: 'sigmoid', return_sequences: false }) }, [kt('emb')]),
        ],
        input_layers: ['tokens_in', 0, 0],
        output_layers: ['bi', 0, 0],
      },
      registered_name: 'Functional',
      name: 'text_encoder',
      inbound_nodes: [{ args: [kt('text')], kwargs: { training: false } }],
    };
    const json = {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: {
        name: 'classifier',
        trainable: true,
        layers: [
          { ...k3('InputLayer', { name: 'text', batch_shape: [null, null], dtype: 'int32' }), name: 'text', inbound_nodes: [] },
          inner,
          k3('Dense', { name: 'probs', units: 3, activation: 'softmax', use_bias: true }, [kt('text_encoder')]),
        ],
        input_layers: [['text', 0, 0]],
        output_layers: [['probs', 0, 0]],
      },
      registered_name: 'Functional',
      build_config: { input_shape: null },
    };
    const res = importKerasTopology(json, opts);
    const g = res.project.graph;
    expect(g.nodes.map((n) => [n.name, n.type, n.group ?? null, n.trainable ?? true])).toEqual([
      ['text', 'Input', null, true],
      ['emb', 'Embedding', 'group_text_encoder', false],
      ['bi', 'LSTM', 'group_text_encoder', false],
      ['probs', 'Dense', null, true],
    ]);
    expect(g.nodes[0]!.params).toMatchObject({ kind: 'tokens', length: 128 });
    expect(res.assumed).toEqual([{ key: 'text:0', input: 'text', axis: 0, label: 'sequence length', value: 128, chosen: false }]);
    expect(res.warnings).toContain("text: sequence length (axis 0) is not fixed in the file (None); using the default 128 (choose another size with dims 'text:0')");
    const chosen = importKerasTopology(json, { ...opts, dims: { 'text:0': 40 } });
    expect(chosen.project.graph.nodes[0]!.params).toMatchObject({ length: 40 });
    expect(chosen.assumed[0]).toMatchObject({ value: 40, chosen: true });
    expect(() => importKerasTopology(json, { ...opts, dims: { 'text:0': 0 } })).toThrow(/text:0 \(sequence length\) must be a whole number of at least 1/);
    expect(analyzeGraph(g).totals.params).toBe(50 * 8 + 2 * 4 * (4 * (8 + 4 + 1)) + (8 * 3 + 3));
  });

  it('a Keras 2 Sequential with an application-like Functional base (inbound_nodes lists, nested name clash) and a Keras 2 model_config wrapper', () => {
    const base = {
      class_name: 'Functional',
      config: {
        name: 'mobilenet_like',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, null, null, 3], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' }, name: 'input_1', inbound_nodes: [] },
          { class_name: 'Conv2D', config: { name: 'conv', trainable: false, filters: 4, kernel_size: [3, 3], strides: [2, 2], padding: 'same', activation: 'linear', use_bias: false }, name: 'conv', inbound_nodes: [[['input_1', 0, 0, {}]]] },
          { class_name: 'ReLU', config: { name: 'relu', max_value: 6.0, negative_slope: 0.0, threshold: 0.0 }, name: 'relu', inbound_nodes: [[['conv', 0, 0, {}]]] },
          { class_name: 'Conv2D', config: { name: 'pw', filters: 4, kernel_size: [1, 1], activation: 'linear', use_bias: false }, name: 'pw', inbound_nodes: [[['relu', 0, 0, {}]]] },
          { class_name: 'Add', config: { name: 'add' }, name: 'add', inbound_nodes: [[['relu', 0, 0, {}], ['pw', 0, 0, {}]]] },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['add', 0, 0]],
      },
    };
    const model = {
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, 96, 96, 3], dtype: 'float32', name: 'input_2' } },
          base,
          { class_name: 'GlobalAveragePooling2D', config: { name: 'gap', data_format: 'channels_last' } },
          { class_name: 'Dense', config: { name: 'add', units: 2, activation: 'softmax' } },
        ],
      },
      keras_version: '2.4.0',
      backend: 'tensorflow',
    };
    const res = importKerasTopology({ model_config: model }, opts);
    const g = res.project.graph;
    expect(g.nodes.map((n) => n.name)).toEqual(['input_2', 'conv', 'relu', 'pw', 'add_2', 'gap', 'add']);
    expect(res.renamed).toEqual({ 'mobilenet_like/add': 'add_2' });
    expect(g.nodes.filter((n) => n.trainable === false).map((n) => n.name)).toEqual(['conv']);
    expect(g.groups).toEqual([{ id: 'group_mobilenet_like', name: 'mobilenet_like' }]);
    expect(res.assumed).toEqual([]);
    expect(analyzeGraph(g).nodes[g.nodes.find((n) => n.name === 'gap')!.id]!.shape).toEqual([4]);
    // the same base as the first layer of a Sequential: its own input, with the unknown size asked for
    const alone = importKerasTopology({ class_name: 'Sequential', config: { name: 's', layers: [base, model.config.layers[2], model.config.layers[3]] } }, opts);
    expect(alone.assumed.map((a) => [a.key, a.label, a.value])).toEqual([
      ['input_1:0', 'height', 224],
      ['input_1:1', 'width', 224],
    ]);
  });

  it('refuses a shared layer (called twice) naming it', () => {
    const json = {
      class_name: 'Functional',
      config: {
        name: 'siamese',
        layers: [
          { class_name: 'InputLayer', name: 'a', config: { name: 'a', batch_input_shape: [null, 4] }, inbound_nodes: [] },
          { class_name: 'InputLayer', name: 'b', config: { name: 'b', batch_input_shape: [null, 4] }, inbound_nodes: [] },
          { class_name: 'Dense', name: 'shared', config: { name: 'shared', units: 3 }, inbound_nodes: [[['a', 0, 0, {}]], [['b', 0, 0, {}]]] },
          { class_name: 'Subtract', name: 'diff', config: { name: 'diff' }, inbound_nodes: [[['shared', 0, 0, {}], ['shared', 1, 0, {}]]] },
        ],
        input_layers: [['a', 0, 0], ['b', 0, 0]],
        output_layers: [['diff', 0, 0]],
      },
    };
    expect(() => importKerasTopology(json, opts)).toThrow(/shared \(Dense\): it is called 2 times \(shared layers are not supported/);
  });

  it('the keras-json importer reads a to_json() file; a bare Sequential list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lf-kjson-'));
    const file = join(dir, 'mlp.json');
    const text = JSON.stringify({ class_name: 'Sequential', config: { name: 'mlp', layers: [{ class_name: 'Dense', config: { name: 'h', units: 4, activation: 'relu', batch_input_shape: [null, 3] } }] }, keras_version: '2.2.4', backend: 'tensorflow' });
    writeFileSync(file, text);
    expect(kerasJsonImporter.detect(probe(file, text))).toBe(true);
    const res = await kerasJsonImporter.read(file, {});
    expect(res).toMatchObject({ kind: 'keras-json', hasWeights: false });
    expect(res.project.name).toBe('mlp');
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, JSON.stringify([{ class_name: 'Dense', config: { name: 'h', units: 4, input_dim: 3, batch_input_shape: [null, 3] } }]));
    expect((await kerasJsonImporter.read(bare, {})).project.graph.nodes).toHaveLength(2);
  });
});
