import { useMemo } from 'react';
import type { RunDetail } from '../../../shared/api';
import { batchRows, downsample } from './chartData';
import { COLORS, MetricChart, type Series } from './Charts';
import { useThrottled } from './useThrottled';

const LIVE = new Set(['starting', 'running', 'paused']);
/** While a run streams progress, its charts redraw at most this often (recharts redraws are costly; training shares the CPU). */
export const LIVE_CHART_MS = 2000;

// Props built once: MetricChart is memoised, and fresh arrays on every render would defeat it (the
// dashboard re-renders on every progress event; the charts must not).
const UNIT: [number, number] = [0, 1];
const BATCH_LOSS: Series[] = [
  { key: 'loss', name: 'loss (raw)', color: COLORS[0]!, faint: true },
  { key: 'lossSmooth', name: 'loss (smoothed)', color: COLORS[0]! },
];
const BATCH_ACCURACY: Series[] = [
  { key: 'accuracy', name: 'accuracy (raw)', color: COLORS[1]!, faint: true },
  { key: 'accuracySmooth', name: 'accuracy (smoothed)', color: COLORS[1]! },
];
const EPOCH_LOSS: Series[] = [
  { key: 'loss', name: 'train', color: COLORS[0]! },
  { key: 'valLoss', name: 'validation', color: COLORS[0]!, dashed: true },
];
const EPOCH_ACCURACY: Series[] = [
  { key: 'accuracy', name: 'train', color: COLORS[1]! },
  { key: 'valAccuracy', name: 'validation', color: COLORS[1]!, dashed: true },
];
const LR: Series[] = [{ key: 'lr', name: 'learning rate', color: COLORS[4]! }];
// A learning rate is never negative: the axis starts at 0 (recharts' 'auto' put a constant rate mid-axis, from -1e-3).
const FROM_ZERO: [number, 'auto'] = [0, 'auto'];

/** Loss and accuracy per batch (smoothed + raw faint), per epoch (train + validation), and the learning rate. */
export function RunCharts({ run: latest, compact = false }: { run: RunDetail; compact?: boolean }) {
  const run = useThrottled(latest, LIVE_CHART_MS, LIVE.has(latest.status));
  const rows = useMemo(() => batchRows(run.batches, 0.8, compact ? 200 : 500), [run.batches, compact]);
  const lrRows = useMemo(() => downsample(rows, 200), [rows]);
  const epochs = run.epochPoints;
  const h = compact ? 120 : 170;
  return (
    <div className={compact ? 'lf-charts compact' : 'lf-charts'}>
      <MetricChart
        testId="chart-batch-loss"
        title="Loss per batch"
        rows={rows}
        xKey="step"
        xLabel="batch"
        height={h}
        legend={false}
        series={BATCH_LOSS}
      />
      <MetricChart
        testId="chart-batch-accuracy"
        title="Accuracy per batch"
        rows={rows}
        xKey="step"
        xLabel="batch"
        height={h}
        legend={false}
        yDomain={UNIT}
        series={BATCH_ACCURACY}
      />
      {!compact && (
        <>
          <MetricChart
            testId="chart-epoch-loss"
            title="Loss per epoch"
            rows={epochs}
            xKey="epoch"
            xLabel="epoch"
            height={h}
            series={EPOCH_LOSS}
          />
          <MetricChart
            testId="chart-epoch-accuracy"
            title="Accuracy per epoch"
            rows={epochs}
            xKey="epoch"
            xLabel="epoch"
            height={h}
            yDomain={UNIT}
            series={EPOCH_ACCURACY}
          />
          <MetricChart testId="chart-lr" title="Learning rate" rows={lrRows} xKey="step" xLabel="batch" height={h} yDomain={FROM_ZERO} series={LR} />
        </>
      )}
    </div>
  );
}

/** Overlays the curves of several runs: validation accuracy and training loss per epoch, loss per batch. */
export function CompareCharts({ runs: latest }: { runs: RunDetail[] }) {
  const runs = useThrottled(latest, LIVE_CHART_MS, latest.some((r) => LIVE.has(r.status)));
  const { epochRows, batchRowsAll } = useMemo(() => {
    const byEpoch = new Map<number, Record<string, number>>();
    const byStep = new Map<number, Record<string, number>>();
    runs.forEach((r, i) => {
      for (const e of r.epochPoints) {
        const row = byEpoch.get(e.epoch) ?? { epoch: e.epoch };
        row[`acc${i}`] = e.valAccuracy ?? e.accuracy;
        row[`loss${i}`] = e.loss;
        byEpoch.set(e.epoch, row);
      }
      for (const b of batchRows(r.batches, 0.8, 300)) {
        const row = byStep.get(b.step) ?? { step: b.step };
        row[`bl${i}`] = b.lossSmooth;
        byStep.set(b.step, row);
      }
    });
    return {
      epochRows: [...byEpoch.values()].sort((a, b) => a.epoch! - b.epoch!),
      batchRowsAll: [...byStep.values()].sort((a, b) => a.step! - b.step!),
    };
  }, [runs]);
  const series = useMemo(() => {
    const of = (prefix: string) => runs.map((r, i) => ({ key: `${prefix}${i}`, name: r.name, color: COLORS[i % COLORS.length]! }));
    return { bl: of('bl'), acc: of('acc'), loss: of('loss') };
  }, [runs]);
  return (
    <div className="lf-charts" data-testid="compare-charts" data-runs={runs.length}>
      <MetricChart testId="compare-batch-loss" title="Loss per batch (smoothed)" rows={batchRowsAll} xKey="step" xLabel="batch" height={190} series={series.bl} />
      <MetricChart testId="compare-epoch-accuracy" title="Validation accuracy per epoch" rows={epochRows} xKey="epoch" xLabel="epoch" height={190} yDomain={UNIT} series={series.acc} />
      <MetricChart testId="compare-epoch-loss" title="Training loss per epoch" rows={epochRows} xKey="epoch" xLabel="epoch" height={190} series={series.loss} />
    </div>
  );
}
