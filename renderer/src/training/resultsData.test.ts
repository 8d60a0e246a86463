import { describe, expect, it } from 'vitest';
import { featureColumns, formColumns, histogram, histogramTicks, niceStep, niceTicks, rowValues, scatterAxis } from './resultsData';

describe('result view helpers', () => {
  it('picks round bin widths', () => {
    expect(niceStep(0.13)).toBe(0.2);
    expect(niceStep(7)).toBe(10);
    expect(niceStep(2.2)).toBe(2.5);
    expect(niceStep(0)).toBe(1);
  });

  it('bins residuals on round edges, counting every value once', () => {
    const values = [-3.2, -1, -0.5, 0, 0.1, 0.4, 2, 9.9];
    const bins = histogram(values, 10);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(values.length);
    const width = bins[0]!.x1 - bins[0]!.x0;
    expect(width).toBe(2);
    expect(bins[0]!.x0).toBeLessThanOrEqual(-3.2);
    expect(bins.at(-1)!.x1).toBeGreaterThanOrEqual(9.9);
    expect(bins.some((b) => b.x0 === 0)).toBe(true); // an edge at 0
    for (let i = 1; i < bins.length; i++) expect(bins[i]!.x0).toBe(bins[i - 1]!.x1);
    expect(bins.find((b) => b.x0 === 0)!.count).toBe(3); // 0, 0.1, 0.4
    expect(bins.length).toBeLessThanOrEqual(10);
  });

  it('labels a histogram axis with at most a few round bin edges, 0 among them', () => {
    const bins = histogram(Array.from({ length: 100 }, (_, i) => i * 2.6 - 140), 24);
    const ticks = histogramTicks(bins, 8);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks).toContain(0);
    const edges = new Set([...bins.map((b) => b.x0), bins.at(-1)!.x1]);
    for (const t of ticks) expect(edges.has(t)).toBe(true);
    expect(histogramTicks(histogram([1, 2, 3], 2))).toEqual([1, 2, 3]);
    expect(histogramTicks([])).toEqual([]);
  });

  it('handles empty, constant and non-finite inputs', () => {
    expect(histogram([])).toEqual([]);
    expect(histogram([NaN, Infinity])).toEqual([]);
    expect(histogram([2, 2, 2])).toEqual([{ x0: 2, x1: 2, mid: 2, count: 3 }]);
    const top = histogram([0, 1, 2, 3, 4], 4);
    expect(top.at(-1)!.count).toBeGreaterThan(0); // the maximum lands in the last bin
    expect(top.reduce((a, b) => a + b.count, 0)).toBe(5);
  });

  it('puts round ticks on an axis', () => {
    expect(niceTicks(0, 350, 8)).toEqual([0, 50, 100, 150, 200, 250, 300, 350]);
    expect(niceTicks(0, 350, 6)).toEqual([0, 100, 200, 300]);
    expect(niceTicks(-0.3, 0.25, 5)).toEqual([-0.2, 0, 0.2]);
    expect(niceTicks(-0.3, 0.25, 6)).toEqual([-0.3, -0.2, -0.1, 0, 0.1, 0.2]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('gives both scatter axes one range covering truth and predictions, on round ticks', () => {
    expect(scatterAxis([{ truth: 25, predicted: 31 }, { truth: 346, predicted: 280 }])).toEqual({ domain: [0, 400], ticks: [0, 100, 200, 300, 400] });
    expect(scatterAxis([{ truth: 0.12, predicted: 0.9 }]).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(scatterAxis([])).toEqual({ domain: [0, 1], ticks: [0, 1] });
    expect(scatterAxis([{ truth: 3, predicted: 3 }]).domain).toEqual([2, 4]);
    const a = scatterAxis([{ truth: -7.3, predicted: 12.9 }], 6);
    expect(a.ticks.length).toBeLessThanOrEqual(6);
    expect(a.domain[0]).toBeLessThanOrEqual(-7.3);
    expect(a.domain[1]).toBeGreaterThanOrEqual(12.9);
    expect(a.ticks[0]).toBe(a.domain[0]);
    expect(a.ticks.at(-1)).toBe(a.domain[1]);
  });

  it('derives the predict form from the header and the encoded feature names', () => {
    const header = ['id', 'age', 'sex', 'bmi', 'target'];
    const f = formColumns(header, 'target', ['age', 'sex=F', 'sex=M', 'sex=(missing)', 'bmi']);
    expect(f.fields).toEqual([
      { name: 'age', kind: 'numeric', options: [] },
      { name: 'sex', kind: 'categorical', options: ['F', 'M'] },
      { name: 'bmi', kind: 'numeric', options: [] },
    ]);
    expect(f.ignored).toEqual(['id']);
    expect(rowValues(header, ['7', '50', 'F', '22.1', '140'], f.fields)).toEqual({ age: '50', sex: 'F', bmi: '22.1' });
    expect(featureColumns(header, 'target')).toEqual([0, 1, 2, 3]);
  });
});
