import { describe, expect, it } from 'vitest';
import type { RunDetail, RunSummary } from '../../../shared/api';
import {
  averages,
  barScale,
  cellSize,
  clampSample,
  classColor,
  classCounts,
  classMetrics,
  commonGrid,
  diverging,
  epochLayerRows,
  formatShort,
  formatValue,
  graphFit,
  heatPixels,
  heatScale,
  looksCausal,
  meanOfHeads,
  nearestPoint,
  percent,
  pickCanvasRun,
  runLabel,
  scaleT,
  scatterScale,
  sortChannels,
  valueRange,
  viridis,
} from './insightView';

const node = (id: string, type: string) => ({ id, type, name: id, params: {}, position: { x: 0, y: 0 } });
const graph = (...nodes: [string, string][]) => ({ nodes: nodes.map(([id, t]) => node(id, t)), edges: [] });
const summary = (id: string, status: RunSummary['status'], hasModel: boolean, extra: Partial<RunSummary> = {}): RunSummary => ({
  id,
  name: `Model · ${id}`,
  datasetId: 'cifar10',
  status,
  createdAt: '2025-01-01T00:00:00Z',
  epochs: 10,
  epochsDone: 2,
  hasModel,
  ...extra,
});
const detail = (s: RunSummary, g: ReturnType<typeof graph>) => ({ ...s, graph: g, settings: {}, classNames: [], batches: [], epochPoints: [] }) as unknown as RunDetail;

describe('which run the canvas refers to', () => {
  const canvas = [
    { id: 'in', type: 'Input' },
    { id: 'c1', type: 'Conv2D' },
    { id: 'd1', type: 'Dense' },
  ];
  const same = graph(['in', 'Input'], ['c1', 'Conv2D'], ['d1', 'Dense']);
  const other = graph(['in', 'Input'], ['x9', 'Dense']);

  it('tells the same graph, a changed one and another model apart', () => {
    expect(graphFit(canvas, { graph: same })).toBe('same');
    expect(graphFit(canvas, { graph: graph(['in', 'Input'], ['c1', 'Conv2D']) })).toBe('changed');
    expect(graphFit(canvas, { graph: graph(['in', 'Input'], ['c1', 'Dense']) })).toBe('none'); // same id, other type
    expect(graphFit(canvas, { graph: other })).toBe('none'); // only the input shared
  });

  it('prefers the pinned run, then the dashboard run, then the active one, then the newest with a model', () => {
    const runs = [summary('r3', 'running', false), summary('r2', 'completed', true), summary('r1', 'completed', true)];
    const details = { r3: detail(runs[0]!, same), r2: detail(runs[1]!, same), r1: detail(runs[2]!, same) };
    expect(pickCanvasRun({ canvas, runs, details, viewRunId: 'r2', pinned: 'r1' })).toEqual({ runId: 'r1', reason: 'pinned', fit: 'same' });
    expect(pickCanvasRun({ canvas, runs, details, viewRunId: 'r2', pinned: null })).toEqual({ runId: 'r2', reason: 'viewed', fit: 'same' });
    expect(pickCanvasRun({ canvas, runs, details, viewRunId: null, pinned: null })).toEqual({ runId: 'r3', reason: 'active', fit: 'same' });
    const ended = [summary('r3', 'failed', false), runs[1]!, runs[2]!];
    expect(pickCanvasRun({ canvas, runs: ended, details, viewRunId: null, pinned: null })).toEqual({ runId: 'r2', reason: 'latest', fit: 'same' });
  });

  it('skips runs of another model, runs without details and runs that cannot answer', () => {
    const runs = [summary('a', 'completed', true), summary('b', 'completed', true), summary('c', 'starting', false), summary('d', 'completed', true)];
    const details = { a: detail(runs[0]!, other), c: detail(runs[2]!, same), d: detail(runs[3]!, graph(['in', 'Input'], ['c1', 'Conv2D'])) };
    // a: another model; b: details not loaded; c: still starting (no worker model yet); d: fits (changed since).
    expect(pickCanvasRun({ canvas, runs, details, viewRunId: 'a', pinned: 'b' })).toEqual({ runId: 'd', reason: 'latest', fit: 'changed' });
    expect(pickCanvasRun({ canvas, runs: runs.slice(0, 3), details, viewRunId: null, pinned: null })).toBeNull();
  });

  it('says which run answers, and whether it is live', () => {
    expect(runLabel(summary('r', 'running', false, { name: 'CNN · run 3', epochsDone: 2, epochs: 10 }))).toBe('CNN · run 3 · epoch 2/10 · live');
    expect(runLabel(summary('r', 'paused', false, { name: 'CNN · run 3' }))).toBe('CNN · run 3 · epoch 2/10 · paused');
    expect(runLabel(summary('r', 'stopped', true, { name: 'CNN · run 3' }))).toBe('CNN · run 3 · epoch 2/10 · stopped');
  });
});

