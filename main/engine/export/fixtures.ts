/**
 * Test support for the exporters and the importer (not shipped behaviour): the project templates plus
 * small graphs that exercise each registry layer type, random weights and inputs.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, GraphEdge, GraphNode } from '../../../shared/graph';
import { getLayer, type ParamValue } from '../../../shared/layers';
import { parseProjectText, type ProjectFile } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';

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

const img = (h: number, w: number, c: number) => ({ kind: 'image', height: h, width: w, channels: c });
const seq = (t: number, f: number) => ({ kind: 'sequence', timesteps: t, features: f });

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
