import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedAttention, fusedAttentionHere, fusedSelfAttention } from './attention';
import { randomValues, seededRandom } from './inventory';
import { nativeKernels } from './native';
import { expectClose } from './testing';
import { initWasmBackend } from './wasm';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});

interface Case {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  dk: number;
  dv: number;
  causal: boolean;
  packed: boolean;
  dropout: number;
}

interface Out {
  o: Float32Array;
  grads: Float32Array[];
}

const heads = (x: tf.Tensor, h: number) => {
  const [b, t, c] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [b, t, h, c / h]), [0, 2, 1, 3]);
};

/** The layer's former formulation: heads by reshape + transpose, QKᵀ, scale, band mask, softmax, tf.dropout (or a given mask), ·V. */
function reference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, c: Case, seed: number, mask?: tf.Tensor): tf.Tensor {
  const s = tf.matMul(heads(q, c.heads), heads(k, c.heads), false, true);
  let z = tf.mul(s, 1 / Math.sqrt(c.dk));
  if (c.causal) z = tf.add(z, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([c.tq, c.tk]), -1, 0)), -1e9));
  let w = tf.softmax(z, -1);
  if (mask) w = tf.mul(w, mask);
  else if (c.dropout > 0) w = tf.dropout(w, c.dropout, undefined, seed);
  const o = tf.matMul(w, heads(v, c.heads));
  return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [c.batch, c.tq, c.heads * c.dv]);
}

/** o and the gradients of sum(o·w) with respect to the inputs (q, k, v; or the packed qkv). */
function run(c: Case, fused: boolean, seed: number): Out {
  const rand = seededRandom(seed);
  const hk = c.heads * c.dk, hv = c.heads * c.dv;
  const opts = { heads: c.heads, keyDim: c.dk, valueDim: c.dv, causal: c.causal, dropout: c.dropout, seed: seed + 1, noise: 'tensor' as const };
  return tf.tidy(() => {
    const w = tf.tensor(randomValues(c.batch * c.tq * hv, rand), [c.batch, c.tq, hv]);
    if (c.packed) {
      const qkv = tf.tensor(randomValues(c.batch * c.tq * (2 * hk + hv), rand, 2), [c.batch, c.tq, 2 * hk + hv]);
      const f = (x: tf.Tensor) => {
        if (fused) return fusedSelfAttention(tf, x, opts);
        const [q, k, v] = tf.split(x, [hk, hk, hv], 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
        return reference(q, k, v, c, seed + 1);
      };
      const o = f(qkv);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), w)))(qkv);
      return { o: o.dataSync() as Float32Array, grads: [g.dataSync() as Float32Array] };
    }
    const q = tf.tensor(randomValues(c.batch * c.tq * hk, rand, 2), [c.batch, c.tq, hk]);
    const k = tf.tensor(randomValues(c.batch * c.tk * hk, rand, 2), [c.batch, c.tk, hk]);
    const v = tf.tensor(randomValues(c.batch * c.tk * hv, rand, 2), [c.batch, c.tk, hv]);
    const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => (fused ? fusedAttention(tf, a, b, d, opts) : reference(a, b, d, c, seed + 1));
    const o = f(q, k, v);
    const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, b, d), w)))([q, k, v]);
    return { o: o.dataSync() as Float32Array, grads: gs.map((g) => g.dataSync() as Float32Array) };
  });
}

function expectOut(got: Out, want: Out, label: string): void {
  expectClose(got.o, want.o, `${label} o`);
  expect(got.grads.length).toBe(want.grads.length);
  got.grads.forEach((g, i) => expectClose(g, want.grads[i]!, `${label} grad ${i}`));
}

