import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { addRelu } from './addRelu';
import { randomValues, seededRandom } from './inventory';
import { nativeKernels, setNativeKernelsEnabled } from './native';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

const SHAPES: number[][] = [
  [7, 3, 5], // 105 floats: a tail after the SIMD loop
  [4, 8, 8, 16],
  [2, 70_001], // large enough to split over two threads, odd halves
];

/** relu(a + b) on a backend, from the same numbers; some sums exactly 0 and one NaN. */
async function run(backend: 'cpu' | 'wasm', shape: number[], seed: number): Promise<Float32Array> {
  await tf.setBackend(backend);
  const n = shape.reduce((x, y) => x * y, 1);
  const av = randomValues(n, seededRandom(seed));
  const bv = randomValues(n, seededRandom(seed + 1)).map((v, i) => (i % 11 === 0 ? -av[i]! : v));
  av[n - 1] = NaN;
  const a = tf.tensor(av, shape), b = tf.tensor(bv, shape);
  const y = addRelu(tf, a, b);
  const out = y.dataSync() as Float32Array;
  tf.dispose([a, b, y]);
  return out;
}

function expectClose(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, label).toBe(want.length);
  let scale = 1e-3, worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]!)) {
      expect(Number.isNaN(got[i]!), `${label}: NaN at ${i}`).toBe(true);
      continue;
    }
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  expect(worst / scale, label).toBeLessThanOrEqual(1e-4);
}

describe('addRelu (inference: a residual Add and its ReLU in one pass)', () => {
  it('equals relu(add) on cpu, with our module on one and two threads and without it', async () => {
    await tf.setBackend('wasm');
    const k = nativeKernels(tf.backend());
    expect(k).not.toBeNull();
    for (let i = 0; i < 100 && k!.helper && !k!.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
    const helper = k!.helper;
    for (const [i, shape] of SHAPES.entries()) {
      const want = await run('cpu', shape, 10 + i);
      const two = await run('wasm', shape, 10 + i);
      expectClose(two, want, `${shape.join('x')}, ${helper ? 'two threads' : 'one thread (no helper here)'}`);
      (k as { helper: unknown }).helper = null;
      try {
        expectClose(await run('wasm', shape, 10 + i), want, `${shape.join('x')}, one thread`);
      } finally {
        (k as { helper: unknown }).helper = helper;
      }
      setNativeKernelsEnabled(false);
      try {
        expectClose(await run('wasm', shape, 10 + i), want, `${shape.join('x')}, no module`);
      } finally {
        setNativeKernelsEnabled(true);
      }
    }
  });

  it('uses the fused kernel on wasm, tfjs ops for broadcasting shapes', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor2d([[1, -2], [3, -4]]), b = tf.tensor1d([-2, 1]);
    let fused: tf.Tensor | null = null;
    const prof = await tf.profile(() => (fused = addRelu(tf, a, a)));
    expect(prof.kernelNames).toEqual(['LayerforgeAddRelu']);
    expect(Array.from(fused!.dataSync())).toEqual([2, 0, 6, 0]);
    const y = addRelu(tf, a, b);
    expect(Array.from(y.dataSync())).toEqual([0, 0, 1, 0]);
    tf.dispose([a, b, y, fused!]);
  });
});

describe("bias_act (a dense layer's bias and relu / relu6 in one in-place pass after our GEMM)", () => {
  it('equals cpu on one and two threads (NaN kept, odd column tails), and runs no Add or Relu kernel', async () => {
    await tf.setBackend('wasm');
    const k = nativeKernels(tf.backend())!;
    for (let i = 0; i < 100 && k.helper && !k.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
    const helper = k.helper;
    const m = 70, kk = 24, n = 13;
    const a = randomValues(m * kk, seededRandom(31)).map((v) => v * 4);
    a[5] = NaN;
    const w = randomValues(kk * n, seededRandom(32));
    const bias = randomValues(n, seededRandom(33));
    for (const activation of ['linear', 'relu', 'relu6'] as const) {
      const f = () => tf.fused.matMul({ a: tf.tensor2d(a, [m, kk]), b: tf.tensor2d(w, [kk, n]), bias: tf.tensor1d(bias), activation });
      await tf.setBackend('cpu');
      const want = tf.tidy(f).dataSync() as Float32Array;
      await tf.setBackend('wasm');
      expectClose(tf.tidy(f).dataSync() as Float32Array, want, `${activation}, ${helper ? 'two threads' : 'one thread (no helper here)'}`);
      (k as { helper: unknown }).helper = null;
      try {
        expectClose(tf.tidy(f).dataSync() as Float32Array, want, `${activation}, one thread`);
      } finally {
        (k as { helper: unknown }).helper = helper;
      }
      const x = tf.tensor2d(a, [m, kk]), wt = tf.tensor2d(w, [kk, n]), bt = tf.tensor1d(bias);
      let y: tf.Tensor | null = null;
      const prof = await tf.profile(() => (y = tf.fused.matMul({ a: x, b: wt, bias: bt, activation })));
      expect(prof.kernelNames.filter((name) => name === 'Add' || name === 'Relu' || name === 'Relu6'), activation).toEqual([]);
      tf.dispose([x, wt, bt, y!]);
    }
  });
});
