import { useMemo } from 'react';
import type { RunDetail } from '../../../shared/api';
import { batchRows, downsample, epochRows } from './chartData';
import { COLORS, type Series } from './chartData';
import { MetricChart } from './lazyCharts';
import { chartsFor, headlineMetric, metricIds, taskOf } from './taskMetrics';
import { useThrottled } from './useThrottled';

const LIVE = new Set(['starting', 'running', 'paused']);
/** While a run streams progress, its charts redraw at most this often (recharts redraws are costly; training shares the CPU). */
export const LIVE_CHART_MS = 2000;

// Props built once: MetricChart is memoised, and fresh arrays on every render would defeat it (the
// dashboard re-renders on every progress event; the charts must not). The metric charts come from the
// task registry (taskMetrics.chartsFor), built once per task.
const UNIT: [number, number] = [0, 1];
const BATCH_LOSS: Series[] = [
  { key: 'loss', name: 'loss (raw)', color: COLORS[0]!, faint: true },
  { key: 'lossSmooth', name: 'loss (smoothed)', color: COLORS[0]! },
];
const EPOCH_LOSS: Series[] = [
  { key: 'loss', name: 'train', color: COLORS[0]! },
  { key: 'valLoss', name: 'validation', color: COLORS[0]!, dashed: true },
];
const LR: Series[] = [{ key: 'lr', name: 'learning rate', color: COLORS[4]! }];
// A learning rate is never negative: the axis starts at 0 (recharts' 'auto' put a constant rate mid-axis, from -1e-3).
const FROM_ZERO: [number, 'auto'] = [0, 'auto'];

/** Loss and the task's headline metric per batch (smoothed + raw faint), loss and every task metric per epoch (train + validation), and the learning rate. */
export function RunCharts({ run: latest, compact = false }: { run: RunDetail; compact?: boolean }) {
  const run = useThrottled(latest, LIVE_CHART_MS, LIVE.has(latest.status));
  const task = taskOf(run);
  const charts = chartsFor(task);
  const ids = useMemo(() => metricIds(task), [task]);
  const rows = useMemo(() => batchRows(run.batches, [charts.batch.metricId], 0.8, compact ? 200 : 500), [run.batches, charts, compact]);
  const lrRows = useMemo(() => downsample(rows, 200), [rows]);
  const epochs = useMemo(() => epochRows(run.epochPoints, ids), [run.epochPoints, ids]);
  const h = compact ? 120 : 170;
  return (
    <div className={compact ? 'lf-charts compact' : 'lf-charts'} data-task={task.id}>
      <MetricChart testId="chart-batch-loss" title="Loss per batch" rows={rows} xKey="step" xLabel="batch" height={h} legend={false} series={BATCH_LOSS} />
      <MetricChart
        testId={charts.batch.testId}
        title={charts.batch.title}
        rows={rows}
        xKey="step"
        xLabel="batch"
        height={h}
        legend={false}
        yDomain={charts.batch.yDomain}
        yScale={charts.batch.yScale}
        series={charts.batch.series}
      />
      {!compact && (
        <>
          <MetricChart testId="chart-epoch-loss" title="Loss per epoch" rows={epochs} xKey="epoch" xLabel="epoch" height={h} series={EPOCH_LOSS} />
          {charts.epoch.map((c) => (
            <MetricChart key={c.testId} testId={c.testId} title={c.title} rows={epochs} xKey="epoch" xLabel="epoch" height={h} yDomain={c.yDomain} yScale={c.yScale} series={c.series} />
          ))}
          <MetricChart testId="chart-lr" title="Learning rate" rows={lrRows} xKey="step" xLabel="batch" height={h} yDomain={FROM_ZERO} series={LR} />
        </>
      )}
    </div>
  );
}

/** Overlays the curves of several runs: the headline metric (validation) and training loss per epoch, loss per batch. */
export function CompareCharts({ runs: latest }: { runs: RunDetail[] }) {
  const runs = useThrottled(latest, LIVE_CHART_MS, latest.some((r) => LIVE.has(r.status)));
  // The metric chart overlays the headline of the first run's task; runs of another task are left out of it.
  const metric = headlineMetric(taskOf(runs[0]));
  const { epochRows: byEpochRows, batchRowsAll, same } = useMemo(() => {
    const byEpoch = new Map<number, Record<string, number>>();
    const byStep = new Map<number, Record<string, number>>();
    const same = runs.map((r) => headlineMetric(taskOf(r)).id === metric.id);
    runs.forEach((r, i) => {
      for (const row of epochRows(r.epochPoints, [metric.id])) {
        const merged = byEpoch.get(row.epoch) ?? { epoch: row.epoch };
        const m = row[`val_${metric.id}`] ?? row[`train_${metric.id}`];
        if (same[i] && m !== undefined) merged[`m${i}`] = m;
        merged[`loss${i}`] = row.loss;
        byEpoch.set(row.epoch, merged);
      }
      for (const b of batchRows(r.batches, [], 0.8, 300)) {
        const merged = byStep.get(b.step) ?? { step: b.step };
        merged[`bl${i}`] = b.lossSmooth;
        byStep.set(b.step, merged);
      }
    });
    return {
      epochRows: [...byEpoch.values()].sort((a, b) => a.epoch! - b.epoch!),
      batchRowsAll: [...byStep.values()].sort((a, b) => a.step! - b.step!),
      same,
    };
  }, [runs, metric.id]);
  const series = useMemo(() => {
    const of = (prefix: string, keep: (i: number) => boolean = () => true) =>
      runs.flatMap((r, i) => (keep(i) ? [{ key: `${prefix}${i}`, name: r.name, color: COLORS[i % COLORS.length]! }] : []));
    return { bl: of('bl'), m: of('m', (i) => same[i]!), loss: of('loss') };
  }, [runs, same]);
  return (
    <div className="lf-charts" data-testid="compare-charts" data-runs={runs.length}>
      <MetricChart testId="compare-batch-loss" title="Loss per batch (smoothed)" rows={batchRowsAll} xKey="step" xLabel="batch" height={190} series={series.bl} />
      <MetricChart
        testId={`compare-epoch-${metric.id}`}
        title={`Validation ${metric.label} per epoch`}
        rows={byEpochRows}
        xKey="epoch"
        xLabel="epoch"
        height={190}
        yDomain={metric.format === 'percent' ? UNIT : undefined}
        yScale={metric.scale}
        series={series.m}
      />
      <MetricChart testId="compare-epoch-loss" title="Training loss per epoch" rows={byEpochRows} xKey="epoch" xLabel="epoch" height={190} series={series.loss} />
    </div>
  );
}
