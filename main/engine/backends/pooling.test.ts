import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { avgPool, avgPoolGrad, setPoolingKernels } from './pooling';
import { expectClose, oneThread, onCpu, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

type Pad = 'valid' | 'same' | number;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** avgPool(x) (the AvgPool kernel, and the Cast after it), read back. */
function fwd(x: Float32Array, xs: [number, number, number, number], f: [number, number], s: [number, number], pad: Pad): Float32Array {
  return tf.tidy(() => Float32Array.from(tf.avgPool(tf.tensor4d(x, xs), f, s, pad).dataSync()));
}

/** dx of avgPool(x) for dy (the AvgPoolGrad kernel), read back. */
function grad(x: Float32Array, xs: [number, number, number, number], dyv: Float32Array, f: [number, number], s: [number, number], pad: Pad): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xs);
    const y = tf.avgPool(xt, f, s, pad);
    const dy = tf.tensor(dyv.subarray(0, y.size), y.shape);
    const dx = tf.grad((t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, f, s, pad))(xt, dy);
    return Float32Array.from(dx.dataSync());
  });
}

const CASES: { xs: [number, number, number, number]; f: [number, number]; s: [number, number]; pad: Pad }[] = [
  { xs: [64, 28, 28, 6], f: [2, 2], s: [2, 2], pad: 'valid' }, // LeNet-5's first pool
  { xs: [64, 10, 10, 16], f: [2, 2], s: [2, 2], pad: 'valid' }, // and its second
  { xs: [3, 7, 9, 1], f: [2, 2], s: [2, 2], pad: 'valid' },
  { xs: [3, 7, 9, 5], f: [2, 2], s: [2, 2], pad: 'same' },
  { xs: [2, 9, 7, 17], f: [3, 3], s: [1, 1], pad: 'same' },
  { xs: [2, 9, 7, 3], f: [3, 3], s: [1, 1], pad: 'valid' },
  { xs: [5, 11, 8, 8], f: [3, 3], s: [2, 2], pad: 'same' },
  { xs: [4, 11, 13, 7], f: [3, 2], s: [2, 1], pad: 'valid' },
  { xs: [2, 6, 5, 2], f: [3, 3], s: [2, 2], pad: 1 },
  { xs: [1, 5, 5, 4], f: [5, 5], s: [3, 3], pad: 'same' },
  { xs: [9, 8, 8, 12], f: [2, 2], s: [1, 1], pad: 'valid' },
  { xs: [16, 32, 32, 64], f: [2, 2], s: [2, 2], pad: 'valid' }, // 1M floats: split over two threads
  { xs: [3, 7, 7, 6], f: [3, 3], s: [3, 3], pad: 'valid' }, // tiling windows with leftover rows and columns
  { xs: [2, 8, 8, 4], f: [2, 2], s: [2, 2], pad: 'same' },
  { xs: [2, 5, 6, 9], f: [2, 3], s: [2, 3], pad: 'valid' },
];

