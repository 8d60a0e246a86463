import { describe, expect, it } from 'vitest';
import { batchRows, downsample, epochRows, formatDuration, formatNumber, logAxis, metricOf, smooth } from './chartData';

describe('chart data', () => {
  it('smooths with bias correction (the first value is kept, constants stay constant)', () => {
    expect(smooth([5, 5, 5], 0.9)).toEqual([5, 5, 5].map(() => expect.closeTo(5, 10)));
    const s = smooth([0, 10, 0, 10], 0.5);
    expect(s[0]).toBeCloseTo(0);
    expect(s[1]).toBeGreaterThan(0);
    expect(s[1]).toBeLessThan(10);
  });

  it('downsamples to at most max points keeping the ends', () => {
    const pts = Array.from({ length: 10_000 }, (_, i) => i);
    const d = downsample(pts, 300);
    expect(d.length).toBe(300);
    expect(d[0]).toBe(0);
    expect(d.at(-1)).toBe(9999);
    expect(downsample(pts.slice(0, 10), 300)).toHaveLength(10);
  });

  it('builds batch rows with raw and smoothed values of the asked metrics', () => {
    const rows = batchRows(Array.from({ length: 1000 }, (_, i) => ({ step: i + 1, loss: 2 - i / 1000, accuracy: i / 1000, lr: 0.001 })), ['accuracy'], 0.6, 100);
    expect(rows).toHaveLength(100);
    expect(rows[0]!.loss).toBe(2);
    expect(rows.at(-1)!.step).toBe(1000);
    expect(rows.at(-1)!.accuracy).toBeCloseTo(0.999);
    expect(rows.at(-1)!.accuracySmooth).toBeGreaterThan(0.99);
  });

  it('reads metrics from the metrics record (regression) and leaves absent ones out', () => {
    const pts = [1, 2, 3].map((i) => ({ step: i, loss: 1 / i, lr: 0.01, metrics: { r2: i / 4, mae: 3 - i } }));
    const rows = batchRows(pts, ['r2', 'accuracy'], 0.5);
    expect(rows[2]!.r2).toBe(0.75);
    expect(rows[2]!.r2Smooth).toBeGreaterThan(0.25);
    expect('accuracy' in rows[0]!).toBe(false);
  });

  it('builds epoch rows: train and validation per metric, older runs from their top-level fields', () => {
    const older = { epoch: 2, loss: 0.5, lr: 0.1, accuracy: 0.6, valAccuracy: 0.55 };
    const rows = epochRows([{ epoch: 1, loss: 1, lr: 0.1, valLoss: 1.2, metrics: { mae: 4, r2: 0.1 }, valMetrics: { mae: 5, r2: 0 } }, older], ['mae', 'accuracy']);
    expect(rows[0]).toEqual({ epoch: 1, loss: 1, valLoss: 1.2, train_mae: 4, val_mae: 5 });
    expect(rows[1]).toEqual({ epoch: 2, loss: 0.5, train_accuracy: 0.6, val_accuracy: 0.55 });
    expect(metricOf({ testAccuracy: 0.5 }, undefined, 'accuracy', 'testAccuracy')).toBe(0.5);
    expect(metricOf({ accuracy: 0.5 }, { accuracy: 0.7 }, 'accuracy')).toBe(0.7);
  });

  it('formats numbers for ticks and metrics', () => {
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(1234.5)).toBe('1235');
    expect(formatNumber(0.001)).toBe('1.0e-3');
    expect(formatNumber(NaN)).toBe('–');
  });

  it('formats durations', () => {
    expect(formatDuration(12_000)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });

  it('draws a log axis for values spanning orders of magnitude (perplexity): padded domain, 1-2-5 ticks inside it', () => {
    const rows = [{ a: 93, b: 60 }, { a: 28.4, b: 26.6 }, { a: 12, b: undefined }];
    const axis = logAxis(rows, ['a', 'b'])!;
    expect(axis.domain[0]).toBeLessThan(12);
    expect(axis.domain[1]).toBeGreaterThan(93);
    expect(axis.ticks).toEqual([20, 50, 100]);
    for (const t of axis.ticks) expect(t >= axis.domain[0] && t <= axis.domain[1]).toBe(true);
    // A narrow span gets finer ticks; a single value still two; nothing positive: no axis.
    expect(logAxis([{ a: 4.1 }, { a: 6.9 }], ['a'])!.ticks).toEqual([4, 5, 6]);
    expect(logAxis([{ a: 7.3 }], ['a'])!.ticks).toEqual([7.3]);
    expect(logAxis([{ a: 36 }, { a: 24.7 }], ['a'])!.ticks).toEqual([25, 30, 40]);
    expect(logAxis([{ a: 0 }, { a: -1 }, { a: NaN }], ['a'])).toBeNull();
    // Wide spans keep one tick per decade.
    expect(logAxis([{ a: 1.5 }, { a: 50_000 }], ['a'])!.ticks).toEqual([10, 100, 1000, 10_000]);
  });
});
