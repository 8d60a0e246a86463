import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { originalCpuConvFilterKernel, registerCpuKernels } from './cpuKernels';
import { seededRandom } from './inventory';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCpuKernels(tf);
  registerCpuKernels(tf); // idempotent
});
afterEach(() => {
  delete process.env.LAYERFORGE_CPU_KERNELS;
});

function rand(shape: number[], r: () => number, relu = false): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r() * 2 - 1;
    v[i] = relu ? Math.max(0, u) : u;
  }
  return tf.tensor(v, shape);
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  k: number;
  f: number;
  s: number | [number, number];
  pad: Pad;
  relu?: boolean;
}

// 1x1 / 3x3 / 5x5 (and non-square) kernels, strides 1 and 2, odd sizes, same / valid / explicit,
// batch 1 and several, 1..16 channels.
const CASES: Case[] = [
  { x: [1, 5, 5, 1], k: 3, f: 1, s: 1, pad: 'same' },
  { x: [1, 5, 5, 1], k: 3, f: 2, s: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], k: 3, f: 8, s: 1, pad: 'same', relu: true },
  { x: [3, 9, 7, 3], k: 5, f: 6, s: 1, pad: 'valid' },
  { x: [2, 11, 11, 4], k: 5, f: 16, s: 2, pad: 'same' },
  { x: [2, 10, 10, 8], k: 3, f: 16, s: 2, pad: 'same', relu: true },
  { x: [4, 9, 9, 16], k: 1, f: 8, s: 1, pad: 'valid' },
  { x: [2, 9, 9, 16], k: 1, f: 16, s: 2, pad: 'same' },
  { x: [1, 13, 6, 5], k: 3, f: 7, s: [2, 1], pad: 'valid' },
  { x: [3, 8, 8, 2], k: 5, f: 3, s: 2, pad: 'valid' },
  { x: [2, 6, 7, 3], k: 3, f: 4, s: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 3, 3, 16], k: 5, f: 16, s: 1, pad: 'same' },
  { x: [5, 12, 12, 6], k: 3, f: 12, s: 1, pad: 'same', relu: true },
];

function filterGrad(x: tf.Tensor, dy: tf.Tensor, filterShape: number[], strides: number | [number, number], pad: Pad, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): tf.Tensor {
  // tfjs does not export conv2DBackpropFilter as an op: run the kernel as its gradient does.
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat, filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function outShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [c.k, c.k, c.x[3], c.f], c.s, 1, c.pad as 'same', undefined, false, 'channelsLast');
  return info.outShape;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
}

async function both(c: Case, seed: number): Promise<{ ours: Float32Array; ref: Float32Array }> {
  const r = seededRandom(seed);
  const x = rand(c.x, r, c.relu);
  const dy = rand(outShape(c), r);
  const fs: [number, number, number, number] = [c.k, c.k, c.x[3], c.f];
  const ours = filterGrad(x, dy, fs, c.s, c.pad);
  process.env.LAYERFORGE_CPU_KERNELS = '0';
  const ref = filterGrad(x, dy, fs, c.s, c.pad);
  delete process.env.LAYERFORGE_CPU_KERNELS;
  expect(ours.shape).toEqual(fs);
  expect(ref.shape).toEqual(fs);
  const out = { ours: (await ours.data()) as Float32Array, ref: (await ref.data()) as Float32Array };
  tf.dispose([x, dy, ours, ref]);
  return out;
}

