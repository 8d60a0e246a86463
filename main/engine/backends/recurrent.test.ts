import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomValues, seededRandom } from './inventory';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from './testing';
import { customLayerFactories, registerCustomLayers } from '../compile/custom';
import { GRU_GRAD_KERNEL, GRU_KERNEL, gruSequence, LSTM_GRAD_KERNEL, LSTM_KERNEL, lstmSequence, type LstmGateActivation } from './recurrent';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  registerCustomLayers(tf);
});

interface Case {
  n: number;
  steps: number;
  features: number;
  units: number;
  goBackwards: boolean;
  returnSequences: boolean;
  act: LstmGateActivation;
  masked: boolean;
  useBias: boolean;
  /** Start from a given state (h0, c0), whose gradients are checked too. */
  initial?: boolean;
}

/** The output and the gradients of sum(y·w) (w fixed, random) with respect to x, kernel, recurrent kernel and bias. */
type Out = Float32Array[];

function values(c: Case, seed: number) {
  const rand = seededRandom(seed);
  const g4 = 4 * c.units;
  const ySize = c.n * (c.returnSequences ? c.steps : 1) * c.units;
  // Some rows masked from a step on, one row masked in the middle (h and c carried through it).
  const mask = new Float32Array(c.n * c.steps).fill(1);
  if (c.masked) {
    for (let r = 0; r < c.n; r++) for (let t = 0; t < c.steps; t++) if ((r % 3 === 1 && t >= c.steps - 2) || (r % 3 === 2 && t === 1)) mask[r * c.steps + t] = 0;
  }
  return {
    x: randomValues(c.n * c.steps * c.features, rand, 1.5),
    k: randomValues(c.features * g4, rand, 0.6),
    r: randomValues(c.units * g4, rand, 0.6),
    b: randomValues(g4, rand, 0.5),
    w: randomValues(ySize, rand),
    h0: randomValues(c.n * c.units, rand, 0.5),
    c0: randomValues(c.n * c.units, rand, 0.5),
    mask,
  };
}

/** tfjs's own LSTM layer (the reference), differentiated by tfjs. */
function reference(c: Case, seed: number): Out {
  const v = values(c, seed);
  return tf.tidy(() => {
    const layer = tf.layers.lstm({ units: c.units, returnSequences: c.returnSequences, goBackwards: c.goBackwards, recurrentActivation: c.act, useBias: c.useBias });
    const x = tf.variable(tf.tensor(v.x, [c.n, c.steps, c.features]));
    layer.apply(x); // builds the layer
    const weights = [tf.tensor(v.k, [c.features, 4 * c.units]), tf.tensor(v.r, [c.units, 4 * c.units]), ...(c.useBias ? [tf.tensor(v.b, [4 * c.units])] : [])];
    layer.setWeights(weights);
    const mask = c.masked ? tf.cast(tf.tensor(v.mask, [c.n, c.steps]), 'bool') : undefined;
    const h0 = tf.variable(tf.tensor(v.h0, [c.n, c.units])), c0 = tf.variable(tf.tensor(v.c0, [c.n, c.units]));
    const kwargs = { ...(mask ? { mask } : {}), ...(c.initial ? { initialState: [h0, c0] } : {}) };
    const w = tf.tensor(v.w);
    const f = () => {
      const y = layer.apply(x, kwargs) as tf.Tensor;
      return tf.sum(tf.mul(tf.reshape(y, [-1]), w)) as tf.Scalar;
    };
    const y = (layer.apply(x, kwargs) as tf.Tensor).dataSync() as Float32Array;
    const { grads } = tf.variableGrads(f);
    const vars = layer.trainableWeights.map((lw) => (lw as unknown as { val: tf.Variable }).val);
    const state = c.initial ? [grads[h0.name]!.dataSync() as Float32Array, grads[c0.name]!.dataSync() as Float32Array] : [];
    return [y, grads[x.name]!.dataSync() as Float32Array, ...vars.map((vv) => grads[vv.name]!.dataSync() as Float32Array), ...state];
  });
}

function ours(c: Case, seed: number): Out {
  const v = values(c, seed);
  return tf.tidy(() => {
    const x = tf.tensor(v.x, [c.n, c.steps, c.features]);
    const k = tf.tensor(v.k, [c.features, 4 * c.units]), r = tf.tensor(v.r, [c.units, 4 * c.units]), b = tf.tensor(v.b, [4 * c.units]);
    const mask = c.masked ? tf.tensor(v.mask, [c.n, c.steps]) : null;
    const w = tf.tensor(v.w);
    const h0 = tf.tensor(v.h0, [c.n, c.units]), c0 = tf.tensor(v.c0, [c.n, c.units]);
    const opts = { goBackwards: c.goBackwards, returnSequences: c.returnSequences, recurrentActivation: c.act, mask };
    // Arguments: x, kernel, recurrent kernel, [bias], [h0, c0].
    const f = (...a: tf.Tensor[]) => {
      const bi = c.useBias ? a[3]! : null;
      const st = c.initial ? { h0: a.at(-2)!, c0: a.at(-1)! } : {};
      return tf.sum(tf.mul(tf.reshape(lstmSequence(tf, a[0]!, a[1]!, a[2]!, bi, { ...opts, ...st }), [-1]), w));
    };
    const args = [x, k, r, ...(c.useBias ? [b] : []), ...(c.initial ? [h0, c0] : [])];
    const y = lstmSequence(tf, x, k, r, c.useBias ? b : null, { ...opts, ...(c.initial ? { h0, c0 } : {}) }).dataSync() as Float32Array;
    const grads = tf.grads(f)(args);
    return [y, ...grads.map((g) => g.dataSync() as Float32Array)];
  });
}

