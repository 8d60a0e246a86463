import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { c1ConvCalls, convAddRelu, convMaxPool, gemmConvCalls, igemmConvCalls, inputGradCalls, inputGradValidCalls, originalConvKernel, registerConvKernels, setC1Conv, setConvDirect, setConvInputGrad, setConvPath, setConvPoolFusion, setConvResidualFusion, setGemmConv, setWinogradTile, winogradCalls, type ConvPath } from './conv';
import { randomValues, seededRandom } from './inventory';
import { expectClose, expectCloseOnThreads, onCpu, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});
afterEach(() => {
  setConvPath('auto');
  setGemmConv('auto');
  setConvPoolFusion(true);
  setConvResidualFusion(true);
  setWinogradTile(4);
  setC1Conv('auto');
  setConvInputGrad('auto');
  setConvDirect('auto');
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

/**
 * dx, dW and db of sum(w ⊙ relu(conv(x, f) + b)) (stride 1, the filter's values scaled by fScale) on
 * wasm with `use` set equal cpu's, and `calls` counted our kernel (forward ours, backward the gradient kernels).
 */
async function expectGradsAsCpu(seed: number, xs: [number, number, number, number], fs: [number, number, number, number], pad: 'same' | 'valid', ys: [number, number, number, number], fScale: number, use: () => void, calls: () => number): Promise<void> {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const rand = seededRandom(seed);
  const xv = randomValues(size(xs), rand), fv = randomValues(size(fs), rand, fScale), bv = randomValues(fs[3], rand, 0.1), wv = randomValues(size(ys), rand);
  const grads = () => tf.tidy(() => {
    const loss = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 1, pad, activation: 'relu' }), tf.tensor4d(wv, ys)));
    return tf.grads(loss)([tf.tensor4d(xv, xs), tf.tensor4d(fv, fs), tf.tensor1d(bv)]).map((g) => g.dataSync() as Float32Array);
  });
  const want = await onCpu(tf, grads);
  use();
  const before = calls();
  const got = grads();
  expect(calls()).toBeGreaterThan(before);
  for (const [i, name] of ['dx', 'dW', 'db'].entries()) expectClose(got[i]!, want[i]!, name);
}

