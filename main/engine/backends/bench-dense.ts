/**
 * Times the fused dense op (dense.ts: LayerforgeDense forward, LayerforgeDenseGrad) on the shapes of lenet5,
 * transformer-classifier and mini-GPT, in one process, every variant alternating per round (medians):
 *   steady   back-to-back calls of the shape set (a forward pass's products)
 *   afterXnn each call of the set after a threaded XNNPACK convolution (as lenet5's forward: Conv2D, then the dense layers)
 *   gap      each set after a 3 ms pause (threads asleep)
 * for: the helper threshold in force (new), the old one (262,144: lenet5's two larger products and all of
 * transformer-classifier's split), and one thread (helper hidden).
 * Run: npx tsx main/engine/backends/bench-dense.ts [--rounds 15] [--set lenet5,transformer,gpt] [--scenario steady,afterXnn,gap]
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { selectBackend } from '.';
import { DENSE_GRAD_KERNEL, DENSE_KERNEL, fusedDenseHere } from './dense';
import { nativeKernels } from './native';
import { gemmHelperMinimum, setGemmHelperMin } from './kernels';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const rounds = Number(arg('rounds', '15'));
const sets = arg('set', 'lenet5,transformer,gpt').split(',');
const scenarios = arg('scenario', 'steady,afterXnn,gap').split(',');
/** new: the helper threshold in force (2^22); old: 262,144 (before); one: the helper hidden. */
const variants = arg('variant', 'new,old,one').split(',');

/** [x shape, w shape, bias, act] per layer. */
type Layer = [x: number[], w: number[], bias: boolean, act: number];
const SETS: Record<string, Layer[]> = {
  lenet5: [
    [[64, 400], [400, 120], true, 1],
    [[64, 120], [120, 84], true, 1],
    [[64, 84], [84, 10], true, 0],
  ],
  transformer: [
    [[32, 32, 32], [32, 6, 16], true, 0],
    [[32, 32, 32], [2, 16, 32], true, 0],
    [[32, 32, 32], [32, 64], true, 1],
    [[32, 32, 64], [64, 32], true, 0],
    [[32, 32], [32, 2], true, 0],
  ],
  gpt: [
    [[32, 128, 128], [128, 12, 32], true, 0],
    [[32, 128, 128], [4, 32, 128], true, 0],
    [[32, 128, 128], [128, 512], true, 1],
    [[32, 128, 512], [512, 128], true, 0],
    [[32, 128, 128], [128, 96], true, 0],
  ],
};

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await selectBackend({ force: 'wasm' });
  const native = nativeKernels(tf.backend())!;
  for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  if (!fusedDenseHere(tf as never)) throw new Error('fused dense not available');
  console.log(`variant ${native.variant}; helper ${native.helper ? 'yes' : 'no'}; load ${loadavg()[0]!.toFixed(1)}`);
  const engine = tf.engine();
  const img = tf.randomNormal([64, 28, 28, 6]);
  const filt = tf.randomNormal([5, 5, 6, 16]);
  const xnn = () => tf.conv2d(img as tf.Tensor4D, filt as tf.Tensor4D, 1, 'valid').dispose();
  for (const set of sets) {
    const layers = SETS[set]!.map(([xs, ws, hasBias, act]) => {
      const k = xs.at(-1)!;
      const n = ws.reduce((a, b) => a * b, 1) / k;
      const x = tf.randomNormal(xs), w = tf.randomNormal(ws).mul(0.1), b = hasBias ? tf.randomNormal([n]) : null;
      const y = engine.runKernel(DENSE_KERNEL, b ? { x, w, bias: b } : { x, w }, { act } as never) as tf.Tensor;
      const dy = tf.randomNormal(y.shape);
      const macs = (x.size / k) * n * k;
      return { x, w, b, y, dy, act, macs, k, n };
    });
    const totalMacs = layers.reduce((s, l) => s + l.macs, 0);
    const fwd = (l: (typeof layers)[number]) => (engine.runKernel(DENSE_KERNEL, l.b ? { x: l.x, w: l.w, bias: l.b } : { x: l.x, w: l.w }, { act: l.act } as never) as tf.Tensor).dispose();
    const grad = (l: (typeof layers)[number]) => {
      const out = engine.runKernel(DENSE_GRAD_KERNEL, l.act ? { dy: l.dy, x: l.x, w: l.w, y: l.y } : { dy: l.dy, x: l.x, w: l.w }, { act: l.act, biasShape: l.b ? [l.n] : null } as never) as tf.Tensor[];
      for (const t of out) t.dispose();
    };
    const reps = Math.max(1, Math.round(2e7 / totalMacs));
    const keyed = new Map<string, number[]>();
    const jobs: { key: string; once: () => number }[] = [];
    for (const scenario of scenarios)
      for (const dir of ['fwd', 'grad'] as const)
        for (const variant of variants) {
          const f = dir === 'fwd' ? fwd : grad;
          const hide = variant === 'one';
          const once = (): number => {
            const helper = native.helper;
            if (hide) (native as { helper: unknown }).helper = null;
            const threshold = variant === 'old' ? setGemmHelperMin(262_144) : gemmHelperMinimum();
            try {
              let t = 0;
              if (scenario === 'gap') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3);
              for (const l of layers) {
                if (scenario === 'afterXnn') xnn();
                const t0 = performance.now();
                f(l);
                t += performance.now() - t0;
              }
              return t;
            } finally {
              (native as { helper: unknown }).helper = helper;
              setGemmHelperMin(threshold);
            }
          };
          jobs.push({ key: `${scenario} ${dir} ${variant}`, once });
        }
    for (const j of jobs) j.once();
    for (let r = 0; r < rounds; r++)
      for (const j of r % 2 ? [...jobs].reverse() : jobs) {
        let t = 0;
        for (let i = 0; i < reps; i++) t += j.once();
        keyed.set(j.key, [...(keyed.get(j.key) ?? []), t / reps]);
      }
    console.log(`${set}: ${layers.length} products, ${(totalMacs / 1e6).toFixed(2)}M multiply-adds (grad: twice), ${rounds} rounds x ${reps}`);
    for (const [key, v] of keyed) {
      const macs = key.includes('grad') ? 2 * totalMacs : totalMacs;
      console.log(`  ${key.padEnd(22)} ${med(v).toFixed(3)} ms (min ${Math.min(...v).toFixed(3)})  ${((2 * macs) / med(v) / 1e6).toFixed(1)} GFLOP/s`);
    }
    for (const l of layers) tf.dispose([l.x, l.w, l.y, l.dy, ...(l.b ? [l.b] : [])]);
  }
}
void main();
