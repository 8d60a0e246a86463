/**
 * The pure parts of "See inside the network" (issue #19): which run the canvas's node clicks refer to, channel
 * order, colour ramps and heatmap scaling, histograms over epochs on one common range, per-class precision /
 * recall / F1 from a confusion matrix, the scatter's axes. No React, no engine: unit-tested beside.
 */
import type { Evaluation, RunDetail, RunSummary } from '../../../shared/api';
import type { ChannelImage, Histogram, LayerHealthEpoch } from '../../../shared/api/insight';

/* ------------------------------------------------------------------------------------------------ */
/* Which run the canvas refers to                                                                   */
/* ------------------------------------------------------------------------------------------------ */

export const ACTIVE_STATUS: ReadonlySet<string> = new Set(['starting', 'running', 'paused']);

/** How a run's graph relates to the canvas: the same nodes (ids and types), or some shared (the canvas was edited since). */
export type GraphFit = 'same' | 'changed' | 'none';

export function graphFit(canvas: readonly { id: string; type: string }[], run: Pick<RunDetail, 'graph'>): GraphFit {
  const types = new Map(run.graph.nodes.map((n) => [n.id, n.type]));
  let shared = 0;
  for (const n of canvas) if (types.get(n.id) === n.type) shared++;
  if (shared === 0) return 'none';
  // Inputs carry no weights: a canvas sharing only its input with a run is another model.
  const sharedLayers = canvas.filter((n) => n.type !== 'Input' && types.get(n.id) === n.type).length;
  if (sharedLayers === 0) return 'none';
  return shared === canvas.length && canvas.length === run.graph.nodes.length ? 'same' : 'changed';
}

/** Why this run was chosen, said in the UI. */
export type CanvasRunReason = 'pinned' | 'viewed' | 'active' | 'latest';

export interface CanvasRun {
  runId: string;
  reason: CanvasRunReason;
  fit: Exclude<GraphFit, 'none'>;
}

export interface CanvasRunInput {
  canvas: readonly { id: string; type: string }[];
  /** Newest first (as listRuns returns them). */
  runs: readonly RunSummary[];
  details: Readonly<Record<string, RunDetail>>;
  /** The run the dashboard shows. */
  viewRunId: string | null;
  /** The run the user picked in the inspector, if any. */
  pinned: string | null;
}

/** A run can answer insight questions while it trains (its worker holds the model) or once it kept a model. */
export function canAnswer(run: Pick<RunSummary, 'status' | 'hasModel'>): boolean {
  return run.hasModel || (run.status !== 'starting' && ACTIVE_STATUS.has(run.status));
}

/**
 * The run a click on a canvas node refers to: the one the user picked, else the run the dashboard shows,
 * else the run training now, else the newest run with a model; each only when its graph fits the canvas
 * (shares its layers by id and type; details must be loaded). Null when no run fits.
 */
export function pickCanvasRun({ canvas, runs, details, viewRunId, pinned }: CanvasRunInput): CanvasRun | null {
  const fits = (id: string | null | undefined): Exclude<GraphFit, 'none'> | null => {
    if (!id) return null;
    const summary = runs.find((r) => r.id === id);
    const d = details[id];
    if (!summary || !d || !canAnswer(summary)) return null;
    const f = graphFit(canvas, d);
    return f === 'none' ? null : f;
  };
  const tryRun = (id: string | null | undefined, reason: CanvasRunReason): CanvasRun | null => {
    const f = fits(id);
    return f && id ? { runId: id, reason, fit: f } : null;
  };
  const active = runs.find((r) => ACTIVE_STATUS.has(r.status));
  const picked = tryRun(pinned, 'pinned') ?? tryRun(viewRunId, 'viewed') ?? tryRun(active?.id, 'active');
  if (picked) return picked;
  for (const r of runs) {
    const c = tryRun(r.id, 'latest');
    if (c) return c;
  }
  return null;
}

