/**
 * Training / inference throughput of the classic Keras CIFAR-10 CNN (the cifar10-cnn template:
 * conv32-pool-conv64-pool-dense128-dense10, ReLU, Adam 1e-3, batch 64, random 32x32x3 data) on
 * each backend available here, and the same network in PyTorch (../shared/bench/pytorch-reference.py
 * throughput) run by this script, so the ratio ours / PyTorch is measured under the same load.
 *
 *   npx tsx main/engine/backends/bench.ts [--batches 30] [--cpu-batches 1] [--backends wasm,cpu]
 *       [--threads N] [--loop trainOnBatch|minimize|both] [--repeat 1] [--no-pytorch] [--json]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { isBackendName, selectBackend, type BackendName } from './index';
import type { Tf } from './inventory';

interface Args {
  batches: number;
  cpuBatches: number;
  backends: BackendName[];
  threads?: number;
  loop: 'trainOnBatch' | 'minimize' | 'both';
  repeat: number;
  pytorch: boolean;
  json: boolean;
  inferImages: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { batches: 30, cpuBatches: 1, backends: ['wasm', 'cpu'], loop: 'trainOnBatch', repeat: 1, pytorch: true, json: false, inferImages: 2048 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const n = () => {
      const x = Number(v());
      if (!Number.isFinite(x) || x < 1) throw new Error(`${k} expects a positive number`);
      return Math.floor(x);
    };
    if (k === '--batches') a.batches = n();
    else if (k === '--cpu-batches') a.cpuBatches = n();
    else if (k === '--threads') a.threads = n();
    else if (k === '--repeat') a.repeat = n();
    else if (k === '--infer-images') a.inferImages = n();
    else if (k === '--backends') {
      const list = v().split(',');
      for (const b of list) if (!isBackendName(b)) throw new Error(`--backends: unknown backend '${b}'`);
      a.backends = list as BackendName[];
    } else if (k === '--loop') {
      const l = v();
      if (l !== 'trainOnBatch' && l !== 'minimize' && l !== 'both') throw new Error(`--loop expects trainOnBatch, minimize or both, got '${l}'`);
      a.loop = l;
    } else if (k === '--no-pytorch') a.pytorch = false;
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const BATCH = 64;

/** The cifar10-cnn template, built with tf.layers directly (315,722 parameters). */
export function cifarCnn(tf: Tf): tfjs.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

function randomBatches(tf: Tf, count: number): { x: tfjs.Tensor4D; y: tfjs.Tensor2D }[] {
  return Array.from({ length: count }, () =>
    tf.tidy(() => ({
      x: tf.randomUniform([BATCH, 32, 32, 3]) as tfjs.Tensor4D,
      y: tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tfjs.Tensor1D, 10).cast('float32') as tfjs.Tensor2D,
    })),
  );
}

export interface Throughput {
  backend: string;
  /** Which repetition (pairs this run with the PyTorch run of the same repetition). */
  rep?: number;
  loop: string;
  batches: number;
  trainImgPerSec: number;
  inferImgPerSec: number;
  finalLoss: number;
}

async function measure(tf: Tf, backend: string, batches: number, loop: 'trainOnBatch' | 'minimize', inferImages: number): Promise<Throughput> {
  const model = cifarCnn(tf);
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const data = randomBatches(tf, Math.min(batches, 8));
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tfjs.Variable }).val);
  let loss = NaN;
  const step = async (i: number): Promise<void> => {
    const { x, y } = data[i % data.length]!;
    if (loop === 'trainOnBatch') {
      loss = (await model.trainOnBatch(x, y)) as number;
    } else {
      const l = optimizer.minimize(() => tf.tidy(() => tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tfjs.Tensor).mean() as tfjs.Scalar), true, vars);
      loss = (await l!.data())[0]!;
      l!.dispose();
    }
  };
  // Warm-up: first steps create variables, XNNPACK operators and grow the wasm heap.
  for (let i = 0; i < (backend === 'cpu' ? 1 : 2); i++) await step(i);
  const t0 = performance.now();
  for (let i = 0; i < batches; i++) await step(i);
  const trainSec = (performance.now() - t0) / 1000;

  // Inference like the PyTorch reference: batches of 256 over `inferImages` images.
  const inferBatch = 256;
  const xs = tf.randomUniform([inferBatch, 32, 32, 3]);
  const warm = model.predict(xs) as tfjs.Tensor;
  await warm.data();
  warm.dispose();
  const rounds = Math.max(1, Math.round(inferImages / inferBatch));
  const t1 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const p = model.predict(xs) as tfjs.Tensor;
    await p.data();
    p.dispose();
  }
  const inferSec = (performance.now() - t1) / 1000;
  xs.dispose();
  for (const d of data) tf.dispose([d.x, d.y]);
  model.dispose();
  optimizer.dispose();
  return { backend, loop, batches, trainImgPerSec: (batches * BATCH) / trainSec, inferImgPerSec: (rounds * inferBatch) / inferSec, finalLoss: loss };
}

export interface PytorchFigures {
  trainImgPerSec: number;
  inferImgPerSec: number;
}