describe('samples and channels', () => {
  it('keeps a sample index inside the split', () => {
    expect(clampSample(5, 10)).toBe(5);
    expect(clampSample(12, 10)).toBe(9);
    expect(clampSample(-3, 10)).toBe(0);
    expect(clampSample(2.7, 10)).toBe(2);
    expect(clampSample(Number.NaN, 10)).toBe(0);
    expect(clampSample(50, null)).toBe(50);
  });

  it('orders channels by mean, largest first, ties by index, without changing the input', () => {
    const ch = [
      { channel: 0, mean: 0.1 },
      { channel: 1, mean: 0.5 },
      { channel: 2, mean: 0.5 },
      { channel: 3, mean: -1 },
    ];
    expect(sortChannels(ch).map((c) => c.channel)).toEqual([1, 2, 0, 3]);
    expect(ch.map((c) => c.channel)).toEqual([0, 1, 2, 3]);
  });
});

describe('heatmap scaling and colours', () => {
  it('finds the range of lists and matrices, ignoring non-finite values', () => {
    expect(valueRange([3, -1, Number.NaN, 2])).toEqual([-1, 3]);
    expect(valueRange([[1, 2], [Infinity, -4]])).toEqual([-4, 2]);
    expect(valueRange([])).toEqual([0, 0]);
  });

  it('uses a diverging scale centred on 0 for values of both signs, a sequential one otherwise', () => {
    expect(heatScale([[-0.5, 2]])).toEqual({ kind: 'diverging', lo: -2, hi: 2 });
    expect(heatScale([[0, 3]])).toEqual({ kind: 'sequential', lo: 0, hi: 3 });
    expect(scaleT(0, { lo: -2, hi: 2 })).toBe(0.5);
    expect(scaleT(5, { lo: 0, hi: 1 })).toBe(1);
    expect(scaleT(1, { lo: 1, hi: 1 })).toBe(0.5);
  });

  it('runs viridis from dark purple to yellow and the diverging ramp through the theme colour', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    expect(viridis(-3)).toEqual(viridis(0));
    // Brightness grows along viridis.
    const lum = (c: number[]) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
    for (let t = 0.1; t <= 1; t += 0.1) expect(lum(viridis(t))).toBeGreaterThan(lum(viridis(t - 0.1)));
    expect(diverging(0.5, 'light')).toEqual([246, 246, 246]);
    expect(diverging(0.5, 'dark')).toEqual([38, 41, 50]);
    expect(diverging(0, 'dark')).toEqual([49, 104, 194]);
    expect(diverging(1, 'light')).toEqual([207, 63, 50]);
  });

  it('turns a matrix into RGBA pixels, missing values transparent', () => {
    const px = heatPixels([[0, 1], [Number.NaN]], { kind: 'sequential', lo: 0, hi: 1 }, 'light');
    expect(px.width).toBe(2);
    expect(px.height).toBe(2);
    expect([...px.data.slice(0, 4)]).toEqual([68, 1, 84, 255]);
    expect([...px.data.slice(4, 8)]).toEqual([253, 231, 37, 255]);
    expect(px.data[11]).toBe(0);
  });

  it('sizes cells to fit', () => {
    expect(cellSize(30, 300)).toBe(10);
    expect(cellSize(1000, 300)).toBe(1);
    expect(cellSize(4, 300)).toBe(14);
  });

  it('writes values briefly', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(0.123456)).toBe('0.123');
    expect(formatValue(12345)).toBe('1.23e+4');
    expect(formatValue(0.0001)).toBe('1.00e-4');
    expect(formatShort(0.07891)).toBe('0.079');
    expect(formatShort(4.92e-5)).toBe('5e-5');
    expect(formatShort(-12.34)).toBe('-12');
    expect(formatShort(0)).toBe('0');
    expect(percent(0.834)).toBe('83%');
    expect(percent(0.001)).toBe('<1%');
  });

  it('scales bars around 0 and finds the largest', () => {
    expect(barScale([1, 3, 2])).toEqual({ lo: 0, hi: 3, zero: 1, argmax: 1 });
    expect(barScale([-1, 3])).toEqual({ lo: -1, hi: 3, zero: 0.75, argmax: 1 });
  });
});

