/**
 * What the dashboard shows for a run's task, asked of the task registry (shared/tasks): which metric
 * curves to draw, the headline figure of a run and how a metric value reads. Nothing here names a task:
 * a new task with its metrics gets its charts, run-list figure and result numbers from its registry entry.
 */
import { TASKS, getTask, type MetricDef, type TaskDef } from '../../../shared/tasks';
import { COLORS, formatNumber, metricOf, pct, type Series } from './chartData';

/** A run's (or dataset's, evaluation's) task; absent means classification, an unknown id too (a newer engine). */
export function taskOf(x: { task?: string | undefined } | undefined): TaskDef {
  try {
    return getTask(x?.task);
  } catch {
    return TASKS[0]!;
  }
}

/** The metric a run is summed up by: the task's first. */
export function headlineMetric(task: TaskDef): MetricDef {
  return task.metrics[0]!;
}

/** A metric value as shown: a percentage or a number of 3 significant digits. */
export function formatMetric(metric: MetricDef, value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return metric.format === 'percent' ? pct(value) : formatNumber(value);
}

/** "accuracy" -> "Accuracy", "R²" stays. */
export const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The test figure of a metric from a summary's or evaluation's `metrics` record, else its legacy field (`testAccuracy`, `accuracy`). */
export function testMetric(source: object, record: Record<string, number> | undefined, metric: MetricDef, legacyPrefix = ''): number | undefined {
  return metricOf(source, record, metric.id, legacyPrefix ? `${legacyPrefix}${capitalise(metric.id)}` : metric.id);
}

/** A finished run's headline, e.g. "91.3%" (classification) or "R² 0.82" (regression); '' before it was evaluated. */
export function runHeadline(run: { task?: string; testMetrics?: Record<string, number>; testAccuracy?: number }): { metric: MetricDef; value: number | undefined; text: string } {
  const metric = headlineMetric(taskOf(run));
  const value = testMetric(run, run.testMetrics, metric, 'test');
  const shown = formatMetric(metric, value);
  return { metric, value, text: value === undefined ? '' : metric.format === 'percent' ? shown : `${metric.label} ${shown}` };
}

export interface ChartSpec {
  /** data-testid of the chart: `chart-batch-<metric>` / `chart-epoch-<metric>`. */
  testId: string;
  title: string;
  /** The metric's id: the key (batch rows) or key suffix (`train_id`, `val_id`, epoch rows) of its values. */
  metricId: string;
  series: Series[];
  yDomain?: [number | 'auto', number | 'auto'];
  /** The metric's scale (MetricDef.scale): 'log' draws a logarithmic axis. */
  yScale?: 'linear' | 'log';
}

const UNIT: [number, number] = [0, 1];

/**
 * The metric charts of a task, besides loss and learning rate: the headline per batch (raw + smoothed),
 * and every metric per epoch (train + validation). Percentages get a 0–1 axis, a metric that says so a log axis.
 */
export function taskCharts(task: TaskDef): { batch: ChartSpec; epoch: ChartSpec[] } {
  const spec = (m: MetricDef, i: number, per: 'batch' | 'epoch'): ChartSpec => {
    const color = COLORS[(i + 1) % COLORS.length]!;
    const series: Series[] =
      per === 'batch'
        ? [
            { key: m.id, name: `${m.label} (raw)`, color, faint: true },
            { key: `${m.id}Smooth`, name: `${m.label} (smoothed)`, color },
          ]
        : [
            { key: `train_${m.id}`, name: 'train', color },
            { key: `val_${m.id}`, name: 'validation', color, dashed: true },
          ];
    const log = m.scale === 'log';
    return {
      testId: `chart-${per}-${m.id}`,
      title: `${capitalise(m.label)} per ${per}${log ? ' (log scale)' : ''}`,
      metricId: m.id,
      series,
      ...(m.format === 'percent' ? { yDomain: UNIT } : {}),
      ...(log ? { yScale: 'log' as const } : {}),
    };
  };
  return { batch: spec(headlineMetric(task), 0, 'batch'), epoch: task.metrics.map((m, i) => spec(m, i, 'epoch')) };
}

const chartCache = new Map<string, ReturnType<typeof taskCharts>>();

/** taskCharts, built once per task: memoised charts get the same props on every render. */
export function chartsFor(task: TaskDef): ReturnType<typeof taskCharts> {
  let c = chartCache.get(task.id);
  if (!c) chartCache.set(task.id, (c = taskCharts(task)));
  return c;
}

/** The ids of a task's metrics (what batchRows / epochRows read). */
export const metricIds = (task: TaskDef): string[] => task.metrics.map((m) => m.id);