describe('cpu Conv2DBackpropFilter', () => {
  it('replaces tfjs kernel and keeps the original', () => {
    expect(originalCpuConvFilterKernel()).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc).not.toBe(originalCpuConvFilterKernel()!.kernelFunc);
  });

  for (const [i, c] of CASES.entries()) {
    it(`x ${c.x.join('x')} k${c.k} f${c.f} s${String(c.s)} ${typeof c.pad === 'string' ? c.pad : 'explicit'}`, async () => {
      const { ours, ref } = await both(c, 100 + i);
      expect(relErr(ours, ref)).toBeLessThan(1e-5);
    });
  }

  it('matches a naive loop (independent of tfjs)', async () => {
    const c: Case = { x: [2, 7, 8, 3], k: 3, f: 5, s: 2, pad: 'same' };
    const r = seededRandom(7);
    const x = rand(c.x, r);
    const os = outShape(c);
    const dy = rand(os, r);
    const got = (await filterGrad(x, dy, [3, 3, 3, 5], 2, 'same').data()) as Float32Array;
    const xv = (await x.data()) as Float32Array;
    const dyv = (await dy.data()) as Float32Array;
    const [N, H, W, C] = c.x;
    const [, OH, OW, F] = os;
    // 'same', stride 2, k 3: total pad = max((OH-1)*2+3-H, 0), top = floor(total/2).
    const pt = Math.floor(Math.max((OH - 1) * 2 + 3 - H, 0) / 2);
    const pl = Math.floor(Math.max((OW - 1) * 2 + 3 - W, 0) / 2);
    const want = new Float32Array(3 * 3 * C * F);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (let ci = 0; ci < C; ci++)
          for (let f = 0; f < F; f++) {
            let s = 0;
            for (let b = 0; b < N; b++)
              for (let yr = 0; yr < OH; yr++)
                for (let yc = 0; yc < OW; yc++) {
                  const xr = yr * 2 - pt + i;
                  const xc = yc * 2 - pl + j;
                  if (xr < 0 || xr >= H || xc < 0 || xc >= W) continue;
                  s += xv[((b * H + xr) * W + xc) * C + ci]! * dyv[((b * OH + yr) * OW + yc) * F + f]!;
                }
            want[((i * 3 + j) * C + ci) * F + f] = s;
          }
    expect(relErr(got, want)).toBeLessThan(1e-5);
    tf.dispose([x, dy]);
  });

  it('NCHW goes to tfjs kernel', async () => {
    const r = seededRandom(3);
    const x = rand([2, 3, 6, 6], r);
    const dy = rand([2, 4, 6, 6], r);
    const w = filterGrad(x, dy, [3, 3, 3, 4], 1, 'same', 'NCHW');
    expect(w.shape).toEqual([3, 3, 3, 4]);
    tf.dispose([x, dy, w]);
  });

  it('gives the same gradient through a conv layer (tf.grad)', async () => {
    const r = seededRandom(11);
    const x = rand([3, 10, 10, 4], r);
    const w = rand([3, 3, 4, 8], r);
    const g = tf.grad((ww: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same').square().sum());
    const ours = (await g(w).data()) as Float32Array;
    process.env.LAYERFORGE_CPU_KERNELS = '0';
    const ref = (await g(w).data()) as Float32Array;
    expect(relErr(ours, ref)).toBeLessThan(1e-5);
    tf.dispose([x, w]);
  });

  it('a small convnet has the same gradients for every weight', async () => {
    const r = seededRandom(21);
    const x = rand([4, 12, 12, 3], r);
    const w1 = tf.variable(rand([5, 5, 3, 8], r).mul(0.3));
    const w2 = tf.variable(rand([3, 3, 8, 16], r).mul(0.3));
    const w3 = tf.variable(rand([1, 1, 16, 4], r).mul(0.3));
    const loss = () => {
      const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same'));
      const h2 = tf.relu(tf.conv2d(h1, w2 as tf.Tensor4D, 2, 'valid'));
      return tf.conv2d(h2, w3 as tf.Tensor4D, 1, 'same').square().mean() as tf.Scalar;
    };
    const grads = async () => {
      const { grads: g } = tf.variableGrads(loss);
      const out = await Promise.all([w1, w2, w3].map(async (v) => (await g[v.name]!.data()) as Float32Array));
      tf.dispose(Object.values(g));
      return out;
    };
    const ours = await grads();
    process.env.LAYERFORGE_CPU_KERNELS = '0';
    const ref = await grads();
    for (let i = 0; i < 3; i++) expect(relErr(ours[i]!, ref[i]!)).toBeLessThan(1e-5);
    tf.dispose([x, w1, w2, w3]);
  });
});
