import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { nativeKernels, setNativeKernelsEnabled, type NativeKernels } from './native';
import { RELU_GRAD_SPLIT_MIN, RELU_GRAD_SPLIT_MIN_OLD, setReluGradSplitMin } from './reluGrad';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

type Out = { shape: number[]; values: Float32Array };

async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor): Promise<{ out: Out; kernels: string[] }> {
  await tf.setBackend(backend);
  let out: Out | null = null;
  const info = await tf.profile(() => {
    const t = tf.tidy(f);
    out = { shape: t.shape, values: t.dataSync() as Float32Array };
    t.dispose();
    return [];
  });
  return { out: out!, kernels: info.kernels.map((k) => k.name) };
}

function expectClose(got: Out, want: Out, label: string): void {
  expect(got.shape, label).toEqual(want.shape);
  let scale = 1e-3, worst = 0;
  for (let i = 0; i < want.values.length; i++) {
    scale = Math.max(scale, Math.abs(want.values[i]!));
    worst = Math.max(worst, Math.abs(got.values[i]! - want.values[i]!));
  }
  expect(worst / scale, label).toBeLessThanOrEqual(1e-4);
}

const tensor = (shape: number[], seed: number) => {
  const v = randomValues(shape.reduce((a, b) => a * b, 1), seededRandom(seed));
  return () => tf.tensor(v, shape);
};

async function helperReady(): Promise<NativeKernels> {
  await tf.setBackend('wasm');
  const k = nativeKernels(tf.backend());
  expect(k).not.toBeNull();
  for (let i = 0; i < 100 && k!.helper && !k!.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  return k!;
}

/** f on cpu, then on wasm with our module on two threads, one thread, and without it. */
async function compareAllWays(label: string, f: () => tf.Tensor, check: (kernels: string[], how: string) => void = () => {}): Promise<void> {
  const want = (await on('cpu', f)).out;
  const k = await helperReady();
  const helper = k.helper;
  const two = await on('wasm', f);
  expectClose(two.out, want, `${label}, ${helper ? 'two threads' : 'one thread (no helper here)'}`);
  check(two.kernels, 'module');
  (k as { helper: unknown }).helper = null;
  try {
    const one = await on('wasm', f);
    expectClose(one.out, want, `${label}, one thread`);
  } finally {
    (k as { helper: unknown }).helper = helper;
  }
  setNativeKernelsEnabled(false);
  try {
    const without = await on('wasm', f);
    expectClose(without.out, want, `${label}, without our module`);
    check(without.kernels, 'fallback');
  } finally {
    setNativeKernelsEnabled(true);
  }
}

describe('strided Conv2DBackpropInput: phase by phase (elementwise.c ew_phase_scatter) matches cpu', () => {
  afterAll(() => setNativeKernelsEnabled(true));
  const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: 'valid' | 'same' | number }> = [
    { x: [16, 32, 32, 16], f: [3, 3, 16, 4], s: 2, pad: 'same' }, // resnet-small's shape class; phases split over two threads
    { x: [16, 32, 32, 16], f: [1, 1, 16, 8], s: 2, pad: 'same' }, // a projection shortcut: three phases are zeros
    { x: [2, 9, 8, 5], f: [3, 3, 5, 3], s: 2, pad: 'valid' },
    { x: [2, 11, 10, 3], f: [5, 5, 3, 6], s: 2, pad: 'same' },
    { x: [2, 10, 10, 2], f: [2, 2, 2, 3], s: 3, pad: 'valid' }, // taps < stride: zero phases
    { x: [1, 7, 9, 3], f: [3, 2, 3, 2], s: [2, 3], pad: 'same' },
  ];
  for (const c of cases) {
    const name = `x${c.x.join('x')} f${c.f.join('x')} s${String(c.s)} ${String(c.pad)}`;
    it(name, async () => {
      const w = tensor(c.f, 2) as () => tf.Tensor4D;
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, w(), c.s, c.pad).shape) as [number, number, number, number];
      const dy = tensor(outShape, 3) as () => tf.Tensor4D;
      await compareAllWays(name, () => tf.conv2dTranspose(dy(), w(), c.x, c.s, c.pad), (kernels, how) => {
        // With the module the zero-dilated dy (PadV2, Slice) is gone; the fallback still dilates.
        if (how === 'module') expect(kernels.filter((k) => k === 'PadV2' || k === 'Slice'), name).toEqual([]);
      });
    });
  }
});

describe('bias Add (elementwise.c ew_bias_add) matches cpu', () => {
  const cases: Array<{ a: number[]; b: number[] }> = [
    { a: [8, 30, 30, 32], b: [32] }, // a Conv2D layer's bias
    { a: [16, 32, 32, 64], b: [64] }, // 1M floats: rows split over two threads
    { a: [3, 5, 7], b: [7] }, // a last chunk overlapping the one before (c % 4 != 0)
    { a: [64, 28, 28, 6], b: [6] }, // LeNet-5's first conv bias: overlapping chunks
    { a: [64, 48, 48, 6], b: [6] }, // overlapping chunks, rows over two threads
    { a: [5, 7, 10], b: [10] },
    { a: [3, 7, 1], b: [1] }, // c = 1: one flat run
    { a: [3, 7, 2], b: [2] }, // c = 2: one flat run, the bias repeated
    { a: [5, 3, 3], b: [3] }, // c = 3: scalar
    { a: [6, 10], b: [1, 10] },
    { a: [1, 1, 6], b: [2, 4, 6] }, // bias first: broadcast the other way round
    { a: [4, 6, 6, 5], b: [1, 1, 1, 5] },
    { a: [4, 6, 6, 5], b: [6, 1, 5] }, // not a last-axis bias: tfjs's kernel
    { a: [4, 6], b: [4, 6] },
  ];
  for (const c of cases) {
    const name = `[${c.a.join(',')}] + [${c.b.join(',')}]`;
    it(name, async () => {
      const a = tensor(c.a, 5), b = tensor(c.b, 6);
      await compareAllWays(name, () => tf.add(a(), b()));
    });
  }

  it('is differentiable as before (the gradient of a broadcast Add sums dy)', async () => {
    const a = tensor([4, 5, 5, 6], 7), b = tensor([6], 8);
    await compareAllWays('d bias', () => tf.grad((bb: tf.Tensor) => tf.add(a(), bb).square().sum())(b()));
  });
});

describe('ReLU gradient (registerElementwiseKernel, relu_grad) split over the helper thread or not matches cpu', () => {
  afterAll(() => setReluGradSplitMin(RELU_GRAD_SPLIT_MIN));
  for (const [label, min] of [['one thread below the threshold (default)', RELU_GRAD_SPLIT_MIN], ['split from 2^16 (LAYERFORGE_RELU_GRAD_SPLIT=0)', RELU_GRAD_SPLIT_MIN_OLD], ['split from any size', 1]] as const) {
    it(label, async () => {
      setReluGradSplitMin(min);
      for (const shape of [[64, 28, 28, 6], [3, 5, 7]]) {
        const x = tensor(shape, 9), dy = tensor(shape, 10);
        await compareAllWays(`${label} [${shape.join(',')}]`, () => tf.grad((t: tf.Tensor) => tf.relu(t).mul(dy()).sum())(x()),
          (kernels, how) => expect(kernels.includes('LayerforgeReluGrad'), how).toBe(how === 'module'));
      }
    });
  }
});
