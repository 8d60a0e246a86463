/**
 * The chart components, loaded on demand: recharts and its dependencies are about half of the renderer's
 * JavaScript, and nothing on the start screen or an empty editor draws a chart. Each wrapper shows a
 * placeholder of the chart's height until its chunk has loaded (once per session), so the layout does not jump.
 */
import { lazy, Suspense, type ComponentProps } from 'react';
import type { MetricChart as MetricChartType } from './Charts';
import type { ResidualHistogram as ResidualHistogramType, ScatterPlot as ScatterPlotType } from './TableResults';

const LazyMetricChart = lazy(() => import('./Charts').then((m) => ({ default: m.MetricChart })));
const LazyScatterPlot = lazy(() => import('./TableResults').then((m) => ({ default: m.ScatterPlot })));
const LazyResidualHistogram = lazy(() => import('./TableResults').then((m) => ({ default: m.ResidualHistogram })));

function Loading({ height }: { height: number }) {
  return <div className="lf-chart-loading" style={{ height }} aria-busy="true" />;
}

export function MetricChart(props: ComponentProps<typeof MetricChartType>) {
  return (
    <Suspense fallback={<Loading height={(props.height ?? 150) + 20} />}>
      <LazyMetricChart {...props} />
    </Suspense>
  );
}

export function ScatterPlot(props: ComponentProps<typeof ScatterPlotType>) {
  return (
    <Suspense fallback={<Loading height={420} />}>
      <LazyScatterPlot {...props} />
    </Suspense>
  );
}

export function ResidualHistogram(props: ComponentProps<typeof ResidualHistogramType>) {
  return (
    <Suspense fallback={<Loading height={420} />}>
      <LazyResidualHistogram {...props} />
    </Suspense>
  );
}