/** Every run that could answer for this canvas (for the inspector's run picker), newest first. */
export function fittingRuns(canvas: CanvasRunInput['canvas'], runs: readonly RunSummary[], details: Readonly<Record<string, RunDetail>>): RunSummary[] {
  return runs.filter((r) => canAnswer(r) && details[r.id] && graphFit(canvas, details[r.id]!) !== 'none');
}

/** "Model · run 3 · epoch 2/10 · live": what the insight views are answered by. */
export function runLabel(run: Pick<RunSummary, 'name' | 'status' | 'epochsDone' | 'epochs'>): string {
  const state = ACTIVE_STATUS.has(run.status) ? (run.status === 'paused' ? 'paused' : 'live') : run.status;
  return `${run.name} · epoch ${run.epochsDone}/${run.epochs} · ${state}`;
}

export const REASON_TEXT: Record<CanvasRunReason, string> = {
  pinned: 'picked',
  viewed: 'shown in the dashboard',
  active: 'training now',
  latest: 'the newest run of this model',
};

/* ------------------------------------------------------------------------------------------------ */
/* Samples                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

/** A sample index kept inside 0..count-1 (count unknown: only kept >= 0). Non-numbers become 0. */
export function clampSample(index: number, count: number | null | undefined): number {
  const i = Number.isFinite(index) ? Math.trunc(index) : 0;
  if (count === null || count === undefined || count <= 0) return Math.max(0, i);
  return Math.min(count - 1, Math.max(0, i));
}

/* ------------------------------------------------------------------------------------------------ */
/* Feature maps, vectors, heatmaps                                                                   */
/* ------------------------------------------------------------------------------------------------ */

/** Channels by mean activation, largest first; equal means by channel index. Does not change the input. */
export function sortChannels<T extends Pick<ChannelImage, 'channel' | 'mean'>>(channels: readonly T[]): T[] {
  return [...channels].sort((a, b) => b.mean - a.mean || a.channel - b.channel);
}

/** Smallest and largest finite value (of a list or a matrix); [0, 0] when there is none. */
export function valueRange(values: readonly number[] | readonly (readonly number[])[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  const see = (v: number) => {
    if (!Number.isFinite(v)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const x of values) {
    if (typeof x === 'number') see(x);
    else for (const v of x) see(v);
  }
  return lo === Infinity ? [0, 0] : [lo, hi];
}

/**
 * How a heatmap maps values to colours: a diverging scale centred on 0 when the values have both signs
 * (±the largest magnitude), else a sequential one from the smallest to the largest value.
 */
export interface HeatScale {
  kind: 'sequential' | 'diverging';
  lo: number;
  hi: number;
}

export function heatScale(values: readonly number[] | readonly (readonly number[])[]): HeatScale {
  const [lo, hi] = valueRange(values);
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return { kind: 'diverging', lo: -m, hi: m };
  }
  return { kind: 'sequential', lo, hi };
}

/** A value's place on a scale, 0..1 (0.5 for a flat scale). */
export function scaleT(v: number, s: Pick<HeatScale, 'lo' | 'hi'>): number {
  if (!Number.isFinite(v)) return 0;
  if (!(s.hi > s.lo)) return 0.5;
  return Math.min(1, Math.max(0, (v - s.lo) / (s.hi - s.lo)));
}

export type RGB = [number, number, number];

/** Viridis (matplotlib's), sampled at 9 stops: dark blue-purple to yellow, readable on light and dark panels alike. */
const VIRIDIS: RGB[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Blue to the panel's colour to red: the middle follows the theme so 0 reads as "nothing". */
const DIVERGING_ENDS: { neg: RGB; pos: RGB } = { neg: [49, 104, 194], pos: [207, 63, 50] };
const MID: Record<'light' | 'dark', RGB> = { light: [246, 246, 246], dark: [38, 41, 50] };

const lerp = (a: RGB, b: RGB, t: number): RGB => [Math.round(a[0] + (b[0] - a[0]) * t), Math.round(a[1] + (b[1] - a[1]) * t), Math.round(a[2] + (b[2] - a[2]) * t)];

/** Viridis at t in 0..1. */
export function viridis(t: number): RGB {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return lerp(VIRIDIS[i]!, VIRIDIS[i + 1]!, x - i);
}

/** The diverging ramp at t in 0..1 (0.5 is zero). */
export function diverging(t: number, theme: 'light' | 'dark'): RGB {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5));
  return x < 0.5 ? lerp(DIVERGING_ENDS.neg, MID[theme], x * 2) : lerp(MID[theme], DIVERGING_ENDS.pos, (x - 0.5) * 2);
}