const NAMES = (c: Case) => ['y', 'dx', 'dkernel', 'drecurrentKernel', ...(c.useBias ? ['dbias'] : []), 'dh0', 'dc0'];

/**
 * Runs ours() on wasm (our kernels: two threads, then one; then without our module) and checks every output
 * against want (names label them); the first run must have gone through the op's two kernels.
 */
async function checkOnWasm(ours: () => Out, kernels: readonly [string, string], names: string[], want: Out): Promise<void> {
  const k = await wasmWithHelper(tf);
  const { result: first, kernels: ran } = await profiled(tf, ours);
  expect(ran.has(kernels[0]) && ran.has(kernels[1]), [...ran].join(' ')).toBe(true);
  const runs: [string, () => Out][] = [
    [k.helper ? 'wasm kernels, two threads' : 'wasm kernels', () => first],
    ...(k.helper ? [['wasm kernels, one thread', () => oneThread(k, ours)] as [string, () => Out]] : []),
    ['wasm without our module (tfjs ops)', () => withoutNativeKernels(ours)],
  ];
  for (const [label, run] of runs) {
    const got = run();
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expectClose(got[i]!, want[i]!, `${label} ${names[i]}`);
  }
}

describe('lstmSequence (one input GEMM, the recurrence as one op with its own BPTT gradient) matches tfjs’s LSTM layer on cpu', () => {
  const base: Case = { n: 10, steps: 5, features: 6, units: 8, goBackwards: false, returnSequences: false, act: 'sigmoid', masked: false, useBias: true };
  // n = 10: two threads take 4 and 6 rows (a block of 2 left over); units 5 and 7 leave SIMD tails.
  const cases: [string, Case][] = [
    ['last output', base],
    ['goBackwards, every step', { ...base, goBackwards: true, returnSequences: true }],
    ['hardSigmoid gates, goBackwards, units 5, from a given state (dh0, dc0)', { ...base, act: 'hardSigmoid', goBackwards: true, units: 5, initial: true }],
    ['masked steps (h, c carried), every step, units 7', { ...base, masked: true, returnSequences: true, units: 7 }],
    ['masked, goBackwards, last output, no bias, 3 rows, 3 steps', { ...base, masked: true, goBackwards: true, useBias: false, n: 3, steps: 3 }],
  ];
  cases.forEach(([label, c], i) => {
    it(label, async () => {
      await tf.setBackend('cpu');
      const want = reference(c, 100 + i);
      const cpuOps = ours(c, 100 + i);
      for (let j = 0; j < want.length; j++) expectClose(cpuOps[j]!, want[j]!, `cpu ops ${NAMES(c)[j]}`);
      await checkOnWasm(() => ours(c, 100 + i), [LSTM_KERNEL, LSTM_GRAD_KERNEL], NAMES(c), want);
    });
  });
});

interface GruCase extends Omit<Case, 'act'> {
  act: LstmGateActivation;
  resetAfter: boolean;
}

function gruValues(c: GruCase, seed: number) {
  const v = values({ ...c, units: c.units }, seed); // x, w, h0, mask as the LSTM's (the 4U-sized weights are not used)
  const rand = seededRandom(seed + 1000);
  const g3 = 3 * c.units;
  return {
    ...v,
    k: randomValues(c.features * g3, rand, 0.6),
    r: randomValues(c.units * g3, rand, 0.6),
    b: randomValues((c.resetAfter ? 2 : 1) * g3, rand, 0.5),
  };
}
const gruBiasShape = (c: GruCase) => (c.resetAfter ? [2, 3 * c.units] : [3 * c.units]);

