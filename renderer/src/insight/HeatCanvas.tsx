/**
 * A heatmap of a rows x cols matrix on a canvas: one pixel per value, scaled up with sharp pixels, coloured on a
 * sequential (viridis) or diverging (blue, the panel's colour at 0, red) scale; pointing at it names the cell.
 */
import { useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { resolvedTheme, useUi } from '../store/uiStore';
import { diverging, formatValue, heatPixels, heatScale, rgb, viridis, type HeatScale } from './insightView';

export function HeatCanvas({
  values,
  cell,
  describe,
  testId,
  scale: given,
  rowLabels,
  label,
  legend,
  readout = 'top',
  footer,
  labelWidth = 64,
}: {
  values: readonly (readonly number[])[];
  /** Cell size in px (width and height). */
  cell: number | { w: number; h: number };
  /** Words for the pointed cell (row, column, value). */
  describe: (row: number, col: number, v: number) => string;
  testId?: string;
  scale?: HeatScale;
  /** Labels drawn left of the rows (tokens), when they fit. */
  rowLabels?: readonly string[];
  label: string;
  /** The legend's end labels (default: the scale's values). */
  legend?: { low: string; high: string };
  /** Where the pointed cell is named: above the map (default) or below it. */
  readout?: 'top' | 'bottom';
  /** Drawn right under the map (an axis), above the legend. */
  footer?: ReactNode;
  /** Width of the row labels (px). */
  labelWidth?: number;
}) {
  const theme = useUi(resolvedTheme);
  const ref = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ r: number; c: number } | null>(null);
  const scale = useMemo(() => given ?? heatScale(values), [given, values]);
  const w = typeof cell === 'number' ? cell : cell.w;
  const h = typeof cell === 'number' ? cell : cell.h;
  const rows = values.length;
  const cols = Math.max(0, ...values.map((r) => r.length));
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || rows === 0 || cols === 0) return;
    const px = heatPixels(values, scale, theme);
    canvas.width = px.width;
    canvas.height = px.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(new ImageData(px.data, px.width, px.height), 0, 0);
  }, [values, scale, theme, rows, cols]);
  const v = hover ? values[hover.r]?.[hover.c] : undefined;
  const showLabels = !!rowLabels && h >= 9;
  const read = (
    <div className="lf-ins-readout" aria-live="polite">
      {hover && v !== undefined ? describe(hover.r, hover.c, v) : <span className="lf-muted">Point at a cell for its value.</span>}
    </div>
  );
  return (
    <div className="lf-ins-heat" data-testid={testId} data-rows={rows} data-cols={cols} data-scale={scale.kind}>
      {readout === 'top' && read}
      <div className="lf-ins-heat-scroll">
        <div className="lf-ins-heat-grid">
          {showLabels && (
            <div className="lf-ins-heat-labels" style={{ width: labelWidth, fontSize: Math.min(11, h - 1), lineHeight: `${h}px` }}>
              {rowLabels!.slice(0, rows).map((t, i) => (
                <div key={i} className={hover?.r === i ? 'on' : undefined} style={{ height: h }} title={t}>
                  {t}
                </div>
              ))}
            </div>
          )}
          <canvas
            ref={ref}
            className="lf-ins-pixel lf-ins-heat-canvas"
            role="img"
            aria-label={label}
            style={{ width: cols * w, height: rows * h }}
            onMouseMove={(e) => {
              const box = e.currentTarget.getBoundingClientRect();
              const c = Math.floor((e.clientX - box.left) / w);
              const r = Math.floor((e.clientY - box.top) / h);
              setHover(r >= 0 && r < rows && c >= 0 && c < cols ? { r, c } : null);
            }}
            onMouseLeave={() => setHover(null)}
          />
        </div>
        {footer && <div style={{ marginLeft: showLabels ? labelWidth : 0 }}>{footer}</div>}
      </div>
      {readout === 'bottom' && read}
      <HeatLegend scale={scale} lowLabel={legend?.low} highLabel={legend?.high} />
    </div>
  );
}

/** The colour scale with its ends (and 0 in the middle of a diverging one). */
export function HeatLegend({ scale, lowLabel, highLabel }: { scale: HeatScale; lowLabel?: string; highLabel?: string }) {
  const theme = useUi(resolvedTheme);
  const id = useId().replace(/:/g, '');
  const stops = Array.from({ length: 9 }, (_, i) => i / 8);
  return (
    <div className="lf-ins-legend" data-testid="heat-legend">
      <span>{lowLabel ?? formatValue(scale.lo)}</span>
      <svg width={120} height={10} aria-hidden="true">
        <defs>
          <linearGradient id={`hl${id}`}>
            {stops.map((t) => (
              <stop key={t} offset={t} stopColor={rgb(scale.kind === 'diverging' ? diverging(t, theme) : viridis(t))} />
            ))}
          </linearGradient>
        </defs>
        <rect x={0} y={0} width={120} height={10} rx={2} fill={`url(#hl${id})`} />
      </svg>
      <span>{highLabel ?? formatValue(scale.hi)}</span>
      {scale.kind === 'diverging' && !lowLabel && <span className="lf-muted">(0 in the middle)</span>}
    </div>
  );
}