/** A value's colour on a heat scale. */
export function heatColor(v: number, s: HeatScale, theme: 'light' | 'dark'): RGB {
  const t = scaleT(v, s);
  return s.kind === 'diverging' ? diverging(t, theme) : viridis(t);
}

export const rgb = (c: RGB) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

/**
 * Pixels of a rows x cols heatmap (RGBA, row-major) for a canvas' ImageData: one pixel per value, coloured on
 * the scale. Missing values are transparent.
 */
export function heatPixels(values: readonly (readonly number[])[], s: HeatScale, theme: 'light' | 'dark'): { width: number; height: number; data: Uint8ClampedArray<ArrayBuffer> } {
  const height = values.length;
  const width = Math.max(0, ...values.map((r) => r.length));
  const data = new Uint8ClampedArray(new ArrayBuffer(width * height * 4));
  for (let y = 0; y < height; y++) {
    const row = values[y]!;
    for (let x = 0; x < row.length; x++) {
      const v = row[x]!;
      if (!Number.isFinite(v)) continue;
      const c = heatColor(v, s, theme);
      const o = (y * width + x) * 4;
      data[o] = c[0];
      data[o + 1] = c[1];
      data[o + 2] = c[2];
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** A heatmap's cell size (px) so `cols` columns fit `maxWidth`, between 1 and `maxCell`. */
export function cellSize(cols: number, maxWidth: number, maxCell = 14): number {
  if (cols <= 0) return maxCell;
  return Math.max(1, Math.min(maxCell, Math.floor(maxWidth / cols)));
}

/** A number as the views write it: 3 significant digits, exponent for very small or large ones. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

/** A number in few characters for small captions: 2 significant digits, a 1-digit exponent for tiny ones ("0.079", "5e-5"). */
export function formatShort(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(0);
  return Number(v.toPrecision(2)).toString();
}

/** The vector view's bars: the index of the largest value, and the bars' zero line as a 0..1 share of the height. */
export function barScale(values: readonly number[]): { lo: number; hi: number; zero: number; argmax: number } {
  const [min, max] = valueRange(values);
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  let argmax = -1;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && (argmax < 0 || v > values[argmax]!)) argmax = i;
  });
  return { lo, hi, zero: hi > lo ? hi / (hi - lo) : 1, argmax };
}

/** MultiHeadAttention weights: the mean of the heads ([query][key]). */
export function meanOfHeads(weights: readonly (readonly (readonly number[])[])[]): number[][] {
  const h = weights.length;
  const n = weights[0]?.length ?? 0;
  if (h === 0) return [];
  return Array.from({ length: n }, (_, q) => Array.from({ length: weights[0]![q]!.length }, (_, k) => weights.reduce((a, w) => a + (w[q]?.[k] ?? 0), 0) / h));
}

