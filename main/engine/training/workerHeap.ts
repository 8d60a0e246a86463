/**
 * The training worker's V8 heap limits: a small young generation by default, for every worker the engine
 * starts (the CLI's runs, the app's, evaluation and prediction).
 *
 * V8's default young generation is 48 MB on 64-bit (semi-spaces of 16 MB). A training step allocates little
 * on the JS heap (tensor handles, small read-backs; the data lives in wasm memory), so a 12 MB nursery costs
 * no measurable time (scavenges stay under 1% of a cifar10-cnn run) and keeps ~25 MB out of the run's RSS.
 * LAYERFORGE_WORKER_YOUNG_MB sets it; 0 keeps V8's default.
 */
import type { ResourceLimits } from 'node:worker_threads';

export const WORKER_YOUNG_GENERATION_MB = 12;

export function workerHeapLimits(env: Record<string, string | undefined>): ResourceLimits {
  const raw = env.LAYERFORGE_WORKER_YOUNG_MB;
  const mb = raw === undefined || raw === '' ? WORKER_YOUNG_GENERATION_MB : Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`LAYERFORGE_WORKER_YOUNG_MB must be a number of MB (0: V8's default), got '${raw}'`);
  return mb > 0 ? { maxYoungGenerationSizeMb: mb } : {};
}
