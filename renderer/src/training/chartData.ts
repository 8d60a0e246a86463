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

/** One curve of a chart: a key of the rows, its legend name and colour. */
export interface Series {
  key: string;
  name: string;
  color: string;
  /** The raw curve under a smoothed one: thin and faint. */
  faint?: boolean;
  dashed?: boolean;
}

export const COLORS = ['#3b5bdb', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0c8599', '#e67700', '#5c940d'];

/** What batchRows and epochRows read of a point: loss, lr and the task's metrics (older runs: a top-level `accuracy`). */
interface MetricPoint {
  loss: number;
  lr: number;
  metrics?: Record<string, number>;
}

/**
 * A metric of a point: from its `metrics` record, else from a top-level field of that name (runs
 * recorded before tasks kept `accuracy` / `valAccuracy` there).
 */
export function metricOf(point: object, record: Record<string, number> | undefined, key: string, legacyKey = key): number | undefined {
  const v = record?.[key] ?? (point as Record<string, unknown>)[legacyKey];
  return typeof v === 'number' ? v : undefined;
}

/** Batch chart rows: step, loss, lr and, per metric id, `id` (raw) and `idSmooth`. */
export type BatchRow = { step: number; loss: number; lossSmooth: number; lr: number } & Record<string, number>;

/** Batch points -> chart rows for the given metric ids (smoothing over all points, then downsampling for display). */
export function batchRows(points: readonly (MetricPoint & { step: number })[], metricIds: readonly string[], smoothing = 0.8, max = 400): readonly BatchRow[] {
  const ls = smooth(points.map((p) => p.loss), smoothing);
  const series = metricIds.map((id) => {
    const raw = points.map((p) => metricOf(p, p.metrics, id) ?? NaN);
    return { id, raw, smooth: smooth(raw, smoothing) };
  });
  const rows = points.map((p, i) => {
    const row: BatchRow = { step: p.step, loss: p.loss, lossSmooth: ls[i]!, lr: p.lr };
    for (const s of series) {
      if (Number.isFinite(s.raw[i]!)) {
        row[s.id] = s.raw[i]!;
        row[`${s.id}Smooth`] = s.smooth[i]!;
      }
    }
    return row;
  });
  return downsample(rows, max);
}

/** Epoch chart rows: epoch, loss, valLoss and, per metric id, `train_id` and `val_id` (absent values left out). */
export type EpochRow = { epoch: number; loss: number; valLoss?: number } & Record<string, number>;

export function epochRows(points: readonly (MetricPoint & { epoch: number; valLoss?: number; valMetrics?: Record<string, number> })[], metricIds: readonly string[]): EpochRow[] {
  return points.map((e) => {
    const row: EpochRow = { epoch: e.epoch, loss: e.loss };
    if (e.valLoss !== undefined) row.valLoss = e.valLoss;
    for (const id of metricIds) {
      const train = metricOf(e, e.metrics, id);
      const val = metricOf(e, e.valMetrics, id, `val${id.charAt(0).toUpperCase()}${id.slice(1)}`);
      if (train !== undefined) row[`train_${id}`] = train;
      if (val !== undefined) row[`val_${id}`] = val;
    }
    return row;
  });
}

/**
 * A log-scale y axis for the positive values of `keys` in `rows` (a figure that spans orders of magnitude,
 * such as perplexity): a domain a little beyond the data, ticks at 1, 2, 5 × 10^k inside it (every
 * decade only when the data spans more than three; finer steps when it spans less than one; the data's ends
 * when no round value falls inside). Null when no value is positive.
 */
export function logAxis(rows: readonly object[], keys: readonly string[]): { domain: [number, number]; ticks: number[] } | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    for (const k of keys) {
      const v = (r as Record<string, unknown>)[k];
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!(lo <= hi)) return null;
  const domain: [number, number] = [lo / 1.15, hi * 1.15];
  const decades = Math.log10(domain[1] / domain[0]);
  const mantissas = decades > 3 ? [1] : decades < 1 ? [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(domain[0])); e <= Math.ceil(Math.log10(domain[1])); e++) {
    for (const m of mantissas) {
      const t = Number((m * 10 ** e).toPrecision(6));
      if (t >= domain[0] && t <= domain[1]) ticks.push(t);
    }
  }
  // Too few round values inside: the data's own ends (3 significant digits stay inside the padded domain).
  if (ticks.length < 2) return { domain, ticks: [...new Set([Number(lo.toPrecision(3)), Number(hi.toPrecision(3))])] };
  return { domain, ticks };
}

/** Formats milliseconds as 1h 02m, 3m 05s or 12s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** A chart tick or metric value: 3 significant digits, whole numbers from 100, exponents below 0.01. */
export function formatNumber(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return '–';
  if (v === 0 || Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

export const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
