import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { convGradCalls, convGradMethod, setConvGradBlock, setConvGradIgemm, setConvGradPath, setConvGradSmall, setConvGradTight, type ConvGradPath } from './convGrad';
import { randomValues, seededRandom } from './inventory';
import { expectClose, oneThread, onCpu, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});
afterEach(() => {
  setConvGradPath('auto');
  setConvGradBlock(0);
  setConvGradSmall(true);
  setConvGradTight(true);
  setConvGradIgemm(true);
});

interface Case {
  x: [number, number, number, number];
  f: [number, number];
  k: number;
  stride?: number;
  pad: 'same' | 'valid';
  /** Inputs after a ReLU are all positive: an offset tests cancellation in the transforms. */
  offset?: number;
  /**
   * Which of ours 'auto' takes (im2col applies everywhere, Winograd to 3x3 stride 1 with K % 8 = 0, 'small' to C < 8 at
   * stride 1, 'igemm' to C < 8 unpadded with K % 8 = 0); null: the direct kernel.
   */
  ours: 'wino' | 'im2col' | 'small' | 'igemm' | null;
}

// Same / valid, output sizes that are and are not multiples of 4 (partial tiles), 3..33 input channels,
// 8..64 output channels, strides, 5x5 and 3x2, 1x1 (in place and packed), and output channels that are not
// a multiple of 8 (the direct kernel, im2col with K padded). Enough tiles / positions in most cases to split
// over two threads. Few channels ('small'): lenet5's two shapes, 1-7 channels, K 3-20, output widths that
// are not multiples of 4, filters 3x4 and 7x7 (more than 5 taps a row), an offset.
const CASES: Case[] = [
  { x: [2, 9, 11, 16], f: [3, 3], k: 16, pad: 'same', ours: 'wino' },
  { x: [3, 15, 15, 32], f: [3, 3], k: 64, pad: 'valid', offset: 1, ours: 'wino' },
  { x: [2, 7, 6, 17], f: [3, 3], k: 24, pad: 'valid', ours: 'wino' },
  { x: [1, 8, 8, 12], f: [3, 3], k: 32, pad: 'same', ours: 'wino' },
  { x: [4, 16, 16, 16], f: [3, 3], k: 16, pad: 'same', offset: 2, ours: 'wino' },
  { x: [2, 9, 7, 3], f: [3, 3], k: 16, pad: 'valid', ours: null },
  { x: [1, 6, 6, 5], f: [3, 3], k: 8, pad: 'same', ours: 'small' },
  { x: [1, 3, 3, 4], f: [3, 3], k: 8, pad: 'valid', ours: 'small' },
  { x: [4, 16, 16, 16], f: [3, 3], k: 32, stride: 2, pad: 'same', ours: 'im2col' },
  { x: [3, 11, 13, 6], f: [3, 3], k: 8, stride: 2, pad: 'valid', ours: 'igemm' },
  { x: [4, 16, 16, 16], f: [1, 1], k: 32, stride: 2, pad: 'same', ours: 'im2col' },
  { x: [3, 10, 9, 16], f: [1, 1], k: 16, pad: 'valid', ours: 'im2col' },
  { x: [3, 10, 9, 5], f: [1, 1], k: 16, pad: 'same', ours: 'igemm' },
  { x: [2, 12, 12, 7], f: [5, 5], k: 16, pad: 'same', ours: null },
  { x: [2, 11, 12, 8], f: [3, 2], k: 8, stride: 3, pad: 'valid', ours: 'im2col' },
  { x: [2, 9, 9, 5], f: [3, 3], k: 21, pad: 'same', ours: null },
  { x: [2, 9, 9, 9], f: [3, 3], k: 12, pad: 'valid', ours: null },
  { x: [3, 28, 28, 1], f: [5, 5], k: 6, pad: 'same', ours: 'small' },
  { x: [2, 14, 14, 6], f: [5, 5], k: 16, pad: 'valid', offset: 1, ours: 'igemm' },
  // igemm where auto does not take it (C < 4): fw·C = 6, the last group of 4 values overlapping the one before.
  { x: [2, 8, 9, 2], f: [3, 3], k: 8, stride: 2, pad: 'valid', ours: null },
  { x: [3, 9, 8, 4], f: [2, 3], k: 24, pad: 'valid', ours: 'igemm' },
  { x: [2, 9, 13, 3], f: [3, 3], k: 8, pad: 'same', ours: 'small' },
  { x: [3, 7, 5, 2], f: [3, 4], k: 5, pad: 'same', ours: 'small' },
  { x: [2, 6, 9, 1], f: [7, 7], k: 3, pad: 'same', ours: 'small' },
  { x: [2, 12, 10, 5], f: [5, 5], k: 20, pad: 'valid', offset: 1, ours: null },
  { x: [2, 11, 10, 1], f: [5, 5], k: 20, pad: 'valid', ours: 'small' },
];

