/**
 * When does handing half of a product to the helper thread pay, and what do the hand-off settings
 * (native/pool.ts: helper spin, caller spin, steal) change? Times kernels.ts's runProduct (our module's
 * gemm_pk, called directly, no tfjs dispatch) on one thread and split over two under each hand-off
 * variant, product by product, alternating in one process, in three settings: back to back (steady), right
 * after a threaded XNNPACK convolution (its pthreadpool worker spin-waits after each operator, on the
 * cores our helper wants), and after a 3 ms pause. First the bare hand-off (an empty job) per variant in
 * those settings and right after a Relu and a same-shape Add (XNNPACK operators on tfjs's pool too).
 * Medians (and p90) of --rounds.
 * Variants (--variants): old = no spin, no poll, no steal (the protocol before); spin = 50 µs spins; steal = steal only;
 * new = the defaults (pool.ts: steal, a 10 µs caller spin, a 30 µs helper spin, then 25 µs polls). name:helperSpinUs/callerSpinUs/steal(0|1) adds one (no polling).
 * Run: npx tsx main/engine/backends/bench-gemm-split.ts [--rounds 40] [--variants old,new] [--scenario steady,afterXnn,gap]
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { productScratchFloats, runProduct, type HeapProduct } from './kernels';
import { heapOffset, nativeKernels } from './native';
import type { HandoffSettings } from './native/pool';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const rounds = Number(arg('rounds', '40'));
const scenarios = arg('scenario', 'steady,afterXnn,gap').split(',');
const only = arg('only', 'handoff,products').split(',');

const KNOWN: Record<string, HandoffSettings> = {
  old: { helperSpinUs: 0, callerSpinUs: 0, steal: false, helperPollUs: 0, helperPollWindowUs: 0 },
  spin: { helperSpinUs: 50, callerSpinUs: 50, steal: false, helperPollUs: 0, helperPollWindowUs: 0 },
  steal: { helperSpinUs: 0, callerSpinUs: 0, steal: true, helperPollUs: 0, helperPollWindowUs: 0 },
};
const parseVariants = (defaults: HandoffSettings): [string, HandoffSettings][] =>
  arg('variants', 'old,new')
  .split(',')
  .map((v) => {
    if (v === 'new') return [v, defaults];
    if (KNOWN[v]) return [v, KNOWN[v]];
    const [name, spec] = v.split(':');
    const [h, c, s] = (spec ?? '').split('/').map(Number);
    return [name!, { helperSpinUs: h ?? 0, callerSpinUs: c ?? 0, steal: s === 1, helperPollUs: 0, helperPollWindowUs: 0 }];
  });

/** [m, k, n]: y = x·W forward products (m rows of x). */
const SHAPES: [number, number, number][] = [
  [128, 64, 128],
  [64, 120, 84],
  [128, 128, 128],
  [64, 400, 120],
  [1024, 32, 96],
  [256, 128, 128],
  [512, 128, 128],
  [256, 256, 256],
  [1024, 128, 128],
  [64, 2304, 128],
  [4096, 128, 128],
];

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const med = (xs: number[]) => q(xs, 0.5);
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const native = nativeKernels(tf.backend())!;
  for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  const helper = native.helper;
  if (!helper) throw new Error('no helper thread here');
  const defaults = { ...helper.handoff };
  const variants = parseVariants(defaults);
  const use = (v: HandoffSettings) => helper.setHandoff(v);
  console.log(`variant ${native.variant}; load ${loadavg()[0]!.toFixed(1)}; hand-off variants ${variants.map(([n, v]) => `${n} ${v.helperSpinUs}/${v.callerSpinUs} µs${v.steal ? ' steal' : ''}`).join(', ')}`);
  const backend = tf.backend();
  const at = (t: tf.Tensor) => heapOffset(backend, t.dataId);
  const img = tf.randomNormal([64, 28, 28, 6]) as tf.Tensor4D, filt = tf.randomNormal([5, 5, 6, 16]) as tf.Tensor4D;
  const before: Record<string, () => void> = {
    steady: () => {},
    afterXnn: () => tf.conv2d(img, filt, 1, 'valid').dispose(),
    gap: () => sleep(3),
  };
  const u = tf.randomNormal([32, 32, 32]), v = tf.randomNormal([32, 32, 32]);
  const handoffBefore: Record<string, () => void> = { ...before, afterRelu: () => tf.relu(u).dispose(), afterAdd: () => tf.add(u, v).dispose() };
  if (only.includes('handoff')) {
    // An empty job: with steal on the caller usually takes it back at once, so also a job of ~20 µs on each side.
    const x = tf.randomNormal([64, 64]), w = tf.randomNormal([64, 64]), y = tf.zeros([64, 64]);
    const small: HeapProduct = { a: at(x), b: at(w), c: at(y), m: 64, n: 64, k: 64 };
    const pack = tf.zeros([2 * productScratchFloats(native, small) + 16]);
    const jobs: Record<string, () => void> = {
      empty: () => helper.alongside('sum_rows', [0, 0, 0, 0], () => {}),
      '2x64^3': () => runProduct(native, small, at(pack), true),
    };
    for (const [job, runJob] of Object.entries(jobs)) {
      const res: Record<string, number[]> = {};
      const stolen: Record<string, number> = {};
      for (let r = 0; r < 4 * rounds; r++)
        for (const [name, settings] of r % 2 ? [...variants].reverse() : variants) {
          use(settings);
          for (const [s, f] of Object.entries(handoffBefore)) {
            f();
            const s0 = helper.stats.stolen;
            const t0 = performance.now();
            runJob();
            (res[`${name} ${s}`] ??= []).push(performance.now() - t0);
            stolen[`${name} ${s}`] = (stolen[`${name} ${s}`] ?? 0) + helper.stats.stolen - s0;
          }
        }
      console.log(`${job} hand-off (µs, median / p90, % stolen):`);
      for (const [name] of variants)
        console.log(`  ${name.padEnd(6)} ${Object.keys(handoffBefore).map((s) => { const xs = res[`${name} ${s}`]!; return `${s} ${(med(xs) * 1e3).toFixed(0)} / ${(q(xs, 0.9) * 1e3).toFixed(0)} (${((100 * stolen[`${name} ${s}`]!) / xs.length).toFixed(0)}%)`; }).join(', ')}`);
    }
    tf.dispose([x, w, y, pack]);
  }
  if (only.includes('products')) {
    console.log(`products: median ms of ${rounds} rounds, one thread, then split per variant (one/split ratio: > 1 means the split pays)`);
    for (const [m, k, n] of SHAPES) {
      const x = tf.randomNormal([m, k]), w = tf.randomNormal([k, n]), b = tf.randomNormal([n]), y = tf.zeros([m, n]);
      const p: HeapProduct = { a: at(x), b: at(w), c: at(y), m, n, k, bias: at(b), act: 1 };
      const pack = tf.zeros([2 * productScratchFloats(native, p) + 16]);
      const res: Record<string, number[]> = {};
      const modes: [string, HandoffSettings | null][] = [['one', null], ...variants];
      for (let r = 0; r < rounds; r++)
        for (const s of scenarios)
          for (const [name, settings] of r % 2 ? [...modes].reverse() : modes) {
            if (settings) use(settings);
            before[s]!();
            const t0 = performance.now();
            runProduct(native, p, at(pack), settings !== null);
            (res[`${s} ${name}`] ??= []).push(performance.now() - t0);
          }
      const macs = m * n * k;
      console.log(`[${m},${k}]x[${k},${n}] ${(macs / 1e6).toFixed(2)}M:`);
      for (const s of scenarios) {
        const one = med(res[`${s} one`]!);
        console.log(`  ${s.padEnd(8)} one ${one.toFixed(3)} (p90 ${q(res[`${s} one`]!, 0.9).toFixed(3)})  ` + variants.map(([name]) => `${name} ${med(res[`${s} ${name}`]!).toFixed(3)} (p90 ${q(res[`${s} ${name}`]!, 0.9).toFixed(3)}, ${(one / med(res[`${s} ${name}`]!)).toFixed(2)}x)`).join('  '));
      }
      tf.dispose([x, w, b, y, pack]);
    }
  }
  use(defaults);
}
void main();