describe('fused scaled dot-product attention (native/attention.c) matches the layer\'s former op chain on cpu', () => {
  const base = { batch: 2, heads: 2, tq: 8, tk: 8, dk: 8, dv: 8, causal: false, packed: true, dropout: 0 };
  const cases: Case[] = [
    base,
    { ...base, causal: true },
    // the transformer-classifier's attention (T 32, 2 heads of 16) with its dropout, and causal with it
    { ...base, batch: 4, tq: 32, tk: 32, dk: 16, dv: 16, dropout: 0.1 },
    { ...base, batch: 4, tq: 32, tk: 32, dk: 16, dv: 16, dropout: 0.3, causal: true },
    // a mini-GPT-like size, large enough for the helper thread
    { ...base, batch: 2, heads: 4, tq: 64, tk: 64, dk: 32, dv: 32, causal: true },
    // row counts not multiples of 4, widths of 4 and 12 (the 4-column tile), dv != dk
    { ...base, tq: 7, tk: 12, dk: 4, dv: 12, packed: false },
    { ...base, tq: 13, tk: 12, dk: 12, dv: 4, packed: false, causal: true },
    { ...base, tq: 5, tk: 20, dk: 8, dv: 16, packed: false, causal: true, dropout: 0.2 },
    { ...base, heads: 3, tq: 21, tk: 16, dk: 20, dv: 8, packed: false, dropout: 0.5 },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${JSON.stringify(c)}: wasm with our module on two threads and one`, { timeout: 120_000 }, async () => {
      const seed = 300 + 17 * i;
      await tf.setBackend('cpu');
      const want = run(c, false, seed);
      await tf.setBackend('wasm');
      const native = nativeKernels(tf.backend());
      expect(native).not.toBeNull();
      expect(fusedAttentionHere(tf, c.dk, c.dv, c.tk)).toBe(true);
      for (let t = 0; t < 100 && native!.helper && !native!.helper.ready; t++) await new Promise((r) => setTimeout(r, 20));
      const helper = native!.helper;
      let two: Out | undefined;
      const profile = await tf.profile(() => {
        two = run(c, true, seed);
        return [];
      });
      const ran = new Set(profile.kernels.map((p) => p.name));
      expect(ran.has('LayerforgeAttention') && ran.has('LayerforgeAttentionGrad'), [...ran].join(' ')).toBe(true);
      expectOut(two!, want, helper ? 'wasm two threads' : 'wasm one thread (no helper here)');
      (native as { helper: unknown }).helper = null;
      try {
        expectOut(run(c, true, seed), want, 'wasm one thread');
      } finally {
        (native as { helper: unknown }).helper = helper;
      }
    });
  }

  it('LAYERFORGE_ATTENTION_FAST_EXP=0 (simd.h\'s exp4 in the softmax) gives the same results', { timeout: 60_000 }, async () => {
    const c = { ...base, batch: 2, tq: 13, tk: 16, dk: 8, dv: 8, causal: true, packed: false, dropout: 0 };
    await tf.setBackend('cpu');
    const want = run(c, false, 99);
    await tf.setBackend('wasm');
    process.env.LAYERFORGE_ATTENTION_FAST_EXP = '0';
    try {
      expectOut(run(c, true, 99), want, 'exp4');
    } finally {
      delete process.env.LAYERFORGE_ATTENTION_FAST_EXP;
    }
    expectOut(run(c, true, 99), want, 'exp4_le0');
  });

  for (const causal of [false, true]) {
    it(`hashed dropout (the layer's default, causal=${causal}): keeps about 1 - rate, and forward and gradient use the same mask`, { timeout: 120_000 }, async () => {
      const c: Case = { batch: 2, heads: 2, tq: 12, tk: 16, dk: 8, dv: 8, causal, packed: false, dropout: 0.3 };
      const seed = 1234 + (causal ? 1 : 0);
      const opts = { heads: c.heads, keyDim: c.dk, valueDim: c.dv, causal, dropout: c.dropout, seed };
      await tf.setBackend('wasm');
      // The mask, read out: Q = K = 0 gives uniform weights over the live keys, V = identity per head returns them.
      const eye = tf.tidy(() => tf.tile(tf.reshape(tf.eye(c.tk), [1, c.tk, c.tk]), [c.batch, 1, c.heads]));
      const zq = tf.zeros([c.batch, c.tq, c.heads * c.dk]), zk = tf.zeros([c.batch, c.tk, c.heads * c.dk]);
      const pd = await fusedAttention(tf, zq, zk, eye, { ...opts, valueDim: c.tk }).data();
      const m = new Float32Array(c.batch * c.heads * c.tq * c.tk);
      let kept = 0, live = 0;
      for (let b = 0; b < c.batch; b++) for (let h = 0; h < c.heads; h++) for (let i = 0; i < c.tq; i++) for (let j = 0; j < c.tk; j++) {
        const n = causal ? i + 1 : c.tk;
        const x = pd[(b * c.tq + i) * c.heads * c.tk + h * c.tk + j]! * n * (1 - c.dropout);
        if (j < n) {
          expect(Math.abs(x - 1) < 1e-4 || Math.abs(x) < 1e-6, `${x}`).toBe(true);
          live++;
          if (x > 0.5) kept++;
        }
        m[((b * c.heads + h) * c.tq + i) * c.tk + j] = j < n && x > 0.5 ? 1 / (1 - c.dropout) : 0;
      }
      expect(Math.abs(kept / live - 0.7)).toBeLessThan(0.06);
      tf.dispose([eye, zq, zk]);
      // The op against the reference with that mask (cpu), on two threads and one.
      const rand = seededRandom(seed);
      const hk = c.heads * c.dk;
      const data = [randomValues(c.batch * c.tq * hk, rand, 2), randomValues(c.batch * c.tk * hk, rand, 2), randomValues(c.batch * c.tk * hk, rand, 2), randomValues(c.batch * c.tq * hk, rand)];
      const go = (fused: boolean): Out => tf.tidy(() => {
        const [q, k, v, w] = [tf.tensor(data[0]!, [c.batch, c.tq, hk]), tf.tensor(data[1]!, [c.batch, c.tk, hk]), tf.tensor(data[2]!, [c.batch, c.tk, hk]), tf.tensor(data[3]!, [c.batch, c.tq, hk])];
        const mask = tf.tensor(m, [c.batch, c.heads, c.tq, c.tk]);
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => (fused ? fusedAttention(tf, a, b, d, opts) : reference(a, b, d, c, 0, mask));
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, b, d), w)))([q, k, v]);
        return { o: f(q, k, v).dataSync() as Float32Array, grads: gs.map((g) => g.dataSync() as Float32Array) };
      });
      const native = nativeKernels(tf.backend())!;
      const two = go(true);
      const helper = native.helper;
      (native as { helper: unknown }).helper = null;
      let one: Out;
      try {
        one = go(true);
      } finally {
        (native as { helper: unknown }).helper = helper;
      }
      await tf.setBackend('cpu');
      const want = go(false);
      expectOut(two, want, 'wasm two threads');
      expectOut(one, want, 'wasm one thread');
    });
  }

  it('masks exactly, keeps no tensor behind, and is off where it does not apply', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const qkv = tf.randomNormal([2, 8, 3 * 2 * 4]);
    const o = fusedSelfAttention(tf, qkv, { heads: 2, keyDim: 4, valueDim: 4, causal: true, dropout: 0.5 });
    expect(o.shape).toEqual([2, 8, 8]);
    // Query 0 sees key 0 only: its output is V's row 0 (or 0 / 2x it under dropout).
    const [ov, qv] = [await o.data(), await qkv.data()];
    for (let b = 0; b < 2; b++) {
      for (let j = 0; j < 8; j++) {
        const got = ov[b * 64 + j]!, v0 = qv[b * 8 * 24 + 16 + j]!;
        expect([0, 2 * v0].some((x) => Math.abs(got - x) <= 1e-5 * Math.max(1, Math.abs(x))), `${got} vs ${v0}`).toBe(true);
      }
    }
    tf.dispose([o, qkv]);
    expect(tf.memory().numTensors).toBe(before);
    expect(fusedAttentionHere(tf, 6, 8, 8)).toBe(false);
    expect(fusedAttentionHere(tf, 8, 8, 7)).toBe(false);
    process.env.LAYERFORGE_FUSED_ATTENTION = '0';
    try {
      expect(fusedAttentionHere(tf, 8, 8, 8)).toBe(false);
    } finally {
      delete process.env.LAYERFORGE_FUSED_ATTENTION;
    }
    await tf.setBackend('cpu');
    expect(fusedAttentionHere(tf, 8, 8, 8)).toBe(false);
  });
});

