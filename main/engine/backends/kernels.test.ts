import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelInventory, randomValues, seededRandom, trainingCases, type CaseResult } from './inventory';
import { SUPPLIED_KERNELS, setGemmHelperMin, setMaxPoolGradTiledEnabled, setPackedGemmEnabled, setReduceMiddleEnabled } from './kernels';
import * as v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { NATIVE_MODULES } from './native/modules';
import { heapOffset, nativeKernels, nativeVariantChoice, setNativeKernelsEnabled, type WasmBackendInternals } from './native';
import * as kernelsWasm from './native/kernelsWasm';
import * as lossActWasm from './native/lossActWasm';
import { initWasmBackend, type WasmSetup } from './wasm';

let setup: WasmSetup;

beforeAll(async () => {
  setup = await initWasmBackend(tf, wasm);
});

/** Runs f on a backend with inputs made there from the same numbers; returns plain arrays. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array }[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const res = list.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  tf.dispose(list);
  return res;
}

/**
 * max |a-b| <= tol * max(max|b|, 1e-3): relative to the magnitude of the reference tensor (the
 * floor keeps gradients that are mathematically zero, e.g. a bias before batch norm, from failing
 * on float noise of 1e-8).
 */
function expectClose(actual: { shape: number[]; values: Float32Array }, expected: { shape: number[]; values: Float32Array }, label: string, tol = 1e-4): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  let scale = 1e-3;
  for (const v of expected.values) scale = Math.max(scale, Math.abs(v));
  let worst = 0, bad = -1;
  for (let i = 0; i < expected.values.length; i++) {
    const a = actual.values[i]!;
    if (bad < 0 && !Number.isFinite(a)) bad = i;
    worst = Math.max(worst, Math.abs(a - expected.values[i]!));
  }
  // One expect per check, not one per element (each costs microseconds and its message a string).
  expect(bad, `${label}: element ${bad} is ${actual.values[bad]}`).toBe(-1);
  expect(worst / scale, `${label}: max abs diff ${worst} vs scale ${scale}`).toBeLessThanOrEqual(tol);
}

function t4(shape: [number, number, number, number], seed: number): () => tf.Tensor4D {
  const values = randomValues(shape.reduce((a, b) => a * b, 1), seededRandom(seed));
  return () => tf.tensor4d(values, shape);
}

async function compare(label: string, f: () => tf.Tensor | tf.Tensor[], reference?: { shape: number[]; values: Float32Array }[]): Promise<void> {
  const want = reference ?? (await on('cpu', f));
  const got = await on('wasm', f);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expectClose(g, want[i]!, `${label}[${i}]`));
}

describe('wasm backend setup', () => {
  it('uses SIMD and reports its threads', () => {
    expect(setup.simd).toBe(true);
    expect(setup.threads).toBeGreaterThanOrEqual(1);
    expect(wasm.getThreadsCount()).toBe(setup.threads);
  });

  it('registers every supplied kernel for wasm', () => {
    for (const k of SUPPLIED_KERNELS) expect(tf.getKernel(k.name, 'wasm'), k.name).toBeDefined();
  });
});

// With our wasm module, filters of up to DIRECT_FILTER_GRAD_MAX_ROWS rows take its direct path and
// the rest XNNPACK's; without it every case takes XNNPACK's.
for (const native of [true, false]) {
  describe(`Conv2DBackpropFilter / Conv2DBackpropInput match cpu (${native ? 'wasm module' : 'no module'})`, () => {
    beforeAll(() => setNativeKernelsEnabled(native));
    afterAll(() => setNativeKernelsEnabled(true));
    const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: 'valid' | 'same' | number }> = [
      { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
      { x: [2, 8, 7, 2], f: [3, 3, 2, 3], s: 2, pad: 'same' },
      { x: [1, 9, 9, 3], f: [5, 5, 3, 2], s: 2, pad: 'valid' },
      { x: [3, 6, 5, 4], f: [2, 3, 4, 5], s: [1, 2], pad: 'same' },
      { x: [2, 10, 10, 2], f: [3, 3, 2, 2], s: 3, pad: 1 },
      { x: [2, 5, 5, 6], f: [1, 1, 6, 4], s: 1, pad: 'valid' },
      { x: [4, 12, 12, 3], f: [3, 3, 3, 8], s: 1, pad: 'same' },
      { x: [3, 11, 11, 1], f: [5, 5, 1, 6], s: 2, pad: 'same' },
      { x: [2, 9, 9, 3], f: [3, 3, 3, 32], s: 2, pad: 'valid' },
    ];
    for (const c of cases) {
      const name = `x${c.x.join('x')} f${c.f.join('x')} s${String(c.s)} ${String(c.pad)}`;
      it(name, async () => {
        const x = t4(c.x, 1);
        const w = t4(c.f, 2);
        const outShape = tf.tidy(() => tf.conv2d(x(), w(), c.s, c.pad).shape) as [number, number, number, number];
        const dy = t4(outShape, 3);
        // conv2d's gradient calls Conv2DBackpropFilter for the filter and Conv2DBackpropInput for x.
        await compare(`grads ${name}`, () => [
          tf.grad((f: tf.Tensor) => tf.conv2d(x(), f as tf.Tensor4D, c.s, c.pad).mul(dy()).sum())(w()),
          tf.grad((xx: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, w(), c.s, c.pad).mul(dy()).sum())(x()),
        ]);
        await compare(`conv2dTranspose ${name}`, () => tf.conv2dTranspose(dy(), w(), c.x, c.s, c.pad));
      });
    }
  });
}

