/** Result charts of regression runs: predicted vs true, residuals (recharts: loaded on demand, see lazyCharts.tsx). */
import { memo, useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, ReferenceLine, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from './chartData';
import { histogram, histogramTicks, scatterAxis, scatterPoints } from './resultsData';

type Point = { index: number; truth: number; predicted: number };

/** The scatter plot's height; its figure is about as wide (CSS): y = x runs at about 45°. */
const SQUARE = 400;
const TICK = { fontSize: 10, fill: 'var(--text-2)' };
const AXIS_LABEL = { fill: 'var(--text-2)', fontSize: 11 };
const TOOLTIP_STYLE = { background: 'var(--panel)', border: '1px solid var(--border)', fontSize: 11, color: 'var(--text)' };

/** Predicted against true values of the test split, on one scale, with the y = x diagonal (a perfect model). */
export const ScatterPlot = memo(function ScatterPlot({ points, target }: { points: readonly Point[]; target: string }) {
  const shown = useMemo(() => scatterPoints(points) as Point[], [points]);
  const {
    domain: [lo, hi],
    ticks,
  } = useMemo(() => scatterAxis(points, 6), [points]);
  // Both axes share one scale and tick set (a square plot, so y = x is the diagonal).
  const axis = { type: 'number' as const, domain: [lo, hi], ticks, interval: 0, tick: TICK, stroke: 'var(--muted)', tickFormatter: formatNumber };
  return (
    <figure className="lf-chart lf-scatter" data-testid="scatter-plot" data-points={shown.length} aria-label={`predicted against true ${target}`}>
      <ResponsiveContainer width="100%" height={SQUARE}>
        <ScatterChart margin={{ top: 8, right: 16, bottom: 22, left: 10 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
          <XAxis
            {...axis}
            dataKey="truth"
            name={`true ${target}`}
            label={{ ...AXIS_LABEL, value: `true ${target}`, position: 'insideBottom', offset: -12 }}
          />
          <YAxis
            {...axis}
            dataKey="predicted"
            name={`predicted ${target}`}
            width={54}
            label={{ ...AXIS_LABEL, value: `predicted ${target}`, angle: -90, position: 'insideLeft', offset: 0, style: { textAnchor: 'middle' } }}
          />
          <ReferenceLine
            segment={[
              { x: lo, y: lo },
              { x: hi, y: hi },
            ]}
            stroke="var(--text-2)"
            strokeDasharray="5 4"
            ifOverflow="hidden"
            label={{ value: 'y = x', position: 'insideTopLeft', fill: 'var(--muted)', fontSize: 10 }}
          />
          <Tooltip isAnimationActive={false} cursor={{ strokeDasharray: '3 3' }} formatter={(v) => formatNumber(v)} contentStyle={TOOLTIP_STYLE} />
          <Scatter data={shown} fill="var(--accent)" fillOpacity={0.55} isAnimationActive={false} />
        </ScatterChart>
      </ResponsiveContainer>
    </figure>
  );
});

/** How far off the predictions are: a histogram of predicted − true, with a line at 0. */
export const ResidualHistogram = memo(function ResidualHistogram({ points, target }: { points: readonly Point[]; target: string }) {
  const bins = useMemo(() => histogram(points.map((p) => p.predicted - p.truth), 24), [points]);
  const ticks = useMemo(() => histogramTicks(bins, 8), [bins]);
  if (bins.length === 0) return <div className="lf-chart-empty">No test points</div>;
  const lo = bins[0]!.x0;
  const hi = bins[bins.length - 1]!.x1;
  return (
    <figure className="lf-chart" data-testid="residual-histogram" data-bins={bins.length}>
      <ResponsiveContainer width="100%" height={SQUARE}>
        <BarChart data={bins} margin={{ top: 8, right: 16, bottom: 22, left: 10 }} barCategoryGap={1}>
          <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" vertical={false} />
          <XAxis
            type="number"
            dataKey="mid"
            domain={[lo, hi]}
            ticks={ticks}
            interval={0}
            tick={TICK}
            stroke="var(--muted)"
            tickFormatter={formatNumber}
            label={{ ...AXIS_LABEL, value: `predicted − true ${target}`, position: 'insideBottom', offset: -12 }}
          />
          <YAxis tick={TICK} stroke="var(--muted)" allowDecimals={false} width={40} label={{ ...AXIS_LABEL, value: 'test rows', angle: -90, position: 'insideLeft', style: { textAnchor: 'middle' } }} />
          {lo < 0 && hi > 0 && <ReferenceLine x={0} stroke="var(--text-2)" strokeDasharray="5 4" />}
          <Tooltip
            isAnimationActive={false}
            cursor={{ fill: 'var(--accent-soft)' }}
            contentStyle={TOOLTIP_STYLE}
            labelFormatter={(_l, payload) => {
              const b = payload?.[0]?.payload as { x0: number; x1: number } | undefined;
              return b ? `error ${formatNumber(b.x0)} to ${formatNumber(b.x1)}` : '';
            }}
            formatter={(v) => [String(v), 'rows']}
          />
          <Bar dataKey="count" fill="var(--accent)" fillOpacity={0.8} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
});
