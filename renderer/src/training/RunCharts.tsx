import { useMemo } from 'react';
import type { RunDetail } from '../../../shared/api';
import { batchRows, downsample } from './chartData';
import { COLORS, MetricChart } from './Charts';

/** Loss and accuracy per batch (smoothed + raw faint), per epoch (train + validation), and the learning rate. */
export function RunCharts({ run, compact = false }: { run: RunDetail; compact?: boolean }) {
  const rows = useMemo(() => batchRows(run.batches, 0.8, compact ? 200 : 500), [run.batches, compact]);
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
        series={[
          { key: 'loss', name: 'loss (raw)', color: COLORS[0]!, faint: true },
          { key: 'lossSmooth', name: 'loss (smoothed)', color: COLORS[0]! },
        ]}
      />
      <MetricChart
        testId="chart-batch-accuracy"
        title="Accuracy per batch"
        rows={rows}
        xKey="step"
        xLabel="batch"
        height={h}
        legend={false}
        yDomain={[0, 1]}
        series={[
          { key: 'accuracy', name: 'accuracy (raw)', color: COLORS[1]!, faint: true },
          { key: 'accuracySmooth', name: 'accuracy (smoothed)', color: COLORS[1]! },
        ]}
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
            series={[
              { key: 'loss', name: 'train', color: COLORS[0]! },
              { key: 'valLoss', name: 'validation', color: COLORS[0]!, dashed: true },
            ]}
          />
          <MetricChart
            testId="chart-epoch-accuracy"
            title="Accuracy per epoch"
            rows={epochs}
            xKey="epoch"
            xLabel="epoch"
            height={h}
            yDomain={[0, 1]}
            series={[
              { key: 'accuracy', name: 'train', color: COLORS[1]! },
              { key: 'valAccuracy', name: 'validation', color: COLORS[1]!, dashed: true },
            ]}
          />
          <MetricChart testId="chart-lr" title="Learning rate" rows={downsample(rows, 200)} xKey="step" xLabel="batch" height={h} series={[{ key: 'lr', name: 'learning rate', color: COLORS[4]! }]} />
        </>
      )}
    </div>
  );
}

/** Overlays the curves of several runs: validation accuracy and training loss per epoch, loss per batch. */
export function CompareCharts({ runs }: { runs: RunDetail[] }) {
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
  const series = (prefix: string) => runs.map((r, i) => ({ key: `${prefix}${i}`, name: r.name, color: COLORS[i % COLORS.length]! }));
  return (
    <div className="lf-charts" data-testid="compare-charts" data-runs={runs.length}>
      <MetricChart testId="compare-batch-loss" title="Loss per batch (smoothed)" rows={batchRowsAll} xKey="step" xLabel="batch" height={190} series={series('bl')} />
      <MetricChart testId="compare-epoch-accuracy" title="Validation accuracy per epoch" rows={epochRows} xKey="epoch" xLabel="epoch" height={190} yDomain={[0, 1]} series={series('acc')} />
      <MetricChart testId="compare-epoch-loss" title="Training loss per epoch" rows={epochRows} xKey="epoch" xLabel="epoch" height={190} series={series('loss')} />
    </div>
  );
}
