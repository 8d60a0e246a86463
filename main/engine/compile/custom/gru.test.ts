import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../shared/random';
import { customLayerFactories, needsOurClasses, registerCustomLayers } from '.';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCustomLayers(tf);
});

const [N, T, F, U] = [2, 4, 3, 3];

/** Saves a model to memory and loads it back (what a model folder and the tfjs export go through). */
async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  return tf.loadLayersModel(tf.io.fromMemory(saved!));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** The hard sigmoids a GRU's gates may use: tfjs's / Keras 2's and Keras 3's. */
const GATES: Record<'hardSigmoid' | 'hardSigmoidKeras3', (v: number) => number> = {
  hardSigmoid: (v) => Math.min(1, Math.max(0, 0.2 * v + 0.5)),
  hardSigmoidKeras3: (v) => Math.min(6, Math.max(0, v + 3)) / 6,
};

/**
 * Keras's GRU with reset_after=True written out in float64, one step at a time: x [N, T, F] row-major,
 * W [F, 3u], Uk [u, 3u], b [2, 3u] (gates z, r, h). Returns every step's state [N, T, u] (reverse: the
 * sequence read backwards, outputs kept in reading order as Keras's go_backwards does).
 */
function referenceGru(x: Float64Array, W: Float64Array, Uk: Float64Array, b: Float64Array, reverse = false, gate = sigmoid): Float64Array {
  const out = new Float64Array(N * T * U);
  for (let n = 0; n < N; n++) {
    let h = new Float64Array(U);
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const xs = new Float64Array(3 * U);
      const hs = new Float64Array(3 * U);
      for (let j = 0; j < 3 * U; j++) {
        let a = b[j]!;
        for (let f = 0; f < F; f++) a += x[(n * T + t) * F + f]! * W[f * 3 * U + j]!;
        xs[j] = a;
        let c = b[3 * U + j]!;
        for (let k = 0; k < U; k++) c += h[k]! * Uk[k * 3 * U + j]!;
        hs[j] = c;
      }
      const next = new Float64Array(U);
      for (let k = 0; k < U; k++) {
        const z = gate(xs[k]! + hs[k]!);
        const r = gate(xs[U + k]! + hs[U + k]!);
        const cand = Math.tanh(xs[2 * U + k]! + r * hs[2 * U + k]!);
        next[k] = z * h[k]! + (1 - z) * cand;
      }
      h = next;
      out.set(h, (n * T + s) * U);
    }
  }
  return out;
}

const random = (n: number, seed: number, scale = 1) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

function gruModel(bidirectional: boolean, recurrentActivation = 'sigmoid') {
  const inp = tf.input({ shape: [T, F] });
  const args = { units: U, returnSequences: true, recurrentActivation: recurrentActivation as 'sigmoid', resetAfter: true };
  const layer = bidirectional
    ? tf.layers.bidirectional({ name: 'bi', layer: customLayerFactories(tf).gru({ name: 'bi_cell', ...args }) as never, mergeMode: 'concat' })
    : customLayerFactories(tf).gru({ name: 'g', ...args });
  return tf.model({ inputs: inp, outputs: layer.apply(inp) as tf.SymbolicTensor });
}

/** Weights in Keras's order (kernel, recurrent_kernel, bias) per direction. */
function weightsFor(seed: number): Float64Array[] {
  return [random(F * 3 * U, seed, 0.8), random(U * 3 * U, seed + 1, 0.8), random(2 * 3 * U, seed + 2, 0.5)];
}

