import { describe, expect, it } from 'vitest';
import { TASKS, getTask } from '../../../shared/tasks';
import { chartsFor, formatMetric, headlineMetric, runHeadline, taskCharts, taskOf } from './taskMetrics';

describe('task metrics (what the dashboard draws per task)', () => {
  it('draws one batch chart for the headline and one epoch chart per metric of every task', () => {
    for (const task of TASKS) {
      const c = taskCharts(task);
      expect(c.batch.metricId).toBe(task.metrics[0]!.id);
      expect(c.epoch.map((e) => e.metricId)).toEqual(task.metrics.map((m) => m.id));
      for (const e of c.epoch) {
        expect(e.series.map((s) => s.key)).toEqual([`train_${e.metricId}`, `val_${e.metricId}`]);
        expect(e.testId).toBe(`chart-epoch-${e.metricId}`);
      }
      expect(chartsFor(task)).toBe(chartsFor(task));
    }
  });

  it('keeps the classification charts as they were and gives regression R², MAE and RMSE, no accuracy', () => {
    const cls = taskCharts(getTask('classification'));
    expect(cls.batch.testId).toBe('chart-batch-accuracy');
    expect(cls.batch.series.map((s) => s.key)).toEqual(['accuracy', 'accuracySmooth']);
    expect(cls.epoch[0]!.title).toBe('Accuracy per epoch');
    expect(cls.epoch[0]!.yDomain).toEqual([0, 1]);
    const reg = taskCharts(getTask('regression'));
    expect(reg.epoch.map((e) => e.testId)).toEqual(['chart-epoch-r2', 'chart-epoch-mae', 'chart-epoch-rmse']);
    expect(reg.epoch.map((e) => e.title)).toEqual(['R² per epoch', 'MAE per epoch', 'RMSE per epoch']);
    expect(reg.epoch.every((e) => e.yDomain === undefined)).toBe(true);
  });

  it('sums a run up by its task headline', () => {
    expect(runHeadline({ testAccuracy: 0.913 }).text).toBe('91.3%');
    expect(runHeadline({ task: 'classification', testMetrics: { accuracy: 0.5 } }).text).toBe('50.0%');
    expect(runHeadline({ task: 'regression', testMetrics: { r2: 0.8234, mae: 40 } }).text).toBe('R² 0.823');
    expect(runHeadline({ task: 'regression' }).text).toBe('');
    expect(headlineMetric(taskOf({ task: 'regression' })).id).toBe('r2');
    expect(taskOf({ task: 'no-such-task' }).id).toBe('classification');
    expect(formatMetric(getTask('regression').metrics[1]!, 41.56)).toBe('41.6');
  });

  it('draws perplexity (language modelling) on a log axis, token accuracy on 0–1', () => {
    const lm = taskCharts(getTask('language-modelling'));
    expect(lm.batch.testId).toBe('chart-batch-perplexity');
    expect(lm.batch.yScale).toBe('log');
    expect(lm.epoch.map((e) => [e.testId, e.yScale, e.yDomain])).toEqual([
      ['chart-epoch-perplexity', 'log', undefined],
      ['chart-epoch-accuracy', undefined, [0, 1]],
    ]);
    expect(lm.epoch[0]!.title).toBe('Perplexity per epoch (log scale)');
    expect(runHeadline({ task: 'language-modelling', testMetrics: { perplexity: 26.59, accuracy: 0.14 } }).text).toBe('perplexity 26.6');
    expect(taskCharts(getTask('regression')).epoch.every((e) => e.yScale === undefined)).toBe(true);
  });
});
