import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { customLayerFactories, registerCustomLayers } from '.';

type Arr3 = number[][][];

/** Deterministic pseudo-random numbers in [-1, 1). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}
const randArray = (shape: number[], r: () => number): number[] => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, r);

/** Plain-JS multi-head attention (Keras semantics) over nested arrays, one batch element at a time. */
function referenceAttention(
  q: Arr3, kv: Arr3,
  w: { wq: number[][][]; bq: number[][]; wk: number[][][]; bk: number[][]; wv: number[][][]; bv: number[][]; wo: number[][][]; bo: number[] },
  causal: boolean,
): Arr3 {
  const heads = w.wq[0]!.length;
  const kd = w.wq[0]![0]!.length;
  const vd = w.wv[0]![0]!.length;
  const proj = (x: number[], k: number[][][], b: number[][], h: number, j: number) => x.reduce((acc, xi, i) => acc + xi * k[i]![h]![j]!, b[h]![j]!);
  return q.map((qs, bi) => {
    const kvs = kv[bi]!;
    const out = qs.map(() => new Array<number>(w.bo.length).fill(0).map((_, i) => w.bo[i]!));
    for (let h = 0; h < heads; h++) {
      const Q = qs.map((x) => Array.from({ length: kd }, (_, j) => proj(x, w.wq, w.bq, h, j)));
      const K = kvs.map((x) => Array.from({ length: kd }, (_, j) => proj(x, w.wk, w.bk, h, j)));
      const V = kvs.map((x) => Array.from({ length: vd }, (_, j) => proj(x, w.wv, w.bv, h, j)));
      Q.forEach((qi, i) => {
        const scores = K.map((kj, j) => (causal && j > i ? -Infinity : qi.reduce((a, v, m) => a + v * kj[m]!, 0) / Math.sqrt(kd)));
        const mx = Math.max(...scores);
        const ex = scores.map((s) => Math.exp(s - mx));
        const sum = ex.reduce((a, b) => a + b, 0);
        const p = ex.map((e) => e / sum);
        const o = Array.from({ length: vd }, (_, m) => p.reduce((a, pj, j) => a + pj * V[j]![m]!, 0));
        for (let dOut = 0; dOut < out[i]!.length; dOut++) out[i]![dOut]! += o.reduce((a, ov, m) => a + ov * w.wo[h]![m]![dOut]!, 0);
      });
    }
    return out;
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('MultiHeadAttention (custom tfjs layer)', () => {
  function makeLayer(opts: { causal?: boolean; valueDim?: number; useBias?: boolean } = {}) {
    return customLayerFactories(tf).multiHeadAttention({
      name: `mha_${Math.random().toString(36).slice(2, 8)}`,
      numHeads: 2, keyDim: 3, valueDim: opts.valueDim ?? 2, dropout: 0, causal: opts.causal ?? false, useBias: opts.useBias ?? true,
    });
  }

  /** Applies the layer, gives every weight (biases too) random values and compares with the reference. */
  async function compare(causal: boolean, cross: boolean) {
    const r = rng(cross ? 7 : 3);
    const layer = makeLayer({ causal });
    const q = tf.tensor3d(randArray([2, 4, 5], r), [2, 4, 5]);
    const kv = cross ? tf.tensor3d(randArray([2, 6, 3], r), [2, 6, 3]) : q;
    layer.apply(cross ? [q, kv] : [q]);
    const names = layer.getWeights().map((_, i) => layer.weights[i]!.originalName.split('/').slice(-2).join('/'));
    expect(names).toEqual(['query/kernel', 'query/bias', 'key/kernel', 'key/bias', 'value/kernel', 'value/bias', 'attention_output/kernel', 'attention_output/bias']);
    layer.setWeights(layer.getWeights().map((t) => tf.tensor(randArray(t.shape, r), t.shape)));
    const ws = (await Promise.all(layer.getWeights().map((t) => t.array()))) as never[];
    const [wq, bq, wk, bk, wv, bv, wo, bo] = ws;
    const got = (layer.apply(cross ? [q, kv] : [q]) as tf.Tensor).arraySync() as Arr3;
    const want = referenceAttention(q.arraySync(), kv.arraySync() as Arr3, { wq, bq, wk, bk, wv, bv, wo, bo }, causal);
    expect(got.length).toBe(2);
    expect(got[0]!.length).toBe(4);
    expect(got[0]![0]!.length).toBe(5);
    let maxDiff = 0;
    got.forEach((b, i) => b.forEach((row, t) => row.forEach((v, d) => (maxDiff = Math.max(maxDiff, Math.abs(v - want[i]![t]![d]!))))));
    expect(maxDiff).toBeLessThan(1e-5);
    return { layer, q };
  }

  it('self-attention matches a hand-computed reference to 1e-5', async () => {
    await compare(false, false);
  });

  it('cross-attention (query 4 steps, key/value 6 steps of another width) matches the reference', async () => {
    await compare(false, true);
  });

  it('the causal mask matches the reference and hides later positions', async () => {
    const { layer, q } = await compare(true, false);
    // Changing the last step must not change any earlier output.
    const changed = q.arraySync();
    changed[0]![3] = changed[0]![3]!.map((v) => v + 5);
    const a = (layer.apply([q]) as tf.Tensor).arraySync() as Arr3;
    const b = (layer.apply([tf.tensor3d(changed)]) as tf.Tensor).arraySync() as Arr3;
    for (let t = 0; t < 3; t++) expect(b[0]![t]).toEqual(a[0]![t]);
    expect(b[0]![3]).not.toEqual(a[0]![3]);
    // Without the mask the earlier outputs do change.
    const open = makeLayer();
    open.apply([q]);
    open.setWeights(layer.getWeights());
    const c = (open.apply([q]) as tf.Tensor).arraySync() as Arr3;
    const d = (open.apply([tf.tensor3d(changed)]) as tf.Tensor).arraySync() as Arr3;
    expect(d[0]![0]).not.toEqual(c[0]![0]);
  });

  it('counts Keras-compatible weights (with and without bias)', () => {
    const q = tf.input({ shape: [7, 8] });
    const kv = tf.input({ shape: [5, 6] });
    const withBias = makeLayer({ valueDim: 4 });
    withBias.apply([q, kv]);
    // query 8*2*3+2*3, key 6*2*3+2*3, value 6*2*4+2*4, output 2*4*8+8
    expect(withBias.countParams()).toBe(54 + 42 + 56 + 72);
    const noBias = makeLayer({ valueDim: 4, useBias: false });
    noBias.apply([q, kv]);
    expect(noBias.countParams()).toBe(48 + 36 + 48 + 64);
  });

  it('gradients reach every weight (tf.variableGrads non-zero)', () => {
    const layer = makeLayer({ causal: true });
    const r = rng(11);
    const x = tf.tensor3d(randArray([2, 4, 5], r), [2, 4, 5]);
    const target = tf.tensor3d(randArray([2, 4, 5], r), [2, 4, 5]);
    layer.apply([x]);
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    expect(vars.length).toBe(8);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(layer.apply([x]) as tf.Tensor, target))) as tf.Scalar, vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const v of vars) {
      const g = grads[v.name]!;
      expect(g, v.name).toBeDefined();
      expect(g.shape).toEqual(v.shape);
      expect(tf.max(tf.abs(g)).dataSync()[0], `gradient of ${v.name}`).toBeGreaterThan(0);
    }
  });
});

