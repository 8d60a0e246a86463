/**
 * Training and inference throughput of the cifar10-cnn template (compiled by compileGraph), batch 64,
 * on each backend, through the engine's own training loop (main/engine/training/trainer.ts), against
 * the same network in PyTorch (../shared/bench/pytorch-reference.py throughput).
 *
 * Load on a shared machine moves both figures, so the two alternate: `rounds` times (default 3, or
 * LAYERFORGE_BENCH_ROUNDS) a PyTorch run, then ours on wasm; each side reports its best round, and
 * the ratio is best over best. Every round's figures are in the note.
 *
 * The pure-JS tfjs `cpu` backend runs one bounded round: batches of CPU_BATCH (not 64), `--cpu-batches`
 * of them (default 2) or fewer when CPU_SECONDS (LAYERFORGE_BENCH_CPU_SECONDS) run out, after a warm-up
 * step of two images, and inference on CPU_TEST images. Its training step is ~1 s per image on this CPU:
 * ~80% of it is tfjs-backend-cpu's Conv2DBackpropFilter, which reads every element through
 * TensorBuffer.get(b, r, c, d) (no kernel of ours runs on cpu). Its cost per image does not depend on the
 * batch size, so a small batch measures the same rate; three batches of 64 plus 1,024 validated and
 * evaluated images took over 13 minutes.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseProjectText, defaultTrainingSettings } from '../../shared/project';
import { selectBackend, type BackendName } from '../../main/engine/backends';
import { noControl, Trainer, type TrainControl } from '../../main/engine/training/trainer';
import { syntheticDataset } from '../../main/engine/training/testing/synthetic';
import { pytorchThroughput, speedPeerMallocNote } from './pytorch';
import type { BenchModule, Figure } from './types';

const TEMPLATE = 'resources/templates/cifar10-cnn.json';
/** The cpu round's batch size, test images and time budget (seconds of timed training; checked between batches). */
const CPU_BATCH = 16;
const CPU_TEST = 32;
const CPU_SECONDS = Math.max(1, Number(process.env.LAYERFORGE_BENCH_CPU_SECONDS ?? 60) || 60);

interface Measured {
  train: number;
  infer: number;
  leaked: number;
  reason: string;
  /** Timed batches run (the cpu round may stop early) and their size. */
  batches: number;
  batch: number;
}

async function measure(backend: string, batches: number): Promise<Measured> {
  const project = parseProjectText(readFileSync(TEMPLATE, 'utf8'), TEMPLATE);
  const selected = await selectBackend({ force: backend as BackendName });
  const cpu = backend === 'cpu';
  const bs = cpu ? CPU_BATCH : 64;
  const ds = syntheticDataset({ shape: [32, 32, 3], classes: 10, train: bs * (batches + 1), test: cpu ? CPU_TEST : 2048 });
  const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: bs, optimizer: 'adam' as const, learningRate: 1e-3 };
  const trainer = Trainer.fromGraph(selected.tf, project.graph, settings, ds, selected.name);
  try {
    // Warm-up step (kernel compilation, optimizer slots; on cpu two images are enough), then the timed batches.
    await trainer.train('warmup', cpu ? 2 : 64, () => {});
    const tf = selected.tf;
    const before = tf.memory().numTensors;
    // cpu: stop between batches once CPU_SECONDS are spent (at least one batch runs).
    const deadline = performance.now() + CPU_SECONDS * 1000;
    const budget: TrainControl = { ...noControl, stopRequested: () => cpu && performance.now() > deadline, quickStopRequested: () => cpu && performance.now() > deadline };
    const r = await trainer.train('bench', bs * batches, () => {}, budget);
    if (r.reason !== 'completed' && !(r.reason === 'stopped' && r.batchesCompleted > 0)) throw new Error(`${backend}: training failed: ${r.message}`);
    const ev = await trainer.evaluate('test');
    return { train: r.trainImagesPerSecond, infer: ev.imagesPerSecond, leaked: tf.memory().numTensors - before, reason: selected.reason, batches: r.batchesCompleted, batch: bs };
  } finally {
    trainer.dispose();
  }
}

/** One decimal, two below 10 img/s (the cpu round). */
const round1 = (v: number) => (v < 10 ? Math.round(v * 100) / 100 : Math.round(v * 10) / 10);

