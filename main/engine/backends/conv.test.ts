import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { originalConvKernel, registerConvKernels, setConvPath, setWinogradTile, winogradCalls, type ConvPath } from './conv';
import { randomValues, seededRandom } from './inventory';
import { nativeKernels, setNativeKernelsEnabled } from './native';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});
afterEach(() => {
  setConvPath('auto');
  setWinogradTile(4);
});

type Act = 'none' | 'linear' | 'relu' | 'relu6';
interface Case {
  shape: [number, number, number, number];
  k: number;
  pad: 'same' | 'valid';
  act: Act;
  /** Inputs after a ReLU are all positive: an offset tests cancellation in the transforms. */
  offset?: number;
}

// Every shape class: same / valid, output sizes that are and are not multiples of 2 and 4 (partial
// tiles), 3..32 input and 8..64 output channels; 2x9x11 and 3x15x15 are enough tiles to split over two threads.
const CASES: Case[] = [
  { shape: [1, 4, 4, 4], k: 8, pad: 'same', act: 'none' },
  { shape: [2, 9, 11, 8], k: 16, pad: 'same', act: 'relu' },
  { shape: [3, 15, 15, 32], k: 64, pad: 'valid', act: 'relu', offset: 1 },
  { shape: [2, 7, 6, 16], k: 24, pad: 'valid', act: 'linear' },
  { shape: [1, 8, 8, 12], k: 32, pad: 'same', act: 'relu6' },
  { shape: [2, 16, 16, 16], k: 16, pad: 'same', act: 'none', offset: 2 },
  // Input channels not a multiple of 4 (an image's 3): the last chunk read lane by lane, zeros past C.
  { shape: [2, 9, 7, 3], k: 16, pad: 'valid', act: 'relu' },
  { shape: [1, 6, 6, 5], k: 8, pad: 'same', act: 'linear' },
];

/** The case's output on the active backend, from the same numbers (realistic scale: He-like filters). */
function run(c: Case, seed: number): Float32Array {
  const [nb, h, w, ci] = c.shape;
  const rand = seededRandom(seed);
  const xv = randomValues(nb * h * w * ci, rand, 2).map((v) => v + (c.offset ?? 0));
  const fv = randomValues(9 * ci * c.k, rand, Math.sqrt(6 / (9 * ci)));
  const bv = randomValues(c.k, rand, 0.5);
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, c.shape), filter = tf.tensor4d(fv, [3, 3, ci, c.k]);
    const y = c.act === 'none' ? tf.conv2d(x, filter, 1, c.pad) : tf.fused.conv2d({ x, filter, bias: tf.tensor1d(bv), strides: 1, pad: c.pad, activation: c.act });
    return y.dataSync() as Float32Array;
  });
}

function expectClose(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, label).toBe(want.length);
  let scale = 1e-3, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  expect(worst / scale, label).toBeLessThanOrEqual(1e-4);
}

async function onCpu(c: Case, seed: number): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const want = run(c, seed);
  await tf.setBackend('wasm');
  return want;
}

