/**
 * Test support for the exporters and the importer (not shipped behaviour): the project templates plus
 * small graphs that exercise each registry layer type, random weights and inputs.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, GraphEdge, GraphNode } from '../../../shared/graph';
import { getLayer, type ParamValue } from '../../../shared/layers';
import { newProject, parseProjectText, type ProjectFile } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';
import type { TablePreprocessing, TableTask } from '../../../shared/tables/types';
import { trainTokenizer, vocabSize, type Tokenizer, type TokenizerKind } from '../../../shared/text';
import { compileGraph } from '../compile';
import type { ModelFolder } from './modelFolder';

export const TEMPLATES_DIR = 'resources/templates';

export interface Fixture {
  name: string;
  graph: Graph;
}

export function templateFixtures(): Fixture[] {
  return readdirSync(TEMPLATES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const p: ProjectFile = parseProjectText(readFileSync(join(TEMPLATES_DIR, f), 'utf8'), f);
      return { name: `template:${f.replace(/\.json$/, '')}`, graph: p.graph };
    });
}

type Step = [type: string, params?: Record<string, ParamValue>, extraInputs?: number[]];

/**
 * A graph from an input and a list of steps; each step feeds from the previous one, plus optional
 * extra inputs given as step indexes (-1 = the input node).
 */
export function chain(input: Record<string, ParamValue>, steps: Step[]): Graph {
  const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', name: 'input_1', params: input, position: { x: 0, y: 0 } }];
  const edges: GraphEdge[] = [];
  steps.forEach(([type, params = {}, extra = []], i) => {
    const id = `n${i + 1}`;
    const def = getLayer(type);
    nodes.push({ id, type, name: `${def?.namePrefix ?? type.toLowerCase()}_${i + 1}`, params, position: { x: 0, y: 0 } });
    edges.push({ id: `e${i + 1}`, source: `n${i}`, target: id, targetPort: 0 });
    extra.forEach((src, j) => edges.push({ id: `e${i + 1}_${j}`, source: `n${src + 1}`, target: id, targetPort: j + 1 }));
  });
  return { nodes, edges };
}

/**
 * A graph from nodes given as [name, type, params, input names in port order]; the first node must be
 * the Input. For graphs that branch (chain only feeds each step from the previous one).
 */
export function dag(nodes: [name: string, type: string, params: Record<string, ParamValue>, inputs: string[]][]): Graph {
  return {
    nodes: nodes.map(([name, type, params]) => ({ id: name, type, name, params, position: { x: 0, y: 0 } })),
    edges: nodes.flatMap(([name, , , inputs]) => inputs.map((src, port) => ({ id: `${src}->${name}:${port}`, source: src, target: name, targetPort: port }))),
  };
}

const img = (h: number, w: number, c: number) => ({ kind: 'image', height: h, width: w, channels: c });
const seq = (t: number, f: number) => ({ kind: 'sequence', timesteps: t, features: f });
const feat = (n: number) => ({ kind: 'features', features: n });