describe('MultiHeadAttention through the fused op: whole models match the layer\'s former path on the same weights', () => {
  /** Loss and gradients of every trainable weight (inference mode: no dropout draws), fused or not. */
  async function grads(model: tf.LayersModel, xs: tf.Tensor[], fused: boolean): Promise<{ loss: number; g: Float32Array[] }> {
    process.env.LAYERFORGE_FUSED_ATTENTION = fused ? '1' : '0';
    try {
      const { value, grads: gs } = tf.variableGrads(() => tf.mean(tf.square(model.apply(xs.length === 1 ? xs[0]! : xs, { training: false }) as tf.Tensor)) as tf.Scalar);
      const out = { loss: (await value.data())[0]!, g: await Promise.all(model.trainableWeights.map(async (w) => (await gs[(w.read() as tf.Variable).name]!.data()) as Float32Array)) };
      tf.dispose([value, ...Object.values(gs)]);
      return out;
    } finally {
      delete process.env.LAYERFORGE_FUSED_ATTENTION;
    }
  }

  async function compare(build: () => { model: tf.LayersModel; xs: tf.Tensor[] }, fusedKernels: boolean): Promise<void> {
    await tf.setBackend('wasm');
    const { model, xs } = build();
    const want = await grads(model, xs, false);
    let got: { loss: number; g: Float32Array[] } | undefined;
    const profile = await tf.profile(async () => {
      got = await grads(model, xs, true);
      return [];
    });
    expect(profile.kernels.some((k) => k.name === 'LayerforgeAttention' || k.name === 'LayerforgeSelfAttention'), profile.kernels.map((k) => k.name).join(' ')).toBe(fusedKernels);
    expect(Math.abs(got!.loss - want.loss) / Math.max(1e-3, Math.abs(want.loss))).toBeLessThanOrEqual(1e-4);
    want.g.forEach((g, i) => expectClose(got!.g[i]!, g, `${model.trainableWeights[i]!.name}`));
    await tf.setBackend('cpu');
    const cpu = await grads(model, xs, true);
    got!.g.forEach((g, i) => expectClose(g, cpu.g[i]!, `cpu ${model.trainableWeights[i]!.name}`));
    tf.dispose(xs);
    model.dispose();
  }

  it('the transformer-classifier template (self-attention, 2 heads of 16, T 32)', { timeout: 120_000 }, async () => {
    const { readFileSync } = await import('node:fs');
    const { parseProjectText } = await import('../../../shared/project');
    const { compileGraph } = await import('../compile');
    const file = 'resources/templates/transformer-classifier.json';
    await compare(() => {
      const { model } = compileGraph(tf, parseProjectText(readFileSync(file, 'utf8'), file).graph);
      const rand = seededRandom(5);
      const ids = tf.tensor(Array.from({ length: 8 * 32 }, () => Math.floor(rand() * 1000)), [8, 32], 'int32');
      return { model, xs: [ids] };
    }, true);
  });

  it('causal self-attention and cross-attention without bias, valueDim != keyDim', { timeout: 120_000 }, async () => {
    const { registerCustomLayers } = await import('../compile/custom');
    const { MultiHeadAttention } = registerCustomLayers(tf);
    await compare(() => {
      const a = tf.input({ shape: [12, 10] }), b = tf.input({ shape: [8, 6] });
      const self = new MultiHeadAttention({ numHeads: 3, keyDim: 4, valueDim: 8, causal: true }).apply(a) as tf.SymbolicTensor;
      const cross = new MultiHeadAttention({ numHeads: 2, keyDim: 8, useBias: false }).apply([self, b]) as tf.SymbolicTensor;
      const model = tf.model({ inputs: [a, b], outputs: cross });
      const rand = seededRandom(9);
      return { model, xs: [tf.tensor(randomValues(4 * 12 * 10, rand), [4, 12, 10]), tf.tensor(randomValues(4 * 8 * 6, rand), [4, 8, 6])] };
    }, true);
  });
});