describe('GRU with resetAfter (Keras reset_after=True)', () => {
  it("has Keras's weights (kernel [F, 3u], recurrent_kernel [u, 3u], bias [2, 3u]) and computes Keras's formula", () => {
    const model = gruModel(false);
    expect(model.weights.map((w) => [w.name, w.shape])).toEqual([
      ['g/kernel', [F, 3 * U]],
      ['g/recurrent_kernel', [U, 3 * U]],
      ['g/bias', [2, 3 * U]],
    ]);
    const ws = weightsFor(3);
    model.setWeights(ws.map((w, i) => tf.tensor(Float32Array.from(w), model.weights[i]!.shape as number[])));
    const x = random(N * T * F, 9);
    const got = (model.predict(tf.tensor(Float32Array.from(x), [N, T, F])) as tf.Tensor).dataSync();
    // the reference on the float32-rounded values the layer holds
    const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
    const want = referenceGru(f32(x), f32(ws[0]!), f32(ws[1]!), f32(ws[2]!));
    let max = 0;
    want.forEach((w, i) => (max = Math.max(max, Math.abs(w - got[i]!))));
    console.log(`GRU resetAfter vs the float64 formula: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-6);
  });

  it("uses its recurrentActivation for the gates: tfjs's / Keras 2's hardSigmoid and Keras 3's (relu6(x + 3) / 6), alone and in Bidirectional", async () => {
    for (const [name, gate] of Object.entries(GATES)) {
      const model = gruModel(true, name);
      const fw = weightsFor(13);
      const bw = weightsFor(23);
      model.setWeights([...fw, ...bw].map((w, i) => tf.tensor(Float32Array.from(w), model.weights[i]!.shape as number[])));
      // inputs up to ±3 so the gates reach both clipped ends of the hard sigmoids
      const x = random(N * T * F, 7, 3);
      const got = (model.predict(tf.tensor(Float32Array.from(x), [N, T, F])) as tf.Tensor).dataSync();
      const f = referenceGru(x, fw[0]!, fw[1]!, fw[2]!, false, gate);
      const b = referenceGru(x, bw[0]!, bw[1]!, bw[2]!, true, gate);
      let max = 0;
      for (let n = 0; n < N; n++) {
        for (let t = 0; t < T; t++) {
          for (let k = 0; k < U; k++) {
            const at = (n * T + t) * 2 * U;
            max = Math.max(max, Math.abs(got[at + k]! - f[(n * T + t) * U + k]!), Math.abs(got[at + U + k]! - b[(n * T + (T - 1 - t)) * U + k]!));
          }
        }
      }
      console.log(`Bidirectional GRU resetAfter, ${name} gates, vs the float64 formula: max abs diff ${max.toExponential(2)}`);
      expect(max).toBeLessThan(1e-5);
      // saved by name (tfjs writes names snake_case) and loads back with it (Keras 3's through our registered activation)
      const back = await roundTrip(model);
      expect(JSON.stringify(back.toJSON(null, false))).toContain(`"recurrent_activation":"${name === 'hardSigmoid' ? 'hard_sigmoid' : 'hard_sigmoid_keras3'}"`);
      expect(Array.from((back.predict(tf.tensor(Float32Array.from(x), [N, T, F])) as tf.Tensor).dataSync())).toEqual(Array.from(got));
      expect(needsOurClasses(model)).toEqual([name === 'hardSigmoid' ? 'bi (GRU with resetAfter)' : 'bi (recurrentActivation hardSigmoidKeras3)']);
    }
  });

  it('runs inside Bidirectional (forward weights, then backward ones; the backward pass read in reverse)', () => {
    const model = gruModel(true);
    expect(model.weights.map((w) => w.shape)).toEqual([[F, 3 * U], [U, 3 * U], [2, 3 * U], [F, 3 * U], [U, 3 * U], [2, 3 * U]]);
    const fw = weightsFor(11);
    const bw = weightsFor(21);
    model.setWeights([...fw, ...bw].map((w, i) => tf.tensor(Float32Array.from(w), model.weights[i]!.shape as number[])));
    const x = random(N * T * F, 5);
    const got = (model.predict(tf.tensor(Float32Array.from(x), [N, T, F])) as tf.Tensor).dataSync();
    const f = referenceGru(x, ...(fw as [Float64Array, Float64Array, Float64Array]));
    const b = referenceGru(x, ...(bw as [Float64Array, Float64Array, Float64Array]), true);
    let max = 0;
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < U; k++) {
          const at = (n * T + t) * 2 * U;
          max = Math.max(max, Math.abs(got[at + k]! - f[(n * T + t) * U + k]!));
          // tfjs reverses the backward outputs back into time order: step t is the state after reading T-1 … t
          max = Math.max(max, Math.abs(got[at + U + k]! - b[(n * T + (T - 1 - t)) * U + k]!));
        }
      }
    }
    console.log(`Bidirectional GRU resetAfter vs the float64 formula: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-5);
  });

  it('has the gradients of finite differences of the formula (kernel, recurrent kernel, both biases, input)', () => {
    const model = gruModel(false);
    const ws = weightsFor(31).map((w) => Float64Array.from(Float32Array.from(w)));
    model.setWeights(ws.map((w, i) => tf.tensor(Float32Array.from(w), model.weights[i]!.shape as number[])));
    const x = Float64Array.from(Float32Array.from(random(N * T * F, 41)));
    const c = random(N * T * U, 51); // loss = Σ c ⊙ outputs, so every step and unit counts differently
    const loss = (xv: Float64Array, w: Float64Array[]) => referenceGru(xv, w[0]!, w[1]!, w[2]!).reduce((a, v, i) => a + v * c[i]!, 0);
    const ct = tf.tensor(Float32Array.from(c), [N, T, U]);
    const xt = tf.tensor(Float32Array.from(x), [N, T, F]);
    const vars = model.getLayer('g').trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(xt) as tf.Tensor, ct)) as tf.Scalar, vars);
    const dx = tf.grad((xin: tf.Tensor) => tf.sum(tf.mul(model.apply(xin) as tf.Tensor, ct)))(xt).dataSync();
    const eps = 1e-6;
    const fd = (get: (d: number) => number) => (get(eps) - get(-eps)) / (2 * eps);
    let max = 0;
    ws.forEach((w, wi) => {
      const g = grads[vars[wi]!.name]!.dataSync();
      for (let i = 0; i < w.length; i++) {
        const num = fd((d) => loss(x, ws.map((v, vi) => (vi === wi ? Float64Array.from(v, (e, j) => (j === i ? e + d : e)) : v))));
        max = Math.max(max, Math.abs(num - g[i]!));
      }
    });
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(fd((d) => loss(Float64Array.from(x, (e, j) => (j === i ? e + d : e)), ws)) - dx[i]!));
    console.log(`GRU resetAfter gradients vs float64 finite differences: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
  });

  it('trains: a few steps of fit move all three weights and lower the loss', async () => {
    const inp = tf.input({ shape: [T, F] });
    const gru = customLayerFactories(tf).gru({ name: 'g', units: U, recurrentActivation: 'sigmoid', recurrentInitializer: 'glorotUniform', resetAfter: true });
    const out = tf.layers.dense({ units: 1 }).apply(gru.apply(inp)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
    const x = tf.tensor(Float32Array.from(random(8 * T * F, 61)), [8, T, F]);
    const y = tf.sum(x, [1, 2]).reshape([8, 1]);
    const before = gru.getWeights().map((w) => w.dataSync().slice());
    const h = await model.fit(x, y, { epochs: 5, batchSize: 8, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    gru.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).not.toEqual(Array.from(before[i]!)));
  });

  it("applies Keras's dropout / recurrentDropout only while training (one mask per gate, kept for the sequence)", () => {
    const x = tf.tensor(Float32Array.from(random(N * T * F, 81)), [N, T, F]);
    const plain = customLayerFactories(tf).gru({ name: 'nodrop', units: U, recurrentActivation: 'sigmoid', resetAfter: true });
    const drop = customLayerFactories(tf).gru({ name: 'drop', units: U, recurrentActivation: 'sigmoid', resetAfter: true, dropout: 0.5, recurrentDropout: 0.5 });
    plain.apply(x);
    drop.apply(x);
    drop.setWeights(plain.getWeights());
    const inference = (drop.apply(x, { training: false }) as tf.Tensor).dataSync();
    expect(Array.from(inference)).toEqual(Array.from((plain.apply(x) as tf.Tensor).dataSync()));
    const before = tf.memory().numTensors;
    const trained = (drop.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(Array.from(trained)).not.toEqual(Array.from(inference));
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1 + 6); // the output, and the masks kept until the next call
  });

  it('saves as className GRU with resetAfter and loads back (alone and in Bidirectional) with the same predictions', async () => {
    for (const bi of [false, true]) {
      const model = gruModel(bi);
      const json = JSON.stringify(model.toJSON(null, false));
      expect(json).toContain('"class_name":"GRU"');
      expect(json).toContain('"reset_after":true');
      expect(needsOurClasses(model)).toEqual([`${bi ? 'bi' : 'g'} (GRU with resetAfter)`]);
      const back = await roundTrip(model);
      const x = tf.tensor(Float32Array.from(random(N * T * F, 71)), [N, T, F]);
      expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    }
  });

  it('leaves resetAfter false as tfjs\'s own GRU (bias [3u], not listed as ours)', () => {
    const inp = tf.input({ shape: [T, F] });
    const g = customLayerFactories(tf).gru({ name: 'plain', units: U, resetAfter: false });
    const model = tf.model({ inputs: inp, outputs: g.apply(inp) as tf.SymbolicTensor });
    expect(model.weights.map((w) => w.shape)).toEqual([[F, 3 * U], [U, 3 * U], [3 * U]]);
    expect(needsOurClasses(model)).toEqual([]);
  });
});

describe("Conv1D with Keras's padding 'causal'", () => {
  it('is (kernelSize − 1) · dilation zero steps at the start then a valid convolution, any stride, and step t sees no later step', async () => {
    for (const [k, d, s] of [[3, 2, 1], [2, 1, 2], [1, 1, 1], [4, 1, 3]] as const) {
      const inp = tf.input({ shape: [7, 2] });
      const conv = customLayerFactories(tf).conv1d({ name: `c${k}${d}${s}`, filters: 3, kernelSize: k, dilationRate: d, strides: s, padding: 'causal', activation: 'tanh' });
      const model = tf.model({ inputs: inp, outputs: conv.apply(inp) as tf.SymbolicTensor });
      expect(model.outputs[0]!.shape).toEqual([null, Math.ceil(7 / s), 3]);
      const x = tf.tensor(Float32Array.from(random(2 * 7 * 2, k * 10 + d)), [2, 7, 2]);
      const [kernel, bias] = conv.getWeights();
      const want = tf.tanh(tf.add(tf.conv1d(tf.pad(x, [[0, 0], [(k - 1) * d, 0], [0, 0]]) as tf.Tensor3D, kernel as tf.Tensor3D, s, 'valid', 'NWC', d), bias!));
      expect(tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, want))).dataSync()[0]).toBeLessThan(1e-6);
      // changing the last step changes only the last output step
      const x2 = tf.concat([tf.slice(x, [0, 0, 0], [2, 6, 2]), tf.add(tf.slice(x, [0, 6, 0], [2, 1, 2]), 1)], 1);
      const diff = tf.sum(tf.abs(tf.sub(model.predict(x2) as tf.Tensor, model.predict(x) as tf.Tensor)), [0, 2]).dataSync();
      Array.from(diff).forEach((v, t) => (t < diff.length - 1 ? expect(v).toBe(0) : undefined));
      if (k === 3) {
        expect(needsOurClasses(model)).toEqual([`c${k}${d}${s} (Conv1D with padding causal)`]);
        const back = await roundTrip(model);
        expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
      }
    }
  });

  it('passes gradients to its kernel and input', () => {
    const conv = customLayerFactories(tf).conv1d({ name: 'cg', filters: 2, kernelSize: 3, padding: 'causal' });
    const x = tf.tensor(Float32Array.from(random(1 * 5 * 2, 3)), [1, 5, 2]);
    conv.apply(x);
    const vars = conv.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(conv.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    for (const v of vars) expect(tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]).toBeGreaterThan(0);
  });
});