describe('3x3 convolution by Winograd F(4x4, 3x3) and F(2x2, 3x3) (native/conv.c)', () => {
  it('equals cpu for every shape class, fused bias + linear / relu / relu6, F(4x4) and F(2x2), on two threads, one, and without our module', async () => {
    await tf.setBackend('wasm');
    const native = nativeKernels(tf.backend())!;
    expect(native).not.toBeNull();
    for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
    const helper = native.helper;
    setConvPath('ours');
    for (const [i, c] of CASES.entries()) {
      const label = `${c.shape.join('x')}->${c.k} ${c.pad} ${c.act}`;
      const want = await onCpu(c, 40 + i);
      const before = winogradCalls();
      for (const t of [4, 2] as const) {
        setWinogradTile(t);
        expectClose(run(c, 40 + i), want, `${label}, F(${t}x${t}), ${helper ? 'two threads' : 'one thread (no helper here)'}`);
        (native as { helper: unknown }).helper = null;
        try {
          expectClose(run(c, 40 + i), want, `${label}, F(${t}x${t}), one thread`);
        } finally {
          (native as { helper: unknown }).helper = helper;
        }
      }
      expect(winogradCalls(), `${label}: ran on our kernel`).toBe(before + 4);
      setNativeKernelsEnabled(false);
      try {
        expectClose(run(c, 40 + i), want, `${label}, no module (XNNPACK)`);
        expect(winogradCalls(), `${label}: no module, no Winograd`).toBe(before + 4);
      } finally {
        setNativeKernelsEnabled(true);
      }
    }
  });

  it('leaves every other convolution to tfjs (5x5, stride 2, dilation 2, prelu, the xnnpack setting; by default fewer than 16 channels) and they still equal cpu', async () => {
    const rand = seededRandom(7);
    const x = randomValues(2 * 10 * 10 * 8, rand), x3 = randomValues(2 * 10 * 10 * 3, rand);
    const f5 = randomValues(25 * 8 * 8, rand, 0.2), f3 = randomValues(9 * 8 * 8, rand, 0.2), f33 = randomValues(9 * 3 * 8, rand, 0.2);
    const cases: [string, ConvPath, () => tf.Tensor][] = [
      ['5x5', 'ours', () => tf.conv2d(tf.tensor4d(x, [2, 10, 10, 8]), tf.tensor4d(f5, [5, 5, 8, 8]), 1, 'same')],
      ['stride 2', 'ours', () => tf.conv2d(tf.tensor4d(x, [2, 10, 10, 8]), tf.tensor4d(f3, [3, 3, 8, 8]), 2, 'same')],
      ['dilation 2', 'ours', () => tf.conv2d(tf.tensor4d(x, [2, 10, 10, 8]), tf.tensor4d(f3, [3, 3, 8, 8]), 1, 'same', 'NHWC', 2)],
      ['3 input channels (auto)', 'auto', () => tf.conv2d(tf.tensor4d(x3, [2, 10, 10, 3]), tf.tensor4d(f33, [3, 3, 3, 8]), 1, 'valid')],
      ['prelu', 'ours', () => tf.fused.conv2d({ x: tf.tensor4d(x, [2, 10, 10, 8]), filter: tf.tensor4d(f3, [3, 3, 8, 8]), strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: tf.scalar(0.1) })],
      ['8 channels (auto)', 'auto', () => tf.conv2d(tf.tensor4d(x, [2, 10, 10, 8]), tf.tensor4d(f3, [3, 3, 8, 8]), 1, 'same')],
      ['xnnpack setting', 'xnnpack', () => tf.conv2d(tf.tensor4d(x, [2, 10, 10, 8]), tf.tensor4d(f3, [3, 3, 8, 8]), 1, 'same')],
    ];
    for (const [label, p, f] of cases) {
      await tf.setBackend('cpu');
      const want = tf.tidy(() => f().dataSync() as Float32Array);
      await tf.setBackend('wasm');
      setConvPath(p);
      const before = winogradCalls();
      expectClose(tf.tidy(() => f().dataSync() as Float32Array), want, label);
      expect(winogradCalls(), `${label}: tfjs's kernel`).toBe(before);
    }
  });

  it('gives the same gradients as cpu through a fused relu conv (forward ours, backward the gradient kernels)', async () => {
    const rand = seededRandom(9);
    const xv = randomValues(2 * 6 * 6 * 8, rand), fv = randomValues(9 * 8 * 16, rand, 0.3), bv = randomValues(16, rand, 0.1), wv = randomValues(2 * 6 * 6 * 16, rand);
    const grads = () => tf.tidy(() => {
      const loss = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'relu' }), tf.tensor4d(wv, [2, 6, 6, 16])));
      return tf.grads(loss)([tf.tensor4d(xv, [2, 6, 6, 8]), tf.tensor4d(fv, [3, 3, 8, 16]), tf.tensor1d(bv)]).map((g) => g.dataSync() as Float32Array);
    });
    await tf.setBackend('cpu');
    const want = grads();
    await tf.setBackend('wasm');
    setConvPath('ours');
    const before = winogradCalls();
    const got = grads();
    expect(winogradCalls()).toBeGreaterThan(before);
    for (const [i, name] of ['dx', 'dW', 'db'].entries()) expectClose(got[i]!, want[i]!, name);
  });

  it('registers once: a second call keeps tfjs kernels as the fallback, not ours', () => {
    const conv = tf.getKernel('Conv2D', 'wasm');
    registerConvKernels(tf);
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(conv);
    const original = originalConvKernel(tf, 'Conv2D');
    expect(original).toBeDefined();
    expect(original).not.toBe(conv);
  });
});
