/**
 * Training rows/s of the fast dense-network loop against the tfjs step (the Trainer's minimize path) on
 * the table MLP 30 -> Dense(64, relu) -> Dropout(0.1) -> Dense(32, relu) -> Dense(2, softmax), batch 32,
 * Adam, on the cpu and wasm backends, and the fast loop with its JS matrix loops (LAYERFORGE_FAST_MLP_WASM=0).
 * Steps only (fill + step + read-back of loss and stats).
 *
 *   npx tsx main/engine/training/fastMlp.bench.ts [seconds per measurement, default 3]
 */
import type * as tfjs from '@tensorflow/tfjs';
import { getTask } from '../../../shared/tasks';
import { selectBackend } from '../backends';
import { createFastMlp } from './fastMlp';
import { createOptimizer } from './optimizers';
import { settings } from './testing/helpers';

const FEATURES = 30;
const BATCH = 32;
const ROWS = 455;
const seconds = Number(process.argv[2] ?? 3);

function model(tf: typeof tfjs): tfjs.LayersModel {
  const input = tf.input({ shape: [FEATURES] });
  let t = tf.layers.dense({ units: 64, activation: 'relu' }).apply(input) as tfjs.SymbolicTensor;
  t = tf.layers.dropout({ rate: 0.1 }).apply(t) as tfjs.SymbolicTensor;
  t = tf.layers.dense({ units: 32, activation: 'relu' }).apply(t) as tfjs.SymbolicTensor;
  t = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(t) as tfjs.SymbolicTensor;
  return tf.model({ inputs: input, outputs: t });
}

function data(): { x: Float32Array; y: Int32Array } {
  let s = 1;
  const rand = () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
  const x = Float32Array.from({ length: ROWS * FEATURES }, () => rand() * 2 - 1);
  const y = Int32Array.from({ length: ROWS }, (_, i) => (x[i * FEATURES]! + x[i * FEATURES + 1]! > 0 ? 1 : 0));
  return { x, y };
}

/**
 * Rows/s of `step` in windows of 50 steps over `seconds`, after a warm-up, stepping through the table
 * in batches: the best window (the machine's speed when nothing else runs) and the median.
 */
async function measure(step: (x: Float32Array, y: Int32Array, n: number) => Promise<void> | void): Promise<{ best: number; median: number }> {
  const { x, y } = data();
  const bx = new Float32Array(BATCH * FEATURES);
  const by = new Int32Array(BATCH);
  let from = 0;
  const one = async () => {
    const n = Math.min(BATCH, ROWS - from);
    bx.set(x.subarray(from * FEATURES, (from + n) * FEATURES));
    by.set(y.subarray(from, from + n));
    await step(bx, by, n);
    from = from + n >= ROWS ? 0 : from + n;
    return n;
  };
  for (let i = 0; i < 200; i++) await one();
  const rates: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    let rows = 0;
    const w0 = performance.now();
    for (let i = 0; i < 50; i++) rows += await one();
    rates.push((rows / (performance.now() - w0)) * 1000);
  }
  rates.sort((a, b) => a - b);
  return { best: rates.at(-1)!, median: rates[Math.floor(rates.length / 2)]! };
}

async function bench(backend: 'cpu' | 'wasm'): Promise<void> {
  const { tf } = await selectBackend({ force: backend, threads: 2 });
  const task = getTask('classification');
  const target = { classes: 2, mean: 0, std: 1 };
  const s = settings({ optimizer: 'adam', batchSize: BATCH, learningRate: 0.003 });
  const m = model(tf);
  const out = m.outputLayers[0]!;
  const plan = task.plan({ name: out.name, type: 'Dense', shape: [2], activation: 'softmax' }, target, 'auto');

  const fast = createFastMlp({ tf, model: m, task, plan, target, settings: s });
  if (!fast) throw new Error('the fast loop declined the bench model');
  const fastRate = await measure((x, y, n) => {
    fast.step(x, y, n, 0.003);
  });
  // The same loop with its matrix products in JS (LAYERFORGE_FAST_MLP_WASM=0), for the wasm module's gain.
  process.env.LAYERFORGE_FAST_MLP_WASM = '0';
  const js = createFastMlp({ tf, model: m, task, plan, target, settings: s })!;
  delete process.env.LAYERFORGE_FAST_MLP_WASM;
  const jsRate = await measure((x, y, n) => {
    js.step(x, y, n, 0.003);
  });
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) fast.sync();
  const syncMs = (performance.now() - t0) / 100;

  // The Trainer's tfjs step: head run as linear, minimize, loss + stats read back.
  const opt = createOptimizer(tf, s);
  const vars = m.trainableWeights.map((w) => w.read() as tfjs.Variable);
  const holder = out as unknown as { activation: unknown };
  const head = holder.activation;
  const linear = (tf.layers.activation({ activation: 'linear' }) as unknown as { activation: unknown }).activation;
  const tfjsRate = await measure(async (x, y, n) => {
    const xs = tf.tensor2d(x.subarray(0, n * FEATURES), [n, FEATURES]);
    const ys = tf.tensor1d(y.subarray(0, n), 'int32');
    let statsT: tfjs.Tensor | null = null;
    const lossT = opt.optimizer.minimize(
      () => {
        holder.activation = linear;
        let raw: tfjs.Tensor;
        try {
          raw = m.apply(xs, { training: true }) as tfjs.Tensor;
        } finally {
          holder.activation = head;
        }
        statsT = tf.keep(task.stats(tf, plan, raw, ys));
        return task.loss(tf, plan, raw, ys, target);
      },
      true,
      vars,
    )!;
    opt.afterStep(vars);
    await lossT.data();
    await statsT!.data();
    tf.dispose([xs, ys, lossT, statsT!]);
  });
  opt.dispose();
  m.dispose();
  const k = (v: number) => `${(v / 1000).toFixed(1)}k`;
  console.log(
    `${backend.padEnd(4)}  fast best ${k(fastRate.best)} median ${k(fastRate.median)} rows/s (JS loops: best ${k(jsRate.best)} median ${k(jsRate.median)})   tfjs best ${k(tfjsRate.best)} median ${k(tfjsRate.median)} rows/s   ×${(fastRate.best / tfjsRate.best).toFixed(1)} (best) ×${(fastRate.median / tfjsRate.median).toFixed(1)} (median)   sync ${syncMs.toFixed(2)} ms`,
  );
}

console.log(`30-64-32-2 MLP, dropout 0.1, adam, batch ${BATCH}, ${seconds} s per figure`);
await bench('cpu');
await bench('wasm');
