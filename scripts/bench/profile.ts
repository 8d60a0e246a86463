/**
 * Where a template's training step spends its time on wasm: time per kernel per step, split into forward,
 * backward and the optimizer's update (main/engine/backends/profile.ts: every kernel's own time, nested
 * kernels not counted twice), sorted, with each row's share of the step, so the next bottleneck is visible
 * without guessing.
 *
 * `npm run bench -- --only profile [--template resnet-small[,vgg-cnn]] [--batches N] [--json]`
 * Each template: the engine's Trainer, the template's batch size, Adam 1e-3, synthetic data shaped to the
 * graph (a corpus for a language model); warm-up of 2 steps at a time for at least WARMUP_SECONDS (until then the
 * steps run code V8 has not optimised yet: lenet5 6.1 ms a step against 4.2-4.5 warm), then max(2, ceil(N / 8)) steps unprofiled (the
 * step time) and as many profiled. The table goes to stderr; figures: the step, each phase and the 15
 * slowest (kernel, phase) rows, in ms per step (ids `profile.<template>.<phase>[.<kernel>]`), so two runs
 * can be diffed. Opt-in (not part of a plain `npm run bench`).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../shared/project';
import { selectBackend } from '../../main/engine/backends';
import { formatKernelProfile, PHASES, startKernelProfile } from '../../main/engine/backends/profile';
import { Trainer } from '../../main/engine/training/trainer';
import { syntheticFor } from '../../main/engine/training/testing/helpers';
import type { BenchModule, Figure } from './types';

export const PROFILE_TEMPLATES = ['cifar10-cnn', 'resnet-small', 'vgg-cnn', 'lstm-classifier', 'transformer-classifier', 'lenet5', 'mini-gpt', 'text-lstm'];
const WARMUP = 2;
const WARMUP_SECONDS = 1;
const FIGURE_ROWS = 15;

const round = (v: number) => Math.round(v * 100) / 100;

export const profileBench: BenchModule = {
  name: 'profile',
  optIn: true,
  async run({ batches, log, template }) {
    const names = template ? template.split(',').map((s) => s.trim()).filter(Boolean) : PROFILE_TEMPLATES;
    const steps = Math.max(2, Math.ceil(batches / 8));
    const { tf, name: backend } = await selectBackend({ force: 'wasm' });
    const figures: Figure[] = [];
    for (const name of names) {
      const file = `resources/templates/${name}.json`;
      const project = parseProjectText(readFileSync(file, 'utf8'), file);
      const bs = project.training.batchSize ?? 64;
      const count = bs * (WARMUP + 2 * steps);
      // One held-out sample validates each epoch (evaluation is not what is measured; it is not profiled either).
      const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize: bs, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (count + 1) };
      const ds = syntheticFor(project.graph, count + 1, 1);
      const trainer = Trainer.fromGraph(tf, project.graph, settings, ds, backend);
      try {
        const run = async (id: string, n: number) => {
          const r = await trainer.train(id, bs * n + 1, () => {});
          if (r.reason !== 'completed') throw new Error(`${name}: training failed: ${r.message}`);
          return (r.trainMs ?? (bs * r.batchesCompleted * 1000) / r.trainImagesPerSecond) / r.batchesCompleted;
        };
        for (let t0 = performance.now(), first = true; first || performance.now() - t0 < WARMUP_SECONDS * 1000; first = false) await run('warmup', WARMUP);
        const stepMs = await run('timed', steps);
        const profiler = startKernelProfile(tf);
        let profiledMs: number;
        try {
          profiledMs = await run('profiled', steps);
        } finally {
          profiler.stop();
        }
        const p = profiler.read();
        const load = loadavg()[0]!.toFixed(2);
        log(`profile: ${name} on ${backend}, batch ${bs}: step ${stepMs.toFixed(1)} ms unprofiled, ${profiledMs.toFixed(1)} ms profiled; load average ${load}`);
        log(formatKernelProfile(p, profiledMs));
        const kernelMs = PHASES.reduce((s, ph) => s + p.phaseMs[ph], 0);
        figures.push({ id: `profile.${name}.step`, label: `${name} training step on ${backend} (batch ${bs}, ${steps} steps)`, value: round(stepMs), unit: 'ms', note: `profiled ${round(profiledMs)} ms; load average ${load}` });
        for (const ph of PHASES) figures.push({ id: `profile.${name}.${ph}`, label: `${name} ${ph} kernels`, value: round(p.phaseMs[ph]), unit: 'ms', note: `${((p.phaseMs[ph] / profiledMs) * 100).toFixed(1)}% of the profiled step` });
        figures.push({ id: `profile.${name}.outside`, label: `${name} step outside kernels`, value: round(profiledMs - kernelMs), unit: 'ms' });
        for (const r of p.rows.slice(0, FIGURE_ROWS)) {
          figures.push({ id: `profile.${name}.${r.phase}.${r.kernel}`, label: `${name} ${r.phase} ${r.kernel}`, value: round(r.ms), unit: 'ms', note: `${((r.ms / profiledMs) * 100).toFixed(1)}%, ${round(r.calls)} calls; ${r.shapes.join(' | ')}` });
        }
      } finally {
        trainer.dispose();
      }
    }
    return figures;
  },
};
