import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerCustomLayers } from '../compile/custom';
import { DENSE_GRAD_KERNEL, DENSE_KERNEL, fusedDense, fusedDenseHere, type DenseActivation } from './dense';
import { randomValues, seededRandom } from './inventory';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { productCall, productHalves, productSplits, setGemmHelperMin, setPackedGemmEnabled, type HeapProduct } from './kernels';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  registerCustomLayers(tf);
});

async function withFusedDense<T>(v: string, f: () => Promise<T>): Promise<T> {
  process.env.LAYERFORGE_FUSED_DENSE = v;
  try {
    return await f();
  } finally {
    delete process.env.LAYERFORGE_FUSED_DENSE;
  }
}

interface Case {
  x: number[];
  w: number[];
  bias: boolean;
  act: DenseActivation;
}

/** y and the gradients of sum(y·r) (r fixed, random) with respect to x, W (and b): our op, or matMul + add + relu by autodiff. */
function run(c: Case, fused: boolean, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  const k = c.x.at(-1)!;
  const n = c.w.reduce((a, b) => a * b, 1) / k;
  const yShape = [...c.x.slice(0, -1), n];
  const xv = randomValues(c.x.reduce((a, b) => a * b, 1), rand);
  const wv = randomValues(k * n, rand);
  const bv = randomValues(n, rand);
  const rv = randomValues(yShape.reduce((a, b) => a * b, 1), rand);
  return tf.tidy(() => {
    const x = tf.tensor(xv, c.x), w = tf.tensor(wv, c.w), b = tf.tensor(bv, c.w.length === 3 ? c.w.slice(1) : [n]), r = tf.tensor(rv, yShape);
    const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor | null) => {
      if (fused) return fusedDense(tf, xi, wi, bi, c.act);
      let y = tf.reshape(tf.matMul(tf.reshape(xi, [-1, k]), tf.reshape(wi, [k, n])), yShape);
      if (bi) y = tf.add(y, tf.reshape(bi, [n]));
      return c.act === 'relu' ? tf.relu(y) : y;
    };
    const wrt = c.bias ? [x, w, b] : [x, w];
    const y = f(x, w, c.bias ? b : null);
    const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(a[0]!, a[1]!, a[2] ?? null), r)))(wrt);
    expect(gs.map((g) => g.shape)).toEqual(wrt.map((t) => t.shape));
    return [y, ...gs].map((t) => t.dataSync() as Float32Array);
  });
}