/** tfjs's GRU layer (resetAfter: our registered GRU class, tfjs ops per step), on cpu, differentiated by tfjs. */
function gruReference(c: GruCase, seed: number): Out {
  const v = gruValues(c, seed);
  return tf.tidy(() => {
    const args = { units: c.units, returnSequences: c.returnSequences, goBackwards: c.goBackwards, recurrentActivation: c.act, useBias: c.useBias };
    const layer = c.resetAfter ? customLayerFactories(tf).gru({ ...args, name: `gru_ref_${seed}`, resetAfter: true }) : tf.layers.gru(args);
    const x = tf.variable(tf.tensor(v.x, [c.n, c.steps, c.features]));
    layer.apply(x);
    layer.setWeights([tf.tensor(v.k, [c.features, 3 * c.units]), tf.tensor(v.r, [c.units, 3 * c.units]), ...(c.useBias ? [tf.tensor(v.b, gruBiasShape(c))] : [])]);
    const mask = c.masked ? tf.cast(tf.tensor(v.mask, [c.n, c.steps]), 'bool') : undefined;
    const h0 = tf.variable(tf.tensor(v.h0, [c.n, c.units]));
    const kwargs = { ...(mask ? { mask } : {}), ...(c.initial ? { initialState: [h0] } : {}) };
    const w = tf.tensor(v.w);
    const f = () => tf.sum(tf.mul(tf.reshape(layer.apply(x, kwargs) as tf.Tensor, [-1]), w)) as tf.Scalar;
    const y = (layer.apply(x, kwargs) as tf.Tensor).dataSync() as Float32Array;
    const { grads } = tf.variableGrads(f);
    const vars = layer.trainableWeights.map((lw) => (lw as unknown as { val: tf.Variable }).val);
    const state = c.initial ? [grads[h0.name]!.dataSync() as Float32Array] : [];
    return [y, grads[x.name]!.dataSync() as Float32Array, ...vars.map((vv) => grads[vv.name]!.dataSync() as Float32Array), ...state];
  });
}

function gruOurs(c: GruCase, seed: number): Out {
  const v = gruValues(c, seed);
  return tf.tidy(() => {
    const x = tf.tensor(v.x, [c.n, c.steps, c.features]);
    const k = tf.tensor(v.k, [c.features, 3 * c.units]), r = tf.tensor(v.r, [c.units, 3 * c.units]), b = tf.tensor(v.b, gruBiasShape(c));
    const mask = c.masked ? tf.tensor(v.mask, [c.n, c.steps]) : null;
    const w = tf.tensor(v.w);
    const h0 = tf.tensor(v.h0, [c.n, c.units]);
    const opts = { goBackwards: c.goBackwards, returnSequences: c.returnSequences, recurrentActivation: c.act, resetAfter: c.resetAfter, mask };
    const f = (...a: tf.Tensor[]) => {
      const bi = c.useBias ? a[3]! : null;
      const st = c.initial ? { h0: a.at(-1)! } : {};
      return tf.sum(tf.mul(tf.reshape(gruSequence(tf, a[0]!, a[1]!, a[2]!, bi, { ...opts, ...st }), [-1]), w));
    };
    const args = [x, k, r, ...(c.useBias ? [b] : []), ...(c.initial ? [h0] : [])];
    const y = gruSequence(tf, x, k, r, c.useBias ? b : null, { ...opts, ...(c.initial ? { h0 } : {}) }).dataSync() as Float32Array;
    const grads = tf.grads(f)(args);
    return [y, ...grads.map((g) => g.dataSync() as Float32Array)];
  });
}

const GRU_NAMES = (c: GruCase) => ['y', 'dx', 'dkernel', 'drecurrentKernel', ...(c.useBias ? ['dbias'] : []), 'dh0'];

describe('gruSequence (the GRU as one op with its own BPTT gradient) matches tfjs’s GRU layer on cpu, reset_after false and true', () => {
  const base: GruCase = { n: 10, steps: 5, features: 6, units: 8, goBackwards: false, returnSequences: false, act: 'sigmoid', masked: false, useBias: true, resetAfter: false };
  const cases: [string, GruCase][] = [];
  for (const resetAfter of [false, true]) {
    const b = { ...base, resetAfter };
    const tag = `reset_after ${resetAfter}`;
    cases.push(
      [`${tag}: last output`, b],
      [`${tag}: goBackwards, every step`, { ...b, goBackwards: true, returnSequences: true }],
      [`${tag}: hardSigmoid gates, goBackwards, units 5, from a given state (dh0)`, { ...b, act: 'hardSigmoid', goBackwards: true, units: 5, initial: true }],
      [`${tag}: masked steps (h carried), every step, units 7`, { ...b, masked: true, returnSequences: true, units: 7 }],
      [`${tag}: masked, goBackwards, last output, no bias, 3 rows, 3 steps`, { ...b, masked: true, goBackwards: true, useBias: false, n: 3, steps: 3 }],
      [`${tag}: 17 rows, units 12, every step, from a given state`, { ...b, n: 17, units: 12, returnSequences: true, initial: true }],
    );
  }
  cases.forEach(([label, c], i) => {
    it(label, async () => {
      await tf.setBackend('cpu');
      const want = gruReference(c, 200 + i);
      const cpuOps = gruOurs(c, 200 + i);
      expect(cpuOps.length).toBe(want.length);
      for (let j = 0; j < want.length; j++) expectClose(cpuOps[j]!, want[j]!, `cpu ops ${GRU_NAMES(c)[j]}`);
      await checkOnWasm(() => gruOurs(c, 200 + i), [GRU_KERNEL, GRU_GRAD_KERNEL], GRU_NAMES(c), want);
    });
  });
});
