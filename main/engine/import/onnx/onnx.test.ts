/**
 * ONNX import: our own exports round-trip (predictions vs onnxruntime on the original file) and PyTorch exports
 * (corpus/onnx/make.py, references computed by torch) match to < 1e-5 of the output scale; a file listed with
 * ONNX backend-test data (input_N.pb / output_0.pb beside it) is compared with those; what cannot be mapped is
 * refused naming the node.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { exportGraphOf } from '../../export/exportGraph';
import { layerFixtures, randomInputs, randomizeWeights, templateFixtures } from '../../export/fixtures';
import { buildOnnx } from '../../export/onnx';
import { ModelProto } from '../../export/onnx/proto';
import { ModelImportError } from '../errors';
import { decodeTensorProto } from './decode';
import { importOnnxBytes, onnxImporter, setOnnxWeights } from '.';

const CORPUS = 'main/engine/import/corpus';
const manifest = JSON.parse(readFileSync(join(CORPUS, 'onnx.json'), 'utf8')) as {
  files: { path: string; real: boolean; params: number | null; expect: 'imports' | { refused: string }; dims?: Record<string, number> }[];
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Max |a − b| over the largest |b|: the error relative to the output's scale. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    max = Math.max(max, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return max / Math.max(scale, 1e-6);
}

/**
 * Runs the imported model on inputs as the ONNX file takes them (NCHW images; [N, C, L] where the model
 * convolves a sequence) and returns the output in the file's layout.
 */
function predictLikeOnnx(model: tf.LayersModel, xs: tf.Tensor[], channelsFirst1d: boolean, seqFirst = false): Float32Array {
  return tf.tidy(() => {
    const xin = xs.map((x) => (x.rank === 4 ? x.transpose([0, 2, 3, 1]) : x.rank === 3 && channelsFirst1d ? x.transpose([0, 2, 1]) : x.rank === 3 && seqFirst ? x.transpose([1, 0, 2]) : x));
    let y = model.predict(xin.length === 1 ? xin[0]! : xin) as tf.Tensor;
    if (y.rank === 4) y = y.transpose([0, 3, 1, 2]);
    if (y.rank === 3 && channelsFirst1d) y = y.transpose([0, 2, 1]);
    if (y.rank === 3 && seqFirst) y = y.transpose([1, 0, 2]);
    return y.dataSync() as Float32Array;
  });
}

const figures: Record<string, number> = {};