describe('AvgPool on wasm (native/pooling.c pool_avg)', () => {
  it('returns null where it does not apply, a tensor where it does', async () => {
    await wasmWithHelper(tf);
    const x = tf.zeros([1, 4, 4, 2]);
    const backend = tf.backend();
    const get = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    const args = { inputs: { x: get(x) }, attrs: { filterSize: 2, strides: 2, pad: 'valid' }, backend };
    const out = avgPool(tf, args);
    expect(out?.shape).toEqual([1, 2, 2, 2]);
    (backend as unknown as { disposeData(id: object): void }).disposeData(out!.dataId);
    setPoolingKernels(false);
    try {
      expect(avgPool(tf, args)).toBeNull();
    } finally {
      setPoolingKernels(true);
    }
    const xi = tf.zeros([1, 4, 4, 2], 'int32');
    expect(avgPool(tf, { ...args, inputs: { x: get(xi) } })).toBeNull();
    tf.dispose([x, xi]);
  });

  for (const [i, { xs, f, s, pad }] of CASES.entries()) {
    it(`matches cpu: x ${xs.join('x')}, window ${f.join('x')}, stride ${s.join('x')}, pad ${pad}`, async () => {
      const x = Float32Array.from(randomValues(size(xs), seededRandom(90 + i)), (v) => v * 2 - 1);
      const want = await onCpu(tf, () => fwd(x, xs, f, s, pad));
      const native = await wasmWithHelper(tf);
      const label = `${xs.join('x')} ${f.join('x')}/${s.join('x')} ${pad}`;
      const { result, kernels } = await profiled(tf, () => fwd(x, xs, f, s, pad));
      expect(kernels.has('AvgPool'), label).toBe(true);
      expectClose(result, want, `${label}, ours ${native.helper ? 'two threads' : 'one thread'}`, 1e-6);
      expectClose(oneThread(native, () => fwd(x, xs, f, s, pad)), want, `${label}, ours one thread`, 1e-6);
      setPoolingKernels(false);
      try {
        expectClose(fwd(x, xs, f, s, pad), want, `${label}, tfjs's kernel`, 1e-5);
      } finally {
        setPoolingKernels(true);
      }
      expectClose(withoutNativeKernels(() => fwd(x, xs, f, s, pad)), want, `${label}, no module`, 1e-5);
    });
  }
});

describe('AvgPoolGrad on wasm (native/pooling.c)', () => {
  it('returns null where it does not apply, a tensor where it does', async () => {
    await wasmWithHelper(tf);
    const x = tf.zeros([1, 4, 4, 2]), dy = tf.zeros([1, 2, 2, 2]);
    const backend = tf.backend();
    const get = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    const args = { inputs: { dy: get(dy), input: get(x) }, attrs: { filterSize: 2, strides: 2, pad: 'valid' }, backend };
    const out = avgPoolGrad(tf, args);
    expect(out).not.toBeNull();
    (backend as unknown as { disposeData(id: object): void }).disposeData(out!.dataId);
    setPoolingKernels(false);
    try {
      expect(avgPoolGrad(tf, args)).toBeNull();
    } finally {
      setPoolingKernels(true);
    }
    const xi = tf.zeros([1, 4, 4, 2], 'int32');
    expect(avgPoolGrad(tf, { ...args, inputs: { dy: get(dy), input: get(xi) } })).toBeNull();
    tf.dispose([x, dy, xi]);
  });

  for (const [i, { xs, f, s, pad }] of CASES.entries()) {
    it(`matches cpu: x ${xs.join('x')}, window ${f.join('x')}, stride ${s.join('x')}, pad ${pad}`, async () => {
      const x = Float32Array.from(randomValues(size(xs), seededRandom(10 + i)), (v) => v * 2 - 1);
      const dy = Float32Array.from(randomValues(size(xs) * 4, seededRandom(50 + i)), (v) => v * 4 - 2);
      const want = await onCpu(tf, () => grad(x, xs, dy, f, s, pad));
      const native = await wasmWithHelper(tf);
      const label = `${xs.join('x')} ${f.join('x')}/${s.join('x')} ${pad}`;
      expectClose(grad(x, xs, dy, f, s, pad), want, `${label}, ours ${native.helper ? 'two threads' : 'one thread'}`, 1e-6);
      expectClose(oneThread(native, () => grad(x, xs, dy, f, s, pad)), want, `${label}, ours one thread`, 1e-6);
      setPoolingKernels(false);
      try {
        expectClose(grad(x, xs, dy, f, s, pad), want, `${label}, tfjs's kernel`, 1e-5);
      } finally {
        setPoolingKernels(true);
      }
      expectClose(withoutNativeKernels(() => grad(x, xs, dy, f, s, pad)), want, `${label}, no module`, 1e-5);
    });
  }
});
