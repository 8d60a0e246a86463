/** Pure helpers behind the result views of table and regression runs: histograms, scatter axes, row tables, the predict form. */
import { MISSING_CATEGORY } from '../../../shared/tables/types';
import { downsample } from './chartData';

/** A round step near `raw`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

export interface Bin {
  /** [x0, x1): the last bin includes x1. */
  x0: number;
  x1: number;
  /** Centre, for the chart's x. */
  mid: number;
  count: number;
}

/**
 * Histogram of `values` in at most about `maxBins` bins of a round width, edges on multiples of it (so
 * a residual histogram has a bin edge at 0 when it spans it). Non-finite values are left out.
 */
export function histogram(values: readonly number[], maxBins = 20): Bin[] {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo === hi) return [{ x0: lo, x1: hi, mid: lo, count: v.length }];
  const step = niceStep((hi - lo) / Math.max(1, maxBins));
  const start = Math.floor(lo / step) * step;
  const n = Math.max(1, Math.ceil((hi - start) / step - 1e-9));
  const bins: Bin[] = Array.from({ length: n }, (_, i) => {
    const x0 = clean(start + i * step);
    const x1 = clean(start + (i + 1) * step);
    return { x0, x1, mid: clean((x0 + x1) / 2), count: 0 };
  });
  for (const x of v) bins[Math.min(n - 1, Math.floor((x - start) / step))]!.count++;
  return bins;
}

/** Axis ticks of a histogram: bin edges, every k-th so that at most `max` show, keeping 0 among them when it is an edge. */
export function histogramTicks(bins: readonly Bin[], max = 8): number[] {
  if (bins.length === 0) return [];
  const edges = [...bins.map((b) => b.x0), bins[bins.length - 1]!.x1];
  if (edges.length <= max) return edges;
  const k = Math.ceil(edges.length / max);
  const zero = edges.indexOf(0);
  const offset = zero >= 0 ? zero % k : 0;
  return edges.filter((_, i) => i % k === offset);
}

/** Rounds away float noise from bin edges (0.30000000000000004 -> 0.3). */
const clean = (x: number) => Number(x.toPrecision(12));

/**
 * One axis for both sides of a predicted-vs-true plot (so y = x is the diagonal): a range covering truth
 * and predictions, widened to round ticks at most `maxTicks` of them.
 */
export function scatterAxis(points: readonly { truth: number; predicted: number }[], maxTicks = 6): { domain: [number, number]; ticks: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    for (const x of [p.truth, p.predicted]) {
      if (!Number.isFinite(x)) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (lo === Infinity) return { domain: [0, 1], ticks: [0, 1] };
  if (lo === hi) return { domain: [lo - 1, hi + 1], ticks: [lo - 1, lo, lo + 1] };
  // A step that still fits once the range is widened to it.
  for (let max = maxTicks; max >= 2; max--) {
    const t = niceTicks(lo, hi, max);
    const step = t.length > 1 ? t[1]! - t[0]! : hi - lo;
    const domain: [number, number] = [clean(Math.floor(lo / step + 1e-9) * step), clean(Math.ceil(hi / step - 1e-9) * step)];
    const ticks = niceTicks(domain[0], domain[1], Math.round((domain[1] - domain[0]) / step) + 1);
    if (ticks.length <= maxTicks) return { domain, ticks };
  }
  return { domain: [lo, hi], ticks: [lo, hi] };
}

/** Round ticks (multiples of 1, 2, 2.5 or 5 × 10^k) from lo to hi: the finest such step giving at most `max` ticks. */
export function niceTicks(lo: number, hi: number, max = 7): number[] {
  if (!(hi > lo)) return [lo];
  const base = 10 ** Math.floor(Math.log10((hi - lo) / Math.max(1, max)));
  let step = base;
  for (const m of [1, 2, 2.5, 5, 10, 20, 25, 50, 100]) {
    step = m * base;
    if (Math.floor(hi / step + 1e-9) - Math.ceil(lo / step - 1e-9) + 1 <= max) break;
  }
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(clean(k * step));
  return out;
}

/** At most `max` scatter points (evenly spread over the test split), so the plot stays quick to draw. */
export function scatterPoints<T>(points: readonly T[], max = 1500): readonly T[] {
  return downsample(points, max);
}

/** The columns of a result table: every column of the file but the target, by index in `header`. */
export function featureColumns(header: readonly string[], target: string): number[] {
  return header.flatMap((h, i) => (h === target ? [] : [i]));
}

export interface FormColumn {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Categorical: the categories the model knows (the missing marker left out). */
  options: string[];
}

/**
 * The predict form's fields: the file's columns (header, target left out) that the model uses, read off
 * the dataset's encoded feature names (a numeric column is one feature named like it; a categorical
 * column one feature per category, `column=category`). Columns with no feature were ignored at import.
 */
export function formColumns(header: readonly string[], target: string, featureNames: readonly string[]): { fields: FormColumn[]; ignored: string[] } {
  const fields: FormColumn[] = [];
  const ignored: string[] = [];
  const names = new Set(featureNames);
  for (const h of header) {
    if (h === target) continue;
    if (names.has(h)) {
      fields.push({ name: h, kind: 'numeric', options: [] });
      continue;
    }
    const prefix = `${h}=`;
    const options = featureNames.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length));
    if (options.length) fields.push({ name: h, kind: 'categorical', options: options.filter((o) => o !== MISSING_CATEGORY) });
    else ignored.push(h);
  }
  return { fields, ignored };
}

/** A form's values from one row of the file (header order), for the given fields. */
export function rowValues(header: readonly string[], values: readonly string[], fields: readonly FormColumn[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const i = header.indexOf(f.name);
    out[f.name] = i >= 0 ? (values[i] ?? '') : '';
  }
  return out;
}