describe('fused dense op (one product forward, dx / dW / db in one call) matches matMul + bias + relu differentiated by tfjs on cpu', () => {
  const cases: Case[] = [
    { x: [5, 7, 6], w: [6, 10], bias: true, act: 'relu' },
    { x: [33, 40], w: [40, 3, 8], bias: true, act: 'linear' },
    { x: [4, 9, 12], w: [12, 20], bias: false, act: 'linear' },
    { x: [3, 5, 7, 13], w: [13, 11], bias: true, act: 'relu' },
    // large enough for the helper thread (dW alongside dx), and for each product split over both (rows; columns of a wide dW)
    { x: [32, 32, 64], w: [64, 96], bias: true, act: 'relu' },
    { x: [8, 64, 128], w: [128, 276], bias: true, act: 'linear' },
    { x: [4, 8, 2048], w: [2048, 276], bias: false, act: 'linear' },
    // k < 8 and tiny products: the plain gemm
    { x: [3, 4, 5], w: [5, 6], bias: true, act: 'relu' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${JSON.stringify(c)}: y, dx, dW, db on wasm (two threads and one) vs cpu`, { timeout: 60_000 }, async () => {
      await tf.setBackend('cpu');
      const want = run(c, false, 10 + i);
      const native = await wasmWithHelper(tf);
      expect(fusedDenseHere(tf)).toBe(true);
      const { result: two, kernels } = await profiled(tf, () => run(c, true, 10 + i));
      expect(kernels.has(DENSE_KERNEL) && kernels.has(DENSE_GRAD_KERNEL), [...kernels].join(' ')).toBe(true);
      const one = oneThread(native, () => run(c, true, 10 + i));
      const names = ['y', 'dx', 'dW', 'db'];
      for (const [label, got] of [['two threads', two], ['one thread', one]] as const) got.forEach((g, j) => expectClose(g, want[j]!, `${label} ${names[j]}`));
    });
  }

  // Products below the helper threshold (2^22) stay on one thread; with the threshold at 1 every product splits
  // (lenet5's: columns of [64,400]·[400,120] and [64,120]·[120,84], dW beside dx), and with LAYERFORGE_GEMM_PACKED=0
  // the plain gemm (+ bias_act) runs the same products.
  const small: Case[] = [
    { x: [64, 400], w: [400, 120], bias: true, act: 'relu' },
    { x: [64, 120], w: [120, 84], bias: true, act: 'relu' },
    { x: [64, 84], w: [84, 10], bias: true, act: 'linear' },
    { x: [32, 32, 32], w: [32, 6, 16], bias: true, act: 'linear' },
    { x: [2, 5, 24], w: [24, 40], bias: false, act: 'linear' },
  ];
  for (const [i, c] of small.entries()) {
    it(`${JSON.stringify(c)}: every product split over two threads (helper threshold 1), packed and plain, vs cpu`, { timeout: 60_000 }, async () => {
      await tf.setBackend('cpu');
      const want = run(c, false, 30 + i);
      const native = await wasmWithHelper(tf);
      expect(fusedDenseHere(tf)).toBe(true);
      const old = setGemmHelperMin(1);
      const helper = native.helper;
      const alongside = helper?.alongside;
      let handoffs = 0;
      if (helper && alongside) {
        helper.alongside = (...a: Parameters<typeof alongside>) => {
          handoffs++;
          alongside.apply(helper, a);
        };
      }
      try {
        for (const packed of [true, false]) {
          const was = setPackedGemmEnabled(packed);
          try {
            run(c, true, 30 + i).forEach((g, j) => expectClose(g, want[j]!, `packed ${packed}, two threads [${j}]`));
            oneThread(native, () => run(c, true, 30 + i)).forEach((g, j) => expectClose(g, want[j]!, `packed ${packed}, one thread [${j}]`));
          } finally {
            setPackedGemmEnabled(was);
          }
        }
      } finally {
        setGemmHelperMin(old);
        if (helper && alongside) helper.alongside = alongside;
      }
      if (helper) expect(handoffs, 'products handed to the helper thread').toBeGreaterThanOrEqual(4);
    });
  }

  it("kernels.ts's heap-level product: halves by batch, columns (wide packed), rows; the helper only from the threshold on", async () => {
    const native = await wasmWithHelper(tf);
    const p = (m: number, n: number, k: number, batch = 1): HeapProduct => ({ a: 0, b: 0, c: 0, m, n, k, batch });
    expect(productHalves(native, p(64, 120, 400))).toEqual([[0, 1, 0, 64, 0, 56], [0, 1, 0, 64, 56, 120]]);
    expect(productHalves(native, p(1024, 96, 32))).toEqual([[0, 1, 0, 512, 0, 96], [0, 1, 512, 1024, 0, 96]]);
    expect(productHalves(native, p(16, 16, 16, 5))).toEqual([[0, 2, 0, 16, 0, 16], [2, 5, 0, 16, 0, 16]]);
    expect(productHalves(native, p(4, 6, 4))).toBeNull();
    const was = setPackedGemmEnabled(false);
    try {
      // The plain gemm splits rows only, and computes whole rows.
      expect(productHalves(native, p(64, 120, 400))).toEqual([[0, 1, 0, 32, 0, 120], [0, 1, 32, 64, 0, 120]]);
      expect(() => productCall(native, p(64, 120, 400), 0, [0, 1, 0, 64, 0, 56])).toThrow(/whole rows/);
    } finally {
      setPackedGemmEnabled(was);
    }
    if (native.helper) {
      expect(productSplits(native, p(64, 120, 400))).toBe(false);
      expect(productSplits(native, p(1024, 128, 128))).toBe(true);
      expect(productSplits(native, p(64, 120, 400), 1)).toBe(true);
    }
  });

  it('is off on cpu, without our module and with LAYERFORGE_FUSED_DENSE=0', async () => {
    await tf.setBackend('wasm');
    expect(fusedDenseHere(tf)).toBe(true);
    expect(withoutNativeKernels(() => fusedDenseHere(tf))).toBe(false);
    process.env.LAYERFORGE_FUSED_DENSE = '0';
    try {
      expect(fusedDenseHere(tf)).toBe(false);
    } finally {
      delete process.env.LAYERFORGE_FUSED_DENSE;
    }
    await tf.setBackend('cpu');
    expect(fusedDenseHere(tf)).toBe(false);
  });
});

describe('tfjs Dense layers through the fused op match tfjs on cpu (rank 2, 3 and 4, every kind of activation, with and without bias)', () => {
  const layers: { units: number; activation: string; useBias: boolean; x: number[] }[] = [
    { units: 10, activation: 'relu', useBias: true, x: [6, 8, 12] },
    { units: 7, activation: 'linear', useBias: true, x: [9, 12] },
    { units: 5, activation: 'softmax', useBias: true, x: [4, 6, 12] },
    { units: 6, activation: 'sigmoid', useBias: true, x: [2, 3, 4, 12] },
    { units: 9, activation: 'relu', useBias: false, x: [3, 4, 12] },
    { units: 8, activation: 'linear', useBias: false, x: [3, 4, 12] },
  ];
  /** Output and the gradients of mean(y²) w.r.t. the input and every weight. */
  function grads(layer: tf.layers.Layer, xv: Float32Array, shape: number[]): Float32Array[] {
    return tf.tidy(() => {
      const x = tf.tensor(xv, shape);
      const y = layer.apply(x) as tf.Tensor;
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads: g } = tf.variableGrads(() => tf.mean(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, vars);
      const dx = tf.grad((xi: tf.Tensor) => tf.mean(tf.square(layer.apply(xi) as tf.Tensor)))(x);
      return [y, dx, ...vars.map((v) => g[v.name]!)].map((t) => t.dataSync() as Float32Array);
    });
  }
  for (const [i, l] of layers.entries()) {
    it(`${JSON.stringify(l)}`, { timeout: 60_000 }, async () => {
      await tf.setBackend('cpu');
      const layer = tf.layers.dense({ units: l.units, activation: l.activation as 'relu', useBias: l.useBias, biasInitializer: 'randomNormal' });
      layer.build([null, ...l.x.slice(1)]);
      const xv = Float32Array.from(randomValues(l.x.reduce((a, b) => a * b, 1), seededRandom(40 + i)));
      const want = grads(layer, xv, l.x);
      const native = await wasmWithHelper(tf);
      const fused = grads(layer, xv, l.x);
      // The layer's call is one op: fewer kernels than tfjs's K.dot chain (none of its Transposes or per-op Reshapes).
      const calls = (f: () => unknown) => tf.profile(() => void f()).then((p) => p.kernels.map((k) => k.name));
      const [ours, theirs] = [await calls(() => grads(layer, xv, l.x)), await withFusedDense('0', () => calls(() => grads(layer, xv, l.x)))];
      if (l.activation === 'relu' && !l.useBias) expect(ours.length).toBe(theirs.length);
      else expect(ours.length, `${ours.join(' ')} vs ${theirs.join(' ')}`).toBeLessThan(theirs.length);
      const runs: [string, Float32Array[]][] = [['wasm fused', fused], ['one thread', oneThread(native, () => grads(layer, xv, l.x))], ['without our module', withoutNativeKernels(() => grads(layer, xv, l.x))]];
      runs.push(['LAYERFORGE_FUSED_DENSE=0', await withFusedDense('0', async () => grads(layer, xv, l.x))]);
      for (const [label, got] of runs) got.forEach((g, j) => expectClose(g, want[j]!, `${label} [${j}]`));
      for (const w of layer.weights) w.dispose();
    });
  }
});
