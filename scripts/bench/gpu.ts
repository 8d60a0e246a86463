/**
 * `npm run bench -- --only gpu`: the GPU check. Training images/s of cifar10-cnn and resnet-small
 * (batch 64, Adam 1e-3, synthetic data) on webgpu (Dawn on the best adapter: any vendor) and, where
 * installed, tensorflow-gpu (CUDA), against wasm on this machine and PyTorch on CUDA
 * (scripts/bench/pytorch-gpu.py) where torch.cuda is available. A software adapter (Mesa's
 * lavapipe/llvmpipe, SwiftShader, WARP) is measured but said to be one: its figure is not a GPU's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../shared/project';
import { describeAdapter, releaseWebgpu, selectBackend, type BackendName, type SelectedBackend } from '../../main/engine/backends';
import { Trainer } from '../../main/engine/training/trainer';
import { graphDataShape, syntheticDataset } from '../../main/engine/training/testing/synthetic';
import { PYTHON, speedPeerEnv } from './pytorch';
import type { BenchModule, Figure } from './types';

export const GPU_TEMPLATES = ['cifar10-cnn', 'resnet-small'] as const;
const PEER = resolve('scripts/bench/pytorch-gpu.py');
const BATCH = 64;
/**
 * On a software adapter (lavapipe: the CPU running shaders, tens of img/s) a smaller batch and one timed
 * batch: the figure is labelled not-a-GPU-figure anyway, and the same shaders compile and run at a quarter of
 * the time (the offline GPU-check bundle's test runs this on CI machines).
 */
const SOFTWARE_BATCH = 16;

/** Training images/s of a template on the selected backend: one warm-up batch (shaders), then `n` timed ones. */
async function trainSpeed(selected: SelectedBackend, name: string, n: number, batch: number): Promise<number> {
  const file = `resources/templates/${name}.json`;
  const project = parseProjectText(readFileSync(file, 'utf8'), file);
  const { shape, classes } = graphDataShape(project.graph);
  const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize: batch, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (batch * n + 1) };
  const ds = syntheticDataset({ shape, classes, train: batch * n + 1, test: 8 });
  const trainer = Trainer.fromGraph(selected.tf, project.graph, settings, ds, selected.name);
  try {
    const w = await trainer.train('warmup', batch + 1, () => {});
    if (w.reason !== 'completed') throw new Error(`warm-up failed: ${w.message}`);
    const r = await trainer.train('bench', batch * n + 1, () => {});
    if (r.reason !== 'completed') throw new Error(`training failed: ${r.message}`);
    return r.trainImagesPerSecond;
  } finally {
    trainer.dispose();
  }
}

function cudaPeer(batches: number, log: (l: string) => void): { speeds: Record<string, number>; device?: string } | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, [PEER, '--batches', String(batches)], { encoding: 'utf8', timeout: 600_000, env: speedPeerEnv() });
  if (r.status !== 0) return `pytorch-gpu.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}`;
  const lines = r.stdout.trim().split('\n');
  for (const l of lines.slice(0, -1)) log(`gpu: PyTorch ${l}`);
  const j = JSON.parse(lines.at(-1) ?? '{}') as { skipped?: string; device?: string; templates?: Record<string, { train_img_s: number }> };
  if (j.skipped) return j.skipped;
  return { speeds: Object.fromEntries(Object.entries(j.templates ?? {}).map(([k, v]) => [k, v.train_img_s])), ...(j.device ? { device: j.device } : {}) };
}

export const gpuBench: BenchModule = {
  name: 'gpu',
  optIn: true,
  async run({ batches, log }) {
    const figures: Figure[] = [];
    const peer = cudaPeer(Math.max(10, batches), log);
    if (typeof peer === 'string') log(`gpu: PyTorch on CUDA skipped: ${peer}`);
    const r1 = (v: number) => Math.round(v * 10) / 10;
    const wasmSpeed: Record<string, number> = {};
    const backends: BackendName[] = ['wasm', 'webgpu', 'tensorflow-gpu'];
    for (const b of backends) {
      let selected: SelectedBackend;
      try {
        selected = await selectBackend({ force: b });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        log(`gpu: ${b} not available: ${why}`);
        for (const t of GPU_TEMPLATES) figures.push({ id: `gpu.${t}.train.${b}`, label: `${t} training on ${b}`, value: null, unit: 'img/s', note: why });
        continue;
      }
      const adapter = selected.tried.find((t) => t.name === 'webgpu')?.adapter;
      const software = adapter?.software === true;
      const where = adapter ? describeAdapter(adapter) : selected.reason;
      // A software adapter runs at CPU speed (tens of img/s): one timed batch of SOFTWARE_BATCH says enough.
      const n = b === 'wasm' ? 2 : software ? 1 : Math.max(4, Math.ceil(batches / 2));
      const batch = software ? SOFTWARE_BATCH : BATCH;
      for (const t of GPU_TEMPLATES) {
        log(`gpu: ${t} on ${b} (${where}), 1 warm-up + ${n} timed batches of ${batch} ...`);
        try {
          const v = await trainSpeed(selected, t, n, batch);
          if (b === 'wasm') wasmSpeed[t] = v;
          const vsWasm = b !== 'wasm' && wasmSpeed[t] ? `, ${(v / wasmSpeed[t]!).toFixed(2)}x wasm` : '';
          const cuda = typeof peer === 'string' ? undefined : peer.speeds[t];
          log(`gpu: ${t} on ${b}: ${v.toFixed(1)} img/s${vsWasm}${cuda ? `, ${(v / cuda).toFixed(2)}x PyTorch CUDA` : ''}${software ? ' (SOFTWARE adapter: not a GPU figure)' : ''}`);
          figures.push({
            id: `gpu.${t}.train.${b}`,
            label: `${t} training on ${b}${software ? ' (software adapter)' : ''}`,
            value: r1(v),
            unit: 'img/s',
            ...(b !== 'wasm' ? { peer: `gpu.${t}.train.pytorch-cuda` } : {}),
            note: `${where}${vsWasm}; batch ${batch}, ${n} timed batch${n === 1 ? '' : 'es'}; load average ${loadavg()[0]!.toFixed(2)}${software ? '; a SOFTWARE adapter (runs on the CPU): not a GPU figure' : ''}`,
          });
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          log(`gpu: ${t} on ${b} failed: ${why}`);
          figures.push({ id: `gpu.${t}.train.${b}`, label: `${t} training on ${b}`, value: null, unit: 'img/s', note: why });
        }
      }
      if (b === 'webgpu') releaseWebgpu(selected.tf);
    }
    for (const t of GPU_TEMPLATES) {
      figures.push({
        id: `gpu.${t}.train.pytorch-cuda`,
        label: `PyTorch ${t} training on CUDA`,
        value: typeof peer === 'string' ? null : (peer.speeds[t] ?? null),
        unit: 'img/s',
        note: typeof peer === 'string' ? peer : (peer.device ?? 'cuda'),
      });
    }
    return figures;
  },
};
