import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { collapseBroadcast, sameTypeCast, setSmallOps, smallBinary, smallUnary } from './smallOps';
import { expectClose, oneThread, wasmWithHelper, withoutNativeKernels } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Random values with NaN, ±Inf, ±0 and exact small integers sprinkled in. */
function values(shape: number[], seed: number): Float32Array {
  const v = Float32Array.from(randomValues(size(shape), seededRandom(seed)), (x) => x * 8 - 2);
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 6, 7];
  for (let i = 0; i < v.length; i += 5 + (seed % 3)) v[i] = specials[(i + seed) % specials.length]!;
  return v;
}

/**
 * Equal bit for bit, except NaN = NaN and 0 = -0; `ulps` allows that many float32 ulps; `tfjs` (tfjs's
 * own wasm kernels): ignores NaN outputs of the reference (its Maximum/Minimum/Relu6 drop NaN) and
 * allows 2 ulps (its SquaredDifference rounds twice).
 */
function expectExact(got: Float32Array, want: Float32Array, label: string, ulps = 0, tfjs = false): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) && (Number.isNaN(g) || tfjs)) continue;
    if (g === w) continue;
    const tol = (tfjs ? Math.max(ulps, 2) : ulps) * Math.abs(w) * 2 ** -22;
    if (!(Math.abs(g - w) <= tol)) expect(g, `${label}[${i}] (want ${w})`).toBe(w);
  }
}

async function run(backend: 'cpu' | 'wasm', f: () => tf.Tensor, how: (g: () => Float32Array) => Float32Array = (g) => g()): Promise<{ shape: number[]; v: Float32Array }> {
  await tf.setBackend(backend);
  let shape: number[] = [];
  const v = how(() => tf.tidy(() => {
    const t = f();
    shape = t.shape;
    return t.dataSync() as Float32Array;
  }));
  return { shape, v: Float32Array.from(v) };
}

/** f on cpu vs wasm: ours (two threads, one thread), tfjs's kernels (switch off), our module off. */
async function compare(label: string, f: () => tf.Tensor, ulps = 0): Promise<void> {
  const want = await run('cpu', f);
  const native = await wasmWithHelper(tf);
  const ways: [string, (g: () => Float32Array) => Float32Array][] = [
    ['ours', (g) => g()],
    ['ours, one thread', (g) => oneThread(native, g)],
    ['switch off', (g) => { setSmallOps(false); try { return g(); } finally { setSmallOps(true); } }],
    ['no module', (g) => withoutNativeKernels(g)],
  ];
  for (const [how, wrap] of ways) {
    const got = await run('wasm', f, wrap);
    expect(got.shape, `${label}, ${how}`).toEqual(want.shape);
    expectExact(got.v, want.v, `${label}, ${how}`, ulps, !how.startsWith('ours'));
  }
}

const PATTERNS: [number[], number[]][] = [
  [[5, 1], [5, 7]],
  [[32, 1], [32, 2]],
  [[1, 6, 9], [3, 6, 9]],
  [[9], [2, 3, 4, 9]],
  [[2, 1, 1, 9], [2, 3, 4, 9]],
  [[3], [4, 1]],
  [[4, 1, 5], [3, 1]],
  [[1, 3, 1], [4, 1, 5]],
  [[2, 1, 3, 1, 5], [1, 4, 3, 6, 1]],
  [[2, 1, 3, 1, 5, 1], [1, 4, 1, 6, 1, 3]], // 6 loops: 2 walked in JavaScript
  [[1, 2, 1, 2, 1, 2], [2, 1, 2, 1, 2, 1]],
  [[2, 3, 1, 1, 4, 5], [2, 3, 7, 6, 1, 1]],
  [[0, 3], [1, 3]],
  [[3, 1], [3, 0]],
  [[1, 1, 1], [2, 1, 3]],
  [[17, 1], [17, 33]],
];

const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number][] = [
  ['add', tf.add, 0], ['sub', tf.sub, 0], ['mul', tf.mul, 0], ['div', tf.div, 0],
  ['maximum', tf.maximum, 0], ['minimum', tf.minimum, 0], ['squaredDifference', tf.squaredDifference, 0],
];