describe('self-attention as one op (LayerforgeSelfAttention: packed projections, attention, output projection)', () => {
  /** Output and the gradients of every weight and of the input, for sum(y²); Math.random seeded (the dropout seed). */
  function run(model: tf.LayersModel, x: tf.Tensor, training: boolean): Float32Array[] {
    const original = Math.random;
    Math.random = seededRandom(77);
    try {
      return tf.tidy(() => {
        const f = () => tf.sum(tf.square(model.apply(x, { training }) as tf.Tensor)) as tf.Scalar;
        const { value, grads: gs } = tf.variableGrads(f);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(model.apply(a, { training }) as tf.Tensor)))(x);
        return [value, dx, ...model.trainableWeights.map((w) => gs[(w.read() as tf.Variable).name]!)].map((t) => t.dataSync() as Float32Array);
      });
    } finally {
      Math.random = original;
    }
  }

  /**
   * got ≈ want as expectOut, except the key bias's gradient (index 4 with biases: [y, dx, Wq, bq, Wk, bk, …]), which is 0
   * in exact arithmetic (a per-query shift of the scores) and only rounding noise in float32: both are checked
   * to be below 1e-4 of the largest gradient instead.
   */
  function expectLayer(got: Float32Array[], want: Float32Array[], label: string, useBias: boolean): void {
    const big = Math.max(...want.slice(1).map((a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    got.forEach((g, j) => {
      if (useBias && j === 5) {
        for (const a of [g, want[j]!]) expect(a.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / big, `${label} key bias gradient`).toBeLessThanOrEqual(1e-4);
      } else expectClose(g, want[j]!, `${label} ${j}`);
    });
  }

  for (const [i, c] of [{ useBias: true, causal: false, dropout: 0 }, { useBias: false, causal: true, dropout: 0 }, { useBias: true, causal: true, dropout: 0.3 }].entries()) {
    it(`${JSON.stringify(c)}: equals the unfused layer and cpu on two threads, one, and with LAYERFORGE_FUSED_MHA=0`, { timeout: 60_000 }, async () => {
      const { registerCustomLayers } = await import('../compile/custom');
      const { MultiHeadAttention } = registerCustomLayers(tf);
      const build = () => {
        const a = tf.input({ shape: [12, 10] });
        const y = new MultiHeadAttention({ numHeads: 3, keyDim: 4, valueDim: 8, ...c }).apply(a) as tf.SymbolicTensor;
        const model = tf.model({ inputs: a, outputs: y });
        const r = seededRandom(20 + i);
        model.setWeights(model.getWeights().map((w) => tf.tensor(randomValues(w.size, r), w.shape)));
        return model;
      };
      const xs = randomValues(4 * 12 * 10, seededRandom(30 + i));
      await tf.setBackend('wasm');
      const native = nativeKernels(tf.backend())!;
      for (let t = 0; t < 100 && native.helper && !native.helper.ready; t++) await new Promise((r) => setTimeout(r, 20));
      const model = build();
      const x = tf.tensor(xs, [4, 12, 10]);
      const training = c.dropout > 0;
      // The reference: the layer's previous fused path (packed projection after a Concat, the attention op), same dropout seed.
      process.env.LAYERFORGE_FUSED_MHA = '0';
      let want: Float32Array[];
      try {
        want = run(model, x, training);
      } finally {
        delete process.env.LAYERFORGE_FUSED_MHA;
      }
      const profile = await tf.profile(() => {
        expectLayer(run(model, x, training), want, 'two threads', c.useBias);
        return [];
      });
      const ran = new Set(profile.kernels.map((k) => k.name));
      expect(ran.has('LayerforgeSelfAttention') && ran.has('LayerforgeSelfAttentionGrad') && !ran.has('Concat') && !ran.has('SplitV'), [...ran].join(' ')).toBe(true);
      const helper = native.helper;
      (native as { helper: unknown }).helper = null;
      try {
        const one = run(model, x, training);
        expectLayer(one, want, 'one thread', c.useBias);
      } finally {
        (native as { helper: unknown }).helper = helper;
      }
      if (!training) {
        const { setNativeKernelsEnabled } = await import('./native');
        setNativeKernelsEnabled(false);
        let off: Float32Array[];
        try {
          off = run(model, x, false);
        } finally {
          setNativeKernelsEnabled(true);
        }
        expectLayer(off, want, 'without our module', c.useBias);
        const weights = model.getWeights().map((w) => w.dataSync().slice());
        tf.dispose([x]);
        model.dispose();
        await tf.setBackend('cpu');
        const cm = build();
        cm.setWeights(weights.map((w, j) => tf.tensor(w, cm.getWeights()[j]!.shape)));
        const cx = tf.tensor(xs, [4, 12, 10]);
        const cpu = run(cm, cx, false);
        expectLayer(want, cpu, 'cpu', c.useBias);
        tf.dispose([cx]);
        cm.dispose();
        await tf.setBackend('wasm');
      } else {
        tf.dispose([x]);
        model.dispose();
      }
    });
  }
});