/** True when no query gives weight to a later key in any head (a causal layer). */
export function looksCausal(weights: readonly (readonly (readonly number[])[])[]): boolean {
  let later = 0;
  for (const head of weights) {
    for (let q = 0; q < head.length; q++) {
      const row = head[q]!;
      for (let k = q + 1; k < row.length; k++) if (row[k]! > 1e-6) return false;
      later += Math.max(0, row.length - q - 1);
    }
  }
  return later > 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Training health                                                                                   */
/* ------------------------------------------------------------------------------------------------ */

/**
 * Histograms of several epochs on one common range, for a heatmap whose columns mean the same values in every
 * row: each epoch's counts are spread over the common bins in proportion to how much of each source bin falls
 * into them (values taken as uniform within a bin). Rows are shares of the epoch's total (0..1).
 */
export function commonGrid(hists: readonly (Histogram | undefined)[], bins = 30): { min: number; max: number; rows: (number[] | null)[] } {
  let min = Infinity;
  let max = -Infinity;
  for (const h of hists) {
    if (!h || h.counts.length === 0 || !Number.isFinite(h.min) || !Number.isFinite(h.max)) continue;
    min = Math.min(min, h.min);
    max = Math.max(max, h.max);
  }
  if (min === Infinity) return { min: 0, max: 0, rows: hists.map(() => null) };
  if (max === min) {
    // Every value the same (all-zero gradients of a dead layer): a range around it, the mass in its middle bin.
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const width = (max - min) / bins;
  const rows = hists.map((h) => {
    if (!h || h.counts.length === 0) return null;
    const out = new Array<number>(bins).fill(0);
    const total = h.counts.reduce((a, b) => a + b, 0);
    if (total === 0) return out;
    const sw = (h.max - h.min) / h.counts.length;
    h.counts.forEach((c, i) => {
      if (c === 0) return;
      if (!(sw > 0)) {
        const j = Math.min(bins - 1, Math.max(0, Math.floor((h.min - min) / width)));
        out[j]! += c / total;
        return;
      }
      const a = h.min + i * sw;
      const b = a + sw;
      const j0 = Math.max(0, Math.floor((a - min) / width));
      const j1 = Math.min(bins - 1, Math.floor((b - min) / width - 1e-9));
      for (let j = j0; j <= j1; j++) {
        const lo = Math.max(a, min + j * width);
        const hi = Math.min(b, min + (j + 1) * width);
        if (hi > lo) out[j]! += (c / total) * ((hi - lo) / sw);
      }
    });
    return out;
  });
  return { min, max, rows };
}

/** The latest epoch of a layer's health, or undefined. */
export function latestEpoch(epochs: readonly LayerHealthEpoch[]): LayerHealthEpoch | undefined {
  let best: LayerHealthEpoch | undefined;
  for (const e of epochs) if (!best || e.epoch > best.epoch) best = e;
  return best;
}

/** A share as a whole percentage ("83%"), "<1%" for small non-zero ones. */
export function percent(share: number): string {
  if (!Number.isFinite(share)) return '–';
  if (share > 0 && share < 0.005) return '<1%';
  return `${Math.round(share * 100)}%`;
}

/* ------------------------------------------------------------------------------------------------ */
/* Results that teach                                                                                */
/* ------------------------------------------------------------------------------------------------ */

export interface ClassMetrics {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  /** Test samples of this class. */
  support: number;
  /** Test samples predicted as this class. */
  predicted: number;
}

type PerClassEntry = Evaluation['perClass'][number] & { precision?: number; recall?: number; f1?: number; support?: number };

/**
 * Precision, recall, F1 and support per class: the engine's figures when it sends them, else computed from
 * the confusion matrix (confusion[true][predicted]). A class never predicted has precision 0 (as
 * scikit-learn's zero_division=0), one with no samples recall 0; F1 is 0 when both are.
 */
export function classMetrics(evaluation: Pick<Evaluation, 'classNames' | 'confusion' | 'perClass'>): ClassMetrics[] {
  const { classNames, confusion } = evaluation;
  const perClass = evaluation.perClass as PerClassEntry[];
  return classNames.map((className, i) => {
    const row = confusion[i] ?? [];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + (r[i] ?? 0), 0);
    const tp = row[i] ?? 0;
    const given = perClass.find((c) => c.className === className) ?? perClass[i];
    const precision = given?.precision ?? (predicted ? tp / predicted : 0);
    const recall = given?.recall ?? (support ? tp / support : 0);
    const f1 = given?.f1 ?? (precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0);
    return { className, precision, recall, f1, support: given?.support ?? (support || given?.count || 0), predicted };
  });
}

/** The macro average (each class counts alike) and the support-weighted average of precision, recall and F1. */
export function averages(rows: readonly ClassMetrics[]): { macro: Omit<ClassMetrics, 'className' | 'predicted'>; weighted: Omit<ClassMetrics, 'className' | 'predicted'> } {
  const n = rows.length || 1;
  const total = rows.reduce((a, r) => a + r.support, 0);
  const mean = (f: (r: ClassMetrics) => number) => rows.reduce((a, r) => a + f(r), 0) / n;
  const wmean = (f: (r: ClassMetrics) => number) => (total ? rows.reduce((a, r) => a + f(r) * r.support, 0) / total : 0);
  return {
    macro: { precision: mean((r) => r.precision), recall: mean((r) => r.recall), f1: mean((r) => r.f1), support: total },
    weighted: { precision: wmean((r) => r.precision), recall: wmean((r) => r.recall), f1: wmean((r) => r.f1), support: total },
  };
}

/* ------------------------------------------------------------------------------------------------ */
/* Embeddings                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

/** Ten distinct class colours (Tableau 10), then repeated a little darker. Readable on light and dark panels. */
const CLASS_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function classColor(i: number): string {
  const base = CLASS_COLORS[((i % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length]!;
  if (i < CLASS_COLORS.length) return base;
  const k = Math.floor(i / CLASS_COLORS.length) % 3;
  const n = parseInt(base.slice(1), 16);
  const f = 1 - 0.22 * k;
  const c = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((x) => Math.round(x * f));
  return rgb(c as RGB);
}

/** A scatter's mapping from data to pixels: both axes with the same units per pixel would distort nothing, but projections have no units, so each axis fills its side. */
export function scatterScale(points: readonly { x: number; y: number }[], width: number, height: number, pad = 10): { px: (x: number) => number; py: (y: number) => number } {
  const [x0, x1] = valueRange(points.map((p) => p.x));
  const [y0, y1] = valueRange(points.map((p) => p.y));
  const sx = x1 > x0 ? (width - 2 * pad) / (x1 - x0) : 0;
  const sy = y1 > y0 ? (height - 2 * pad) / (y1 - y0) : 0;
  return {
    px: (x) => (sx ? pad + (x - x0) * sx : width / 2),
    // Larger y drawn higher.
    py: (y) => (sy ? height - pad - (y - y0) * sy : height / 2),
  };
}

/** The point nearest (px, py) within `radius` pixels, or -1. */
export function nearestPoint(points: readonly { sx: number; sy: number }[], px: number, py: number, radius = 8): number {
  let best = -1;
  let bestD = radius * radius;
  points.forEach((p, i) => {
    const d = (p.sx - px) ** 2 + (p.sy - py) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** Points per class (for the legend), and how many are misclassified. */
export function classCounts(points: readonly { label: number; predicted: number }[], classes: number): { count: number; wrong: number }[] {
  const out = Array.from({ length: classes }, () => ({ count: 0, wrong: 0 }));
  for (const p of points) {
    const c = out[p.label];
    if (!c) continue;
    c.count++;
    if (p.predicted !== p.label) c.wrong++;
  }
  return out;
}

/**
 * Rows for a per-epoch chart with one line per layer: { epoch, l0: …, l1: … } (keys by layer position, since
 * layer names need not be valid keys), sorted by epoch; a layer without the figure that epoch has no key.
 */
export function epochLayerRows(layers: readonly { epochs: readonly LayerHealthEpoch[] }[], figure: (e: LayerHealthEpoch) => number | undefined): Record<string, number>[] {
  const byEpoch = new Map<number, Record<string, number>>();
  layers.forEach((l, i) => {
    for (const e of l.epochs) {
      const v = figure(e);
      if (v === undefined || !Number.isFinite(v)) continue;
      let row = byEpoch.get(e.epoch);
      if (!row) byEpoch.set(e.epoch, (row = { epoch: e.epoch }));
      row[`l${i}`] = v;
    }
  });
  return [...byEpoch.values()].sort((a, b) => a.epoch! - b.epoch!);
}
