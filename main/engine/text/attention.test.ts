/**
 * Attention maps on tiny hand-made token models (random weights, biases too): every row is a distribution
 * (with the padding's share for non-causal layers), causal rows are 0 above the diagonal, and the weights are
 * the ones the layer really used: (weights · V) · Wo + b, computed here in plain JS from the layer's kernels,
 * equals the layer's own output to 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { trainTokenizer } from '../../../shared/text';
import { compileGraph } from '../compile';
import { AttentionError, attentionLayers, attentionMaps, attentionWeights, visibleToken } from './attention';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const T = 8;
const tokenizer = trainTokenizer('char', ['the cat sat on the mat\nand the dog\tran']);

/** Input(T tokens) → Embedding → PositionalEmbedding → attention ×layers → a head (per token for a language model, pooled for a classifier). */
function graph(opts: { causal: boolean; layers?: number; lm?: boolean }): Graph {
  const p = { x: 0, y: 0 };
  const nodes: Graph['nodes'] = [
    { id: 'in', type: 'Input', name: 'tokens', params: { kind: 'tokens', length: T }, position: p },
    { id: 'emb', type: 'Embedding', name: 'embed', params: { inputDim: 40, outputDim: 6 }, position: p },
    { id: 'pos', type: 'PositionalEmbedding', name: 'pos', params: { sequenceLength: T }, position: p },
  ];
  const edges: Graph['edges'] = [
    { id: 'e1', source: 'in', target: 'emb', targetPort: 0 },
    { id: 'e2', source: 'emb', target: 'pos', targetPort: 0 },
  ];
  let prev = 'pos';
  for (let i = 1; i <= (opts.layers ?? 1); i++) {
    nodes.push({ id: `att${i}`, type: 'MultiHeadAttention', name: `attention_${i}`, params: { numHeads: 2, keyDim: 3, dropout: 0, causal: opts.causal }, position: p });
    edges.push({ id: `ea${i}`, source: prev, target: `att${i}`, targetPort: 0 });
    prev = `att${i}`;
  }
  if (opts.lm) {
    nodes.push({ id: 'head', type: 'Dense', name: 'head', params: { units: 40, activation: 'linear' }, position: p });
    edges.push({ id: 'eh', source: prev, target: 'head', targetPort: 0 });
  } else {
    nodes.push({ id: 'pool', type: 'GlobalAvgPool1D', name: 'pool', params: {}, position: p }, { id: 'out', type: 'Dense', name: 'out', params: { units: 2, activation: 'softmax' }, position: p });
    edges.push({ id: 'ep', source: prev, target: 'pool', targetPort: 0 }, { id: 'eo', source: 'pool', target: 'out', targetPort: 0 });
  }
  return { nodes, edges };
}

/** A compiled model whose attention weights (biases too) are random, so a bias left out would show. */
function model(g: Graph, seed = 1): tf.LayersModel {
  const m = compileGraph(tf, g, 'tiny').model;
  let s = seed;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  for (const layer of attentionLayers(m)) layer.setWeights(layer.getWeights().map((w) => tf.tensor(Array.from({ length: w.size }, r), w.shape)));
  return m;
}

/** What a layer read and wrote for a token window, and its weights as arrays. */
async function layerIO(m: tf.LayersModel, name: string, ids: Int32Array) {
  const layer = m.getLayer(name);
  const input = layer.inboundNodes[0]!.inputTensors[0]!;
  const probe = tf.model({ inputs: m.inputs, outputs: [input, layer.output as tf.SymbolicTensor] });
  const [x, y] = probe.predict(tf.tensor2d(ids, [1, T], 'int32')) as tf.Tensor[];
  const named = Object.fromEntries(layer.weights.map((w, i) => [w.originalName.split('/').slice(-2).join('/'), layer.getWeights()[i]!]));
  const arr = async (k: string) => (await named[k]!.array()) as never;
  return { layer, x: x!, xs: ((await x!.array()) as number[][][])[0]!, ys: ((await y!.array()) as number[][][])[0]!, wv: (await arr('value/kernel')) as number[][][], bv: (await arr('value/bias')) as number[][], wo: (await arr('attention_output/kernel')) as number[][][], bo: (await arr('attention_output/bias')) as number[] };
}

/** (W·V)·Wo + b in plain JS: the layer's output from attention weights W [heads][T][T]. */
function outputFrom(weights: number[][][], io: Awaited<ReturnType<typeof layerIO>>): number[][] {
  const { xs, wv, bv, wo, bo } = io;
  const heads = wv[0]!.length;
  const vd = wv[0]![0]!.length;
  const V = Array.from({ length: heads }, (_, h) => xs.map((x) => Array.from({ length: vd }, (_, j) => x.reduce((a, xi, i) => a + xi * wv[i]![h]![j]!, bv[h]![j]!))));
  return xs.map((_, q) =>
    bo.map((b, d) => {
      let sum = b;
      for (let h = 0; h < heads; h++) {
        for (let m = 0; m < vd; m++) {
          let o = 0;
          for (let k = 0; k < xs.length; k++) o += weights[h]![q]![k]! * V[h]![k]![m]!;
          sum += o * wo[h]![m]![d]!;
        }
      }
      return sum;
    }),
  );
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));

