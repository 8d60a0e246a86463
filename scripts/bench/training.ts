/**
 * Training and inference throughput of the cifar10-cnn template (compiled by compileGraph), batch 64,
 * on each backend, through the engine's own training loop (main/engine/training/trainer.ts), against
 * the same network in PyTorch (../shared/bench/pytorch-reference.py throughput).
 *
 * Load on a shared machine moves both figures, so the two alternate: `rounds` times (default 3, or
 * LAYERFORGE_BENCH_ROUNDS) a PyTorch run, then ours on wasm; each side reports its best round, and
 * the ratio is best over best. Every round's figures are in the note.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseProjectText, defaultTrainingSettings } from '../../shared/project';
import { selectBackend, type BackendName } from '../../main/engine/backends';
import { Trainer } from '../../main/engine/training/trainer';
import { syntheticDataset } from '../../main/engine/training/testing/synthetic';
import { pytorchThroughput } from './pytorch';
import type { BenchModule, Figure } from './types';

const TEMPLATE = 'resources/templates/cifar10-cnn.json';

interface Measured {
  train: number;
  infer: number;
  leaked: number;
  reason: string;
}

async function measure(backend: string, batches: number): Promise<Measured> {
  const project = parseProjectText(readFileSync(TEMPLATE, 'utf8'), TEMPLATE);
  const selected = await selectBackend({ force: backend as BackendName });
  const ds = syntheticDataset({ shape: [32, 32, 3], classes: 10, train: 64 * (batches + 1), test: backend === 'cpu' ? 256 : 2048 });
  const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3 };
  const trainer = Trainer.fromGraph(selected.tf, project.graph, settings, ds, selected.name);
  try {
    // Warm-up batch (kernel compilation, optimizer slots), then the timed batches.
    await trainer.train('warmup', 64, () => {});
    const tf = selected.tf;
    const before = tf.memory().numTensors;
    const r = await trainer.train('bench', 64 * batches, () => {});
    if (r.reason !== 'completed') throw new Error(`${backend}: training failed: ${r.message}`);
    const ev = await trainer.evaluate('test');
    return { train: r.trainImagesPerSecond, infer: ev.imagesPerSecond, leaked: tf.memory().numTensors - before, reason: selected.reason };
  } finally {
    trainer.dispose();
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;

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
        // The pure-JS cpu backend is ~100x slower: one round is enough.
        if (unavailable.has(backend) || (backend === 'cpu' && round > 1)) continue;
        const n = backend === 'cpu' ? cpuBatches : batches;
        try {
          log(`round ${round}/${rounds}: ${backend}, ${n} batches of 64, load ${loadavg()[0]!.toFixed(2)} ...`);
          const m = await measure(backend, n);
          log(`  ${backend}: train ${m.train.toFixed(0)} img/s, inference ${m.infer.toFixed(0)} img/s`);
          ours.set(backend, [...(ours.get(backend) ?? []), m]);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          log(`${backend}: not available (${why})`);
          unavailable.set(backend, why);
        }
      }
    }
    const list = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ');
    figures.push(
      { id: 'pytorch.train', label: 'PyTorch cifar10-cnn training (batch 64, best round)', value: peer.train.length ? round1(Math.max(...peer.train)) : null, unit: 'img/s', note: peer.why ?? `rounds: ${list(peer.train)}` },
      { id: 'pytorch.infer', label: 'PyTorch cifar10-cnn inference (batch 256, best round)', value: peer.infer.length ? round1(Math.max(...peer.infer)) : null, unit: 'img/s', note: peer.why ?? `rounds: ${list(peer.infer)}` },
    );
    for (const backend of backends) {
      const ms = ours.get(backend) ?? [];
      const why = unavailable.get(backend);
      const n = backend === 'cpu' ? cpuBatches : batches;
      figures.push(
        { id: `cifar10-cnn.train.${backend}`, label: `cifar10-cnn training on ${backend} (batch 64, ${n} batches, best round)`, value: ms.length ? round1(Math.max(...ms.map((m) => m.train))) : null, unit: 'img/s', peer: 'pytorch.train', note: why ?? `${ms[0]?.reason ?? ''}; rounds: ${list(ms.map((m) => m.train))}` },
        { id: `cifar10-cnn.infer.${backend}`, label: `cifar10-cnn inference on ${backend} (batch 256, best round)`, value: ms.length ? round1(Math.max(...ms.map((m) => m.infer))) : null, unit: 'img/s', peer: 'pytorch.infer', ...(why ? { note: why } : { note: `rounds: ${list(ms.map((m) => m.infer))}` }) },
        { id: `cifar10-cnn.tensorsLeaked.${backend}`, label: `tensors left after a run on ${backend}`, value: ms.length ? Math.max(...ms.map((m) => m.leaked)) : null, unit: 'tensors' },
      );
    }
    return figures;
  },
};