function pytorchReference(): { figures?: PytorchFigures; skipped?: string } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = process.env.LAYERFORGE_PYTORCH_REFERENCE ?? path.resolve(here, '../../../../shared/bench/pytorch-reference.py');
  const python = process.env.LAYERFORGE_PYTHON ?? '/usr/bin/python3';
  if (!fs.existsSync(script)) return { skipped: `${script} not found` };
  if (!fs.existsSync(python)) return { skipped: `${python} not found` };
  const r = spawnSync(python, [script, 'throughput'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').pop() ?? '';
    return { skipped: `pytorch-reference.py failed (${why.includes('torch') ? 'is python3-torch installed? ' : ''}${why})` };
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(last) as { train_img_s: number; infer_img_s: number };
    return { figures: { trainImgPerSec: j.train_img_s, inferImgPerSec: j.infer_img_s } };
  } catch {
    return { skipped: `could not read pytorch-reference.py output: ${last}` };
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => {
    if (!args.json) console.log(s);
  };
  const results: Throughput[] = [];
  const torch: PytorchFigures[] = [];
  const torchByRep = new Map<number, PytorchFigures>();
  let torchSkipped: string | undefined;
  const backendInfo: Record<string, string> = {};
  for (let rep = 0; rep < args.repeat; rep++) {
    if (args.pytorch && !torchSkipped) {
      log(`[${rep + 1}/${args.repeat}] PyTorch reference…`);
      const p = pytorchReference();
      if (p.figures) torchByRep.set(rep, p.figures);
      if (p.figures) torch.push(p.figures);
      else torchSkipped = p.skipped;
    }
    for (const name of args.backends) {
      const sel = await selectBackend({ force: name, ...(args.threads ? { threads: args.threads } : {}) }).catch((e: Error) => e);
      if (sel instanceof Error) {
        backendInfo[name] = `unavailable: ${sel.message}`;
        continue;
      }
      backendInfo[name] = sel.reason;
      const loops: Array<'trainOnBatch' | 'minimize'> = args.loop === 'both' ? ['trainOnBatch', 'minimize'] : [args.loop];
      for (const loop of loops) {
        const batches = name === 'cpu' ? args.cpuBatches : args.batches;
        log(`[${rep + 1}/${args.repeat}] ${name} (${loop}, ${batches} batches of ${BATCH})…`);
        results.push({ ...(await measure(sel.tf, name, batches, loop, name === 'cpu' ? 256 : args.inferImages)), rep });
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const pt = torch.length ? { trainImgPerSec: median(torch.map((t) => t.trainImgPerSec)), inferImgPerSec: median(torch.map((t) => t.inferImgPerSec)) } : undefined;
  const rows = new Map<string, Throughput[]>();
  for (const r of results) (rows.get(`${r.backend}/${r.loop}`) ?? rows.set(`${r.backend}/${r.loop}`, []).get(`${r.backend}/${r.loop}`)!).push(r);
  const summary = [...rows.entries()].map(([key, rs]) => {
    const train = median(rs.map((r) => r.trainImgPerSec));
    const infer = median(rs.map((r) => r.inferImgPerSec));
    // The machine is shared, so ratios pair each run with the PyTorch run of the same repetition.
    const paired = rs.filter((r) => torchByRep.has(r.rep ?? -1));
    const trainRatio = median(paired.map((r) => r.trainImgPerSec / torchByRep.get(r.rep!)!.trainImgPerSec));
    const inferRatio = median(paired.map((r) => r.inferImgPerSec / torchByRep.get(r.rep!)!.inferImgPerSec));
    return {
      backend: rs[0]!.backend,
      loop: rs[0]!.loop,
      key,
      trainImgPerSec: Math.round(train),
      inferImgPerSec: Math.round(infer),
      ...(paired.length ? { trainVsPytorch: +trainRatio.toFixed(3), inferVsPytorch: +inferRatio.toFixed(3) } : {}),
      finalLoss: rs[rs.length - 1]!.finalLoss,
      runs: rs.length,
    };
  });
  if (args.json) {
    console.log(JSON.stringify({ model: 'cifar10-cnn', batchSize: BATCH, backends: backendInfo, pytorch: pt ?? { skipped: torchSkipped }, pytorchRuns: torch, results: summary, raw: results }));
    return;
  }
  console.log('\ncifar10-cnn, batch 64, Adam 1e-3, random data');
  for (const [k, v] of Object.entries(backendInfo)) console.log(`  ${k}: ${v}`);
  console.log('');
  console.log(`  ${'backend'.padEnd(24)} ${'train img/s'.padStart(12)} ${'infer img/s'.padStart(12)} ${'train/PyTorch'.padStart(14)} ${'infer/PyTorch'.padStart(14)}`);
  if (pt) console.log(`  ${'pytorch'.padEnd(24)} ${pt.trainImgPerSec.toFixed(0).padStart(12)} ${pt.inferImgPerSec.toFixed(0).padStart(12)} ${'1.00'.padStart(14)} ${'1.00'.padStart(14)}`);
  for (const s of summary) {
    const ratio = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
    console.log(`  ${s.key.padEnd(24)} ${String(s.trainImgPerSec).padStart(12)} ${String(s.inferImgPerSec).padStart(12)} ${ratio(s.trainVsPytorch).padStart(14)} ${ratio(s.inferVsPytorch).padStart(14)}`);
  }
  if (!pt) console.log(`\n  PyTorch reference not run: ${torchSkipped ?? 'disabled (--no-pytorch)'}`);
  else console.log('\n  img/s are medians over repetitions; ratios are medians of per-repetition ratios (each run against the PyTorch run just before it).');
  for (const r of results) if (torchByRep.has(r.rep ?? -1)) {
    const t = torchByRep.get(r.rep!)!;
    console.log(`  rep ${r.rep! + 1}: ${r.backend}/${r.loop} ${r.trainImgPerSec.toFixed(0)}/${r.inferImgPerSec.toFixed(0)} vs PyTorch ${t.trainImgPerSec.toFixed(0)}/${t.inferImgPerSec.toFixed(0)} img/s (train/infer)`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
