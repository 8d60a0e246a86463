import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCustomLayers } from '../compile/custom';
import { randomValues, seededRandom } from './inventory';
import { embeddingLookup, hashedDropout, residualAdd, sequenceMean, sequenceOpsHere } from './sequenceOps';
import { expectClose, oneThread, onCpu, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  registerCustomLayers(tf);
});

const rand = seededRandom(41);
const table = randomValues(20 * 6, rand);
const ids = Int32Array.from([3, 0, 19, 3, 7, 3, 12, 0, 5, 19, 1, 3, 2, 2, 9]);
const w3 = randomValues(15 * 6, rand);
const x3 = randomValues(3 * 5 * 6, rand);
const wm = randomValues(3 * 6, rand);
const xa = randomValues(3 * 5 * 6, rand), xb = randomValues(3 * 5 * 6, rand);

/** y and the gradients of sum(y · w) for the four ops, fused (where they run) or as tfjs ops. */
function run(fused: boolean): Float32Array[] {
  return tf.tidy(() => {
    const t = tf.tensor(table, [20, 6]), i = tf.tensor(ids, [3, 5], 'int32');
    const lookup = (a: tf.Tensor) => (fused ? embeddingLookup(tf, a, i) : tf.reshape(tf.gather(a, tf.reshape(i, [-1])), [3, 5, 6]));
    const e = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(lookup(a), tf.tensor(w3, [3, 5, 6]))))(t);
    const x = tf.tensor(x3, [3, 5, 6]);
    const mean = (a: tf.Tensor) => (fused ? sequenceMean(tf, a) : tf.mean(a, 1));
    const m = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(mean(a), tf.tensor(wm, [3, 6]))))(x);
    const a = tf.tensor(xa, [3, 5, 6]), b = tf.tensor(xb, [3, 5, 6]);
    // b also feeds the loss directly, so its gradient accumulates over two paths (as a residual stream's).
    const add = (p: tf.Tensor, q: tf.Tensor) => tf.add(tf.mul(fused ? residualAdd(tf, p, q) : tf.add(p, q), tf.tensor(w3.subarray(0, 90), [3, 5, 6])), tf.mul(q, q));
    const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(add(p, q)))([a, b]);
    return [lookup(t), e, mean(x), m, add(a, b), ga!, gb!].map((r) => r.dataSync() as Float32Array);
  });
}