// (tfjs's conv2d gradient refuses dilations > 1, and cpu's kernel ignores them: not tested.)
const attrsOf = (c: Case) => ({ strides: c.stride ?? 1, pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.f, c.x[3], c.k] });

function outSize(c: Case): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [...c.f, c.x[3], c.k] as [number, number, number, number], c.stride ?? 1, 1, c.pad);
  return [info.outHeight, info.outWidth];
}

/** dW on the active backend, from the same numbers (activations ~U(-1, 1) + offset, gradients ~U(-1, 1)). */
function run(c: Case, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const [oh, ow] = outSize(c);
  const xv = randomValues(c.x.reduce((a, b) => a * b, 1), rand, 1).map((v) => v + (c.offset ?? 0));
  const gv = randomValues(c.x[0] * oh * ow * c.k, rand, 1);
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x), dy = tf.tensor4d(gv, [c.x[0], oh, ow, c.k]);
    return (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrsOf(c)) as tf.Tensor).dataSync() as Float32Array;
  });
}

describe('Conv2DBackpropFilter on our module (native/convGrad.c)', () => {
  it('equals cpu for every shape class, Winograd / im2col / direct / auto, two threads and one, small blocks, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    expect(native.helper?.ready, 'the helper thread is up (two threads are tested)').toBe(true);
    for (const [i, c] of CASES.entries()) {
      const label = `${c.x.join('x')} ${c.f.join('x')}->${c.k} s${c.stride ?? 1} ${c.pad}`;
      const want = await onCpu(tf, () => run(c, 60 + i));
      const info = tf.backend_util.computeConv2DInfo(c.x, [...c.f, c.x[3], c.k] as [number, number, number, number], c.stride ?? 1, 1, c.pad);
      const smallApplies = c.x[3] < 8 && (c.stride ?? 1) === 1;
      const winoApplies = c.f[0] === 3 && c.f[1] === 3 && (c.stride ?? 1) === 1 && c.k % 8 === 0;
      const igemmApplies = c.x[3] < 8 && c.k % 8 === 0 && info.padInfo.top === 0 && info.padInfo.left === 0 && c.f[1] * c.x[3] >= 4;
      const paths: ConvGradPath[] = ['auto', 'direct', 'im2col', ...(winoApplies ? (['wino'] as const) : []), ...(smallApplies ? (['small'] as const) : []), ...(igemmApplies ? (['igemm'] as const) : [])];
      for (const p of paths) {
        setConvGradPath(p);
        const method = convGradMethod(info);
        if (p === 'auto') expect(method, `${label}: auto's method`).toBe(c.ours);
        for (const block of p === 'igemm' ? [0] : [0, 4]) {
          setConvGradBlock(block);
          const before = convGradCalls();
          expectClose(run(c, 60 + i), want, `${label}, ${p}, block ${block || 'default'}, two threads`);
          const after = convGradCalls();
          const ran = after.wino + after.im2col + after.small + after.igemm - before.wino - before.im2col - before.small - before.igemm;
          const expected = p === 'direct' || (p === 'auto' && c.ours === null) ? 0 : 1;
          expect(ran, `${label}, ${p}: ran on ours`).toBe(expected);
          if (p === 'wino' || p === 'small' || p === 'im2col' || p === 'igemm') expect(after[p] - before[p], `${label}: ${p}`).toBe(1);
          expectClose(oneThread(native, () => run(c, 60 + i)), want, `${label}, ${p}, block ${block || 'default'}, one thread`);
        }
      }
      // LAYERFORGE_CONV_GRAD_SMALL=0: the direct kernel (or igemm) where 'small' was chosen.
      setConvGradPath('auto');
      setConvGradSmall(false);
      const before = convGradCalls();
      expectClose(run(c, 60 + i), want, `${label}, small off`);
      if (c.ours === 'small') expect(convGradCalls().small, `${label}: small off, not small`).toBe(before.small);
      setConvGradSmall(true);
      // LAYERFORGE_CONV_GRAD_TIGHT=0: 'small' with its register blocks before (up to 10 accumulators).
      if (c.ours === 'small') {
        setConvGradPath('small');
        setConvGradTight(false);
        expectClose(run(c, 60 + i), want, `${label}, small, loose blocks`);
        setConvGradTight(true);
      }
      // LAYERFORGE_CONV_GRAD_IGEMM=0: the direct kernel where 'igemm' was chosen.
      setConvGradPath('auto');
      if (c.ours === 'igemm') {
        setConvGradIgemm(false);
        const before2 = convGradCalls();
        expectClose(run(c, 60 + i), want, `${label}, igemm off`);
        expect(convGradCalls(), `${label}: igemm off, direct`).toEqual(before2);
        setConvGradIgemm(true);
      }
      setConvGradPath('auto');
      withoutNativeKernels(() => {
        const before = convGradCalls();
        expectClose(run(c, 60 + i), want, `${label}, no module (XNNPACK)`);
        expect(convGradCalls(), `${label}: no module, not ours`).toEqual(before);
      });
    }
  });

  it('routes by shape: Winograd for 3x3 stride 1 from 8 input channels up to 256x256, im2col for the rest, small or direct below 8 channels, direct for K % 8', () => {
    const m = (x: [number, number, number, number], f: [number, number, number, number], s = 1) => convGradMethod(tf.backend_util.computeConv2DInfo(x, f, s, 1, 'same'));
    expect(m([64, 32, 32, 32], [3, 3, 32, 32])).toBe('wino');
    expect(m([64, 8, 8, 256], [3, 3, 256, 256])).toBe('wino');
    expect(m([8, 8, 8, 512], [3, 3, 512, 256])).toBe('im2col');
    expect(m([64, 32, 32, 16], [3, 3, 16, 32], 2)).toBe('im2col');
    expect(m([64, 32, 32, 16], [1, 1, 16, 32], 2)).toBe('im2col');
    expect(m([64, 32, 32, 3], [3, 3, 3, 32])).toBeNull();
    expect(m([64, 32, 32, 32], [3, 3, 32, 20])).toBeNull();
    // Few channels: 'small' for one channel or K < 16 at stride 1, else direct; im2col takes any K when forced.
    expect(m([64, 28, 28, 1], [5, 5, 1, 6])).toBe('small');
    expect(m([64, 32, 32, 3], [3, 3, 3, 8])).toBe('small');
    expect(m([64, 28, 28, 1], [3, 3, 1, 32])).toBe('small');
    expect(m([64, 14, 14, 6], [5, 5, 6, 16])).toBeNull(); // 'same': padded, the direct kernel
    // Unpadded, 4-7 channels, K % 8 == 0: igemm (lenet5's 5x5 valid 6->16); not for 3 channels, K % 8, or off.
    const v = (x: [number, number, number, number], f: [number, number, number, number]) => convGradMethod(tf.backend_util.computeConv2DInfo(x, f, 1, 1, 'valid'));
    expect(v([64, 14, 14, 6], [5, 5, 6, 16])).toBe('igemm');
    expect(v([64, 32, 32, 3], [3, 3, 3, 32])).toBeNull();
    expect(v([64, 14, 14, 6], [5, 5, 6, 20])).toBeNull();
    setConvGradIgemm(false);
    expect(v([64, 14, 14, 6], [5, 5, 6, 16])).toBeNull();
    setConvGradIgemm(true);
    expect(m([64, 28, 28, 1], [5, 5, 1, 6], 2)).toBeNull();
    expect(m([8, 128, 128, 1], [5, 5, 1, 6])).toBeNull(); // one image's planar copies past L2: unmeasured, direct
    setConvGradSmall(false);
    expect(m([64, 28, 28, 1], [5, 5, 1, 6])).toBeNull();
    setConvGradSmall(true);
    setConvGradPath('im2col');
    expect(m([64, 32, 32, 32], [3, 3, 32, 20])).toBe('im2col');
    setConvGradPath('small');
    expect(m([64, 14, 14, 6], [5, 5, 6, 16])).toBe('small');
    expect(m([64, 32, 32, 32], [3, 3, 32, 32])).toBeNull();
    setConvGradPath('direct');
    expect(m([64, 32, 32, 32], [3, 3, 32, 32])).toBeNull();
  });

  it('gives the same gradients as cpu through a conv layer stack (SGD-style dW of a small CNN)', async () => {
    const rand = seededRandom(11);
    const xv = randomValues(4 * 12 * 12 * 3, rand), f1 = randomValues(9 * 3 * 16, rand, 0.4), f2 = randomValues(9 * 16 * 32, rand, 0.15), f3 = randomValues(16 * 32, rand, 0.3);
    const grads = () =>
      tf.tidy(() => {
        const loss = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => {
          const h1 = tf.relu(tf.conv2d(tf.tensor4d(xv, [4, 12, 12, 3]), a as tf.Tensor4D, 1, 'same'));
          const h2 = tf.relu(tf.conv2d(h1, b as tf.Tensor4D, 1, 'valid'));
          const h3 = tf.conv2d(h2, d as tf.Tensor4D, 2, 'same');
          return tf.sum(tf.square(h3));
        };
        return tf.grads(loss)([tf.tensor4d(f1, [3, 3, 3, 16]), tf.tensor4d(f2, [3, 3, 16, 32]), tf.tensor4d(f3, [1, 1, 32, 16])]).map((g) => g.dataSync() as Float32Array);
      });
    const want = await onCpu(tf, grads);
    const before = convGradCalls();
    const got = grads();
    const after = convGradCalls();
    // 3 input channels: the direct kernel; 16 -> 32 3x3: Winograd; the 1x1 stride 2: im2col.
    expect(after.wino - before.wino).toBe(1);
    expect(after.im2col - before.im2col).toBe(1);
    for (const [i, name] of ['dW1', 'dW2', 'dW3'].entries()) expectClose(got[i]!, want[i]!, name);
  });
});