describe('attentionMaps', () => {
  it('a causal language model: rows sum to 1, zeros above the diagonal, and (W·V)·Wo + b is the layer output', async () => {
    const g = graph({ causal: true, layers: 2, lm: true });
    const m = model(g, 3);
    const text = 'the cat sat on'; // longer than T: the first T characters are read
    const map = await attentionMaps(tf, m, tokenizer, text, { graph: g });
    expect(map).toMatchObject({ seqLen: T, textTokens: text.length, truncated: true });
    expect(map.tokens).toEqual(['t', 'h', 'e', '␣', 'c', 'a', 't', '␣']);
    expect(map.layers.map((l) => [l.name, l.nodeId, l.heads, l.keyDim, l.causal])).toEqual([
      ['attention_1', 'att1', 2, 3, true],
      ['attention_2', 'att2', 2, 3, true],
    ]);
    for (const layer of map.layers) {
      expect(layer.weights).toHaveLength(2);
      for (const [h, head] of layer.weights.entries()) {
        expect(head).toHaveLength(T);
        for (const [q, row] of head.entries()) {
          expect(row).toHaveLength(T);
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          for (let k = q + 1; k < T; k++) expect(row[k]).toBe(0);
          expect(layer.paddingWeight[h]![q]).toBe(0);
        }
      }
      const io = await layerIO(m, layer.name, new Int32Array(map.ids));
      expect(maxDiff(outputFrom(layer.weights, io), io.ys)).toBeLessThan(1e-4);
    }
    // The two heads of a layer differ (each has its own kernels).
    expect(map.layers[0]!.weights[0]).not.toEqual(map.layers[0]!.weights[1]);
  });

  it('a classifier with a short text: only the real tokens, the padding’s share beside them, and the full map matches the layer', async () => {
    const g = graph({ causal: false });
    const m = model(g, 7);
    const map = await attentionMaps(tf, m, tokenizer, 'a\tb\nc', { graph: g });
    expect(map.tokens).toEqual(['a', '⇥', '<unk>', '⏎', 'c']); // 'b' is not in the tokenizer's training text
    expect(map).toMatchObject({ textTokens: 5, truncated: false, seqLen: T });
    const [layer] = map.layers;
    expect(layer).toMatchObject({ name: 'attention_1', nodeId: 'att1', causal: false, heads: 2 });
    const n = 5;
    // The whole T × T map, computed apart: its real corner is what attentionMaps gave, the rest is the padding's share.
    const ids = new Int32Array(T);
    ids.set(map.ids);
    const io = await layerIO(m, 'attention_1', ids);
    const fullT = attentionWeights(tf, io.layer, io.x);
    const full = (await fullT.array()) as number[][][];
    fullT.dispose();
    expect(maxDiff(outputFrom(full, io), io.ys)).toBeLessThan(1e-4);
    for (let h = 0; h < 2; h++) {
      for (let q = 0; q < n; q++) {
        const row = layer!.weights[h]![q]!;
        expect(row).toHaveLength(n);
        row.forEach((v, k) => expect(v).toBeCloseTo(full[h]![q]![k]!, 6));
        const pad = full[h]![q]!.slice(n).reduce((a, b) => a + b, 0);
        expect(layer!.paddingWeight[h]![q]).toBeCloseTo(pad, 5);
        expect(pad).toBeGreaterThan(0); // a non-causal layer reads the padding too
        expect(row.reduce((a, b) => a + b, 0) + layer!.paddingWeight[h]![q]!).toBeCloseTo(1, 5);
      }
    }
  });

  it('maxTokens cuts the text; no tensors are left behind', async () => {
    const g = graph({ causal: true, lm: true });
    const m = model(g);
    await attentionMaps(tf, m, tokenizer, 'warm up the sub-model');
    const before = tf.memory().numTensors;
    const map = await attentionMaps(tf, m, tokenizer, 'the cat', { maxTokens: 3 });
    expect(map.tokens).toEqual(['t', 'h', 'e']);
    expect(map).toMatchObject({ textTokens: 7, truncated: true });
    expect(map.layers[0]!.weights[0]).toHaveLength(3);
    expect(map.layers[0]!.weights[0]![2]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a model without attention, a model that does not read tokens, and an empty text', async () => {
    const p = { x: 0, y: 0 };
    const plain = compileGraph(tf, {
      nodes: [
        { id: 'in', type: 'Input', name: 'tokens', params: { kind: 'tokens', length: T }, position: p },
        { id: 'emb', type: 'Embedding', name: 'embed', params: { inputDim: 40, outputDim: 4 }, position: p },
        { id: 'pool', type: 'GlobalAvgPool1D', name: 'pool', params: {}, position: p },
        { id: 'out', type: 'Dense', name: 'out', params: { units: 2, activation: 'softmax' }, position: p },
      ],
      edges: [
        { id: 'e1', source: 'in', target: 'emb', targetPort: 0 },
        { id: 'e2', source: 'emb', target: 'pool', targetPort: 0 },
        { id: 'e3', source: 'pool', target: 'out', targetPort: 0 },
      ],
    }).model;
    await expect(attentionMaps(tf, plain, tokenizer, 'the')).rejects.toMatchObject({ reason: 'no-attention', message: expect.stringMatching(/no attention layer/) });
    const images = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    await expect(attentionMaps(tf, images, tokenizer, 'the')).rejects.toBeInstanceOf(AttentionError);
    await expect(attentionMaps(tf, images, tokenizer, 'the')).rejects.toMatchObject({ reason: 'not-a-text-model' });
    await expect(attentionMaps(tf, model(graph({ causal: true, lm: true })), tokenizer, '')).rejects.toMatchObject({ reason: 'empty-text' });
  });

  it('makes whitespace and control characters visible', () => {
    expect(visibleToken(' the\r\n')).toBe('␣the⏎');
    expect(visibleToken('\u0007x\u007f')).toBe('␇x␡');
    expect(visibleToken('é')).toBe('é');
  });
});