describe('sequence ops (Embedding, GlobalAveragePooling1D, Dropout, residual Add) as one wasm kernel each way', () => {
  it('match tfjs ops on cpu: two threads, one, and without our module', async () => {
    const want = await onCpu(tf, () => run(false));
    const native = await wasmWithHelper(tf);
    expect(sequenceOpsHere(tf)).toBe(true);
    const { result, kernels } = await profiled(tf, () => run(true));
    for (const k of ['GatherV2', 'LayerforgeEmbeddingGrad', 'LayerforgeSequenceMeanGrad']) expect(kernels.has(k), `${k} in ${[...kernels].join(' ')}`).toBe(true);
    const names = ['lookup', 'dTable', 'mean', 'dx mean', 'add', 'da', 'db'];
    result.forEach((r, i) => expectClose(r, want[i]!, `${names[i]} two threads`));
    oneThread(native, () => run(true)).forEach((r, i) => expectClose(r, want[i]!, `${names[i]} one thread`));
    withoutNativeKernels(() => {
      expect(sequenceOpsHere(tf)).toBe(false);
      run(false).forEach((r, i) => expectClose(r, want[i]!, `${names[i]} without our module`));
    });
    process.env.LAYERFORGE_SEQUENCE_OPS = '0';
    try {
      expect(sequenceOpsHere(tf)).toBe(false);
    } finally {
      delete process.env.LAYERFORGE_SEQUENCE_OPS;
    }
    expect(() => tf.tidy(() => embeddingLookup(tf, tf.zeros([4, 4]), tf.tensor([1, 4], [2], 'int32')))).toThrow(/not in \[0, 3\]/);
  });

  it('hashed dropout keeps about 1 - rate, scales by 1/keep, and its gradient uses the same mask', async () => {
    await wasmWithHelper(tf);
    const n = 4099;
    const xv = randomValues(n, rand), wv = randomValues(n, rand);
    const before = tf.memory().numTensors;
    const [y, g] = tf.tidy(() => {
      const x = tf.tensor(xv), w = tf.tensor(wv);
      let out: tf.Tensor | null = null;
      const grad = tf.grad((a: tf.Tensor) => {
        out = tf.keep(hashedDropout(tf, a, 0.3));
        return tf.sum(tf.mul(out, w));
      })(x);
      const values = [out!.dataSync() as Float32Array, grad.dataSync() as Float32Array];
      out!.dispose();
      return values;
    });
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const on = y[i] !== 0;
      if (on) kept++;
      expect(Math.abs(y[i]! - (on ? xv[i]! / 0.7 : 0))).toBeLessThan(1e-5);
      expect(Math.abs(g[i]! - (on ? wv[i]! / 0.7 : 0))).toBeLessThan(1e-5);
    }
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.03);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the layers use them on wasm and match cpu; Dropout in training through one kernel each way', async () => {
    const build = () => {
      const input = tf.input({ shape: [5], dtype: 'int32' });
      const e = tf.layers.embedding({ inputDim: 20, outputDim: 6 }).apply(input) as tf.SymbolicTensor;
      const d = tf.layers.dense({ units: 6 }).apply(e) as tf.SymbolicTensor;
      const s = tf.layers.add().apply([e, d]) as tf.SymbolicTensor;
      const p = tf.layers.globalAveragePooling1d().apply(s) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 3 }).apply(tf.layers.dropout({ rate: 0.25 }).apply(p) as tf.SymbolicTensor) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      const r = seededRandom(7);
      model.setWeights(model.getWeights().map((v) => tf.tensor(randomValues(v.size, r), v.shape)));
      return model;
    };
    const grads = (model: tf.LayersModel, training: boolean) => {
      const x = tf.tensor(ids, [3, 5], 'int32');
      const { value, grads: gs } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training }) as tf.Tensor)) as tf.Scalar);
      const out = [value.dataSync() as Float32Array, ...model.trainableWeights.map((v) => gs[(v.read() as tf.Variable).name]!.dataSync() as Float32Array)];
      tf.dispose([x, value, ...Object.values(gs)]);
      return out;
    };
    const want = await onCpu(tf, () => {
      const m = build();
      const r = grads(m, false);
      m.dispose();
      return r;
    });
    await wasmWithHelper(tf);
    const model = build();
    const { result, kernels } = await profiled(tf, () => grads(model, false));
    for (const k of ['GatherV2', 'LayerforgeEmbeddingGrad', 'LayerforgeSequenceMeanGrad']) expect(kernels.has(k), `${k} in ${[...kernels].join(' ')}`).toBe(true);
    // tfjs's Embedding path (ids reshaped, gathered, reshaped back; its gradient through Transposes and UnsortedSegmentSum) is gone.
    for (const k of ['Transpose', 'UnsortedSegmentSum', 'RealDiv']) expect(kernels.has(k), `${k} in ${[...kernels].join(' ')}`).toBe(false);
    result.forEach((r, i) => expectClose(r, want[i]!, `weight ${i}`));
    // Training mode: the dropout runs as our kernel, forward and backward (no Floor).
    const train = await profiled(tf, () => grads(model, true));
    expect(train.kernels.has('LayerforgeHashedDropout') && !train.kernels.has('Floor'), [...train.kernels].join(' ')).toBe(true);
    process.env.LAYERFORGE_SEQUENCE_OPS = '0';
    try {
      const off = await profiled(tf, () => grads(model, false));
      expect(off.kernels.has('LayerforgeEmbeddingGrad')).toBe(false);
      off.result.forEach((r, i) => expectClose(r, want[i]!, `weight ${i}, switched off`));
    } finally {
      delete process.env.LAYERFORGE_SEQUENCE_OPS;
    }
    model.dispose();
  });
});
