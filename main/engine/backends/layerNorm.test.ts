import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { layerNorm } from './layerNorm';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

interface Out {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** y and the gradients of sum(y·w) (w fixed, random) with respect to x, γ and β. */
function run(shape: number[], fused: boolean, opts: { center: boolean; scale: boolean }, seed: number): Out {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const c = shape.at(-1)!;
  // An offset keeps the two-pass variance honest (a one-pass E[x²]−E[x]² loses digits here).
  const xv = randomValues(n, rand, 3).map((v) => v + 10);
  const wv = randomValues(n, rand);
  const gv = randomValues(c, rand).map((v) => 1 + v / 2);
  const bv = randomValues(c, rand);
  return tf.tidy(() => {
    const x = tf.tensor(xv, shape), w = tf.tensor(wv, shape), gamma = tf.tensor1d(gv), beta = tf.tensor1d(bv);
    // fused: our op; otherwise the textbook formula as plain ops, differentiated by tfjs's autodiff.
    const f = (xi: tf.Tensor, gi: tf.Tensor | null, bi: tf.Tensor | null) => {
      if (fused) return layerNorm(tf, xi, gi, bi, 1e-3);
      const mean = tf.mean(xi, -1, true);
      const xc = tf.sub(xi, mean);
      let y = tf.div(xc, tf.sqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-3)));
      if (gi) y = tf.mul(y, gi);
      if (bi) y = tf.add(y, bi);
      return y;
    };
    const wrt = [x, ...(opts.scale ? [gamma] : []), ...(opts.center ? [beta] : [])];
    const loss = (...args: tf.Tensor[]) => {
      let k = 1;
      const g = opts.scale ? args[k++]! : null;
      const b = opts.center ? args[k++]! : null;
      return tf.sum(tf.mul(f(args[0]!, g, b), w));
    };
    const y = f(x, opts.scale ? gamma : null, opts.center ? beta : null);
    const partial = tf.grads(loss)(wrt);
    let k = 1;
    const grads = [partial[0]!, opts.scale ? partial[k++]! : tf.zeros([c]), opts.center ? partial[k++]! : tf.zeros([c])];
    return { y: y.dataSync() as Float32Array, dx: grads[0]!.dataSync() as Float32Array, dgamma: grads[1]!.dataSync() as Float32Array, dbeta: grads[2]!.dataSync() as Float32Array };
  });
}

describe('fused layer normalisation (one op, closed-form gradient) matches the textbook formula differentiated by tfjs', () => {
  // c = 6 and 130 leave SIMD tails; [16, 64, 128] (LAYER_NORM_SPLIT values) is large enough for the helper thread to take
  // half the rows (with γ and β only: ~1.5 s a case).
  const shapes = [[2, 3, 6], [5, 130], [16, 64, 128]];
  for (const shape of shapes) {
    for (const opts of [{ center: true, scale: true }, { center: false, scale: true }, { center: true, scale: false }]) {
      if (shape[0] === 16 && !(opts.center && opts.scale)) continue;
      it(`${JSON.stringify(shape)} center=${opts.center} scale=${opts.scale}: y, dx, dγ, dβ on wasm (our kernels, two threads and one; ops without them) and on cpu (ops) vs autodiff on cpu`, async () => {
        await tf.setBackend('cpu');
        const want = run(shape, false, opts, shape.length * 100 + shape[0]!);
        const cpuFused = run(shape, true, opts, shape.length * 100 + shape[0]!);
        const native = await wasmWithHelper(tf);
        const { result: wasmFused, kernels: ran } = await profiled(tf, () => run(shape, true, opts, shape.length * 100 + shape[0]!));
        expect(ran.has('LayerforgeLayerNorm') && ran.has('LayerforgeLayerNormGrad'), [...ran].join(' ')).toBe(true);
        const wasmOneThread = oneThread(native, () => run(shape, true, opts, shape.length * 100 + shape[0]!));
        const wasmOps = withoutNativeKernels(() => run(shape, true, opts, shape.length * 100 + shape[0]!));
        const runs = [['cpu ops', cpuFused], [native.helper ? 'wasm kernels, two threads' : 'wasm kernels', wasmFused], ['wasm kernels, one thread', wasmOneThread], ['wasm without our module (ops)', wasmOps]] as const;
        for (const [label, got] of runs) {
          expectClose(got.y, want.y, `${label} y`);
          expectClose(got.dx, want.dx, `${label} dx`);
          if (opts.scale) expectClose(got.dgamma, want.dgamma, `${label} dgamma`);
          if (opts.center) expectClose(got.dbeta, want.dbeta, `${label} dbeta`);
        }
      });
    }
  }
});