/** Table models on 8 features (the encoding of tablePreprocessing()): the shapes tables train. */
function tableGraphs(): Fixture[] {
  return [
    { name: 'table-mlp', graph: chain(feat(8), [['Dense', { units: 16, activation: 'relu' }], ['BatchNormalization'], ['Dropout', { rate: 0.2 }], ['Dense', { units: 1, activation: 'linear' }]]) },
    {
      // wide & deep: the input is read by two Dense layers and a Concatenate, and the output is an Add
      name: 'table-branchy',
      graph: dag([
        ['features', 'Input', feat(8), []],
        ['deep_1', 'Dense', { units: 12, activation: 'relu' }, ['features']],
        ['deep_bn', 'BatchNormalization', {}, ['deep_1']],
        ['deep_2', 'Dense', { units: 6, activation: 'tanh' }, ['deep_bn']],
        ['wide', 'Dense', { units: 6, activation: 'linear' }, ['features']],
        ['sum', 'Add', {}, ['deep_2', 'wide']],
        ['joined', 'Concatenate', { axis: -1 }, ['features', 'sum']],
        ['joined_drop', 'Dropout', { rate: 0.1 }, ['joined']],
        ['act', 'Activation', { activation: 'elu' }, ['joined_drop']],
        ['head_a', 'Dense', { units: 1, activation: 'linear' }, ['act']],
        ['head_b', 'Dense', { units: 1, activation: 'linear' }, ['sum']],
        ['price', 'Add', {}, ['head_a', 'head_b']],
      ]),
    },
    { name: 'table-binary', graph: chain(feat(8), [['Dense', { units: 8, activation: 'relu' }], ['Dropout', { rate: 0.1 }], ['Dense', { units: 1, activation: 'sigmoid' }]]) },
    { name: 'table-softmax', graph: chain(feat(8), [['Dense', { units: 10, activation: 'elu', useBias: false }], ['BatchNormalization'], ['Dense', { units: 3, activation: 'softmax' }]]) },
    { name: 'table-linear', graph: chain(feat(8), [['Dense', { units: 1, activation: 'linear', useBias: false }]]) },
  ];
}

