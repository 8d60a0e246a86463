/**
 * When does handing half of a product to the helper thread pay? Times kernels.ts's runProduct (our module's
 * gemm_pk, called directly, no tfjs dispatch) on one thread and split over two, product by product, alternating
 * in one process, in three settings: back to back (steady), right after a threaded XNNPACK convolution (its
 * pthreadpool workers spin-wait ~1M iterations after each operator, on the cores our helper wants), and after
 * a 3 ms pause. First the bare hand-off (an empty job) in those settings and right after a Relu and a same-shape
 * Add (both XNNPACK operators on tfjs's pool too). Medians of --rounds.
 * Run: npx tsx main/engine/backends/bench-gemm-split.ts [--rounds 40]
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { productScratchFloats, runProduct, type HeapProduct } from './kernels';
import { heapOffset, nativeKernels } from './native';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const rounds = Number(arg('rounds', '40'));
const scenarios = arg('scenario', 'steady,afterXnn,gap').split(',');

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

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const native = nativeKernels(tf.backend())!;
  for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  if (!native.helper) throw new Error('no helper thread here');
  console.log(`variant ${native.variant}; load ${loadavg()[0]!.toFixed(1)}; median ms of ${rounds} rounds, one thread / two (ratio one/two: > 1 means the split pays)`);
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
  const handoff: Record<string, number[]> = {};
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  for (let r = 0; r < 4 * rounds; r++)
    for (const [s, f] of Object.entries(handoffBefore)) {
      f();
      const t0 = performance.now();
      native.helper.alongside('sum_rows', [0, 0, 0, 0], () => {});
      (handoff[s] ??= []).push(performance.now() - t0);
    }
  console.log(`empty hand-off (µs, median / p90 / mean): ${Object.entries(handoff).map(([s, xs]) => `${s} ${(med(xs) * 1e3).toFixed(0)} / ${(q(xs, 0.9) * 1e3).toFixed(0)} / ${((xs.reduce((a, b) => a + b) / xs.length) * 1e3).toFixed(0)}`).join(', ')}`);
  for (const [m, k, n] of SHAPES) {
    const x = tf.randomNormal([m, k]), w = tf.randomNormal([k, n]), b = tf.randomNormal([n]), y = tf.zeros([m, n]);
    const p: HeapProduct = { a: at(x), b: at(w), c: at(y), m, n, k, bias: at(b), act: 1 };
    const pack = tf.zeros([2 * productScratchFloats(native, p) + 16]);
    const res: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++)
      for (const s of scenarios)
        for (const split of r % 2 ? [true, false] : [false, true]) {
          before[s]!();
          const t0 = performance.now();
          runProduct(native, p, at(pack), split);
          (res[`${s} ${split}`] ??= []).push(performance.now() - t0);
        }
    const macs = m * n * k;
    console.log(
      `[${m},${k}]x[${k},${n}] ${(macs / 1e6).toFixed(2)}M: ` +
        scenarios.map((s) => `${s} ${med(res[`${s} false`]!).toFixed(3)} / ${med(res[`${s} true`]!).toFixed(3)} (${(med(res[`${s} false`]!) / med(res[`${s} true`]!)).toFixed(2)}x)`).join('  '),
    );
    tf.dispose([x, w, b, y, pack]);
  }
}
void main();
