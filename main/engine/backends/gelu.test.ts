import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { gelu } from './gelu';
import { oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

/** y and dy/dx·w of GELU, by our op (fused) or by tfjs's layers activation (reference, autodiff). */
function run(n: number, fused: boolean): { y: Float32Array; dx: Float32Array } {
  const rand = seededRandom(n);
  // Wide range: the tails (|x| > 5) and the middle; plus exact zeros and tiny values.
  const xv = randomValues(n, rand, 8);
  xv[0] = 0;
  if (n > 2) xv[1] = 1e-6;
  const wv = randomValues(n, rand);
  return tf.tidy(() => {
    const x = tf.tensor1d(xv), w = tf.tensor1d(wv);
    const ref = tf.layers.activation({ activation: 'gelu' });
    const f = (a: tf.Tensor) => (fused ? gelu(tf, a) : (ref.apply(a) as tf.Tensor));
    const y = f(x);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), w)))(x);
    return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

function expectClose(a: Float32Array, b: Float32Array, label: string, tol = 1e-5): void {
  let worst = 0, at = -1, bad = -1;
  for (let i = 0; i < b.length; i++) {
    if (bad < 0 && !Number.isFinite(a[i]!)) bad = i;
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (d > worst) [worst, at] = [d, i];
  }
  expect(bad, `${label}[${bad}] = ${a[bad]}`).toBe(-1);
  expect(worst, `${label}: worst at ${at}: ${a[at]} vs ${b[at]}`).toBeLessThanOrEqual(tol);
}

describe('fused GELU (one op, closed-form gradient) matches tfjs gelu', () => {
  // 1 and 7 leave a tail of fewer than 4 floats; (1 << 16) + 5 is split over two threads (splitElements: from 1 << 16).
  for (const n of [1, 7, 1000, (1 << 16) + 5]) {
    it(`${n} values: y and dx on wasm (our kernels) and on cpu (ops) vs tfjs's activation on cpu`, async () => {
      await tf.setBackend('cpu');
      const want = run(n, false);
      const cpuFused = run(n, true);
      const native = await wasmWithHelper(tf);
      const { result: wasmFused, kernels } = await profiled(tf, () => run(n, true));
      expect(kernels.has('LayerforgeGelu') && kernels.has('LayerforgeGeluGrad'), [...kernels].join(' ')).toBe(true);
      const off = await profiled(tf, () => withoutNativeKernels(() => run(n, true)));
      expect(off.kernels.has('LayerforgeGelu')).toBe(false);
      const results = [
        ['cpu ops', cpuFused],
        ['wasm kernels (lossAct.c), two threads', wasmFused],
        ['wasm kernels (lossAct.c), one thread', oneThread(native, () => run(n, true))],
        ['wasm without our module', off.result],
      ] as const;
      for (const [label, got] of results) {
        expectClose(got.y, want.y, `${label} y`);
        expectClose(got.dx, want.dx, `${label} dx`);
      }
    });
  }
});
