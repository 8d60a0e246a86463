/** Pure helpers that turn metric histories into what the charts draw: smoothed and downsampled. */

/** Exponential moving average with bias correction (TensorBoard's smoothing); weight in [0, 1). */
export function smooth(values: readonly number[], weight: number): number[] {
  const out: number[] = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - weight ** n);
  }
  return out;
}

/**
 * Keeps at most `max` points, choosing evenly spaced indices and always the first and last, so a chart
 * of thousands of batches stays cheap to draw. Returns the input itself when it is short enough.
 */
export function downsample<T>(points: readonly T[], max: number): readonly T[] {
  if (points.length <= max || max < 3) return points;
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

export interface BatchRow {
  step: number;
  loss: number;
  lossSmooth: number;
  accuracy: number;
  accuracySmooth: number;
  lr: number;
}

/** Batch points -> chart rows (smoothing over all points, then downsampling for display). */
export function batchRows(points: readonly { step: number; loss: number; accuracy: number; lr: number }[], smoothing = 0.8, max = 400): readonly BatchRow[] {
  const ls = smooth(points.map((p) => p.loss), smoothing);
  const as = smooth(points.map((p) => p.accuracy), smoothing);
  const rows = points.map((p, i) => ({ step: p.step, loss: p.loss, lossSmooth: ls[i]!, accuracy: p.accuracy, accuracySmooth: as[i]!, lr: p.lr }));
  return downsample(rows, max);
}

/** Formats milliseconds as 1h 02m, 3m 05s or 12s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

export const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