describe('PositionalEmbedding (custom tfjs layer)', () => {
  it('adds one learned vector per position and has gradients', () => {
    const layer = customLayerFactories(tf).positionalEmbedding({ name: 'pos_test', sequenceLength: 3, outputDim: 2 });
    const x = tf.tensor3d([[[1, 2], [3, 4], [5, 6]], [[0, 0], [0, 0], [0, 0]]]);
    layer.apply(x);
    layer.setWeights([tf.tensor2d([[10, 20], [30, 40], [50, 60]])]);
    expect((layer.apply(x) as tf.Tensor).arraySync()).toEqual([[[11, 22], [33, 44], [55, 66]], [[10, 20], [30, 40], [50, 60]]]);
    expect(layer.countParams()).toBe(6);
    const v = layer.trainableWeights[0]!.read() as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, [v]);
    expect(tf.min(tf.abs(grads[v.name]!)).dataSync()[0]).toBeGreaterThan(0);
  });

  it('refuses an input whose length differs from sequenceLength', () => {
    const layer = customLayerFactories(tf).positionalEmbedding({ name: 'pos_bad', sequenceLength: 4, outputDim: 2 });
    expect(() => layer.apply(tf.input({ shape: [3, 2] }))).toThrow(/sequenceLength 4 does not match the input's 3 steps/);
  });
});

