/**
 * The key/value-cache path against the tfjs model it replaces: small GPT-like graphs (the mini-GPT
 * template's shape, shrunk; with and without biases, 1 and 2 blocks, GELU and ReLU feed-forward)
 * compiled by the project compiler, random weights (biases, norms and positions too, so each one
 * matters), logits compared at every position to 1e-4 relative — inside the window and across the T
 * boundary under the restart rule — and greedy generation compared with the full-window path. Models
 * it cannot run (an LSTM, non-causal attention) fall back to the full window and still generate.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph, GraphNode } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';
import { decode, encode, PAD_ID, trainTokenizer, type Tokenizer } from '../../../shared/text';
import { selectBackend } from '../backends';
import { compileGraph } from '../compile';
import { generate, sampleToken } from './generate';
import { activate, ACTIVATIONS, ContextWindow, IncrementalModel, loadIncremental, planIncremental } from './incremental';

type Tf = typeof tfjs;
let tf: Tf;

beforeAll(async () => {
  tf = (await selectBackend({ force: 'wasm' }).catch(() => selectBackend({ force: 'cpu' }))).tf;
});

const T = 16;
const VOCAB = 20;
/** A character tokenizer of VOCAB ids: pad, unknown and 18 letters. */
const tokenizer: Tokenizer = trainTokenizer('char', ['abcdefghijklmnopqr']);

interface GptOptions {
  blocks: 1 | 2;
  bias: boolean;
  ff: 'gelu' | 'relu';
  /** Output activation of the head (softmax: the model outputs probabilities). */
  head?: 'linear' | 'softmax';
}

/** The mini-GPT template shrunk to T=16, width 16, 2 heads of 8, feed-forward 32, vocabulary 20. */
function miniGpt(o: GptOptions): Graph {
  const { graph } = parseProjectText(readFileSync(resolve('resources/templates/mini-gpt.json'), 'utf8'));
  let nodes = graph.nodes;
  let edges = graph.edges;
  if (o.blocks === 1) {
    const block2 = new Set(['ln2a', 'att2', 'add2a', 'ln2b', 'ff2a', 'ff2b', 'add2b']);
    nodes = nodes.filter((n) => !block2.has(n.id));
    edges = edges.filter((e) => !block2.has(e.source) && !block2.has(e.target));
    edges.push({ id: 'e-skip', source: 'add1b', target: 'lnf', targetPort: 0 });
  }
  for (const n of nodes) {
    if (n.type === 'Input') n.params.length = T;
    if (n.type === 'Embedding') Object.assign(n.params, { inputDim: VOCAB, outputDim: 16 });
    if (n.type === 'PositionalEmbedding') n.params.sequenceLength = T;
    if (n.type === 'MultiHeadAttention') Object.assign(n.params, { numHeads: 2, keyDim: 8, useBias: o.bias });
    if (n.type === 'Dense') n.params.useBias = o.bias;
    if (n.id.startsWith('ff') && n.params.units === 512) Object.assign(n.params, { units: 32, activation: o.ff });
    if (n.id.startsWith('ff') && n.params.units === 128) n.params.units = 16;
    if (n.id === 'head') Object.assign(n.params, { units: VOCAB, activation: o.head ?? 'linear' });
  }
  return { nodes, edges };
}

/** A graph from a list of [id, type, params, ...sources]; edges in port order. */
function graphOf(spec: [string, string, GraphNode['params'], ...string[]][]): Graph {
  const nodes: GraphNode[] = spec.map(([id, type, params], i) => ({ id, type, name: id, params, position: { x: 0, y: i * 100 } }));
  const edges = spec.flatMap(([id, , , ...sources]) => sources.map((source, port) => ({ id: `${source}-${id}-${port}`, source, target: id, targetPort: port })));
  return { nodes, edges };
}

/** Compiles `graph` and gives every weight random values (biases, norms and positions included). */
function compileRandom(graph: Graph, seed: number): tfjs.LayersModel {
  const { model } = compileGraph(tf, graph);
  let k = seed;
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = w.originalName;
      const shape = w.shape as number[];
      const value = tf.tidy(() => {
        if (name.endsWith('moving_variance')) return tf.randomUniform(shape, 0.5, 2, 'float32', k++);
        if (name.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', k++);
        const scale = /bias|beta|moving_mean/.test(name) ? 0.3 : 0.5;
        return tf.randomNormal(shape, 0, name.includes('kernel') ? scale / Math.sqrt(shape[0]!) : scale, 'float32', k++);
      });
      w.write(value);
      value.dispose();
    }
  }
  return model;
}

/** tfjs's outputs [T, V] for `ids` (at most T, padded at the end). */
async function tfjsRows(model: tfjs.LayersModel, ids: readonly number[]): Promise<number[][]> {
  const window = new Int32Array(T).fill(PAD_ID);
  window.set(ids);
  const out = model.predict(tf.tensor2d(window, [1, T], 'int32')) as tfjs.Tensor;
  const rows = ((await out.array()) as number[][][])[0]!;
  out.dispose();
  return rows;
}