describe('smallOps: broadcasting binary ops match tfjs cpu exactly', () => {
  it.each(BINARY)('%s', async (name, op, ulps) => {
    for (const [sa, sb] of PATTERNS) {
      const a = values(sa, sa.length * 7 + 1), b = values(sb, sb.length * 3 + 2);
      await compare(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => op(tf.tensor(a, sa), tf.tensor(b, sb)), ulps);
      await compare(`${name} ${JSON.stringify(sb)} ${JSON.stringify(sa)}`, () => op(tf.tensor(b, sb), tf.tensor(a, sa)), ulps);
    }
  });

  it('takes the broadcast cases (and leaves same-shape, scalar, int32 and large ones to tfjs)', async () => {
    await wasmWithHelper(tf);
    const backend = tf.backend();
    const take = (op: 'Add' | 'Multiply' | 'Maximum', a: tf.Tensor, b: tf.Tensor) => {
      const r = smallBinary(op, { inputs: { a, b }, backend });
      if (r) (backend as unknown as { disposeData(id: object): void }).disposeData(r.dataId);
      return r != null;
    };
    tf.tidy(() => {
      expect(take('Add', tf.ones([32, 32, 32]), tf.ones([1, 32, 32]))).toBe(true);
      expect(take('Multiply', tf.ones([32, 1]), tf.ones([32, 2]))).toBe(true);
      expect(take('Maximum', tf.ones([8, 8]), tf.ones([8, 8]))).toBe(true);
      expect(take('Add', tf.ones([8, 8]), tf.ones([8, 8]))).toBe(false);
      expect(take('Multiply', tf.ones([8, 8]), tf.scalar(2))).toBe(false);
      expect(take('Add', tf.ones([8, 1], 'int32'), tf.ones([8, 2], 'int32'))).toBe(false);
      expect(take('Add', tf.ones([2, 1, 3, 1, 5, 1]), tf.ones([1, 4, 1, 6, 1, 3]))).toBe(true);
      expect(take('Add', tf.ones([2048, 1]), tf.ones([2048, 1024]))).toBe(false);
    });
  });

  it('int32 and large tensors go to tfjs and still match', async () => {
    await compare('int32 add', () => tf.add(tf.tensor([1, 2, 3], [3, 1], 'int32'), tf.tensor([5, 6, 7, 8, 9, 10], [3, 2], 'int32')));
    await compare('int32 neg', () => tf.neg(tf.tensor([1, -2, 3], [3], 'int32')));
    const a = values([1100, 1], 3), b = values([1, 1000], 4);
    await compare('large mul', () => tf.mul(tf.tensor(a, [1100, 1]), tf.tensor(b, [1, 1000])));
  });

  it('collapses broadcast dims into at most 4 loops', () => {
    expect(collapseBroadcast([2, 1, 1, 9], [2, 3, 4, 9])).toEqual({ out: [2, 3, 4, 9], d: [1, 2, 12, 9], sa: [0, 9, 0, 1], sb: [0, 108, 9, 1] });
    expect(collapseBroadcast([3], [4, 1])).toEqual({ out: [4, 3], d: [1, 1, 4, 3], sa: [0, 0, 0, 1], sb: [0, 0, 1, 0] });
    expect(collapseBroadcast([3, 2], [4, 2])).toBeNull();
    expect(collapseBroadcast([2, 1, 3, 1, 5], [1, 4, 3, 6, 1])?.d).toEqual([2, 4, 3, 6, 5]);
  });
});

describe('smallOps: unary ops match tfjs cpu exactly', () => {
  const UNARY: [string, (x: tf.Tensor) => tf.Tensor][] = [['relu', tf.relu], ['relu6', tf.relu6], ['neg', tf.neg], ['abs', tf.abs], ['square', tf.square]];
  it.each(UNARY)('%s', async (name, op) => {
    for (const shape of [[0], [1], [3], [4], [37], [2, 3, 5], [1024, 32]]) {
      const v = values(shape, shape.length + 5);
      await compare(`${name} ${JSON.stringify(shape)}`, () => op(tf.tensor(v, shape)));
    }
  });

  it('takes float32 and leaves int32', async () => {
    await wasmWithHelper(tf);
    const backend = tf.backend();
    tf.tidy(() => {
      const r = smallUnary('Relu', { inputs: { x: tf.ones([5]) }, backend });
      expect(r).not.toBeNull();
      (backend as unknown as { disposeData(id: object): void }).disposeData(r!.dataId);
      expect(smallUnary('Neg', { inputs: { x: tf.ones([5], 'int32') }, backend })).toBeNull();
    });
  });
});