describe('saving and loading models with custom layers', () => {
  async function roundTrip(model: tf.LayersModel, inputs: tf.Tensor[]) {
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    expect(JSON.stringify(saved!.modelTopology)).toContain('"class_name":"MultiHeadAttention"');
    registerCustomLayers(tf);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const a = model.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
    const b = loaded.predict(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor;
    expect(b.shape).toEqual(a.shape);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    expect(loaded.countParams()).toBe(model.countParams());
    return loaded;
  }

  it('a self-attention encoder (PositionalEmbedding + causal MultiHeadAttention) survives save/load with equal predictions', async () => {
    const f = customLayerFactories(tf);
    const inp = tf.input({ shape: [6, 8] });
    const pos = f.positionalEmbedding({ name: 'pos', sequenceLength: 6, outputDim: 8 }).apply(inp) as tf.SymbolicTensor;
    const att = f.multiHeadAttention({ name: 'mha', numHeads: 2, keyDim: 4, valueDim: 3, dropout: 0.1, causal: true, useBias: true }).apply([pos]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.globalAveragePooling1d({}).apply(att)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const loaded = await roundTrip(model, [tf.randomNormal([4, 6, 8], 0, 1, 'float32', 1)]);
    const mha = loaded.getLayer('mha').getConfig();
    expect(mha).toMatchObject({ numHeads: 2, keyDim: 4, valueDim: 3, causal: true, useBias: true, dropout: 0.1 });
  });

  it('a cross-attention model with two inputs survives save/load', async () => {
    const f = customLayerFactories(tf);
    const q = tf.input({ shape: [3, 4] });
    const kv = tf.input({ shape: [5, 6] });
    const att = f.multiHeadAttention({ name: 'xattn', numHeads: 3, keyDim: 2, dropout: 0, causal: false, useBias: false }).apply([q, kv]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [q, kv], outputs: att });
    expect(model.outputs[0]!.shape).toEqual([null, 3, 4]);
    await roundTrip(model, [tf.randomNormal([2, 3, 4], 0, 1, 'float32', 2), tf.randomNormal([2, 5, 6], 0, 1, 'float32', 3)]);
  });

  it('trains: one fit step with dropout changes the weights and keeps the loss finite', async () => {
    const f = customLayerFactories(tf);
    const inp = tf.input({ shape: [4, 6] });
    const att = f.multiHeadAttention({ name: 'mha_fit', numHeads: 2, keyDim: 3, dropout: 0.2, causal: false, useBias: true }).apply([inp]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.flatten().apply(att)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const before = model.getLayer('mha_fit').getWeights()[0]!.arraySync();
    const h = await model.fit(tf.randomNormal([8, 4, 6], 0, 1, 'float32', 4), tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 0, 1], 'int32'), 2), { epochs: 2, batchSize: 4, verbose: 0 });
    expect((h.history.loss as number[]).every(Number.isFinite)).toBe(true);
    expect(model.getLayer('mha_fit').getWeights()[0]!.arraySync()).not.toEqual(before);
  });
});