/** |a - b| <= 1e-4 · max(1, max |b|) over a row. */
function expectClose(a: ArrayLike<number>, b: readonly number[], where: string): void {
  expect(a.length, where).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst / scale, `${where}: worst difference ${worst} (scale ${scale})`).toBeLessThan(1e-4);
}

async function load(model: tfjs.LayersModel): Promise<IncrementalModel> {
  const inc = await loadIncremental(model);
  if (!(inc instanceof IncrementalModel)) throw new Error(`expected the incremental path, got: ${inc.reason}`);
  return inc;
}

/** A fixed token sequence of ids 2 … VOCAB-1. */
const sequence = (n: number, seed = 3) => Array.from({ length: n }, (_, i) => 2 + ((i * 7 + seed * (i % 3) + seed) % (VOCAB - 2)));

/**
 * The restart rule, written out: the window starts as the last T tokens of the prompt (P tokens); for a
 * history of L tokens it is ids[s, L) with s = s0 while L - s0 <= T, and otherwise moves on by T - keep
 * tokens each time it would hold more than T.
 */
function windowStart(P: number, L: number, keep = T / 2): number {
  const s0 = Math.max(0, P - T);
  if (L - s0 <= T) return s0;
  return s0 + (T - keep) * Math.ceil((L - s0 - T) / (T - keep));
}

const variants: GptOptions[] = [
  { blocks: 2, bias: true, ff: 'gelu' },
  { blocks: 2, bias: false, ff: 'relu' },
  { blocks: 1, bias: true, ff: 'relu' },
  { blocks: 1, bias: false, ff: 'gelu' },
];

