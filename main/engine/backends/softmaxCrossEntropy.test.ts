import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropySum } from '../../../shared/tasks/crossEntropy';
import { randomValues, seededRandom } from './inventory';
import { setSparseSoftmaxCrossEntropyEnabled, SPARSE_CE_GRAD_KERNEL, SPARSE_CE_KERNEL } from './softmaxCrossEntropy';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

interface Out {
  loss: Float32Array;
  sum: Float32Array;
  dx: Float32Array;
}

interface Case {
  readonly shape: number[];
  /** Labels outside [0, v) at a few rows (an all-zero one-hot row in tfjs's formula). */
  readonly outside?: boolean;
}

/** The loss, the summed cross-entropy and d(scale·loss)/dlogits; reference: today's tfjs formula. */
function run({ shape, outside }: Case, mode: 'ours' | 'reference', seed: number): Out {
  const rand = seededRandom(seed);
  const v = shape.at(-1)!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const xv = randomValues(rows * v, rand, 6);
  const labels = Int32Array.from({ length: rows }, () => Math.floor(rand() * v));
  if (outside && rows > 2) [labels[0], labels[rows - 1]] = [-1, v];
  return tf.tidy(() => {
    const x = tf.tensor(xv, shape);
    const y = tf.tensor(labels, shape.slice(0, -1), 'int32');
    const loss = (l: tf.Tensor) => (mode === 'ours' ? sparseSoftmaxCrossEntropy(tf, l, y) : tf.losses.softmaxCrossEntropy(tf.oneHot(y as tf.Tensor1D, v), l));
    const sum =
      mode === 'ours'
        ? sparseSoftmaxCrossEntropySum(tf, x, y)
        : tf.sum(tf.sub(tf.logSumExp(tf.reshape(x, [-1, v]), -1), tf.sum(tf.mul(tf.reshape(x, [-1, v]), tf.oneHot(tf.reshape(y, [-1]) as tf.Tensor1D, v)), -1)));
    const dx = tf.grad((l: tf.Tensor) => tf.mul(loss(l), 2.5))(x);
    return { loss: loss(x).dataSync() as Float32Array, sum: sum.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

function expectSame(got: Out, want: Out, label: string): void {
  // 1e-5 of each tensor's scale (the gradient's scale is ~2.5/rows).
  expectClose(got.loss, want.loss, `${label} loss`, 1e-5);
  expectClose(got.sum, want.sum, `${label} summed cross-entropy`, 1e-5);
  expectClose(got.dx, want.dx, `${label} dlogits`, 1e-5);
}

const CASES: Case[] = [
  { shape: [8, 10] }, // a classifier's [batch, classes]
  { shape: [5, 7], outside: true }, // v % 4 = 3, labels -1 and v
  { shape: [3, 2] },
  { shape: [4, 6, 13], outside: true }, // language model [batch, T, v]
  { shape: [16, 64, 96] }, // 1,024 rows of 96: split over two threads
  { shape: [700, 97], outside: true },
];

describe('sparse softmax cross-entropy (one op) matches tfjs softmaxCrossEntropy(oneHot(labels))', () => {
  for (const c of CASES) {
    it(`[${c.shape.join(', ')}]${c.outside ? ' with labels outside [0, v)' : ''}: wasm (two threads, one, without our module) and cpu`, async () => {
      await tf.setBackend('cpu');
      const want = run(c, 'reference', c.shape.length * 31 + c.shape.at(-1)!);
      expect(tf.getKernel(SPARSE_CE_KERNEL, 'cpu'), 'cpu keeps tfjs formula').toBeUndefined();
      expectSame(run(c, 'ours', c.shape.length * 31 + c.shape.at(-1)!), want, 'cpu');
      const native = await wasmWithHelper(tf);
      const seed = c.shape.length * 31 + c.shape.at(-1)!;
      const { result, kernels } = await profiled(tf, () => run(c, 'ours', seed));
      expect(kernels.has(SPARSE_CE_KERNEL) && kernels.has(SPARSE_CE_GRAD_KERNEL), [...kernels].join(' ')).toBe(true);
      expect(kernels.has('OneHot'), [...kernels].join(' ')).toBe(false);
      expectSame(result, want, 'wasm, two threads');
      expectSame(oneThread(native, () => run(c, 'ours', seed)), want, 'wasm, one thread');
      const off = await profiled(tf, () => withoutNativeKernels(() => run(c, 'ours', seed)));
      expect(off.kernels.has(SPARSE_CE_GRAD_KERNEL)).toBe(false);
      expectSame(off.result, want, 'wasm without our module');
    });
  }

  it('turned off, the tasks run tfjs formula on wasm; no tensor is left behind', async () => {
    await wasmWithHelper(tf);
    const c: Case = { shape: [4, 32, 24], outside: true };
    const want = run(c, 'reference', 5);
    setSparseSoftmaxCrossEntropyEnabled(tf, false);
    try {
      const { result, kernels } = await profiled(tf, () => run(c, 'ours', 5));
      expect(kernels.has(SPARSE_CE_KERNEL)).toBe(false);
      expectSame(result, want, 'off');
    } finally {
      setSparseSoftmaxCrossEntropyEnabled(tf, true);
    }
    const before = tf.memory().numTensors;
    expectSame(run(c, 'ours', 5), want, 'on again');
    tf.tidy(() => {
      const x = tf.variable(tf.randomNormal([64, 20]));
      const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 20), 'int32');
      const { value, grads } = tf.variableGrads(() => sparseSoftmaxCrossEntropy(tf, x, y), [x]);
      tf.dispose([value, grads, x, y]);
      x.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
