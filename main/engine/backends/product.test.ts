import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { productScratchFloats, productSplits, runProduct, setGemmHelperMin, setPackedGemmEnabled, type HeapProduct } from './kernels';
import { randomValues, seededRandom } from './inventory';
import { heapOffset } from './native';
import { expectClose, oneThread, wasmWithHelper } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

/** C[bi] = act(op(A[bi])·op(B[bi]) + bias) in float64, A / B shared across batches where their stride is 0. */
function reference(a: Float32Array, b: Float32Array, bias: Float32Array | null, p: Required<Omit<HeapProduct, 'a' | 'b' | 'c' | 'bias'>>): Float32Array {
  const { m, n, k, ta, tb, batch, aStride, bStride, act } = p;
  const out = new Float32Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[bi * aStride + (ta ? q * m + i : i * k + q)]! * b[bi * bStride + (tb ? j * k + q : q * n + j)]!;
        if (bias) s += bias[j]!;
        if (act >= 1) s = Math.max(0, s);
        if (act === 2) s = Math.min(6, s);
        out[(bi * m + i) * n + j] = s;
      }
  return out;
}

describe("kernels.ts's heap-level product (runProduct: BatchMatMul's, _FusedMatMul's and the dense op's GEMM) matches a float64 reference", () => {
  // Batches split in two, a wide packed product by columns, a tall one by rows; plain and packed; transposes, bias, relu / relu6.
  const cases: { m: number; n: number; k: number; ta: boolean; tb: boolean; batch: number; sharedB: boolean; act: number; bias: boolean }[] = [
    { m: 12, n: 40, k: 30, ta: false, tb: true, batch: 3, sharedB: false, act: 1, bias: true },
    { m: 12, n: 40, k: 30, ta: true, tb: false, batch: 3, sharedB: true, act: 0, bias: false },
    { m: 20, n: 120, k: 300, ta: false, tb: false, batch: 1, sharedB: true, act: 2, bias: true },
    { m: 70, n: 21, k: 33, ta: true, tb: true, batch: 1, sharedB: true, act: 1, bias: true },
    { m: 6, n: 9, k: 12, ta: false, tb: false, batch: 1, sharedB: true, act: 0, bias: true },
  ];
  for (const [ci, c] of cases.entries()) {
    it(`${JSON.stringify(c)}: one thread and two, packed and plain`, async () => {
      const native = await wasmWithHelper(tf);
      const rand = seededRandom(70 + ci);
      const aStride = c.m * c.k, bStride = c.sharedB ? 0 : c.k * c.n;
      const av = Float32Array.from(randomValues(c.batch * aStride, rand)), bv = Float32Array.from(randomValues(c.sharedB ? c.k * c.n : c.batch * bStride, rand));
      const biasv = Float32Array.from(randomValues(c.n, rand), (v) => 4 * v);
      const want = reference(av, bv, c.bias ? biasv : null, { m: c.m, n: c.n, k: c.k, ta: c.ta, tb: c.tb, batch: c.batch, aStride, bStride, act: c.act });
      const backend = tf.backend();
      const at = (t: tf.Tensor) => heapOffset(backend, t.dataId);
      const a = tf.tensor1d(av), b = tf.tensor1d(bv), bias = tf.tensor1d(biasv), y = tf.zeros([c.batch * c.m * c.n]);
      const old = setGemmHelperMin(1);
      try {
        for (const packed of [true, false]) {
          const was = setPackedGemmEnabled(packed);
          try {
            const p: HeapProduct = { a: at(a), b: at(b), c: at(y), m: c.m, n: c.n, k: c.k, ta: c.ta, tb: c.tb, batch: c.batch, aStride, bStride, bias: c.bias ? at(bias) : 0, act: c.act };
            const pack = tf.zeros([2 * productScratchFloats(native, p) + 4]);
            for (const threads of [2, 1]) {
              const compute = () => {
                const split = productSplits(native, p);
                if (threads === 2 && native.helper && c.m * c.n >= 64) expect(split, 'split over two threads').toBe(true);
                runProduct(native, p, at(pack), split);
              };
              if (threads === 1) oneThread(native, compute);
              else compute();
              expectClose(y.dataSync(), want, `packed ${packed}, ${threads} thread(s)`);
            }
            pack.dispose();
          } finally {
            setPackedGemmEnabled(was);
          }
        }
      } finally {
        setGemmHelperMin(old);
        tf.dispose([a, b, bias, y]);
      }
    });
  }
});