describe('incremental inference (key/value cache)', () => {
  it('pins the restart rule beyond T', () => {
    // Window lengths for a 5-token prompt, T=16, keep 8: grows to 16, restarts at 9 (8 kept + the new one).
    const lengths = Array.from({ length: 30 }, (_, i) => 5 + i - windowStart(5, 5 + i));
    expect(lengths).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 9, 10, 11, 12, 13, 14, 15, 16, 9, 10, 11, 12, 13, 14, 15, 16, 9, 10]);
    expect(windowStart(20, 20)).toBe(4); // a long prompt: its last T tokens
    expect(windowStart(20, 21)).toBe(12);
  });

  for (const v of variants) {
    it(`${v.blocks} block(s), ${v.bias ? 'with' : 'without'} biases, ${v.ff}: logits equal tfjs's at every position, within and beyond T; greedy equals the full window`, { timeout: 60_000 }, async () => {
      const model = compileRandom(miniGpt(v), 11 + v.blocks * 3 + (v.bias ? 1 : 0));
      const inc = await load(model);
      expect(inc.T).toBe(T);
      expect(inc.outputDim).toBe(VOCAB);

      // Within the window: a prefill of 5 positions, then one at a time, against one tfjs pass.
      const ids = sequence(T);
      const ref = await tfjsRows(model, ids);
      inc.reset();
      const pre = inc.feed(ids.slice(0, 5));
      for (let i = 0; i < 5; i++) expectClose(pre.subarray(i * VOCAB, (i + 1) * VOCAB), ref[i]!, `prefill position ${i}`);
      for (let i = 5; i < T; i++) expectClose(inc.feed([ids[i]!]), ref[i]!, `position ${i}`);
      expect(inc.length).toBe(T);
      expect(() => inc.feed([2])).toThrow(/holds 16 positions/);

      // Across the boundary: a 3-token prompt then 2.5 windows of tokens, each step against tfjs on the rule's window.
      const long = sequence(3 + 40, 5);
      const ctx = new ContextWindow(inc);
      for (let L = 3; L <= long.length; L++) {
        const history = long.slice(0, L);
        const got = ctx.next(history);
        const s = windowStart(3, L);
        expect(ctx.start, `window start at ${L} tokens`).toBe(s);
        expectClose(got, (await tfjsRows(model, history.slice(s)))[L - s - 1]!, `history of ${L} tokens (window ${s}…${L - 1})`);
      }

      // Greedy generation within T: the same tokens as the full-window path.
      const a = await generate(tf, model, tokenizer, 'abc', { tokens: T - 3, temperature: 0 });
      const b = await generate(tf, model, tokenizer, 'abc', { tokens: T - 3, temperature: 0, path: 'full-window' });
      expect(a.path).toBe('kv-cache');
      expect(b.path).toBe('full-window');
      expect(a.text).toBe(b.text);
      expect(a.tokens).toBe(T - 3);
      expect(new Set(a.text).size, `greedy text '${a.text}' should not be one repeated token`).toBeGreaterThan(1);
      model.dispose();
    });
  }

  it('generate beyond T follows the restart rule (sampled, against tfjs on the same windows); a prompt longer than T keeps its last T tokens', { timeout: 60_000 }, async () => {
    const model = compileRandom(miniGpt({ blocks: 2, bias: true, ff: 'gelu' }), 5);
    for (const prompt of ['abcde', 'abcdefghijklmnopqrabcd']) {
      const ids = encode(tokenizer, prompt);
      const P = ids.length;
      const n = 2 * T + 5;
      const r = await generate(tf, model, tokenizer, prompt, { tokens: n, temperature: 1, seed: 9 });
      expect(r.path).toBe('kv-cache');
      const rand = mulberry32(9);
      for (let k = 0; k < n; k++) {
        const s = windowStart(P, ids.length);
        ids.push(sampleToken((await tfjsRows(model, ids.slice(s)))[ids.length - s - 1]!, 1, 0, rand));
      }
      expect(new Set(ids.slice(P)).size).toBeGreaterThan(5);
      expect(r.text).toBe(decode(tokenizer, ids.slice(P)));
    }
    model.dispose();
  });

  it('computes the other position-wise layers: batch norm, concatenate, multiply, average, activation, dropout, a softmax head', { timeout: 60_000 }, async () => {
    const graph = graphOf([
      ['tokens', 'Input', { kind: 'tokens', length: T }],
      ['embed', 'Embedding', { inputDim: VOCAB, outputDim: 12 }, 'tokens'],
      ['pos', 'PositionalEmbedding', { sequenceLength: T }, 'embed'],
      ['drop', 'Dropout', { rate: 0.3 }, 'pos'],
      ['att', 'MultiHeadAttention', { numHeads: 3, keyDim: 4, valueDim: 5, causal: true }, 'drop'],
      ['cat', 'Concatenate', { axis: -1 }, 'att', 'pos'],
      ['up', 'Dense', { units: 12, activation: 'swish' }, 'cat'],
      ['bn', 'BatchNormalization', {}, 'up'],
      ['act', 'Activation', { activation: 'tanh' }, 'bn'],
      ['gate', 'Dense', { units: 12, activation: 'sigmoid' }, 'pos'],
      ['mul', 'Multiply', {}, 'act', 'gate'],
      ['avg', 'Average', {}, 'mul', 'pos', 'att'],
      ['sel', 'Dense', { units: 12, activation: 'selu' }, 'avg'],
      ['elu', 'Dense', { units: 12, activation: 'elu' }, 'sel'],
      ['sp', 'Dense', { units: 12, activation: 'softplus' }, 'elu'],
      ['head', 'Dense', { units: VOCAB, activation: 'softmax' }, 'sp'],
    ]);
    const model = compileRandom(graph, 21);
    const inc = await load(model);
    const ids = sequence(T, 7);
    const ref = await tfjsRows(model, ids);
    for (let i = 0; i < T; i++) expectClose(inc.feed([ids[i]!]), ref[i]!, `position ${i}`);
    const a = await generate(tf, model, tokenizer, 'ab', { tokens: T - 2, temperature: 0 });
    const b = await generate(tf, model, tokenizer, 'ab', { tokens: T - 2, temperature: 0, path: 'full-window' });
    expect(a.path).toBe('kv-cache');
    expect(a.text).toBe(b.text);
    model.dispose();
  });

  it("every activation matches tfjs's (GELU: the erf form with tfjs's erf approximation, not the tanh one)", async () => {
    const xs = Array.from({ length: 240 }, (_, i) => -6 + i * 0.05);
    for (const act of ACTIVATIONS) {
      const y = tf.tidy(() => tf.layers.activation({ activation: act as never }).apply(tf.tensor2d(xs, [3, xs.length / 3])) as tfjs.Tensor);
      const ref = await y.data();
      y.dispose();
      const ours = Float32Array.from(xs);
      activate(act, ours, 3, xs.length / 3);
      let worst = 0;
      for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!)));
      expect(worst, act).toBeLessThan(2e-6);
    }
  });

  it('an LSTM language model falls back to the full window, says why, and still generates', { timeout: 60_000 }, async () => {
    const graph = graphOf([
      ['tokens', 'Input', { kind: 'tokens', length: T }],
      ['embed', 'Embedding', { inputDim: VOCAB, outputDim: 8 }, 'tokens'],
      ['lstm', 'LSTM', { units: 8, returnSequences: true }, 'embed'],
      ['head', 'Dense', { units: VOCAB, activation: 'linear' }, 'lstm'],
    ]);
    const model = compileRandom(graph, 3);
    const plan = planIncremental(model);
    expect(plan.ok).toBe(false);
    expect(!plan.ok && plan.reason).toMatch(/layer 'lstm' \(LSTM\)/);
    const r = await generate(tf, model, tokenizer, 'abc', { tokens: 20, temperature: 0.8, seed: 3 });
    expect(r.path).toBe('full-window');
    expect(r.fallbackReason).toMatch(/LSTM/);
    expect(r.tokens).toBe(20);
    model.dispose();
  });

  it('refuses non-causal attention (every position would see later ones)', () => {
    const graph = miniGpt({ blocks: 1, bias: true, ff: 'gelu' });
    for (const n of graph.nodes) if (n.type === 'MultiHeadAttention') n.params.causal = false;
    const { model } = compileGraph(tf, graph);
    const plan = planIncremental(model);
    expect(!plan.ok && plan.reason).toMatch(/block1_attention.*not causal/);
    model.dispose();
  });
});