describe('attention', () => {
  const causal = [
    [
      [1, 0],
      [0.4, 0.6],
    ],
    [
      [1, 0],
      [0.8, 0.2],
    ],
  ];
  it('averages the heads', () => {
    expect(meanOfHeads(causal)).toEqual([
      [1, 0],
      [0.6000000000000001, 0.4],
    ]);
    expect(meanOfHeads([])).toEqual([]);
  });
  it('tells a causal layer from a bidirectional one', () => {
    expect(looksCausal(causal)).toBe(true);
    expect(looksCausal([[[0.5, 0.5], [0.5, 0.5]]])).toBe(false);
    expect(looksCausal([[[1]]])).toBe(false);
  });
});

describe('histograms over epochs', () => {
  it('puts every epoch on one range and keeps each row summing to 1', () => {
    const g = commonGrid(
      [
        { min: 0, max: 1, counts: [10, 0] },
        { min: -1, max: 1, counts: [0, 5, 5, 0] },
      ],
      4,
    );
    expect(g.min).toBe(-1);
    expect(g.max).toBe(1);
    // Epoch 1: all its mass in [0, 0.5): common bin 2.
    expect(g.rows[0]).toEqual([0, 0, 1, 0]);
    expect(g.rows[1]).toEqual([0, 0.5, 0.5, 0]);
    for (const r of g.rows) expect(r!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('splits a source bin across common bins in proportion', () => {
    const g = commonGrid([{ min: 0, max: 3, counts: [3] }, { min: 0, max: 2, counts: [1, 1] }], 3);
    expect(g.rows[0]![0]).toBeCloseTo(1 / 3);
    expect(g.rows[0]![1]).toBeCloseTo(1 / 3);
    expect(g.rows[1]![1]).toBeCloseTo(0.5);
    expect(g.rows[1]![2]).toBe(0);
  });

  it('leaves missing epochs empty and copes with a flat histogram', () => {
    const g = commonGrid([undefined, { min: 2, max: 2, counts: [4] }], 5);
    expect(g.rows[0]).toBeNull();
    expect([g.min, g.max]).toEqual([1.8, 2.2]);
    expect(g.rows[1]![2]).toBe(1);
    expect(commonGrid([{ min: 0, max: 0, counts: [3, 0] }], 3)).toMatchObject({ min: -1, max: 1, rows: [[0, 1, 0]] });
    expect(g.rows[1]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(commonGrid([undefined], 5)).toEqual({ min: 0, max: 0, rows: [null] });
  });

  it('builds per-epoch chart rows with one key per layer', () => {
    const rows = epochLayerRows(
      [
        { epochs: [{ epoch: 2, gradNorm: 0.5 }, { epoch: 1, gradNorm: 1 }] as never },
        { epochs: [{ epoch: 1 }, { epoch: 2, gradNorm: 3 }] as never },
      ],
      (e) => e.gradNorm,
    );
    expect(rows).toEqual([
      { epoch: 1, l0: 1 },
      { epoch: 2, l0: 0.5, l1: 3 },
    ]);
  });
});

describe('per-class precision, recall, F1', () => {
  // true \ predicted
  const confusion = [
    [8, 2, 0],
    [1, 3, 0],
    [0, 0, 0],
  ];
  const evaluation = { classNames: ['cat', 'dog', 'bird'], confusion, perClass: [{ className: 'cat', count: 10, accuracy: 0.8 }, { className: 'dog', count: 4, accuracy: 0.75 }, { className: 'bird', count: 0, accuracy: 0 }] };

  it('computes them from the confusion matrix', () => {
    const m = classMetrics(evaluation);
    expect(m[0]).toMatchObject({ className: 'cat', support: 10, predicted: 9 });
    expect(m[0]!.precision).toBeCloseTo(8 / 9);
    expect(m[0]!.recall).toBeCloseTo(0.8);
    expect(m[0]!.f1).toBeCloseTo((2 * (8 / 9) * 0.8) / (8 / 9 + 0.8));
    expect(m[1]!.precision).toBeCloseTo(0.6);
    // Never predicted and no samples: zeros, not NaN.
    expect(m[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it("uses the engine's figures when it sends them", () => {
    const given = { ...evaluation, perClass: evaluation.perClass.map((c, i) => (i === 0 ? { ...c, precision: 0.5, recall: 0.25, f1: 0.3 } : c)) };
    expect(classMetrics(given)[0]).toMatchObject({ precision: 0.5, recall: 0.25, f1: 0.3 });
  });

  it('averages by class and by support', () => {
    const { macro, weighted } = averages(classMetrics(evaluation));
    expect(macro.recall).toBeCloseTo((0.8 + 0.75 + 0) / 3);
    expect(weighted.recall).toBeCloseTo((0.8 * 10 + 0.75 * 4) / 14);
    expect(weighted.support).toBe(14);
  });
});

describe('embeddings', () => {
  it('gives each class its own colour for the first ten, and varied ones after', () => {
    const first = Array.from({ length: 10 }, (_, i) => classColor(i));
    expect(new Set(first).size).toBe(10);
    expect(classColor(10)).not.toBe(classColor(0));
    expect(classColor(10)).toMatch(/^rgb\(/);
  });

  it('maps points into the plot, larger y higher', () => {
    const s = scatterScale([{ x: 0, y: 0 }, { x: 10, y: 5 }], 120, 70, 10);
    expect(s.px(0)).toBe(10);
    expect(s.px(10)).toBe(110);
    expect(s.py(0)).toBe(60);
    expect(s.py(5)).toBe(10);
    const flat = scatterScale([{ x: 1, y: 1 }], 100, 50);
    expect([flat.px(1), flat.py(1)]).toEqual([50, 25]);
  });

  it('finds the point under the pointer, within a radius', () => {
    const pts = [{ sx: 10, sy: 10 }, { sx: 14, sy: 10 }];
    expect(nearestPoint(pts, 13, 10)).toBe(1);
    expect(nearestPoint(pts, 40, 40)).toBe(-1);
  });

  it('counts points and misclassified ones per class', () => {
    expect(classCounts([{ label: 0, predicted: 0 }, { label: 0, predicted: 1 }, { label: 1, predicted: 1 }, { label: 5, predicted: 0 }], 2)).toEqual([
      { count: 2, wrong: 1 },
      { count: 1, wrong: 0 },
    ]);
  });
});