describe('our own ONNX exports round-trip', () => {
  // attention (layer fixture 'attention': causal self-attention, then cross-attention with valueDim != keyDim and no biases)
  // comes back as MultiHeadAttention layers: attention.ts recognises the exported ops
  const names = ['template:cifar10-cnn', 'template:resnet-small', 'template:lstm-classifier', 'template:text-lstm', 'template:tabular-classifier', 'template:mini-gpt', 'template:transformer-classifier', 'attention', 'rnn-activations', 'rnn-hard-sigmoid'];
  const fixtureOf = (name: string) => [...templateFixtures(), ...layerFixtures()].find((f) => f.name === name)!;
  it.each(names)('%s: same layers, names and predictions as onnxruntime on the exported file', async (name) => {
    const fixture = fixtureOf(name);
    const { model } = compileGraph(tf, fixture.graph);
    randomizeWeights(tf, model, 7);
    const bytes = buildOnnx(exportGraphOf(fixture.graph, model));
    const { result, built } = importOnnxBytes(bytes);
    // the layers come back with their names and types (Dropout is dropped: the identity at inference)
    const kept = fixture.graph.nodes.filter((n) => n.type !== 'Dropout');
    expect(result.project.graph.nodes.map((n) => `${n.name}:${n.type}`).sort()).toEqual(kept.map((n) => `${n.name}:${n.type}`).sort());
    const imported = compileGraph(tf, result.project.graph).model;
    setOnnxWeights(tf, imported, built);
    // mini-gpt (T = 128, D = 128) predicts slowly on tfjs's CPU backend: one sample
    const xs = randomInputs(tf, model, name === 'template:mini-gpt' ? 1 : 3);
    const session = await ort.InferenceSession.create(bytes);
    const x = xs[0]!;
    const got = await session.run({ [session.inputNames[0]!]: new ort.Tensor(x.dtype === 'int32' ? 'int32' : 'float32', x.dataSync() as Float32Array | Int32Array, x.shape) });
    const want = got[session.outputNames[0]!]!.data as Float32Array;
    const d = relDiff((imported.predict(x) as tf.Tensor).dataSync(), want);
    figures[name] = d;
    expect(d).toBeLessThan(1e-5);
    await session.release();
    tf.dispose(xs);
    model.dispose();
    imported.dispose();
  });

  it('imports attention params and weights; a mask other than causal is refused naming the block', () => {
    const fixture = fixtureOf('attention');
    const { model } = compileGraph(tf, fixture.graph);
    const bytes = buildOnnx(exportGraphOf(fixture.graph, model));
    model.dispose();
    const { result } = importOnnxBytes(bytes);
    const mha = result.project.graph.nodes.filter((n) => n.type === 'MultiHeadAttention');
    expect(mha.map((n) => n.params)).toEqual([
      { numHeads: 2, keyDim: 4, valueDim: 0, causal: true, useBias: true },
      { numHeads: 2, keyDim: 3, valueDim: 5, causal: false, useBias: false },
    ]);
    // the second one attends from the normalised sequence to the positional embedding's output
    expect(result.project.graph.edges.filter((e) => e.target === mha[1]!.id).map((e) => e.source)).toEqual(['layer_normalization_5', 'positional_embedding_2']);
    // the causal mask turned around (each position sees the later ones): not a mask Layerforge has
    const msg = ModelProto.decode(bytes) as unknown as { graph: { initializer: { name: string; rawData: Uint8Array }[] } };
    const init = msg.graph.initializer.find((i) => i.name.endsWith('_causal_mask'))!;
    const mask = new Float32Array(new Uint8Array(init.rawData).buffer);
    const t = Math.sqrt(mask.length);
    init.rawData = new Uint8Array(Float32Array.from(mask, (_, i) => mask[(i % t) * t + Math.floor(i / t)]!).buffer);
    expect(() => importOnnxBytes(ModelProto.encode(msg as never).finish())).toThrow(
      /multi_head_attention_3_node \(Add\): the attention block ending here \(from multi_head_attention_3_query_mm_node\) has no Layerforge equivalent: its mask is not causal/,
    );
  });

  it("reads LSTM / GRU HardSigmoid gates (alpha 0.2: tfjs's and Keras 2's; 1/6: Keras 3's) as recurrentActivation; refuses another alpha, naming it", () => {
    const fixture = fixtureOf('rnn-hard-sigmoid');
    const { model } = compileGraph(tf, fixture.graph);
    const bytes = buildOnnx(exportGraphOf(fixture.graph, model));
    model.dispose();
    const params = (b: Uint8Array) => importOnnxBytes(b).result.project.graph.nodes.filter((n) => n.type === 'LSTM' || n.type === 'GRU').map((n) => [n.type, n.params.recurrentActivation, n.params.activation]);
    expect(params(bytes)).toEqual(fixture.graph.nodes.filter((n) => n.type === 'LSTM' || n.type === 'GRU').map((n) => [n.type, n.params.recurrentActivation, n.params.activation ?? 'tanh']));
    type Attr = { name: string; floats: number[] };
    const msg = ModelProto.decode(bytes) as unknown as { graph: { node: { name: string; opType: string; attribute: Attr[] }[] } };
    const lstm = msg.graph.node.find((n) => n.opType === 'LSTM')!;
    lstm.attribute.find((a) => a.name === 'activation_alpha')!.floats[0] = 0.25;
    expect(() => importOnnxBytes(ModelProto.encode(msg as never).finish())).toThrow(
      new RegExp(`${lstm.name} \\(LSTM\\): activations \\[HardSigmoid\\(alpha 0.25, beta 0.5\\), Tanh, Tanh, HardSigmoid\\(alpha 0.2, beta 0.5\\), Tanh, Tanh\\] differ from what Layerforge's LSTM computes`),
    );
  });

  it('refuses LogSoftmax (no log-softmax in the palette), naming the node', () => {
    const fixture = fixtureOf('template:tabular-classifier');
    const { model } = compileGraph(tf, fixture.graph);
    const msg = ModelProto.decode(buildOnnx(exportGraphOf(fixture.graph, model))) as unknown as { graph: { node: { name: string; opType: string }[] } };
    model.dispose();
    const softmax = msg.graph.node.find((n) => n.opType === 'Softmax')!;
    softmax.opType = 'LogSoftmax';
    expect(() => importOnnxBytes(ModelProto.encode(msg as never).finish())).toThrow(new RegExp(`${softmax.name} \\(LogSoftmax\\): operator LogSoftmax has no Layerforge equivalent`));
  });
});

