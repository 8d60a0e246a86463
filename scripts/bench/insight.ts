/**
 * #19 "See inside": what insight costs.
 * - Live: cifar10-cnn trains in a worker (wasm) on tiny CIFAR-10 data, once alone and once with the activations
 *   view open (an activations request every 2 s, answered between batches), alternated twice; the figure is the
 *   speed with the view open over the speed without (images over the time from the trainer's start to its last
 *   epoch, validation and health included: the requests are served between the timed steps, so the steps' own
 *   images/s would not show them). Target >= 0.95.
 * - Health: the per-epoch training-health measurement's time (from the epoch events) against the epoch's time.
 * - Finished models (cifar10-cnn, resnet-small): activations of every node and Grad-CAM through the worker that
 *   holds the model, p95 over repeated requests. Targets < 150 ms and < 300 ms.
 * `npm run bench -- --only insight [--batches N]` (N: training steps per live run, default 1,000).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTrainingSettings, parseProjectText } from '../../shared/project';
import type { Graph } from '../../shared/graph';
import { writeTinyCifar10 } from '../../main/engine/service/tinyCifar';
import { startRun, type EpochEvent, type RunHandle } from '../../main/engine/training';
import type { InsightOp } from '../../main/engine/insight/types';
import type { BenchModule, Figure } from './types';

const graphOf = (name: string): Graph => parseProjectText(readFileSync(`resources/templates/${name}.json`, 'utf8')).graph;

function p95(ms: number[]): number {
  const s = [...ms].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

async function trainOnce(graph: Graph, bin: string, steps: number, view: boolean): Promise<{ imagesPerSecond: number; healthMs: number[]; epochMs: number[]; latencies: number[] }> {
  const batchSize = 16;
  const epochs = 2;
  const limit = Math.ceil(steps / epochs) * batchSize;
  const events: EpochEvent[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  const latencies: number[] = [];
  let k = 0;
  // The view opens at the first batch (a request sent earlier waits for the worker's start-up).
  const open = () => {
    timer = setInterval(() => {
      const t0 = performance.now();
      void run.insight({ kind: 'activations', sample: k++ % 10, nodeId: 'conv1', maxChannels: 64 }).then(() => latencies.push(performance.now() - t0), () => {});
    }, 2000);
  };
  const run = startRun({ graph, settings: { ...defaultTrainingSettings(), epochs, batchSize, backend: 'wasm', validationSplit: 0 }, dataset: { id: 'cifar10', dataDir: bin }, limit }, (e) => {
    if (e.type === 'epoch') events.push(e);
    if (e.type === 'batch' && view && !timer) open();
  });
  const r = await run.done;
  clearInterval(timer);
  await run.dispose();
  if (r.reason !== 'completed') throw new Error(`the bench run ended: ${r.message}`);
  const epochMs = events.map((e, i) => e.elapsedMs - (events[i - 1]?.elapsedMs ?? 0));
  // From the trainer's start (after the worker's backend and model are ready) to its last epoch: start-up is not compared.
  const trainedMs = events.at(-1)?.elapsedMs ?? r.elapsedMs;
  return { imagesPerSecond: (r.imagesTrained / trainedMs) * 1000, healthMs: events.map((e) => e.health?.ms ?? 0), epochMs, latencies };
}

async function finishedModel(name: string, bin: string, samples: number): Promise<{ activations: number; gradcam: number; nodes: number; run: RunHandle }> {
  const graph = graphOf(name);
  const run = startRun({ graph, settings: { ...defaultTrainingSettings(), epochs: 1, batchSize: 16, backend: 'wasm', validationSplit: 0 }, dataset: { id: 'cifar10', dataDir: bin }, limit: 32 });
  const r = await run.done;
  if (r.reason !== 'completed') throw new Error(`${name}: ${r.message}`);
  const ask = async (op: InsightOp) => {
    const t0 = performance.now();
    await run.insight(op);
    return performance.now() - t0;
  };
  const nodes = graph.nodes.map((n) => n.id);
  for (const nodeId of nodes) await ask({ kind: 'activations', sample: 0, nodeId, maxChannels: 64 }); // sub-models built once
  const act: number[] = [];
  for (let i = 0; i < samples; i++) for (const nodeId of nodes) act.push(await ask({ kind: 'activations', sample: i % 10, nodeId, maxChannels: 64 }));
  await ask({ kind: 'explain', sample: 0, method: 'gradcam' });
  const cam: number[] = [];
  for (let i = 0; i < samples; i++) cam.push(await ask({ kind: 'explain', sample: i % 10, method: 'gradcam' }));
  return { activations: p95(act), gradcam: p95(cam), nodes: nodes.length, run };
}

export const insightBench: BenchModule = {
  name: 'insight',
  optIn: true,
  async run(opts) {
    const root = mkdtempSync(join(tmpdir(), 'lf-bench-insight-'));
    const figures: Figure[] = [];
    try {
      const steps = Number.isFinite(opts.batches) && opts.batches > 32 ? opts.batches : 1000;
      // Enough training images for `steps` steps of 16 in 2 epochs (with 400, every run was 50 steps, ~2 s: two requests).
      const bin = writeTinyCifar10(root, Math.ceil(steps / 2) * 16, 20);
      const graph = graphOf('cifar10-cnn');
      const load = () => loadavg()[0]!.toFixed(1);
      opts.log(`insight: live overhead, cifar10-cnn, ${steps} steps of 16 per run (load ${load()})`);
      const without: number[] = [];
      const withView: number[] = [];
      const health: { ms: number; epoch: number }[] = [];
      const latencies: number[] = [];
      for (let round = 0; round < 2; round++) {
        const a = await trainOnce(graph, bin, steps, false);
        const b = await trainOnce(graph, bin, steps, true);
        without.push(a.imagesPerSecond);
        withView.push(b.imagesPerSecond);
        latencies.push(...b.latencies);
        for (const r of [a, b]) r.healthMs.forEach((ms, i) => health.push({ ms, epoch: r.epochMs[i]! }));
        opts.log(`  round ${round + 1}: ${a.imagesPerSecond.toFixed(0)} images/s alone, ${b.imagesPerSecond.toFixed(0)} with the view open (${b.latencies.length} requests) (load ${load()})`);
      }
      const sum = (v: number[]) => v.reduce((x, y) => x + y, 0);
      figures.push(
        { id: 'insight.live.ratio', label: 'cifar10-cnn: speed with the activations view open / without', value: round(sum(withView) / sum(without), 3), unit: 'x', note: 'target >= 0.95' },
        { id: 'insight.live.activations.p95', label: 'cifar10-cnn: live activations (conv1) p95, while training', value: latencies.length ? round(p95(latencies)) : null, unit: 'ms' },
        { id: 'insight.health.ms', label: 'cifar10-cnn: training health per epoch', value: round(sum(health.map((h) => h.ms)) / Math.max(1, health.length)), unit: 'ms' },
        { id: 'insight.health.share', label: 'cifar10-cnn: training health / epoch time', value: round((sum(health.map((h) => h.ms)) / Math.max(1, sum(health.map((h) => h.epoch)))) * 100, 2), unit: '%' },
      );
      for (const name of ['cifar10-cnn', 'resnet-small']) {
        opts.log(`insight: ${name} finished model (load ${load()})`);
        const m = await finishedModel(name, bin, 10);
        await m.run.dispose();
        figures.push(
          { id: `insight.${name}.activations.p95`, label: `${name}: activations of any node (${m.nodes} nodes) p95`, value: round(m.activations), unit: 'ms', note: 'target < 150' },
          { id: `insight.${name}.gradcam.p95`, label: `${name}: Grad-CAM p95`, value: round(m.gradcam), unit: 'ms', note: 'target < 300' },
        );
      }
      opts.log(`insight: done (load ${load()})`);
      return figures;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