/** Small graphs covering the registry's layer types and their tricky params. */
export function layerFixtures(): Fixture[] {
  const all: Fixture[] = [
    { name: 'conv-same-strided-dilated', graph: chain(img(9, 7, 3), [['Conv2D', { filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }], ['Conv2D', { filters: 5, kernelSize: 2, padding: 'same', dilation: 2, activation: 'selu' }], ['Conv2D', { filters: 3, kernelSize: 2, activation: 'linear', useBias: false }], ['Flatten'], ['Dense', { units: 6, activation: 'softmax' }]]) },
    { name: 'conv-transpose', graph: chain(img(5, 6, 3), [['Conv2DTranspose', { filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }], ['Conv2DTranspose', { filters: 2, kernelSize: 3, strides: 2, padding: 'valid', activation: 'sigmoid' }], ['Conv2DTranspose', { filters: 3, kernelSize: 2, strides: 3, padding: 'same', activation: 'linear' }], ['Conv2DTranspose', { filters: 2, kernelSize: 4, strides: 1, padding: 'same', activation: 'tanh' }]]) },
    { name: 'depthwise-pools', graph: chain(img(11, 10, 3), [['DepthwiseConv2D', { kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu' }], ['MaxPool2D', { poolSize: 3, strides: 2, padding: 'same' }], ['AvgPool2D', { poolSize: 2, strides: 1, padding: 'same' }], ['AvgPool2D', { poolSize: 2 }], ['GlobalAvgPool2D']]) },
    { name: 'global-max-2d', graph: chain(img(6, 5, 4), [['DepthwiseConv2D', { kernelSize: 2, padding: 'valid', activation: 'softplus' }], ['GlobalMaxPool2D'], ['Dense', { units: 3, activation: 'swish' }]]) },
    { name: 'norm-reshape', graph: chain(img(4, 6, 3), [['BatchNormalization'], ['Activation', { activation: 'gelu' }], ['Reshape', { targetShape: [6, 12] }], ['Permute', { dims: [2, 1] }], ['LayerNormalization'], ['Dropout', { rate: 0.3 }], ['GlobalAvgPool1D']]) },
    { name: 'upsample-pad', graph: chain(img(3, 4, 2), [['UpSampling2D', { size: 2, interpolation: 'nearest' }], ['ZeroPadding2D', { padding: 1, paddingWidth: 2 }], ['UpSampling2D', { size: 3, interpolation: 'bilinear' }], ['Conv2D', { filters: 2, kernelSize: 3, activation: 'tanh' }]]) },
    { name: 'merges', graph: chain(img(4, 4, 3), [['Conv2D', { filters: 3, kernelSize: 1, activation: 'relu' }], ['Add', {}, [-1]], ['Multiply', {}, [0]], ['Average', {}, [-1, 1]], ['Concatenate', { axis: -1 }, [0]], ['BatchNormalization'], ['Flatten'], ['Dense', { units: 4, activation: 'sigmoid' }]]) },
    { name: 'lstm', graph: chain(seq(5, 3), [['LSTM', { units: 4, returnSequences: true }], ['LSTM', { units: 3, bidirectional: true, returnSequences: true }], ['LSTM', { units: 2, bidirectional: true, mergeMode: 'sum' }]]) },
    { name: 'gru', graph: chain(seq(6, 2), [['GRU', { units: 3, returnSequences: true, bidirectional: true, mergeMode: 'ave' }], ['GRU', { units: 4 }], ['Dense', { units: 2, activation: 'linear' }]]) },
    { name: 'simple-rnn', graph: chain(seq(4, 3), [['SimpleRNN', { units: 5, returnSequences: true, activation: 'relu' }], ['SimpleRNN', { units: 3, bidirectional: true, mergeMode: 'mul' }]]) },
    {
      name: 'attention',
      graph: chain({ kind: 'tokens', length: 6 }, [
        ['Embedding', { inputDim: 11, outputDim: 8 }],
        ['PositionalEmbedding', { sequenceLength: 6 }],
        ['MultiHeadAttention', { numHeads: 2, keyDim: 4, causal: true }],
        ['Add', {}, [1]],
        ['LayerNormalization'],
        ['MultiHeadAttention', { numHeads: 2, keyDim: 3, valueDim: 5, useBias: false }, [1]],
        ['GlobalAvgPool1D'],
        ['Dense', { units: 3, activation: 'softmax' }],
      ]),
    },
    { name: 'embedding', graph: chain({ kind: 'tokens', length: 6 }, [['Embedding', { inputDim: 11, outputDim: 4 }], ['GlobalMaxPool1D'], ['Dense', { units: 2, activation: 'softmax' }]]) },
    {
      // the activations added for imported models (issue 15), in convolutions, an Activation layer and Dense
      name: 'activations',
      graph: chain(img(3, 4, 2), [
        ['Conv2D', { filters: 4, kernelSize: 1, activation: 'relu6' }],
        ['Activation', { activation: 'hardSwish' }],
        ['DepthwiseConv2D', { kernelSize: 2, padding: 'same', activation: 'hardSigmoid' }],
        ['Reshape', { targetShape: [12, 4] }],
        ['Dense', { units: 5, activation: 'mish' }],
        ['Dense', { units: 4, activation: 'softsign' }],
        ['Dense', { units: 3, activation: 'hardSwish' }],
      ]),
    },
    {
      name: 'activation-layers',
      graph: chain(img(4, 5, 3), [
        ['Conv2D', { filters: 4, kernelSize: 1, activation: 'linear' }],
        ['ReLU', { maxValue: 0.5, negativeSlope: 0.1, threshold: 0.2 }],
        ['PReLU', { sharedAxes: [1, 2] }],
        ['Softmax', { axis: 1 }],
        ['Conv2D', { filters: 4, kernelSize: 1, activation: 'linear' }],
        ['ReLU', { maxValue: 0.3 }],
        ['Conv2D', { filters: 4, kernelSize: 1, activation: 'linear' }],
        ['LeakyReLU', { alpha: 0.2 }],
        ['ELU', { alpha: 0.5 }],
        ['PReLU', {}],
        ['Reshape', { targetShape: [20, 4] }],
        ['Softmax', { axis: -2 }],
        ['Dense', { units: 4, activation: 'linear' }],
        ['ReLU', { threshold: 0.1, negativeSlope: 0.3 }],
      ]),
    },
    {
      name: 'sequence-conv',
      graph: chain(seq(12, 3), [
        ['Conv1D', { filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }],
        ['ZeroPadding1D', { padding: 2, paddingEnd: 0 }],
        ['Conv1D', { filters: 5, kernelSize: 3, dilation: 2, activation: 'linear', useBias: false }],
        ['UpSampling1D', { size: 3 }],
        ['MaxPool1D', { poolSize: 3, strides: 2, padding: 'same' }],
        ['Cropping1D', { cropping: 1, croppingEnd: 0 }],
        ['AvgPool1D', { poolSize: 2, strides: 1, padding: 'same' }],
        ['AvgPool1D', { poolSize: 2 }],
        ['Conv1D', { filters: 3, kernelSize: 2, activation: 'tanh' }],
      ]),
    },
    {
      name: 'separable-crop',
      graph: chain(img(9, 8, 3), [
        ['SeparableConv2D', { filters: 5, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu' }],
        ['Cropping2D', { cropping: 1, croppingWidth: 0 }],
        ['SeparableConv2D', { filters: 4, kernelSize: 2, useBias: false, activation: 'linear' }],
        ['SeparableConv2D', { filters: 3, kernelSize: 2, padding: 'same', dilation: 2, activation: 'sigmoid' }],
      ]),
    },
    {
      // training-only noise (the identity at inference), the merges Subtract / Maximum / Minimum / Dot, Rescaling, Normalization, RepeatVector
      name: 'noise-merge-scale',
      graph: dag([
        ['x', 'Input', seq(5, 4), []],
        ['sd1', 'SpatialDropout1D', { rate: 0.3 }, ['x']],
        ['gn', 'GaussianNoise', { stddev: 0.2 }, ['sd1']],
        ['gd', 'GaussianDropout', { rate: 0.2 }, ['gn']],
        ['d1', 'Dense', { units: 4, activation: 'tanh' }, ['gd']],
        ['sub', 'Subtract', {}, ['d1', 'x']],
        ['mx', 'Maximum', {}, ['sub', 'x', 'd1']],
        ['mn', 'Minimum', {}, ['mx', 'd1']],
        ['dot', 'Dot', { axes: 2 }, ['mn', 'x']],
        ['dotn', 'Dot', { axes: 1, normalize: true }, ['mn', 'sub']],
        ['resc', 'Rescaling', { scale: 0.5, offset: -0.25 }, ['dotn']],
        ['norm', 'Normalization', { mean: 0.1, variance: 2 }, ['resc']],
        ['v1', 'GlobalAvgPool1D', {}, ['x']],
        ['v2', 'GlobalMaxPool1D', {}, ['d1']],
        ['vdot', 'Dot', { axes: -1, normalize: true }, ['v1', 'v2']],
        ['vdot2', 'Dot', { axes: 1 }, ['v2', 'v1']],
        ['dotf', 'Flatten', {}, ['dot']],
        ['normf', 'Flatten', {}, ['norm']],
        ['cat', 'Concatenate', { axis: -1 }, ['dotf', 'normf', 'vdot', 'vdot2']],
        ['rv', 'RepeatVector', { n: 3 }, ['cat']],
      ]),
    },
    { name: 'spatial-dropout-2d', graph: chain(img(4, 5, 3), [['SpatialDropout2D', { rate: 0.4 }], ['Normalization', {}], ['Conv2D', { filters: 2, kernelSize: 1, activation: 'linear' }], ['Rescaling', { scale: 2, offset: 1 }]]) },
    {
      // recurrent layers with activations ONNX's recurrent ops name (Elu, Softsign, Softplus) and PyTorch's KerasRecurrent computes
      name: 'rnn-activations',
      graph: chain(seq(5, 3), [
        ['SimpleRNN', { units: 4, activation: 'softsign', returnSequences: true }],
        ['GRU', { units: 3, activation: 'elu', returnSequences: true, bidirectional: true, mergeMode: 'concat' }],
        ['LSTM', { units: 3, activation: 'softplus' }],
      ]),
    },
    {
      // LSTM / GRU gates with hard sigmoids: tfjs's / Keras 2's clip(0.2x + 0.5, 0, 1) and Keras 3's relu6(x + 3) / 6
      // (ONNX HardSigmoid alpha 0.2 / 1/6 with each direction's values, also after Elu's alpha; PyTorch's KerasRecurrent)
      name: 'rnn-hard-sigmoid',
      graph: chain(seq(5, 3), [
        ['LSTM', { units: 3, recurrentActivation: 'hardSigmoid', returnSequences: true, bidirectional: true, mergeMode: 'concat' }],
        ['GRU', { units: 3, activation: 'elu', recurrentActivation: 'hardSigmoidKeras3', returnSequences: true, bidirectional: true, mergeMode: 'concat' }],
        ['GRU', { units: 2, recurrentActivation: 'hardSigmoid', returnSequences: true, resetAfter: true }],
        ['LSTM', { units: 2, recurrentActivation: 'hardSigmoidKeras3', bidirectional: true, mergeMode: 'concat' }],
      ]),
    },
    {
      // Keras's padding 'causal' (dilated, strided) and GRU reset_after (Keras 2+'s default): bidirectional,
      // a non-default activation (PyTorch's KerasRecurrent, ONNX Softsign) and the plain one (torch.nn.GRU)
      name: 'causal-gru-reset-after',
      graph: chain(seq(7, 3), [
        ['Conv1D', { filters: 4, kernelSize: 3, padding: 'causal', dilation: 2, activation: 'relu' }],
        ['Conv1D', { filters: 4, kernelSize: 2, strides: 2, padding: 'causal', activation: 'linear', useBias: false }],
        ['GRU', { units: 3, returnSequences: true, bidirectional: true, mergeMode: 'concat', resetAfter: true }],
        ['GRU', { units: 4, activation: 'softsign', returnSequences: true, resetAfter: true }],
        ['GRU', { units: 2, bidirectional: true, mergeMode: 'sum', resetAfter: true }],
        ['Dense', { units: 2, activation: 'linear' }],
      ]),
    },
    ...tableGraphs(),
  ];
  // Only graphs whose layer types are all in the registry (layers are still being added).
  return all.filter((f) => f.graph.nodes.every((n) => getLayer(n.type)));
}

/** Deterministic pseudo-random numbers in [0, 1). */
export const rng = mulberry32;

/** Sets every weight to random values (variances positive), so biases and BN statistics are exercised too. */
export function randomizeWeights(tf: typeof tfjs, model: tfjs.LayersModel, seed = 1): void {
  const r = rng(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const positive = /variance/.test(w.originalName);
    // kernels scaled by fan-in (as Glorot/He do) so deep templates keep outputs away from saturation
    const fanIn = shape.length >= 2 ? n / shape[shape.length - 1]! : 1;
    const scale = /embeddings/.test(w.originalName) ? 1 : shape.length >= 2 ? Math.sqrt(3 / fanIn) : 0.5;
    const vals = Float32Array.from({ length: n }, () => (positive ? 0.5 + r() : (r() * 2 - 1) * scale));
    const t = tf.tensor(vals, shape, 'float32');
    w.write(t);
    t.dispose();
  }
}

/** Random inputs for each model input: floats in [-1, 1), or token ids below the vocabulary size. */
export function randomInputs(tf: typeof tfjs, model: tfjs.LayersModel, batch: number, seed = 2, vocab = 10): tfjs.Tensor[] {
  const r = rng(seed);
  return model.inputs.map((inp) => {
    const shape = [batch, ...(inp.shape.slice(1) as number[])];
    const n = shape.reduce((a, b) => a * b, 1);
    if (inp.dtype === 'int32') return tf.tensor(Int32Array.from({ length: n }, () => Math.floor(r() * vocab)), shape, 'int32');
    return tf.tensor(Float32Array.from({ length: n }, () => r() * 2 - 1), shape, 'float32');
  });
}

/**
 * A hand-made table preprocessing of 8 encoded features (as the CSV importer writes one): columns id
 * (ignored), age, city (3 categories, one of them MISSING_CATEGORY), income, year (mean far from 0 for
 * its deviation, as years are), garden (2 categories); target `rings` for regression, `label` with the
 * given classes for classification.
 */
export function tablePreprocessing(task: TableTask, classes: string[] = ['no', 'yes']): TablePreprocessing {
  const columns: TablePreprocessing['columns'] = [
    { name: 'id', type: 'ignored', reason: 'an id (every value distinct)' },
    { name: 'age', type: 'numeric', mean: 41.5, std: 12.25, missing: 3 },
    { name: 'city', type: 'categorical', categories: ['Lyon', 'Paris', '(missing)'], missing: 2 },
    { name: 'income', type: 'numeric', mean: 52_000, std: 21_000, missing: 0 },
    { name: 'year', type: 'numeric', mean: 1987.5, std: 14.2, missing: 0 },
    { name: 'garden', type: 'categorical', categories: ['no', 'yes'], missing: 0 },
  ];
  const featureNames = ['age', 'city=Lyon', 'city=Paris', 'city=(missing)', 'income', 'year', 'garden=no', 'garden=yes'];
  return {
    format: 'layerforge-table-preprocessing',
    version: 1,
    columns,
    target: task === 'regression' ? { name: 'rings', task, mean: 9.93, std: 3.22, droppedRows: 0 } : { name: 'label', task, classes, droppedRows: 1 },
    featureNames,
    featureMean: [41.5, 0, 0, 0, 52_000, 1987.5, 0, 0],
    featureStd: [12.25, 1, 1, 1, 21_000, 14.2, 1, 1],
    split: { seed: 1, testFraction: 0.2, trainRows: 400, testRows: 100 },
    source: { file: 'houses.csv', delimiter: ',', rows: 501, header: ['id', 'age', 'city', 'income', 'year', 'garden', task === 'regression' ? 'rings' : 'label'] },
  };
}

export interface TableFixture extends Fixture {
  preprocessing: TablePreprocessing;
}

/** The table graphs with a preprocessing that fits each (regression, binary or 3-class). */
export function tableFixtures(): TableFixture[] {
  return tableGraphs().map((f) => ({
    ...f,
    preprocessing: /binary/.test(f.name) ? tablePreprocessing('classification') : /softmax/.test(f.name) ? tablePreprocessing('classification', ['a', 'b', 'c']) : tablePreprocessing('regression'),
  }));
}

/** A trained-model folder (in memory) of a table fixture: compiled, random weights, its preprocessing. */
export function tableModelFolder(tf: typeof tfjs, f: TableFixture, seed = 5): ModelFolder {
  const { model } = compileGraph(tf, f.graph);
  randomizeWeights(tf, model, seed);
  const t = f.preprocessing.target;
  return {
    project: newProject(f.name, f.graph),
    model,
    metrics: {},
    task: t.task === 'regression' ? { id: 'regression', target: { classes: 0, mean: t.mean ?? 0, std: t.std ?? 1, name: t.name } } : { id: 'classification', target: { classes: t.classes?.length ?? 0, mean: 0, std: 1, name: t.name } },
    preprocessing: f.preprocessing,
  };
}

/** Raw encoded feature rows [rows, N] for a preprocessing: numbers around each column's mean, one-hot categories (sometimes all zeros: an unknown value). */
export function rawTableRows(pre: TablePreprocessing, rows: number, seed = 9): Float32Array {
  const r = rng(seed);
  const n = pre.featureNames.length;
  const out = new Float32Array(rows * n);
  for (let i = 0; i < rows; i++) {
    let at = i * n;
    for (const c of pre.columns) {
      if (c.type === 'numeric') out[at++] = Math.fround(c.mean + c.std * 1.7 * (r() * 2 - 1));
      else if (c.type === 'categorical') {
        const hot = Math.floor(r() * (c.categories.length + 1)); // == length: unknown, all zeros
        for (let k = 0; k < c.categories.length; k++) out[at++] = k === hot ? 1 : 0;
      }
    }
  }
  return out;
}

/**
 * What an export with built-in preprocessing must give for raw rows: the trained tfjs model on the
 * standardised features, (x - mean) / std, and for regression its output turned back, y * std + mean.
 */
export function expectedTableOutput(tf: typeof tfjs, folder: ModelFolder, raw: Float32Array): { data: Float32Array; shape: number[] } {
  const pre = folder.preprocessing!;
  const n = pre.featureNames.length;
  return tf.tidy(() => {
    const x = tf.div(tf.sub(tf.tensor2d(raw, [raw.length / n, n]), tf.tensor1d(pre.featureMean)), tf.tensor1d(pre.featureStd));
    let y = folder.model.predict(x) as tfjs.Tensor;
    const t = pre.target;
    if (t.task === 'regression') y = tf.add(tf.mul(y, t.std ?? 1), t.mean ?? 0);
    return { data: new Float32Array(y.dataSync()), shape: y.shape };
  });
}

/** Lines with what a text tokenizer must get right beyond English: accents, combining marks, CJK, emoji, apostrophes, digits, odd spaces. */
export const UNICODE_TEXTS = [
  'Caf\u00e9 na\u00efve d\u00e9j\u00e0 vu \u2014 \u201cquoted\u201d and \'single\', don\u2019t l\u2019homme!',
  'Emoji \ud83d\ude00\ud83d\udc4d\ud83c\udffd family \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67, CJK \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8, Greek \u03b1\u03b2\u03b3 \u03a3\u039f\u03a6\u039f\u03a3, Arabic \u0645\u0631\u062d\u0628\u0627',
  'combining e\u0301 a\u0308 \u0915\u093f, tabs\tand\r\nCRLF, nbsp\u00a0here, ideographic\u3000space, bom\ufeffmark, nel\u0085line, zero-width\u200bspace',
  '1234567890 3.14159 \u00bd \u2163 \u0663\u0664 x=y+z; a_b_c __init__ I\u2019ll we\'ve they\'re',
];

/** The fixtures' corpus: the fortunes of resources/fixtures/text (one text per fortune) and UNICODE_TEXTS, a few times. */
export function textCorpus(): string[] {
  const dir = 'resources/fixtures/text/fortunes';
  const fortunes = readdirSync(dir)
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split(/\n%\n/))
    .map((t) => t.trim())
    .filter(Boolean);
  return [...fortunes, ...UNICODE_TEXTS, ...UNICODE_TEXTS, ...UNICODE_TEXTS];
}

/** One tokenizer of each kind trained on textCorpus() (word: lower-cased, 300 ids; bpe: 400 ids). */
export function textTokenizers(): Record<TokenizerKind, Tokenizer> {
  const texts = textCorpus();
  return {
    char: trainTokenizer('char', texts),
    word: trainTokenizer('word', texts, { vocabSize: 300, lowercase: true }),
    bpe: trainTokenizer('bpe', texts, { vocabSize: 400 }),
  };
}

export interface TextFixture extends Fixture {
  tokenizer: TokenizerKind;
  task: 'classification' | 'language-modelling';
  /** Classifier: class names, recorded in the folder's metrics as perClassAccuracy. */
  classes?: string[];
  /** T: ids per row. */
  length: number;
}

/**
 * resources/templates/mini-gpt.json shrunk: width 16 (4 heads × 4), feed-forward 32, T ids, 1 or 2 causal
 * pre-norm blocks, vocabulary V (Embedding and the logits head).
 */
export function miniGptGraph(vocab: number, T: number, blocks: 1 | 2 = 2): Graph {
  const p = parseProjectText(readFileSync(join(TEMPLATES_DIR, 'mini-gpt.json'), 'utf8'), 'mini-gpt.json');
  const g: Graph = JSON.parse(JSON.stringify(p.graph)) as Graph;
  const second = new Set(['ln2a', 'att2', 'add2a', 'ln2b', 'ff2a', 'ff2b', 'add2b']);
  if (blocks === 1) {
    g.nodes = g.nodes.filter((n) => !second.has(n.id));
    g.edges = g.edges.filter((e) => !second.has(e.source) && !second.has(e.target));
    g.edges.push({ id: 'add1b->lnf', source: 'add1b', target: 'lnf', targetPort: 0 });
  }
  for (const n of g.nodes) {
    if (n.type === 'Input') n.params.length = T;
    if (n.type === 'Embedding') Object.assign(n.params, { inputDim: vocab, outputDim: 16 });
    if (n.type === 'PositionalEmbedding') n.params.sequenceLength = T;
    if (n.type === 'MultiHeadAttention') Object.assign(n.params, { numHeads: 4, keyDim: 4 });
    if (n.id.startsWith('ff') && n.id.endsWith('a')) n.params.units = 32;
    if (n.id.startsWith('ff') && n.id.endsWith('b')) n.params.units = 16;
    if (n.id === 'head') n.params.units = vocab;
  }
  return g;
}

/**
 * Text models with their tokenizer kinds: classifiers (Embedding + LSTM; Embedding + bidirectional LSTM +
 * GRU; Embedding + positions + self-attention) and two shrunk mini-GPTs (causal attention), sized to the
 * tokenizers' vocabularies.
 */
export function textFixtures(tokenizers: Record<TokenizerKind, Tokenizer>): TextFixture[] {
  const v = (k: TokenizerKind) => vocabSize(tokenizers[k]);
  const tokens = (length: number) => ({ kind: 'tokens', length });
  const classes = ['computers', 'food', 'love'];
  return [
    {
      name: 'text-lstm',
      tokenizer: 'word',
      task: 'classification',
      classes,
      length: 12,
      graph: chain(tokens(12), [['Embedding', { inputDim: v('word'), outputDim: 8 }], ['LSTM', { units: 6 }], ['Dense', { units: 3, activation: 'softmax' }]]),
    },
    {
      name: 'text-bilstm-gru',
      tokenizer: 'char',
      task: 'classification',
      classes: ['short', 'long'],
      length: 16,
      graph: chain(tokens(16), [
        ['Embedding', { inputDim: v('char'), outputDim: 6 }],
        ['LSTM', { units: 5, bidirectional: true, returnSequences: true }],
        ['GRU', { units: 4 }],
        ['Dense', { units: 2, activation: 'softmax' }],
      ]),
    },
    {
      name: 'text-attention',
      tokenizer: 'bpe',
      task: 'classification',
      classes,
      length: 10,
      graph: chain(tokens(10), [
        ['Embedding', { inputDim: v('bpe'), outputDim: 8 }],
        ['PositionalEmbedding', { sequenceLength: 10 }],
        ['MultiHeadAttention', { numHeads: 2, keyDim: 4 }],
        ['Add', {}, [1]],
        ['LayerNormalization'],
        ['GlobalAvgPool1D'],
        ['Dense', { units: 3, activation: 'softmax' }],
      ]),
    },
    { name: 'mini-gpt-char', tokenizer: 'char', task: 'language-modelling', length: 8, graph: miniGptGraph(v('char'), 8, 2) },
    { name: 'mini-gpt-bpe', tokenizer: 'bpe', task: 'language-modelling', length: 6, graph: miniGptGraph(v('bpe'), 6, 1) },
  ];
}

/** A trained-model folder (in memory) of a text fixture: compiled, random weights, its tokenizer, task and (classifiers) class names in metrics. */
export function textModelFolder(tf: typeof tfjs, f: TextFixture, tokenizer: Tokenizer, seed = 5): ModelFolder {
  const { model } = compileGraph(tf, f.graph);
  randomizeWeights(tf, model, seed);
  const v = vocabSize(tokenizer);
  return {
    project: newProject(f.name, f.graph),
    model,
    metrics: f.classes ? { perClassAccuracy: Object.fromEntries(f.classes.map((c) => [c, 0.5])) } : {},
    task: f.task === 'classification' ? { id: 'classification', target: { classes: f.classes!.length, mean: 0, std: 1 } } : { id: 'language-modelling', target: { classes: v, mean: 0, std: 1, length: f.length } },
    tokenizer,
  };
}