describe('depthwise gradients match cpu', () => {
  const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: 'valid' | 'same' }> = [
    { x: [2, 7, 7, 3], f: [3, 3, 3, 1], s: 1, pad: 'same' },
    { x: [2, 8, 8, 2], f: [3, 3, 2, 2], s: 2, pad: 'valid' },
    { x: [1, 9, 7, 4], f: [5, 3, 4, 3], s: 2, pad: 'same' },
  ];
  for (const c of cases) {
    const name = `x${c.x.join('x')} f${c.f.join('x')} s${c.s} ${c.pad}`;
    it(name, async () => {
      const x = t4(c.x, 4);
      const w = t4(c.f, 5);
      const outShape = tf.tidy(() => tf.depthwiseConv2d(x(), w(), c.s, c.pad).shape) as [number, number, number, number];
      const dy = t4(outShape, 6);
      await compare(`depthwise ${name}`, () => {
        const loss = (xx: tf.Tensor, ww: tf.Tensor) => tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad).mul(dy()).sum();
        return tf.grads(loss)([x(), w()]);
      });
    });
  }
});

describe('UnsortedSegmentSum and BatchMatMul match cpu', () => {
  it('unsortedSegmentSum sums duplicate ids', async () => {
    const rand = seededRandom(8);
    const x = randomValues(6 * 5, rand);
    const ids = [3, 0, 3, 2, 0, 3];
    await compare('unsortedSegmentSum', () => tf.unsortedSegmentSum(tf.tensor2d(x, [6, 5]), tf.tensor1d(ids, 'int32'), 5));
    await compare('unsortedSegmentSum 1-d', () => tf.unsortedSegmentSum(tf.tensor1d(x.slice(0, 6)), tf.tensor1d(ids, 'int32'), 4));
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matMul transposeA=${ta} transposeB=${tb}`, async () => {
      const rand = seededRandom(9);
      const a = randomValues(7 * 5, rand);
      const b = randomValues(5 * 6, rand);
      await compare('matMul', () => tf.matMul(tf.tensor2d(a, ta ? [5, 7] : [7, 5]), tf.tensor2d(b, tb ? [6, 5] : [5, 6]), ta, tb));
    });
  }

  it('matMul a·bᵀ with a small a (a dense layer\'s input gradient) takes the (b·aᵀ)ᵀ path and matches', async () => {
    const rand = seededRandom(11);
    const a = randomValues(3 * 5, rand);
    const b = randomValues(40 * 5, rand);
    await compare('a·bT small a', () => tf.matMul(tf.tensor2d(a, [3, 5]), tf.tensor2d(b, [40, 5]), false, true));
    await compare('batched a·bT small a', () => tf.matMul(tf.tensor3d(Array.from(a).concat(Array.from(a)), [2, 3, 5]), tf.tensor2d(b, [40, 5]), false, true));
  });

  it('batched matMul (broadcast and per-batch right-hand side)', async () => {
    const rand = seededRandom(10);
    const a = randomValues(3 * 4 * 5, rand);
    const b = randomValues(3 * 5 * 2, rand);
    await compare('batched a, shared b', () => tf.matMul(tf.tensor3d(a, [3, 4, 5]), tf.tensor2d(b.slice(0, 10), [5, 2])));
    await compare('batched a and b', () => tf.matMul(tf.tensor3d(a, [3, 4, 5]), tf.tensor3d(b, [3, 5, 2])));
    await compare('batched, transposed', () => tf.matMul(tf.tensor3d(a, [3, 4, 5]), tf.tensor3d(b, [3, 2, 5]), false, true));
  });
});

describe('our GEMM (native/kernels.c gemm) matches cpu for every transpose, tail and batch layout', () => {
  // Sizes cross the kernel's blocks: rows in 4s and blocks of 64, columns in strips of 8 and 4, the
  // reduction in slices of 256; large enough that the helper thread splits rows or batches.
  const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [37, 29, 13], [70, 21, 300], [8, 128, 32], [130, 9, 520]];
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`m=${m} n=${n} k=${k} transposeA=${ta} transposeB=${tb}, single, batched, shared sides`, async () => {
        const rand = seededRandom(m * 1000 + n * 10 + k);
        const batch = 3;
        const a = randomValues(batch * m * k, rand);
        const b = randomValues(batch * k * n, rand);
        const aShape = (bs: number[]) => [...bs, ...(ta ? [k, m] : [m, k])];
        const bShape = (bs: number[]) => [...bs, ...(tb ? [n, k] : [k, n])];
        const one = (v: Float32Array, s: number[]) => tf.tensor(v.subarray(0, s.reduce((x, y) => x * y, 1)), s);
        await compare('single', () => tf.matMul(one(a, aShape([])), one(b, bShape([])), ta, tb));
        await compare('batched both', () => tf.matMul(one(a, aShape([batch])), one(b, bShape([batch])), ta, tb));
        await compare('shared b', () => tf.matMul(one(a, aShape([batch])), one(b, bShape([])), ta, tb));
        await compare('shared a', () => tf.matMul(one(a, aShape([])), one(b, bShape([batch])), ta, tb));
        await compare('4-d, broadcast batch', () => tf.matMul(one(a, aShape([1, batch])), one(b, bShape([batch])), ta, tb));
      });
    }
  }
});

// The packed GEMM (gemm_pk): B packed per block of 256 columns x 256 reduction steps into panels of 8,
// bias and relu / relu6 in the store; two threads split rows, columns (wide, short outputs) or batches.
// Each case runs on two threads, one, with the packed GEMM off (plain gemm + bias_act) and without our module.
describe('the packed GEMM (native/kernels.c gemm_pk) matches cpu: blocks, tails, thread splits, epilogue', () => {
  type Mode = 'two threads' | 'one thread' | 'packed off' | 'no module';
  // (Without our module, tfjs's own _FusedMatMul runs, which differs from cpu with transposed operands and
  // with a batched a and [1, k, n] weights: those cases skip that mode.)
  async function inModes(label: string, f: () => tf.Tensor | tf.Tensor[], modes: Mode[] = ['two threads', 'one thread', 'packed off', 'no module']): Promise<void> {
    await tf.setBackend('wasm');
    const native = nativeKernels(tf.backend())!;
    for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
    const helper = native.helper;
    const helperMin = setGemmHelperMin(1);
    // The cpu reference once for all modes (the cpu backend's products dominate this test's time).
    const want = await on('cpu', f);
    try {
      for (const mode of modes) {
        if (mode === 'one thread') (native as { helper: unknown }).helper = null;
        if (mode === 'packed off') setPackedGemmEnabled(false);
        if (mode === 'no module') setNativeKernelsEnabled(false);
        try {
          await compare(`${label} (${mode})`, f, want);
        } finally {
          (native as { helper: unknown }).helper = helper;
          setPackedGemmEnabled(true);
          setNativeKernelsEnabled(true);
        }
      }
    } finally {
      setGemmHelperMin(helperMin);
    }
  }
  // m, n, k: rows not a multiple of 4, columns past one 256-block and not a multiple of 8, the reduction
  // past one 256-block; wide and short (the column split) and tall and narrow (the row split).
  const shapes: [number, number, number][] = [[37, 29, 13], [30, 266, 280], [130, 9, 520], [20, 300, 50], [4, 40, 600], [257, 8, 16], [6, 3, 1030]];
  for (const [m, n, k] of shapes) {
    it(`m=${m} n=${n} k=${k}, every transpose, single and batched`, async () => {
      const rand = seededRandom(m * 7 + n * 3 + k);
      const batch = 2;
      const a = randomValues(batch * m * k, rand), b = randomValues(batch * k * n, rand);
      const one = (v: Float32Array, s: number[]) => tf.tensor(v.subarray(0, s.reduce((x, y) => x * y, 1)), s);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const aShape = (bs: number[]) => [...bs, ...(ta ? [k, m] : [m, k])];
        const bShape = (bs: number[]) => [...bs, ...(tb ? [n, k] : [k, n])];
        await inModes(`single ta=${ta} tb=${tb}`, () => tf.matMul(one(a, aShape([])), one(b, bShape([])), ta, tb));
        await inModes(`batched ta=${ta} tb=${tb}`, () => tf.matMul(one(a, aShape([batch])), one(b, bShape([batch])), ta, tb));
        await inModes(`shared b ta=${ta} tb=${tb}`, () => tf.matMul(one(a, aShape([batch])), one(b, bShape([])), ta, tb));
      }
    });
  }
  for (const activation of ['linear', 'relu', 'relu6'] as const) {
    it(`fused matMul with a bias and ${activation} in the store (rows and columns split, both transposes)`, async () => {
      const rand = seededRandom(activation.length * 31);
      for (const [m, n, k] of [[75, 43, 70], [18, 300, 40], [260, 12, 300]] as const) {
        const a = randomValues(m * k, rand), w = randomValues(k * n, rand), bias = randomValues(n, rand);
        for (const [ta, tb] of [[false, false], [true, true], [false, true]] as const)
          await inModes(`${m}x${n}x${k} ta=${ta} tb=${tb}`, () =>
            tf.fused.matMul({ a: tf.mul(tf.tensor2d(a, ta ? [k, m] : [m, k]), 3), b: tf.tensor2d(w, tb ? [n, k] : [k, n]), transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation }),
          ta || tb ? ['two threads', 'one thread', 'packed off'] : undefined);
        await inModes(`${m}x${n}x${k} batched, shared weights`, () =>
          tf.fused.matMul({ a: tf.mul(tf.tensor3d(a.subarray(0, Math.floor(m / 2) * 2 * k), [2, Math.floor(m / 2), k]), 3), b: tf.tensor3d(w, [1, k, n]), bias: tf.tensor1d(bias), activation }),
        ['two threads', 'one thread', 'packed off']);
      }
    });
  }
});

describe('GatherV2 (embedding lookup: block copies of rows) matches cpu', () => {
  it('rows of 1-d, 2-d and 3-d tables by 1-d and 2-d indices, repeated ids; other axes and dtypes still work', async () => {
    const rand = seededRandom(21);
    const table = randomValues(9 * 4 * 3, rand);
    const ids = [3, 0, 8, 3, 3, 1];
    await compare('2-d table', () => tf.gather(tf.tensor2d(table.subarray(0, 36), [9, 4]), tf.tensor1d(ids, 'int32')));
    await compare('3-d table, 2-d ids', () => tf.gather(tf.tensor3d(table, [9, 4, 3]), tf.tensor2d(ids, [2, 3], 'int32')));
    await compare('1-d table', () => tf.gather(tf.tensor1d(table.subarray(0, 9)), tf.tensor1d(ids, 'int32')));
    await compare('axis 1 (tfjs kernel)', () => tf.gather(tf.tensor2d(table.subarray(0, 36), [9, 4]), tf.tensor1d([3, 0, 1], 'int32'), 1));
    await compare('int32 table (tfjs kernel)', () => tf.cast(tf.gather(tf.tensor2d(ids.concat(ids), [6, 2], 'int32'), tf.tensor1d([5, 0], 'int32')), 'float32'));
  });

  it('an index out of range is an error naming it, not garbage', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([0, 2], 'int32')).dataSync())).toThrow(/index value 2 is not in \[0, 1\]/);
  });
});

// A 1-d bias with linear / relu / relu6 takes our module's in-place bias_act pass after our GEMM. (Without
// the module tfjs's own kernel runs, which differs from cpu with transposed operands: not tested here.)
describe('fused matMul (a dense layer: product + bias + activation) matches cpu', () => {
  for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu', 'prelu'] as const) {
    it(`activation ${activation}, with and without bias, 2-d and batched, transposed`, async () => {
      const rand = seededRandom(activation.length * 17);
      const a = randomValues(2 * 37 * 20, rand), b = randomValues(20 * 11, rand), bias = randomValues(11, rand), alpha = randomValues(11, rand);
      const extra = activation === 'prelu' ? { preluActivationWeights: tf.tensor1d(alpha) } : {};
      const mm = (x: tf.Tensor, w: tf.Tensor, ta: boolean, tb: boolean, withBias: boolean) =>
        tf.fused.matMul({ a: x, b: w, transposeA: ta, transposeB: tb, ...(withBias ? { bias: tf.tensor1d(bias) } : {}), activation, ...extra, ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.1 } : {}) });
      for (const withBias of [true, false]) {
        await compare('2-d', () => mm(tf.tensor2d(a.subarray(0, 37 * 20), [37, 20]), tf.tensor2d(b, [20, 11]), false, false, withBias));
        await compare('2-d, both transposed', () => mm(tf.tensor2d(a.subarray(0, 37 * 20), [20, 37]), tf.tensor2d(b, [11, 20]), true, true, withBias));
        await compare('batched, shared weights', () => mm(tf.tensor3d(a, [2, 37, 20]), tf.tensor3d(b, [1, 20, 11]), false, false, withBias));
        // Rows enough for the helper thread to take half of the product; values around relu6's cap.
        await compare('74 x 10 x 20, scaled', () => mm(tf.mul(tf.tensor2d(a, [74, 20]), 4), tf.tensor2d(b, [20, 11]), false, false, withBias));
      }
    });
  }
});

describe('our wasm module (native/kernels.c) loads onto the tfjs heap', () => {
  it('is instantiated on the live wasm backend, with its helper thread on the threaded build', async () => {
    await tf.setBackend('wasm');
    const k = nativeKernels(tf.backend());
    expect(k).not.toBeNull();
    if (setup.build !== 'threaded-simd') return;
    for (let i = 0; i < 100 && !k!.helper?.ready; i++) await new Promise((r) => setTimeout(r, 20));
    expect(k!.helper?.ready).toBe(true);
  });

  it('the filter gradient and MaxPoolGrad split over two threads equal the single-threaded ones, exactly', async () => {
    await tf.setBackend('wasm');
    const k = nativeKernels(tf.backend())!;
    if (!k.helper) return;
    for (let i = 0; i < 100 && !k.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
    const helper = k.helper;
    for (const c of [{ x: [4, 9, 9, 3], f: [3, 3, 3, 32] }, { x: [3, 8, 8, 7], f: [3, 3, 7, 20] }, { x: [2, 6, 6, 1], f: [1, 1, 1, 5] }]) {
      const x = tf.tensor4d(randomValues(c.x.reduce((a, b) => a * b, 1), seededRandom(41)), c.x as [number, number, number, number]);
      const grad = () => tf.grad((w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').square().sum())(tf.ones(c.f)).dataSync();
      const two = grad();
      (k as { helper: unknown }).helper = null;
      const one = grad();
      (k as { helper: unknown }).helper = helper;
      expect(Array.from(two), c.f.join('x')).toEqual(Array.from(one));
      x.dispose();
    }
    // The ReLU gradient splits large tensors in two element ranges.
    {
      const n = 70_001;
      const vals = randomValues(n, seededRandom(43)).map((v, i) => (i % 7 === 0 ? 0 : v));
      const dy = randomValues(n, seededRandom(44));
      const grad = () => tf.grad((t: tf.Tensor) => tf.relu(t).mul(tf.tensor1d(dy)).sum())(tf.tensor1d(vals)).dataSync();
      const two = grad();
      (k as { helper: unknown }).helper = null;
      const one = grad();
      (k as { helper: unknown }).helper = helper;
      expect(Array.from(two)).toEqual(Array.from(one));
      expect(Array.from(one.slice(n - 5))).toEqual(Array.from(vals.slice(n - 5), (v, i) => dy[n - 5 + i]! * (v > 0 ? 1 : 0)));
    }
    // MaxPoolGrad splits the batch.
    for (const shape of [[5, 6, 6, 8], [2, 7, 7, 3], [1, 4, 4, 4]] as [number, number, number, number][]) {
      const x = tf.tensor4d(randomValues(shape.reduce((a, b) => a * b, 1), seededRandom(42)), shape);
      const grad = () => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'same').square().sum())(x).dataSync();
      const two = grad();
      (k as { helper: unknown }).helper = null;
      const one = grad();
      (k as { helper: unknown }).helper = helper;
      expect(Array.from(two), shape.join('x')).toEqual(Array.from(one));
      expect(one.some((v) => v !== 0)).toBe(true);
      x.dispose();
    }
  });
});

describe('the relaxed-SIMD (FMA) build of native/kernels.c', () => {
  it('is the build loaded where the runtime validates relaxed SIMD (Node 20: V8 flag set by index.ts), the plain one with LAYERFORGE_NATIVE_RELAXED=0', async () => {
    await tf.setBackend('wasm');
    const k = nativeKernels(tf.backend())!;
    const choice = nativeVariantChoice();
    expect(k.variant).toBe(choice.variant);
    expect(k.variant, choice.reason).toBe(process.env.LAYERFORGE_NATIVE_RELAXED === '0' ? 'plain' : 'relaxed');
    // every module whose C file opts in (the marker line build.mjs reads), and only those
    const optedIn = NATIVE_MODULES.map((m) => m.name).filter((name) => /^\/\/ layerforge: relaxed-simd\s*$/m.test(readFileSync(new URL(`./native/${name}.c`, import.meta.url), 'utf8')));
    expect(optedIn).toContain('kernels');
    expect(k.relaxedModules).toEqual(k.variant === 'relaxed' ? optedIn : []);
    expect(k.variantReason.length).toBeGreaterThan(0);
  });

  it('gives the plain build\'s results to float rounding (gemm, filter gradient, GELU and its gradient, attention softmax)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const internals = backend as unknown as WasmBackendInternals;
    const memory = internals.wasm.wasmMemory ?? internals.wasm.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('no wasm memory');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = (b64: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(b64, 'base64'));
    const relaxedBytes = bytes(shared ? kernelsWasm.WASM_SHARED_RELAXED : kernelsWasm.WASM_PLAIN_RELAXED);
    if (!WebAssembly.validate(relaxedBytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    const load = (b: Uint8Array<ArrayBuffer>) => new WebAssembly.Instance(new WebAssembly.Module(b), { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
    const builds = { plain: load(bytes(shared ? kernelsWasm.WASM_SHARED : kernelsWasm.WASM_PLAIN)), relaxed: load(relaxedBytes) };
    // GELU lives in lossAct.c (its exp is simd.h's exp4_le0): both of its builds too.
    const lossBuilds = { plain: load(bytes(shared ? lossActWasm.WASM_SHARED : lossActWasm.WASM_PLAIN)), relaxed: load(bytes(shared ? lossActWasm.WASM_SHARED_RELAXED : lossActWasm.WASM_PLAIN_RELAXED)) };
    const held: tf.Tensor[] = [];
    const heap = (values: Float32Array): number => {
      const t = tf.tensor1d(values);
      held.push(t);
      return heapOffset(backend, t.dataId);
    };
    const random = (n: number, seed: number) => randomValues(n, seededRandom(seed));
    /** Runs name on both builds into a fresh output of n floats and compares them (1e-5 of the output's scale). */
    const same = (label: string, name: string, n: number, args: (out: number) => number[], module: typeof builds = builds) => {
      const outs = (['plain', 'relaxed'] as const).map((build) => {
        const out = tf.tensor1d(new Float32Array(n));
        held.push(out);
        module[build][name]!(...args(heapOffset(backend, out.dataId)));
        return out.dataSync() as Float32Array;
      });
      expectClose({ shape: [n], values: outs[1]! }, { shape: [n], values: outs[0]! }, `${label}: relaxed vs plain`, 1e-5);
    };
    try {
      // gemm: a reduction longer than one 256 slice, row and column tails, transposes, two batches.
      const [m, n, k] = [37, 45, 300];
      const a = heap(random(2 * m * k, 1)), b = heap(random(2 * k * n, 2)), pack = heap(new Float32Array(k * n));
      for (const [ta, tb] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        same(`gemm ta=${ta} tb=${tb}`, 'gemm', 2 * m * n, (c) => [a, b, c, pack, m, n, k, ta, tb, m * k, k * n, 0, 2, 0, m]);
      }
      // conv2d_filter_grad: x [2,9,9,5], dy [2,9,9,21] (3x3, same padding): 16-wide, 4-wide and scalar filter tails.
      const x = heap(random(2 * 9 * 9 * 5, 3)), dy = heap(random(2 * 9 * 9 * 21, 4));
      same('conv2d_filter_grad', 'conv2d_filter_grad', 3 * 3 * 5 * 21, (dw) => [x, dy, dw, 2, 9, 9, 5, 9, 9, 21, 3, 3, 1, 1, 1, 1, 1, 1, 0, 45, 1]);
      // GELU and its gradient (polynomials), 1,003 elements (a 3-element tail); attention softmax (exp), causal.
      const g = heap(random(1003, 5).map((v) => 8 * v)), gy = heap(random(1003, 6));
      same('act_gelu', 'act_gelu', 1003, (y) => [g, y, 1003], lossBuilds);
      same('act_gelu_grad', 'act_gelu_grad', 1003, (dx) => [g, gy, dx, 1003], lossBuilds);
      const scaleBits = new Int32Array(new Float32Array([0.25]).buffer)[0]!;
      same('attention_softmax', 'attention_softmax', 8 * 16, (y) => [g, y, 16, scaleBits, 1, 8, 0, 8]);
    } finally {
      tf.dispose(held);
    }
  });
});

// Every pooling / reduction case runs twice: with our wasm module (native) and with the JavaScript
// fallback used where the module cannot be loaded.
for (const native of [true, false]) {
  describe(`MaxPoolGrad and Sum match cpu (${native ? 'wasm module' : 'JavaScript fallback'})`, () => {
    beforeAll(() => setNativeKernelsEnabled(native));
    afterAll(() => setNativeKernelsEnabled(true));
    const pools: Array<{ x: [number, number, number, number]; k: number | [number, number]; s: number | [number, number]; pad: 'valid' | 'same' }> = [
      { x: [2, 6, 6, 3], k: 2, s: 2, pad: 'valid' },
      { x: [2, 7, 5, 2], k: 2, s: 2, pad: 'valid' },
      { x: [2, 7, 5, 2], k: 2, s: 2, pad: 'same' },
      { x: [1, 6, 6, 2], k: 3, s: 1, pad: 'same' },
      { x: [2, 9, 8, 2], k: 3, s: 2, pad: 'valid' },
      { x: [2, 6, 9, 1], k: [2, 3], s: [2, 3], pad: 'valid' },
      // Channel counts that use the 4-wide SIMD path, with and without a remainder.
      { x: [3, 8, 8, 8], k: 2, s: 2, pad: 'valid' },
      { x: [2, 7, 7, 9], k: 3, s: 2, pad: 'same' },
      { x: [2, 5, 6, 6], k: 3, s: 1, pad: 'same' },
      { x: [1, 9, 7, 4], k: [3, 2], s: [2, 1], pad: 'valid' },
    ];
    for (const p of pools) {
      const name = `x${p.x.join('x')} k${String(p.k)} s${String(p.s)} ${p.pad}`;
      it(`maxPool ${name} (negative values)`, async () => {
        const x = t4(p.x, 11);
        // All-negative inputs: the case tfjs's own wasm MaxPoolGrad gets wrong.
        await compare(name, () => tf.grad((t: tf.Tensor) => tf.maxPool(tf.sub(tf.abs(t), 2) as tf.Tensor4D, p.k, p.s, p.pad).mul(tf.onesLike(tf.maxPool(t as tf.Tensor4D, p.k, p.s, p.pad)).mul(1.5)).sum())(x()));
        await compare(name, () => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, p.k, p.s, p.pad).square().sum())(x()));
      });
    }

    it('maxPool with tiling windows: the store-only kernel and the general one, two threads and one', async () => {
      const cases: Array<{ x: [number, number, number, number]; k: number | [number, number] }> = [
        { x: [4, 30, 30, 8], k: 2 },
        { x: [3, 13, 13, 8], k: 2 },
        { x: [2, 7, 5, 6], k: 2 },
        { x: [2, 6, 9, 5], k: [2, 3] },
        { x: [3, 7, 7, 3], k: 3 },
      ];
      for (const tiled of [true, false]) {
        for (const threads of [2, 1]) {
          const was = setMaxPoolGradTiledEnabled(tiled);
          await tf.setBackend('wasm');
          const mod = native ? nativeKernels(tf.backend()) : null;
          const helper = mod?.helper ?? null;
          if (mod && threads === 1) (mod as { helper: unknown }).helper = null;
          try {
            for (const p of cases) {
              const x = t4(p.x, 23);
              const label = `tiled=${tiled} threads=${threads} x${p.x.join('x')} k${String(p.k)}`;
              await compare(label, () => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, p.k, p.k, 'valid').square().sum())(x()));
              await compare(`${label} ties`, () => tf.grad((t: tf.Tensor) => tf.maxPool(tf.relu(tf.round(t)) as tf.Tensor4D, p.k, p.k, 'valid').mul(2).sum())(x()));
            }
          } finally {
            if (mod) (mod as { helper: unknown }).helper = helper;
            setMaxPoolGradTiledEnabled(was);
          }
        }
      }
    });

    it('maxPool ties go to the first maximum (ReLU zeros)', async () => {
      for (const shape of [[2, 6, 6, 2], [2, 6, 6, 8], [1, 6, 6, 7]] as [number, number, number, number][]) {
        const x = t4(shape, 12);
        await compare('ties', () => tf.grad((t: tf.Tensor) => tf.maxPool(tf.relu(tf.sub(t, 0.5)) as tf.Tensor4D, 2, 2, 'valid').mul(2).sum())(x()));
        await compare('ties raw', () => tf.grad((t: tf.Tensor) => tf.maxPool(tf.round(t) as tf.Tensor4D, 2, 2, 'valid').sum())(x()));
        await compare('ties overlapping', () => tf.grad((t: tf.Tensor) => tf.maxPool(tf.round(t) as tf.Tensor4D, 3, 1, 'same').sum())(x()));
      }
    });

    it('sum over leading axes (bias gradients) and other axes', async () => {
      const x = t4([3, 4, 5, 6], 15);
      await compare('sum', () => [tf.sum(x(), [0, 1, 2]), tf.sum(x(), [0]), tf.sum(x(), [1, 0], true), tf.sum(x(), -1), tf.sum(x(), [1, 2]), tf.sum(x())]);
      // Many rows (several 64-row blocks plus a partial one), columns with and without a SIMD remainder.
      for (const shape of [[7, 30, 30, 8], [5, 13, 13, 7], [301, 1, 1, 3]] as [number, number, number, number][]) {
        const y = t4(shape, 16);
        await compare(`sum ${shape.join('x')}`, () => [tf.sum(y(), [0, 1, 2]), tf.sum(y(), [0, 1], true)]);
      }
    });

    it('mean over leading axes (batch statistics) and other axes', async () => {
      for (const shape of [[3, 4, 5, 6], [7, 30, 30, 8], [5, 13, 13, 7]] as [number, number, number, number][]) {
        const y = t4(shape, 18);
        await compare(`mean ${shape.join('x')}`, () => [tf.mean(y(), [0, 1, 2]), tf.mean(y(), [0, 1], true), tf.mean(y(), -1), tf.mean(y())]);
      }
    });

    it('sum and mean over middle axes (a global average pool), with and without our middle-axes path', async () => {
      for (const middle of [true, false]) {
        const was = setReduceMiddleEnabled(middle);
        try {
          for (const shape of [[3, 4, 5, 6], [7, 30, 30, 8], [5, 13, 13, 7], [2, 70, 1, 3]] as [number, number, number, number][]) {
            const y = t4(shape, 21);
            const label = `${middle ? 'middle' : 'tfjs'} ${shape.join('x')}`;
            await compare(`mean ${label}`, () => [tf.mean(y(), [1, 2]), tf.mean(y(), [2, 1], true), tf.mean(y(), 1), tf.mean(y(), [0, 1, 2])]);
            await compare(`sum ${label}`, () => [tf.sum(y(), [1, 2]), tf.sum(y(), [1, 2], true), tf.sum(y(), 2), tf.sum(y(), [1, 3])]);
            // A global average pool's gradient (what a GlobalAveragePooling2D layer trains through).
            await compare(`mean grad ${label}`, () => tf.grad((t: tf.Tensor) => tf.mean(t, [1, 2]).square().sum())(y()));
          }
        } finally {
          setReduceMiddleEnabled(was);
        }
      }
    });

    it('batchNorm with per-channel statistics, with and without scale/offset, and training gradients', async () => {
      for (const shape of [[2, 5, 5, 8], [3, 4, 4, 7], [6, 10]] as number[][]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const c = shape.at(-1)!;
        const x = randomValues(n, seededRandom(19));
        const stats = randomValues(4 * c, seededRandom(20));
        const [mean, variance, offset, scale] = [0, 1, 2, 3].map((k) => () => tf.tensor1d(stats.slice(k * c, (k + 1) * c)));
        const v = () => tf.abs(variance!()).add(0.1) as tf.Tensor1D;
        await compare(`batchNorm ${shape.join('x')}`, () => [
          tf.batchNorm(tf.tensor(x, shape), mean!(), v(), offset!(), scale!(), 1e-3),
          tf.batchNorm(tf.tensor(x, shape), mean!(), v(), undefined, undefined, 1e-3),
          tf.batchNorm(tf.tensor(x, shape), ...[mean!(), v(), offset!(), scale!()].map((t) => t.reshape([...shape.slice(0, -1).map(() => 1), c])) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], 1e-2),
        ]);
        // Training: gradients through moments and batchNorm (what BatchNormalization's training step runs).
        await compare(`batchNorm grad ${shape.join('x')}`, () => tf.grads((t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const axes = shape.slice(0, -1).map((_, i) => i);
          const m = tf.moments(t, axes);
          return tf.batchNorm(t, m.mean, m.variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3).square().sum();
        })([tf.tensor(x, shape), scale!(), offset!()]));
      }
    });

    it('sum of a bias gradient is accurate against a float64 reference', async () => {
      await tf.setBackend('wasm');
      const rows = 64 * 30 * 30, cols = 32;
      const vals = randomValues(rows * cols, seededRandom(17));
      const want = new Float64Array(cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[j]! += vals[i * cols + j]!;
      const got = tf.tidy(() => tf.sum(tf.tensor2d(vals, [rows, cols]), 0).dataSync());
      let worst = 0;
      for (let j = 0; j < cols; j++) worst = Math.max(worst, Math.abs(got[j]! - want[j]!));
      // Measured: 2.2e-4 (module, blocked float32) and 6e-6 (fallback, float64) on sums of about 130.
      expect(worst).toBeLessThan(1e-3);
    });
  });
}

describe('ReLU gradient (one fused wasm pass) matches cpu', () => {
  it('for shapes with and without a SIMD remainder, zeros included', async () => {
    for (const shape of [[2, 5, 5, 7], [4, 8], [3]] as number[][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const vals = randomValues(n, seededRandom(21)).map((v, i) => (i % 5 === 0 ? 0 : v));
      const dy = randomValues(n, seededRandom(22));
      await compare(`relu grad ${shape.join('x')}`, () => tf.grad((t: tf.Tensor) => tf.relu(t).mul(tf.tensor(dy, shape)).sum())(tf.tensor(vals, shape)));
    }
  });

  it('runs as our kernel on wasm', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([-1, 0, 2, 3, -4]);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.relu(t).sum())(x));
    expect(info.kernelNames).toContain('LayerforgeReluGrad');
    expect(info.kernelNames).not.toContain('Step');
    x.dispose();
  });
});

describe('Tile (wasm kernel) and its gradient (every backend) match tfjs cpu and a reference', () => {
  const cases: Array<{ shape: number[]; reps: number[] }> = [
    { shape: [1, 1, 1, 5], reps: [3, 4, 2, 1] }, // BatchNorm's gradient: [1,1,1,C] -> [N,H,W,C]
    { shape: [2, 3], reps: [2, 3] },
    { shape: [4], reps: [3] },
    { shape: [2, 1, 3], reps: [1, 4, 2] },
    { shape: [3, 2, 2, 1], reps: [1, 2, 1, 3] },
    { shape: [2, 2, 1, 2, 3], reps: [2, 1, 3, 1, 2] }, // rank 5: tfjs's own gradient stops at 4
  ];
  for (const c of cases) {
    it(`tile ${c.shape.join('x')} by ${c.reps.join('x')}`, async () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const vals = randomValues(n, seededRandom(31));
      const outN = n * c.reps.reduce((a, b) => a * b, 1);
      const dy = randomValues(outN, seededRandom(32));
      // Forward against a per-element reference.
      const outShape = c.shape.map((s, i) => s * c.reps[i]!);
      const want = new Float32Array(outN);
      const srcOf = new Int32Array(outN);
      for (let o = 0; o < outN; o++) {
        let rem = o, src = 0, mul = 1;
        for (let d = c.shape.length - 1; d >= 0; d--) {
          const i = rem % outShape[d]!;
          rem = Math.floor(rem / outShape[d]!);
          src += (i % c.shape[d]!) * mul;
          mul *= c.shape[d]!;
        }
        want[o] = vals[src]!;
        srcOf[o] = src;
      }
      await tf.setBackend('wasm');
      expect(Array.from(tf.tidy(() => tf.tile(tf.tensor(vals, c.shape), c.reps).dataSync()))).toEqual(Array.from(want));
      const ints = tf.tidy(() => tf.tile(tf.tensor(Array.from({ length: n }, (_, i) => i), c.shape, 'int32'), c.reps).dataSync());
      expect(Array.from(ints)).toEqual(Array.from(srcOf));
      // Gradient: the sum over repetitions, on both backends.
      await compare(`tile grad ${c.shape.join('x')}`, () => tf.grad((t: tf.Tensor) => tf.tile(t, c.reps).mul(tf.tensor(dy, outShape)).sum())(tf.tensor(vals, c.shape)));
    });
  }

  it('the gradient is one reduction, not a Slice + Add per repetition', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([1, 1, 1, 8]);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.tile(t, [4, 8, 8, 1]).sum())(x));
    expect(info.kernelNames.filter((k) => k === 'Slice').length).toBe(0);
    x.dispose();
  });
});

describe('ResizeNearestNeighborGrad matches cpu', () => {
  // tfjs's cpu ResizeNearestNeighborGrad is itself wrong for batch > 1 (it offsets dy by the
  // images' batch stride), so batch 1 is compared with cpu and batch 2 with a reference by hand.
  for (const [oh, ow, alignCorners] of [[6, 8, false], [9, 12, false], [7, 9, false], [5, 3, false], [6, 8, true], [7, 5, true]] as const) {
    it(`resizeNearestNeighbor 3x4 -> ${oh}x${ow}${alignCorners ? ' alignCorners' : ''}`, async () => {
      const grad = (n: number) => {
        const u = t4([n, 3, 4, 3], 13);
        const du = t4([n, oh, ow, 3], 14);
        return () => tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [oh, ow], alignCorners).mul(du()).sum())(u());
      };
      await compare('resize batch 1', grad(1));
      // By hand: dx[b, src(r), src(q), c] += dy[b, r, q, c], with the forward op's source mapping.
      const du = randomValues(2 * oh * ow * 3, seededRandom(14));
      const want = new Float32Array(2 * 3 * 4 * 3);
      const src = (inS: number, outS: number, i: number) => {
        const ratio = (alignCorners && outS > 1 ? inS - 1 : inS) / (alignCorners && outS > 1 ? outS - 1 : outS);
        return Math.min(inS - 1, alignCorners ? Math.round(ratio * i) : Math.floor(ratio * i));
      };
      for (let b = 0; b < 2; b++) for (let r = 0; r < oh; r++) for (let q = 0; q < ow; q++) for (let c = 0; c < 3; c++) {
        want[((b * 3 + src(3, oh, r)) * 4 + src(4, ow, q)) * 3 + c]! += du[((b * oh + r) * ow + q) * 3 + c]!;
      }
      const [got] = await on('wasm', grad(2));
      expectClose(got!, { shape: [2, 3, 4, 3], values: want }, 'resize batch 2 by hand');
    });
  }
});

describe('training inventory', () => {
  it('wasm has a kernel for everything training our layers and optimizers uses', async () => {
    await tf.setBackend('cpu');
    const inv = await kernelInventory(tf, 'wasm');
    expect(inv.used.size).toBeGreaterThan(40);
    // Sanity: the inventory does see the gradient kernels we supply.
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
      expect(inv.used.has(k), k).toBe(true);
    }
    expect(inv.missing).toEqual([]);
  });

  const toPlain = (r: CaseResult) => [r.loss, ...r.grads].map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));

  for (const c of trainingCases()) {
    it(`${c.name}: ${c.deterministic ? 'gradients match cpu' : 'trains on wasm'}`, async () => {
      await tf.setBackend('cpu');
      const ref = c.run(tf);
      const want = toPlain(ref);
      tf.dispose([ref.loss, ...ref.grads]);
      await tf.setBackend('wasm');
      const res = c.run(tf);
      const got = toPlain(res);
      tf.dispose([res.loss, ...res.grads]);
      expect(got.length).toBe(want.length);
      if (!c.deterministic) {
        for (const g of got) expect(g.values.every(Number.isFinite)).toBe(true);
        return;
      }
      got.forEach((g, i) => expectClose(g, want[i]!, `${c.name} ${i === 0 ? 'loss' : `grad ${i - 1}`}`));
    });
  }
});
