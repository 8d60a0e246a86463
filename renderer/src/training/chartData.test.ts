import { describe, expect, it } from 'vitest';
import { batchRows, downsample, formatDuration, smooth } from './chartData';

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

  it('builds batch rows with raw and smoothed values', () => {
    const rows = batchRows(Array.from({ length: 1000 }, (_, i) => ({ step: i + 1, loss: 2 - i / 1000, accuracy: i / 1000, lr: 0.001 })), 0.6, 100);
    expect(rows).toHaveLength(100);
    expect(rows[0]!.loss).toBe(2);
    expect(rows.at(-1)!.step).toBe(1000);
  });

  it('formats durations', () => {
    expect(formatDuration(12_000)).toBe('12s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });
});
