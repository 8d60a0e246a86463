/**
 * A run's chart points from its training events: the engine's run store (service.ts, live events) and
 * `layerforge import-run` (pytorch/importRun.ts, the JSON lines of a finished bundle) build them alike.
 */
import type { BatchPoint, EpochPoint } from '../../../shared/api/engine';
import type { BatchEvent, EpochMetrics } from '../training/types';

/** Drops nulls (and NaN) from a metrics record (JSON has no NaN). */
export function finite(m: Record<string, number | null> | null | undefined): Record<string, number> | undefined {
  if (!m) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** A batch event's point (step counted from the run's start). Fields absent from imported JSON lines count as null. */
export function batchPointOf(e: Pick<BatchEvent, 'epoch' | 'batches' | 'batch' | 'batchLoss' | 'accuracy' | 'metrics' | 'learningRate'>): BatchPoint {
  const metrics = finite(e.metrics);
  return {
    step: (e.epoch - 1) * e.batches + e.batch,
    epoch: e.epoch,
    batch: e.batch,
    loss: e.batchLoss,
    ...(e.accuracy == null ? {} : { accuracy: e.accuracy }),
    ...(metrics ? { metrics } : {}),
    lr: e.learningRate,
  };
}

/** An epoch event's (or a history entry's) point. */
export function epochPointOf(e: EpochMetrics): EpochPoint {
  const metrics = finite(e.metrics);
  const valMetrics = finite(e.valMetrics);
  return {
    epoch: e.epoch,
    loss: e.loss,
    ...(e.accuracy == null ? {} : { accuracy: e.accuracy }),
    ...(e.valLoss == null ? {} : { valLoss: e.valLoss }),
    ...(e.valAccuracy == null ? {} : { valAccuracy: e.valAccuracy }),
    ...(metrics ? { metrics } : {}),
    ...(valMetrics ? { valMetrics } : {}),
    ...(e.sample ? { sample: e.sample } : {}),
    lr: e.learningRate,
    elapsedMs: e.elapsedMs,
  };
}
