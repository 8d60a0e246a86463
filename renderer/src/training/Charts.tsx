import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber as fmt, logAxis, type Series } from './chartData';

export { COLORS, type Series } from './chartData';

/**
 * One metric chart. Animation is off and rows are downsampled by the caller, so it redraws cheaply
 * while a run streams points. Hovering shows every series' value at that x.
 */
export const MetricChart = memo(function MetricChart(props: {
  title: string;
  rows: readonly object[];
  xKey: string;
  xLabel: string;
  series: Series[];
  height?: number;
  testId: string;
  yDomain?: [number | 'auto', number | 'auto'];
  /** 'log': a logarithmic y axis (positive values only; its domain and ticks follow the data). */
  yScale?: 'linear' | 'log';
  legend?: boolean;
}) {
  const { rows, series } = props;
  const log = props.yScale === 'log' ? logAxis(rows, series.map((s) => s.key)) : null;
  return (
    <figure className="lf-chart" data-testid={props.testId} data-points={rows.length} data-scale={log ? 'log' : 'linear'}>
      <figcaption>{props.title}</figcaption>
      {rows.length === 0 ? (
        <div className="lf-chart-empty" style={{ height: props.height ?? 150 }}>
          No points yet
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={props.height ?? 150}>
          <LineChart data={rows as object[]} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--border)" />
            <XAxis dataKey={props.xKey} type="number" domain={['dataMin', 'dataMax']} tick={{ fontSize: 10 }} stroke="var(--muted)" allowDecimals={false} />
            {log ? (
              <YAxis tick={{ fontSize: 10 }} stroke="var(--muted)" scale="log" domain={log.domain} ticks={log.ticks} allowDataOverflow tickFormatter={fmt} width={50} />
            ) : (
              <YAxis tick={{ fontSize: 10 }} stroke="var(--muted)" domain={props.yDomain ?? ['auto', 'auto']} tickFormatter={fmt} width={50} />
            )}
            <Tooltip
              isAnimationActive={false}
              formatter={(v) => fmt(v)}
              labelFormatter={(l) => `${props.xLabel} ${String(l)}`}
              contentStyle={{ background: 'var(--panel)', border: '1px solid var(--border)', fontSize: 11 }}
            />
            {props.legend !== false && series.length > 1 && <Legend wrapperStyle={{ fontSize: 10 }} />}
            {series.map((s) => (
              <Line
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stroke={s.color}
                strokeOpacity={s.faint ? 0.3 : 1}
                strokeWidth={s.faint ? 1 : 2}
                strokeDasharray={s.dashed ? '4 3' : undefined}
                dot={false}
                activeDot={s.faint ? false : { r: 3 }}
                isAnimationActive={false}
                connectNulls
                type="linear"
                legendType={s.faint ? 'none' : 'line'}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
});
