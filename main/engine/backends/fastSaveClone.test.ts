import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFastSaveClone, setFastSaveClone } from './fastSaveClone';
import { randomValues, seededRandom } from './inventory';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  await tf.setBackend('wasm');
  installFastSaveClone(tf);
});
afterAll(() => setFastSaveClone(true));

/** A small model's loss and gradients: dense + relu + softmax cross-entropy, a customGrad op, a reshape. */
function step(w: tf.Variable, b: tf.Variable, x: tf.Tensor2D, labels: tf.Tensor2D): { loss: number[]; grads: number[][] } {
  const square = tf.customGrad(((a: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    save([a]);
    return { value: tf.mul(a, a), gradFunc: (dy: tf.Tensor, [sa]: tf.Tensor[]) => [tf.mul(dy, tf.mul(sa!, 2))] };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor) => tf.Tensor;
  const { value, grads } = tf.variableGrads(() => {
    const h = tf.relu(tf.add(tf.matMul(x, w), b));
    const logits = tf.reshape(square(h), [x.shape[0], -1]);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }, [w, b]);
  const out = { loss: Array.from(value.dataSync()), grads: [Array.from(grads[w.name]!.dataSync()), Array.from(grads[b.name]!.dataSync())] };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('fast save clone (wasm)', () => {
  it('gives the same loss and gradients as tfjs clone, without leaking tensors', () => {
    const rand = seededRandom(5);
    const w = tf.variable(tf.tensor2d(randomValues(12 * 6, rand), [12, 6]));
    const b = tf.variable(tf.tensor1d(randomValues(6, rand)));
    const x = tf.tensor2d(randomValues(8 * 12, rand), [8, 12]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 0, 1], 'int32'), 6).toFloat() as tf.Tensor2D;
    setFastSaveClone(false);
    const theirs = step(w, b, x, labels);
    setFastSaveClone(true);
    step(w, b, x, labels);
    const before = tf.memory().numTensors;
    const ours = step(w, b, x, labels);
    expect(tf.memory().numTensors).toBe(before);
    expect(ours).toEqual(theirs);
    tf.dispose([w, b, x, labels]);
  });

  it('makes no Identity kernel calls for saved tensors at gradient depth 1', () => {
    const x = tf.variable(tf.ones([4]));
    const count = () => {
      const p = tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(x, x)) as tf.Scalar, [x]);
        tf.dispose([value, ...Object.values(grads)]);
      });
      return p;
    };
    return (async () => {
      setFastSaveClone(false);
      const off = (await count()).kernels.filter((k) => k.name === 'Identity').length;
      setFastSaveClone(true);
      const on = (await count()).kernels.filter((k) => k.name === 'Identity').length;
      expect(off).toBeGreaterThan(0);
      expect(on).toBeLessThan(off);
      x.dispose();
    })();
  });

  it('keeps second-order gradients (tfjs clone below depth 1)', () => {
    const f = (a: tf.Tensor) => tf.sum(tf.mul(tf.mul(a, a), a)); // sum a³: d²/da² = 6a
    const second = tf.grad((a: tf.Tensor) => tf.grad(f)(a));
    const r = second(tf.tensor1d([1, 2, 3]));
    expect(Array.from(r.dataSync())).toEqual([6, 12, 18]);
    r.dispose();
  });
});