describe('smallOps: gradients through these kernels match', () => {
  it('a small broadcast model step (relu, relu6, bias, scale, div, maximum, square, neg, abs)', async () => {
    const x = values([6, 1, 5], 11).map((t) => (Number.isFinite(t) ? t : 0.5));
    const w = values([1, 4, 5], 12).map((t) => (Number.isFinite(t) ? t : -0.25));
    const s = values([4, 1], 13).map((t) => (Number.isFinite(t) && t !== 0 ? t : 2));
    const step = () => {
      const [X, W, S] = [tf.tensor(x, [6, 1, 5]), tf.tensor(w, [1, 4, 5]), tf.tensor(s, [4, 1])];
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.relu(tf.add(tf.mul(a, b), tf.div(tf.maximum(b, tf.mul(tf.square(c), b)), c)))).add(tf.sum(tf.square(tf.sub(tf.relu6(a), tf.neg(tf.abs(b)))))));
      return tf.concat(g([X, W, S]).map((t) => t.flatten()));
    };
    const want = await run('cpu', step);
    const native = await wasmWithHelper(tf);
    for (const [how, wrap] of [['ours', (g: () => Float32Array) => g()], ['one thread', (g: () => Float32Array) => oneThread(native, g)]] as const) {
      const got = await run('wasm', step, wrap);
      expectClose(got.v, want.v, `model step, ${how}`);
    }
  });
});

describe('smallOps: Cast to the same dtype shares the buffer', () => {
  it('shares float32 and int32 buffers, converts other casts, and matches cpu', async () => {
    const v = values([3, 4, 5], 21);
    const iv = v.map((t) => (Number.isFinite(t) ? Math.round(t) : 3));
    for (const dtype of ['float32', 'int32'] as const) {
      await compare(`cast float32 -> ${dtype}`, () => tf.cast(tf.tensor(v, [3, 4, 5]), dtype).toFloat());
      await compare(`cast int32 -> ${dtype}`, () => tf.cast(tf.tensor(iv, [3, 4, 5], 'int32'), dtype).toFloat());
    }
    // To bool: x != 0 as on cpu (tfjs's wasm Cast wraps values into bytes: 0.5 -> 0, -2 -> 254, so only ours is compared).
    for (const [label, f] of [
      ['float32', () => tf.cast(tf.tensor(v, [3, 4, 5]), 'bool').toFloat()],
      ['int32', () => tf.cast(tf.tensor(iv, [3, 4, 5], 'int32'), 'bool').toFloat()],
      ['fractions', () => tf.cast(tf.tensor([0.5, -0.25, 0, -0, NaN, 1e-30]), 'bool').toFloat()],
    ] as const) {
      const want = await run('cpu', f);
      await wasmWithHelper(tf);
      expectExact((await run('wasm', f)).v, want.v, `cast ${label} -> bool`);
    }
    await wasmWithHelper(tf);
    const backend = tf.backend();
    const x = tf.tensor([1.5, -2, 3], [3]);
    const info = { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    const same = sameTypeCast({ inputs: { x: info }, attrs: { dtype: 'float32' }, backend });
    expect(same?.dataId).toBe(x.dataId);
    expect(sameTypeCast({ inputs: { x: info }, attrs: { dtype: 'int32' }, backend })).toBeNull();
    (backend as unknown as { disposeData(id: object): void }).disposeData(x.dataId); // the reference the cast took
    // The shared buffer lives until both tensors are disposed.
    const before = tf.memory().numTensors;
    const y = tf.cast(x, 'float32');
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1.5, -2, 3]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
    setSmallOps(false);
    try {
      expect(sameTypeCast({ inputs: { x: info }, attrs: { dtype: 'float32' }, backend })).toBeNull();
    } finally {
      setSmallOps(true);
    }
  });
});