describe('3x3 convolution by Winograd F(4x4, 3x3) and F(2x2, 3x3) (native/conv.c)', () => {
  it('equals cpu for every shape class, fused bias + linear / relu / relu6, F(4x4) and F(2x2), on two threads, one, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    setConvPath('ours');
    for (const [i, c] of CASES.entries()) {
      const label = `${c.shape.join('x')}->${c.k} ${c.pad} ${c.act}`;
      const want = await onCpu(tf, () => run(c, 40 + i));
      const before = winogradCalls();
      for (const t of [4, 2] as const) {
        setWinogradTile(t);
        expectCloseOnThreads(native, () => run(c, 40 + i), want, `${label}, F(${t}x${t})`);
      }
      expect(winogradCalls(), `${label}: ran on our kernel`).toBe(before + 4);
      withoutNativeKernels(() => {
        expectClose(run(c, 40 + i), want, `${label}, no module (XNNPACK)`);
        expect(winogradCalls(), `${label}: no module, no Winograd`).toBe(before + 4);
      });
    }
  });

  it('leaves every other convolution to tfjs (5x5, stride 2, dilation 2, prelu, the xnnpack setting; by default fewer than 16 channels) and they still equal cpu', async () => {
    setGemmConv('off'); // this test is about Winograd's routing; the GEMM path has its own test below
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
      const want = await onCpu(tf, () => tf.tidy(() => f().dataSync() as Float32Array));
      setConvPath(p);
      const before = winogradCalls();
      expectClose(tf.tidy(() => f().dataSync() as Float32Array), want, label);
      expect(winogradCalls(), `${label}: tfjs's kernel`).toBe(before);
    }
  });

  it('gives the same gradients as cpu through a fused relu conv (forward ours, backward the gradient kernels)', async () => {
    await expectGradsAsCpu(9, [2, 6, 6, 8], [3, 3, 8, 16], 'same', [2, 6, 6, 16], 0.3, () => setConvPath('ours'), winogradCalls);
  });

  it('im2col + GEMM (conv_gemm_fwd): equals cpu for 1x1 / 3x3 / 5x5, strides 1 and 2, same / valid, odd sizes, output channels not a multiple of 8, on two threads, one, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    setConvDirect('off'); // unpadded convs would take conv_igemm_fwd (tested below)
    type G = { x: [number, number, number, number]; f: number; k: number; s: number; pad: 'same' | 'valid'; act: Act };
    const cases: G[] = [
      { x: [3, 11, 13, 3], f: 3, k: 16, s: 1, pad: 'same', act: 'relu' },
      { x: [2, 12, 9, 3], f: 3, k: 32, s: 1, pad: 'valid', act: 'linear' },
      { x: [3, 15, 15, 1], f: 5, k: 6, s: 1, pad: 'same', act: 'relu' },
      { x: [3, 9, 11, 6], f: 5, k: 16, s: 1, pad: 'valid', act: 'none' },
      { x: [2, 10, 10, 16], f: 5, k: 6, s: 1, pad: 'valid', act: 'relu6' },
      { x: [2, 11, 9, 5], f: 3, k: 12, s: 2, pad: 'same', act: 'relu' },
      { x: [2, 9, 9, 16], f: 1, k: 32, s: 2, pad: 'same', act: 'linear' },
      { x: [1, 3, 4, 2], f: 3, k: 3, s: 1, pad: 'same', act: 'relu' },
    ];
    const runG = (c: G, seed: number): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w, ci] = c.x;
      const xv = randomValues(nb * h * w * ci, rand, 2), fv = randomValues(c.f * c.f * ci * c.k, rand, Math.sqrt(6 / (c.f * c.f * ci))), bv = randomValues(c.k, rand, 0.5);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), filter = tf.tensor4d(fv, [c.f, c.f, ci, c.k]);
        const y = c.act === 'none' ? tf.conv2d(x, filter, c.s, c.pad) : tf.fused.conv2d({ x, filter, bias: tf.tensor1d(bv), strides: c.s, pad: c.pad, activation: c.act });
        return y.dataSync() as Float32Array;
      });
    };
    setGemmConv('ours');
    setConvPath('auto');
    setC1Conv('off'); // one-channel inputs would take the direct path (its own test below)
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')} ${c.f}x${c.f}->${c.k} s${c.s} ${c.pad} ${c.act}`;
      const want = await onCpu(tf, () => runG(c, 70 + i));
      const before = gemmConvCalls();
      expectCloseOnThreads(native, () => runG(c, 70 + i), want, label);
      // 3x3 stride 1 with 16+ channels goes to Winograd first; every other case here runs on the GEMM path.
      const wino = c.f === 3 && c.s === 1 && c.x[3] >= 16 && c.k >= 16 && c.k % 8 === 0;
      expect(gemmConvCalls(), `${label}: ran on the GEMM path`).toBe(before + (wino ? 0 : 2));
      expectClose(withoutNativeKernels(() => runG(c, 70 + i)), want, `${label}, no module (XNNPACK)`);
      setGemmConv('off');
      try {
        expectClose(runG(c, 70 + i), want, `${label}, GEMM path off`);
        expect(gemmConvCalls(), `${label}: off`).toBe(before + (wino ? 0 : 2));
      } finally {
        setGemmConv('ours');
      }
    }
  });

  it('gives the same gradients as cpu through a lenet-like 5x5 conv on the GEMM path (forward and the stride-1 input gradient)', async () => {
    await expectGradsAsCpu(11, [3, 14, 14, 6], [5, 5, 6, 16], 'valid', [3, 10, 10, 16], 0.2, () => {
      setGemmConv('ours');
      setConvDirect('off');
    }, gemmConvCalls);
  });

  it('one-channel direct conv (conv_c1_fwd): equals cpu for 3x3 / 5x5 / 7x7, same / valid, odd sizes, 1-13 output channels, on two threads, one, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    type D = { x: [number, number, number, number]; f: number; k: number; pad: 'same' | 'valid'; act: Act };
    const cases: D[] = [
      { x: [3, 28, 28, 1], f: 5, k: 6, pad: 'same', act: 'relu' }, // lenet5's conv1
      { x: [2, 9, 11, 1], f: 3, k: 32, pad: 'valid', act: 'linear' },
      { x: [3, 7, 5, 1], f: 5, k: 13, pad: 'same', act: 'relu6' },
      { x: [2, 6, 6, 1], f: 3, k: 3, pad: 'valid', act: 'none' },
      { x: [1, 4, 3, 1], f: 7, k: 8, pad: 'same', act: 'relu' },
      { x: [20, 5, 9, 1], f: 3, k: 1, pad: 'same', act: 'relu' },
    ];
    const runD = (c: D, seed: number): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w] = c.x;
      const xv = randomValues(nb * h * w, rand, 2).map((v) => v + 0.5), fv = randomValues(c.f * c.f * c.k, rand, Math.sqrt(6 / (c.f * c.f))), bv = randomValues(c.k, rand, 0.5);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), filter = tf.tensor4d(fv, [c.f, c.f, 1, c.k]);
        const y = c.act === 'none' ? tf.conv2d(x, filter, 1, c.pad) : tf.fused.conv2d({ x, filter, bias: tf.tensor1d(bv), strides: 1, pad: c.pad, activation: c.act });
        return y.dataSync() as Float32Array;
      });
    };
    setC1Conv('ours');
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')} ${c.f}x${c.f}->${c.k} ${c.pad} ${c.act}`;
      const want = await onCpu(tf, () => runD(c, 130 + i));
      const before = c1ConvCalls();
      expectCloseOnThreads(native, () => runD(c, 130 + i), want, label);
      expect(c1ConvCalls(), `${label}: ran on the direct path`).toBe(before + 2);
      expectClose(withoutNativeKernels(() => runD(c, 130 + i)), want, `${label}, no module`);
      // LAYERFORGE_CONV_DIRECT=0: conv_c1_fwd (1 row x up to 8 channels) instead of conv_c1q_fwd.
      setConvDirect('off');
      expectCloseOnThreads(native, () => runD(c, 130 + i), want, `${label}, conv_c1_fwd`);
      setConvDirect('auto');
      setC1Conv('off');
      expectClose(runD(c, 130 + i), want, `${label}, direct path off`);
      expect(c1ConvCalls(), `${label}: off`).toBe(before + 4);
      setC1Conv('ours');
    }
    // Not for it: two channels, stride 2, dilation 2.
    const before = c1ConvCalls();
    tf.tidy(() => {
      tf.conv2d(tf.ones([1, 8, 8, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 4]) as tf.Tensor4D, 1, 'same').dataSync();
      tf.conv2d(tf.ones([1, 8, 8, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 4]) as tf.Tensor4D, 2, 'same').dataSync();
      tf.conv2d(tf.ones([1, 8, 8, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 4]) as tf.Tensor4D, 1, 'same', 'NHWC', 2).dataSync();
    });
    expect(c1ConvCalls()).toBe(before);
  });

  it('Conv2DBackpropInput by GEMM + col2im (conv_bpi): equals cpu for 5x5 / 3x3 / 4x4, strides 1 and 2, same / valid, odd sizes, partial tiles, on two threads, one, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    type B = { x: [number, number, number, number]; f: number; k: number; s: number; pad: 'same' | 'valid' };
    const cases: B[] = [
      { x: [3, 14, 14, 6], f: 5, k: 16, s: 1, pad: 'valid' }, // lenet5's conv2
      { x: [2, 28, 28, 1], f: 5, k: 6, s: 1, pad: 'same' },
      { x: [3, 9, 7, 5], f: 5, k: 7, s: 1, pad: 'same' },
      { x: [2, 10, 10, 16], f: 5, k: 6, s: 1, pad: 'valid' },
      { x: [1, 6, 5, 3], f: 3, k: 4, s: 1, pad: 'same' }, // one image: one thread
      { x: [2, 11, 9, 5], f: 3, k: 12, s: 2, pad: 'same' },
      { x: [3, 10, 9, 4], f: 4, k: 8, s: 2, pad: 'valid' },
      { x: [2, 9, 9, 4], f: 5, k: 8, s: 1, pad: 'valid' }, // conv_bpi_valid: one column left, fw·c = 20 (a last block of 8)
    ];
    const runB = (c: B, seed: number): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w, ci] = c.x;
      const info = tf.backend_util.computeConv2DInfo(c.x, [c.f, c.f, ci, c.k], c.s, 1, c.pad);
      const dyv = randomValues(nb * info.outHeight * info.outWidth * c.k, rand, 1), fv = randomValues(c.f * c.f * ci * c.k, rand, 0.3);
      return tf.tidy(() => {
        const dy = tf.tensor4d(dyv, [nb, info.outHeight, info.outWidth, c.k]), filter = tf.tensor4d(fv, [c.f, c.f, ci, c.k]);
        const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', inputShape: [nb, h, w, ci] } as unknown as tf.NamedAttrMap) as tf.Tensor;
        expect(dx.shape).toEqual(c.x);
        return dx.dataSync() as Float32Array;
      });
    };
    setConvInputGrad('ours');
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')} ${c.f}x${c.f}->${c.k} s${c.s} ${c.pad}`;
      const want = await onCpu(tf, () => runB(c, 150 + i));
      const before = inputGradCalls();
      expectCloseOnThreads(native, () => runB(c, 150 + i), want, label);
      expect(inputGradCalls(), `${label}: ran on GEMM + col2im`).toBe(before + 2);
      expectClose(withoutNativeKernels(() => runB(c, 150 + i)), want, `${label}, no module`);
      // Unpadded: conv_bpi_valid (tiles added straight into dx) by default, conv_bpi with LAYERFORGE_CONV_DIRECT=0.
      const { top, left, bottom, right } = tf.backend_util.computeConv2DInfo(c.x, [c.f, c.f, c.x[3], c.k], c.s, 1, c.pad).padInfo;
      const unpadded = top === 0 && left === 0 && bottom === 0 && right === 0;
      const valid0 = inputGradValidCalls();
      setConvDirect('off');
      expectCloseOnThreads(native, () => runB(c, 150 + i), want, `${label}, conv_bpi`);
      expect(inputGradValidCalls(), `${label}: conv_bpi`).toBe(valid0);
      setConvDirect('auto');
      expectClose(runB(c, 150 + i), want, `${label}, again`);
      expect(inputGradValidCalls(), `${label}: conv_bpi_valid where unpadded`).toBe(valid0 + (unpadded ? 1 : 0));
      setConvInputGrad('off');
      expectClose(runB(c, 150 + i), want, `${label}, off`);
      expect(inputGradCalls(), `${label}: off`).toBe(before + 5);
      setConvInputGrad('ours');
    }
    // By default: lenet5's 5x5 shapes, not 3x3 (Winograd's) nor strides.
    setConvInputGrad('auto');
    const before = inputGradCalls();
    runB(cases[0]!, 1);
    expect(inputGradCalls()).toBe(before + 1);
    runB({ x: [2, 8, 8, 16], f: 3, k: 16, s: 1, pad: 'same' }, 2);
    runB(cases[5]!, 3);
    expect(inputGradCalls()).toBe(before + 1);
  });

  it('implicit GEMM (conv_igemm_fwd): equals cpu for unpadded convs, 5x5 / 3x3 / 2x3 / 1x1, strides 1 and 2, partial groups of 4 pixels, bias + linear / relu / relu6, on two threads, one, and without our module', async () => {
    const native = await wasmWithHelper(tf);
    type G = { x: [number, number, number, number]; f: [number, number]; k: number; s: number; pad: 'same' | 'valid'; act: Act };
    const cases: G[] = [
      { x: [3, 14, 14, 6], f: [5, 5], k: 16, s: 1, pad: 'valid', act: 'relu' }, // lenet5's conv2
      { x: [2, 14, 14, 6], f: [5, 5], k: 16, s: 1, pad: 'valid', act: 'none' },
      { x: [2, 9, 11, 5], f: [3, 3], k: 8, s: 2, pad: 'valid', act: 'linear' },
      { x: [3, 7, 8, 4], f: [2, 3], k: 24, s: 1, pad: 'valid', act: 'relu6' },
      { x: [2, 8, 8, 16], f: [1, 1], k: 32, s: 2, pad: 'same', act: 'none' }, // 1x1 stride 2 'same' on even sizes: unpadded
      { x: [1, 5, 7, 3], f: [3, 3], k: 8, s: 1, pad: 'valid', act: 'relu' }, // 15 pixels: one thread, a partial group
    ];
    const runG = (c: G, seed: number): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w, ci] = c.x;
      const taps = c.f[0] * c.f[1] * ci;
      const xv = randomValues(nb * h * w * ci, rand, 2).map((v) => v + 0.5), fv = randomValues(taps * c.k, rand, Math.sqrt(6 / taps)), bv = randomValues(c.k, rand, 0.5);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), filter = tf.tensor4d(fv, [...c.f, ci, c.k]);
        const y = c.act === 'none' ? tf.conv2d(x, filter, c.s, c.pad) : tf.fused.conv2d({ x, filter, bias: tf.tensor1d(bv), strides: c.s, pad: c.pad, activation: c.act });
        return y.dataSync() as Float32Array;
      });
    };
    setConvDirect('ours');
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')} ${c.f.join('x')}->${c.k} s${c.s} ${c.pad} ${c.act}`;
      const want = await onCpu(tf, () => runG(c, 170 + i));
      const before = igemmConvCalls();
      expectCloseOnThreads(native, () => runG(c, 170 + i), want, label);
      expect(igemmConvCalls(), `${label}: ran on the implicit GEMM`).toBe(before + 2);
      expectClose(withoutNativeKernels(() => runG(c, 170 + i)), want, `${label}, no module`);
      setConvDirect('off');
      expectClose(runG(c, 170 + i), want, `${label}, off`);
      expect(igemmConvCalls(), `${label}: off`).toBe(before + 2);
      setConvDirect('ours');
    }
    // By default: lenet5's 5x5 valid conv; not 1x1 (resnet-small's stride-2 shortcut: inconclusive), padded convs, K % 8.
    setConvDirect('auto');
    const before = igemmConvCalls();
    runG(cases[0]!, 1);
    expect(igemmConvCalls()).toBe(before + 1);
    runG(cases[4]!, 2);
    runG({ x: [2, 14, 14, 6], f: [5, 5], k: 16, s: 1, pad: 'same', act: 'relu' }, 3);
    runG({ x: [2, 14, 14, 6], f: [5, 5], k: 12, s: 1, pad: 'valid', act: 'relu' }, 4);
    expect(igemmConvCalls()).toBe(before + 1);
  });

  it('gives the same gradients as cpu through lenet5-like 5x5 convs (one-channel direct forward, GEMM forward, GEMM + col2im input gradient)', async () => {
    await expectGradsAsCpu(12, [3, 14, 14, 1], [5, 5, 1, 6], 'same', [3, 14, 14, 6], 0.3, () => setC1Conv('ours'), c1ConvCalls);
    await expectGradsAsCpu(13, [3, 14, 14, 6], [5, 5, 6, 16], 'valid', [3, 10, 10, 16], 0.2, () => setConvInputGrad('ours'), inputGradCalls);
    // This session's kernels (LAYERFORGE_CONV_DIRECT): conv_c1q_fwd, conv_igemm_fwd, conv_bpi_valid.
    await expectGradsAsCpu(14, [3, 14, 14, 1], [5, 5, 1, 6], 'same', [3, 14, 14, 6], 0.3, () => setConvDirect('ours'), c1ConvCalls);
    await expectGradsAsCpu(15, [3, 14, 14, 6], [5, 5, 6, 16], 'valid', [3, 10, 10, 16], 0.2, () => setConvDirect('ours'), igemmConvCalls);
    await expectGradsAsCpu(16, [3, 14, 14, 6], [5, 5, 6, 16], 'valid', [3, 10, 10, 16], 0.2, () => setConvDirect('auto'), inputGradValidCalls);
  });

  it('conv + 2x2 max pool in one pass (convMaxPool): equals cpu for Winograd and GEMM shapes, odd sizes, on two threads and one; null where it does not apply', async () => {
    setConvPath('auto');
    setGemmConv('auto');
    const native = await wasmWithHelper(tf);
    type P = { x: [number, number, number, number]; f: number; k: number; s: number; pad: 'same' | 'valid'; act: 'linear' | 'relu' | 'relu6'; bias: boolean };
    const cases: P[] = [
      { x: [3, 15, 15, 32], f: 3, k: 64, s: 1, pad: 'valid', act: 'relu', bias: true }, // cifar10-cnn's conv2 (13x13: partial tiles, odd pool)
      { x: [2, 10, 12, 16], f: 3, k: 16, s: 1, pad: 'same', act: 'linear', bias: false },
      { x: [2, 9, 7, 16], f: 3, k: 24, s: 1, pad: 'same', act: 'relu6', bias: true },
      { x: [3, 12, 11, 3], f: 3, k: 32, s: 1, pad: 'valid', act: 'relu', bias: true }, // an image's 3 channels: GEMM
      { x: [2, 9, 9, 1], f: 5, k: 6, s: 1, pad: 'same', act: 'relu', bias: true },
      { x: [2, 11, 11, 8], f: 3, k: 8, s: 2, pad: 'same', act: 'relu', bias: true },
    ];
    const runP = (c: P, seed: number, fused: boolean): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w, ci] = c.x;
      const xv = randomValues(nb * h * w * ci, rand, 2), fv = randomValues(c.f * c.f * ci * c.k, rand, Math.sqrt(6 / (c.f * c.f * ci))), bv = randomValues(c.k, rand, 0.5);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), filter = tf.tensor4d(fv, [c.f, c.f, ci, c.k]), bias = c.bias ? tf.tensor1d(bv) : undefined;
        if (fused) {
          const y = convMaxPool(tf, { x, filter, bias, strides: [c.s, c.s], pad: c.pad, activation: c.act });
          expect(y).not.toBeNull();
          return y!.dataSync() as Float32Array;
        }
        return tf.maxPool(tf.fused.conv2d({ x, filter, bias, strides: c.s, pad: c.pad, activation: c.act }), 2, 2, 'valid').dataSync() as Float32Array;
      });
    };
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')} ${c.f}x${c.f}->${c.k} s${c.s} ${c.pad} ${c.act}`;
      const want = await onCpu(tf, () => runP(c, 90 + i, false));
      expectCloseOnThreads(native, () => runP(c, 90 + i, true), want, label);
      setWinogradTile(2); // F(2x2) has no pooled output loop: the GEMM path pools
      expectClose(runP(c, 90 + i, true), want, `${label}, F(2x2) set`);
      setWinogradTile(4);
    }
    const x = tf.zeros([1, 6, 6, 4]) as tf.Tensor4D, filter = tf.zeros([3, 3, 4, 8]) as tf.Tensor4D;
    setConvPoolFusion(false);
    expect(convMaxPool(tf, { x, filter, strides: [1, 1], pad: 'same', activation: 'relu' })).toBeNull();
    setConvPoolFusion(true);
    expect(convMaxPool(tf, { x, filter, strides: [1, 1], pad: 'same', activation: 'elu' })).toBeNull();
    setConvPath('xnnpack');
    expect(convMaxPool(tf, { x, filter, strides: [1, 1], pad: 'same', activation: 'relu' })).toBeNull();
    setConvPath('auto');
    expect(withoutNativeKernels(() => convMaxPool(tf, { x, filter, strides: [1, 1], pad: 'same', activation: 'relu' }))).toBeNull();
    await tf.setBackend('cpu');
    expect(convMaxPool(tf, { x, filter, strides: [1, 1], pad: 'same', activation: 'relu' })).toBeNull();
    await tf.setBackend('wasm');
    tf.dispose([x, filter]);
  });

  it('conv + residual + ReLU in one pass (convAddRelu, Winograd F(4x4)): equals cpu, partial tiles, two threads and one; null where it does not apply', async () => {
    setConvPath('auto');
    setGemmConv('auto');
    const native = await wasmWithHelper(tf);
    type Q = { x: [number, number, number, number]; k: number; pad: 'same' | 'valid'; bias: boolean };
    const cases: Q[] = [
      { x: [3, 16, 16, 16], k: 16, pad: 'same', bias: true }, // resnet-small's block
      { x: [2, 9, 11, 32], k: 32, pad: 'same', bias: false },
      { x: [2, 11, 13, 16], k: 24, pad: 'valid', bias: true },
    ];
    const runQ = (c: Q, seed: number, fused: boolean): Float32Array => {
      const rand = seededRandom(seed);
      const [nb, h, w, ci] = c.x;
      const oh = c.pad === 'same' ? h : h - 2, ow = c.pad === 'same' ? w : w - 2;
      const xv = randomValues(nb * h * w * ci, rand, 2), fv = randomValues(9 * ci * c.k, rand, Math.sqrt(6 / (9 * ci))), bv = randomValues(c.k, rand, 0.5), rv = randomValues(nb * oh * ow * c.k, rand, 2);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, c.x), filter = tf.tensor4d(fv, [3, 3, ci, c.k]), bias = c.bias ? tf.tensor1d(bv) : undefined, residual = tf.tensor4d(rv, [nb, oh, ow, c.k]);
        if (fused) {
          const y = convAddRelu(tf, { x, filter, bias, strides: [1, 1], pad: c.pad, residual });
          expect(y).not.toBeNull();
          return y!.dataSync() as Float32Array;
        }
        return tf.relu(tf.add(tf.fused.conv2d({ x, filter, bias, strides: 1, pad: c.pad }), residual)).dataSync() as Float32Array;
      });
    };
    for (const [i, c] of cases.entries()) {
      const label = `${c.x.join('x')}->${c.k} ${c.pad}`;
      const want = await onCpu(tf, () => runQ(c, 110 + i, false));
      const before = winogradCalls();
      expectCloseOnThreads(native, () => runQ(c, 110 + i, true), want, label);
      expect(winogradCalls(), label).toBe(before + 2);
    }
    const x = tf.zeros([1, 6, 6, 16]) as tf.Tensor4D, filter = tf.zeros([3, 3, 16, 16]) as tf.Tensor4D, residual = tf.zeros([1, 6, 6, 16]);
    const args = { x, filter, strides: [1, 1] as [number, number], pad: 'same' as const, residual };
    expect(convAddRelu(tf, { ...args, strides: [2, 2] })).toBeNull();
    expect(convAddRelu(tf, { ...args, residual: tf.zeros([1, 6, 6, 8]) })).toBeNull();
    setConvResidualFusion(false);
    expect(convAddRelu(tf, args)).toBeNull();
    setConvResidualFusion(true);
    setWinogradTile(2);
    expect(convAddRelu(tf, args)).toBeNull();
    setWinogradTile(4);
    setConvPath('xnnpack');
    expect(convAddRelu(tf, args)).toBeNull();
    setConvPath('auto');
    const y = convAddRelu(tf, args);
    expect(y).not.toBeNull();
    tf.dispose([x, filter, residual, y!]);
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
