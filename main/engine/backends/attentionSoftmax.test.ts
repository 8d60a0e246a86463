import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionSoftmax } from './attentionSoftmax';
import { randomValues, seededRandom } from './inventory';
import { nativeKernels } from './native';
import { expectClose as expectCloseTo } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

/** y and d(sum(y·w))/dscores: our op, or the layer's former formulation (mul, band mask, softmax) by autodiff. */
function run(shape: number[], causal: boolean, fused: boolean, seed: number): { y: Float32Array; dx: Float32Array } {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const sv = randomValues(n, rand, 6), wv = randomValues(n, rand);
  const [tq, tk] = shape.slice(-2) as [number, number];
  const scale = 1 / Math.sqrt(8);
  return tf.tidy(() => {
    const s = tf.tensor(sv, shape), w = tf.tensor(wv, shape);
    const f = (x: tf.Tensor) => {
      if (fused) return attentionSoftmax(tf, x, scale, causal);
      let z = tf.mul(x, scale);
      if (causal) z = tf.add(z, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([tq, tk]), -1, 0)), -1e9));
      return tf.softmax(z, -1);
    };
    const y = f(s);
    const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), w)))(s);
    return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

/** testing.ts's check at this file's default tolerance (1e-5 of the reference's scale). */
const expectClose = (a: Float32Array, b: Float32Array, label: string, tol = 1e-5): void => expectCloseTo(a, b, label, tol);

describe('attention softmax (scale, causal mask and softmax as one op) matches the former op chain', () => {
  // [2, 3, 16, 16]: the fused kernel; [2, 4, 64, 128]: enough rows for the helper thread; 7 keys: not a
  // multiple of 4 (tfjs ops); 5 queries x 8 keys and 12 x 4 (more queries than keys): causal with Tq != Tk.
  const shapes = [[2, 3, 16, 16], [2, 4, 64, 128], [2, 7, 7], [3, 5, 8], [2, 12, 4]];
  for (const shape of shapes) {
    for (const causal of [true, false]) {
      it(`${JSON.stringify(shape)} causal=${causal}: weights and gradient on wasm and cpu`, { timeout: 120_000 }, async () => {
        const seed = shape.reduce((a, b) => a * 31 + b, causal ? 1 : 2);
        await tf.setBackend('cpu');
        const want = run(shape, causal, false, seed);
        const cpuOp = run(shape, causal, true, seed);
        await tf.setBackend('wasm');
        expect(nativeKernels(tf.backend())).not.toBeNull();
        let wasmOp: { y: Float32Array; dx: Float32Array } | undefined;
        const profile = await tf.profile(() => {
          wasmOp = run(shape, causal, true, seed);
          return [];
        });
        const ran = new Set(profile.kernels.map((k) => k.name));
        expect(ran.has('LayerforgeAttentionSoftmax'), [...ran].join(' ')).toBe(shape.at(-1)! % 4 === 0);
        for (const [label, got] of [['cpu ops', cpuOp], ['wasm', wasmOp!]] as const) {
          expectClose(got.y, want.y, `${label} y`);
          expectClose(got.dx, want.dx, `${label} dx`);
        }
        if (causal) {
          // Keys after the query get exactly nothing.
          const [tq, tk] = shape.slice(-2) as [number, number];
          const masked: number[] = [];
          for (let r = 0; r < wasmOp!.y.length / tk; r++) for (let j = (r % tq) + 1; j < tk; j++) if (wasmOp!.y[r * tk + j] !== 0) masked.push(r * tk + j);
          expect(masked, 'probabilities above the diagonal (must be exactly 0)').toEqual([]);
        }
      });
    }
  }
});