export const trainingBench: BenchModule = {
  name: 'training',
  async run({ batches, cpuBatches, backends, log }) {
    const rounds = Math.max(1, Number(process.env.LAYERFORGE_BENCH_ROUNDS ?? 3) || 3);
    const figures: Figure[] = [];
    const peer: { train: number[]; infer: number[]; why?: string } = { train: [], infer: [] };
    const ours = new Map<string, Measured[]>();
    const unavailable = new Map<string, string>();
    for (let round = 1; round <= rounds; round++) {
      if (!peer.why) {
        log(`round ${round}/${rounds}: PyTorch reference (pytorch-reference.py throughput), load ${loadavg()[0]!.toFixed(2)} ...`);
        const p = pytorchThroughput();
        if ('why' in p) peer.why = p.why;
        else {
          if (p.train != null) peer.train.push(p.train);
          if (p.infer != null) peer.infer.push(p.infer);
        }
      }
      for (const backend of backends) {
        // The pure-JS cpu backend is ~1,000x slower: one bounded round is enough.
        if (unavailable.has(backend) || (backend === 'cpu' && round > 1)) continue;
        const n = backend === 'cpu' ? cpuBatches : batches;
        try {
          const how = backend === 'cpu' ? `${n} batches of ${CPU_BATCH} or ${CPU_SECONDS} s, inference on ${CPU_TEST} images` : `${n} batches of 64`;
          log(`round ${round}/${rounds}: ${backend}, ${how}, load ${loadavg()[0]!.toFixed(2)} ...`);
          const m = await measure(backend, n);
          log(`  ${backend}: train ${m.train.toFixed(m.train < 10 ? 2 : 0)} img/s (${m.batches} batches of ${m.batch}), inference ${m.infer.toFixed(0)} img/s`);
          ours.set(backend, [...(ours.get(backend) ?? []), m]);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          log(`${backend}: not available (${why})`);
          unavailable.set(backend, why);
        }
      }
    }
    const list = (v: number[]) => v.map((x) => x.toFixed(x < 10 ? 2 : 0)).join(', ');
    figures.push(
      { id: 'pytorch.train', label: 'PyTorch cifar10-cnn training (batch 64, best round)', value: peer.train.length ? round1(Math.max(...peer.train)) : null, unit: 'img/s', note: peer.why ?? `rounds: ${list(peer.train)}; ${speedPeerMallocNote()}` },
      { id: 'pytorch.infer', label: 'PyTorch cifar10-cnn inference (batch 256, best round)', value: peer.infer.length ? round1(Math.max(...peer.infer)) : null, unit: 'img/s', note: peer.why ?? `rounds: ${list(peer.infer)}; ${speedPeerMallocNote()}` },
    );
    for (const backend of backends) {
      const ms = ours.get(backend) ?? [];
      const why = unavailable.get(backend);
      const cpu = backend === 'cpu';
      const n = cpu ? cpuBatches : batches;
      const ran = ms[0] && ms[0].batches < n ? `, stopped after ${ms[0].batches} by the ${CPU_SECONDS} s budget` : '';
      const trainLabel = cpu ? `cifar10-cnn training on cpu (bounded: batch ${CPU_BATCH}, ${n} batches${ran}; one round)` : `cifar10-cnn training on ${backend} (batch 64, ${n} batches, best round)`;
      const trainNote = cpu ? "; tfjs's pure-JS backend: ~80% of its step is its Conv2DBackpropFilter (TensorBuffer.get per element)" : '';
      figures.push(
        { id: `cifar10-cnn.train.${backend}`, label: trainLabel, value: ms.length ? round1(Math.max(...ms.map((m) => m.train))) : null, unit: 'img/s', peer: 'pytorch.train', note: why ?? `${ms[0]?.reason ?? ''}; rounds: ${list(ms.map((m) => m.train))}${trainNote}` },
        { id: `cifar10-cnn.infer.${backend}`, label: cpu ? `cifar10-cnn inference on cpu (${CPU_TEST} images; one round)` : `cifar10-cnn inference on ${backend} (batch 256, best round)`, value: ms.length ? round1(Math.max(...ms.map((m) => m.infer))) : null, unit: 'img/s', peer: 'pytorch.infer', ...(why ? { note: why } : { note: `rounds: ${list(ms.map((m) => m.infer))}` }) },
        { id: `cifar10-cnn.tensorsLeaked.${backend}`, label: `tensors left after a run on ${backend}`, value: ms.length ? Math.max(...ms.map((m) => m.leaked)) : null, unit: 'tensors' },
      );
    }
    return figures;
  },
};