describe('ONNX corpus (PyTorch exports and onnx/onnx backend test models)', () => {
  it.each(manifest.files.map((f) => [f.path, f] as const))('%s', async (path, entry) => {
    const file = join(CORPUS, path);
    const bytes = new Uint8Array(readFileSync(file));
    if (entry.expect !== 'imports') {
      const refused = entry.expect.refused;
      let error: unknown;
      try {
        importOnnxBytes(bytes, { dims: entry.dims });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelImportError);
      expect((error as Error).message).toContain(refused);
      return;
    }
    const { result, built } = importOnnxBytes(bytes, { dims: entry.dims });
    expect(result.kind).toBe('onnx');
    if (entry.params !== null) expect(result.sourceParams).toBe(entry.params);
    const model = compileGraph(tf, result.project.graph).model;
    setOnnxWeights(tf, model, built);
    // references: make.py's JSON (torch's outputs), or the backend test's TensorProtos
    let xs: tf.Tensor[] = [];
    let want: ArrayLike<number> | null = null;
    const json = file.replace(/\.onnx$/, '.json');
    if (!entry.real && existsSync(json)) {
      const ref = JSON.parse(readFileSync(json, 'utf8')) as Record<'inputs' | 'outputs', Record<string, { shape: number[]; data: number[] }>>;
      xs = [tf.tensor(ref.inputs.input!.data, ref.inputs.input!.shape)];
      want = ref.outputs.output!.data;
    } else if (existsSync(join(file, '..', 'input_0.pb'))) {
      for (let i = 0; existsSync(join(file, '..', `input_${i}.pb`)); i++) {
        const inp = decodeTensorProto(readFileSync(join(file, '..', `input_${i}.pb`)));
        xs.push(tf.tensor(Array.from(inp.values()), inp.dims, [6, 7].includes(inp.dataType) ? 'int32' : 'float32'));
      }
      want = decodeTensorProto(readFileSync(join(file, '..', 'output_0.pb'))).values();
    }
    // a flattened NCHW output keeps our (channels-last) feature order: compared through the Dense tests instead
    const reordered = result.warnings.some((w) => w.includes('channel-first feature order'));
    if (xs.length && want && !reordered) {
      // PyTorch's attention without batch_first: the file's [T, 1, E] is our [1, T, E]
      const seqFirst = xs[0]!.rank === 3 && xs[0]!.shape[0] > 1 && xs[0]!.shape[1] === 1 && result.project.graph.nodes[0]!.params.timesteps === xs[0]!.shape[0];
      const d = relDiff(predictLikeOnnx(model, xs, result.project.graph.nodes.some((n) => ['Conv1D', 'MaxPool1D', 'AvgPool1D'].includes(n.type)), seqFirst), want);
      figures[path] = d;
      expect(d).toBeLessThan(1e-5);
    }
    tf.dispose(xs);
    model.dispose();
  });

  it('maps a Flatten of an NCHW map into Gemm by permuting the dense rows (cnn_bn: Flatten, then Dense)', () => {
    const { result } = importOnnxBytes(new Uint8Array(readFileSync(join(CORPUS, 'onnx/cnn_bn.onnx'))));
    const types = result.project.graph.nodes.map((n) => n.type);
    expect(types.slice(-2)).toEqual(['Flatten', 'Dense']);
    expect(types).not.toContain('Permute');
    // the softmax folded into the Dense; the ReLUs into the convolutions
    expect(result.project.graph.nodes.at(-1)!.params.activation).toBe('softmax');
    expect(types).not.toContain('Activation');
  });

  it('symbolic input dims take a default, shown, that options.dims overrides', async () => {
    const file = join(CORPUS, 'onnx/dyn_cnn.onnx');
    const plain = await onnxImporter.read(file, {});
    expect(plain.assumed.map((a) => [a.key, a.label, a.value, a.chosen])).toEqual([
      ['input:1', 'height', 224, false],
      ['input:2', 'width', 224, false],
    ]);
    const chosen = await onnxImporter.read(file, { dims: { 'input:1': 12, 'input:2': 20 } });
    expect(chosen.project.graph.nodes[0]!.params).toMatchObject({ kind: 'image', height: 12, width: 20, channels: 3 });
    expect(chosen.assumed.every((a) => a.chosen)).toBe(true);
  });

  it('readWithWeights gives a model folder that predicts', async () => {
    const { result, folder } = await onnxImporter.readWithWeights!(tf, join(CORPUS, 'onnx/mlp.onnx'), {});
    expect(result.hasWeights).toBe(true);
    expect(folder.project).toBe(result.project);
    const y = folder.model.predict(tf.zeros([2, 20])) as tf.Tensor;
    expect(y.shape).toEqual([2, 3]);
    tf.dispose(y);
    folder.model.dispose();
  });

  it('names every node it cannot map in one error (name, or op_type #index when unnamed)', () => {
    const msg = ModelProto.decode(readFileSync(join(CORPUS, 'onnx/mlp.onnx'))) as unknown as { graph: { node: { name: string; opType: string }[] } };
    msg.graph.node[0]!.opType = 'FancyOp';
    msg.graph.node[2]!.opType = 'OtherOp';
    msg.graph.node[2]!.name = '';
    const bytes = ModelProto.encode(msg as never).finish();
    let error: ModelImportError | undefined;
    try {
      importOnnxBytes(bytes);
    } catch (e) {
      error = e as ModelImportError;
    }
    expect(error).toBeInstanceOf(ModelImportError);
    expect(error!.layers.map((l) => l.className)).toEqual(['FancyOp', 'OtherOp']);
    expect(error!.layers[1]!.name).toBe('OtherOp #2');
    expect(error!.message).toMatch(/2 ONNX operators not supported/);
  });

  it('reports the parity figures', () => {
    for (const [k, v] of Object.entries(figures)) console.log(`[onnx import] ${k}: max |diff| / output scale ${v.toExponential(2)}`);
    expect(Object.keys(figures).length).toBeGreaterThan(10);
  });
});
