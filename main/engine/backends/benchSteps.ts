/**
 * Shared pieces of the A/B bench scripts in this folder (bench-*.ts, run with `npx tsx`): command-line
 * options, environment switches flipped between rounds, and a template's Trainer on synthetic data with a
 * timed run of its steps (as `npm run bench -- --only profile` sets it up: the template's batch size,
 * Adam 1e-3, one epoch).
 */
import { readFileSync } from 'node:fs';
import type * as tfjs from '@tensorflow/tfjs';
import { defaultTrainingSettings, parseProjectText, type ProjectFile, type TrainingSettings } from '../../../shared/project';
import { Trainer } from '../training/trainer';
import { syntheticFor } from '../training/testing/helpers';

/** `--name value` from the command line, else dflt. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

/** Setting A (on: the environment as given) or B (every named LAYERFORGE_… switch set to 0). */
export function envSetting(off: readonly string[], on: boolean): void {
  for (const name of off) {
    if (on) delete process.env[name];
    else process.env[name] = '0';
  }
}

/** The median (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** This process's CPU time so far (user + system, all threads), ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function loadTemplate(name: string): ProjectFile {
  const file = `resources/templates/${name}.json`;
  return parseProjectText(readFileSync(file, 'utf8'), file);
}

export interface StepRunner {
  trainer: Trainer;
  project: ProjectFile;
  /** The template's batch size. */
  batchSize: number;
  /** Images one run trains on (steps batches; one more image is the validation split). */
  images: number;
  /** Trains `steps` steps (one epoch); wall (training time only) and process CPU per step, in ms. */
  run(id: string): Promise<{ wall: number; cpu: number }>;
}

/** A template's Trainer on wasm (or tf's current backend) over synthetic data, `steps` batches per run. */
export function templateSteps(tf: typeof tfjs, name: string, steps: number): StepRunner {
  const project = loadTemplate(name);
  const batchSize = project.training.batchSize ?? 64;
  const count = batchSize * steps;
  const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (count + 1) };
  const trainer = Trainer.fromGraph(tf, project.graph, settings, syntheticFor(project.graph, count + 1, 1), 'wasm');
  return {
    trainer,
    project,
    batchSize,
    images: count + 1,
    async run(id) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await trainer.train(id, count + 1, () => {});
      if (r.reason !== 'completed') throw new Error(`${name}: training failed: ${r.message}`);
      const c = process.cpuUsage(cpu0);
      return { wall: (r.trainMs ?? performance.now() - t0) / r.batchesCompleted, cpu: (c.user + c.system) / 1000 / r.batchesCompleted };
    },
  };
}
