/**
 * A node's output for one sample, drawn as its shape reads best (ActivationView): feature maps as a grid of
 * channel images sorted by mean, vectors as bars, sequences as a time x features heatmap, attention as a
 * heads x tokens x tokens heatmap with the tokens on the axes (the Attention panel's own heatmap).
 */
import { useMemo, useState } from 'react';
import type { ActivationView } from '../../../shared/api/insight';
import { AttentionHeatmap } from '../training/AttentionPanel';
import { HeatCanvas } from './HeatCanvas';
import { barScale, cellSize, formatShort, formatValue, looksCausal, meanOfHeads, sortChannels } from './insightView';

/** Width the views draw within (the inspector is 340px wide, less its padding). */
const WIDTH = 300;
const FIRST_CHANNELS = 16;

export function ActivationBody({ view, nodeName }: { view: ActivationView; nodeName: string }) {
  switch (view.kind) {
    case 'feature-maps':
      return <FeatureMaps view={view} />;
    case 'vector':
      return <VectorBars values={view.values} labels={view.labels} />;
    case 'sequence':
      return <SequenceHeatmap view={view} />;
    case 'attention':
      return <AttentionHeads view={view} nodeName={nodeName} />;
  }
}

function FeatureMaps({ view }: { view: Extract<ActivationView, { kind: 'feature-maps' }> }) {
  const [all, setAll] = useState(false);
  const sorted = useMemo(() => sortChannels(view.channels), [view.channels]);
  const shown = all ? sorted : sorted.slice(0, FIRST_CHANNELS);
  const scale = Math.max(1, Math.floor(60 / Math.max(view.height, view.width)));
  // Channels that output 0 everywhere for this sample (a ReLU below its threshold everywhere: dead for it).
  const silent = view.channels.filter((c) => c.max === 0 && c.min === 0).length;
  return (
    <div data-testid="activation-feature-maps">
      <div className="lf-muted lf-ins-note">
        {view.totalChannels} channel{view.totalChannels === 1 ? '' : 's'} of {view.height}×{view.width}, largest mean activation first; each scaled from its own
        min (dark) to max (bright).
        {view.channels.length < view.totalChannels ? ` The ${view.channels.length} most active are shown.` : ''}
        {silent > 0 ? ` ${silent} of them output 0 everywhere for this sample (black).` : ''}
      </div>
      <div className="lf-ins-maps">
        {shown.map((c) => (
          <figure key={c.channel} className="lf-ins-map" data-testid="feature-map" data-channel={c.channel} title={`channel ${c.channel}: mean ${formatValue(c.mean)}, min ${formatValue(c.min)}, max ${formatValue(c.max)}`}>
            <img className="lf-ins-pixel" src={c.image} alt={`channel ${c.channel}`} width={view.width * scale} height={view.height * scale} />
            <figcaption>
              <b>#{c.channel}</b> <span className="lf-muted">μ {formatShort(c.mean)}</span>
            </figcaption>
          </figure>
        ))}
      </div>
      {sorted.length > FIRST_CHANNELS && (
        <button className="lf-link lf-ins-more" onClick={() => setAll(!all)} data-testid="feature-maps-more">
          {all ? `Show the first ${FIRST_CHANNELS}` : `Show all ${sorted.length}`}
        </button>
      )}
    </div>
  );
}

/** Bars of a vector: labelled rows for a few labelled values (class probabilities), else one thin bar per unit. */
export function VectorBars({ values, labels }: { values: readonly number[]; labels?: readonly string[] }) {
  const [hover, setHover] = useState<number | null>(null);
  const s = barScale(values);
  if (labels && labels.length === values.length && values.length <= 40) {
    const span = s.hi - s.lo || 1;
    return (
      <div className="lf-ins-bars" data-testid="activation-vector" data-units={values.length}>
        {values.map((v, i) => (
          <div key={i} className={`lf-ins-bar-row${i === s.argmax ? ' top' : ''}`} title={`${labels[i]}: ${formatValue(v)}`}>
            <span className="lf-ins-bar-name">{labels[i]}</span>
            <span className="lf-ins-bar-track">
              <span className={v < 0 ? 'neg' : undefined} style={{ left: `${((Math.min(v, 0) - s.lo) / span) * 100}%`, width: `${(Math.abs(v) / span) * 100}%` }} />
            </span>
            <span className="lf-ins-bar-val">{formatValue(v)}</span>
          </div>
        ))}
      </div>
    );
  }
  const h = 110;
  const n = values.length || 1;
  const bw = WIDTH / n;
  const y = (v: number) => (s.hi > s.lo ? ((s.hi - v) / (s.hi - s.lo)) * h : h);
  const zero = y(0);
  return (
    <div data-testid="activation-vector" data-units={values.length}>
      <div className="lf-ins-readout" aria-live="polite">
        {hover !== null ? (
          <>
            unit <b>{hover}</b>
            {labels?.[hover] ? ` (${labels[hover]})` : ''}: <b>{formatValue(values[hover]!)}</b>
          </>
        ) : (
          <span className="lf-muted">
            {values.length} units, from {formatValue(s.lo)} to {formatValue(s.hi)}; largest: unit {s.argmax}. Point at a bar.
          </span>
        )}
      </div>
      <svg
        className="lf-ins-vsvg"
        width={WIDTH}
        height={h + 14}
        role="img"
        aria-label={`${values.length} values`}
        onMouseMove={(e) => {
          const box = e.currentTarget.getBoundingClientRect();
          const i = Math.floor((e.clientX - box.left) / bw);
          setHover(i >= 0 && i < values.length ? i : null);
        }}
        onMouseLeave={() => setHover(null)}
      >
        {values.map((v, i) => (
          <rect key={i} className={`lf-ins-vbar${v < 0 ? ' neg' : ''}${i === hover ? ' on' : ''}`} x={i * bw + (bw > 3 ? 0.5 : 0)} width={Math.max(0.6, bw > 3 ? bw - 1 : bw)} y={Math.min(zero, y(v))} height={Math.max(0.5, Math.abs(y(v) - zero))} />
        ))}
        <line className="lf-ins-axis" x1={0} x2={WIDTH} y1={zero} y2={zero} />
        <text className="lf-ins-tick" x={0} y={h + 12}>
          0
        </text>
        <text className="lf-ins-tick" x={WIDTH} y={h + 12} textAnchor="end">
          {values.length - 1}
        </text>
      </svg>
    </div>
  );
}

function SequenceHeatmap({ view }: { view: Extract<ActivationView, { kind: 'sequence' }> }) {
  const labelled = !!view.tokens?.length;
  const w = cellSize(view.features, WIDTH - (labelled ? 70 : 0), 12);
  const h = Math.max(2, Math.min(14, Math.floor(520 / Math.max(1, view.steps))));
  // Steps after the text's tokens are padding: labelled so, so the rows still line up with their labels.
  const labels = useMemo(() => (view.tokens?.length ? Array.from({ length: view.values.length }, (_, i) => view.tokens![i] ?? '·pad') : undefined), [view.tokens, view.values.length]);
  return (
    <div data-testid="activation-sequence" data-steps={view.steps} data-features={view.features}>
      <div className="lf-muted lf-ins-note">
        {view.steps} steps (rows{labelled ? ', tokens on the left' : ''}) × {view.features} features (columns)
        {view.values.length < view.steps || (view.values[0]?.length ?? 0) < view.features ? `; the first ${view.values.length} × ${view.values[0]?.length ?? 0} shown` : ''}.
      </div>
      <HeatCanvas
        values={view.values}
        cell={{ w, h }}
        rowLabels={labels}
        label={`${view.steps} steps by ${view.features} features`}
        testId="sequence-heatmap"
        describe={(r, c, v) => `step ${r}${labels?.[r] !== undefined ? ` (${labels[r] === '·pad' ? 'padding' : labels[r]})` : ''}, feature ${c}: ${formatValue(v)}`}
      />
    </div>
  );
}

function AttentionHeads({ view, nodeName }: { view: Extract<ActivationView, { kind: 'attention' }>; nodeName: string }) {
  const [head, setHead] = useState<number | 'mean'>('mean');
  const h = head === 'mean' || head >= view.heads ? 'mean' : head;
  const weights = useMemo(() => (h === 'mean' ? meanOfHeads(view.weights) : (view.weights[h] ?? [])), [view.weights, h]);
  const causal = useMemo(() => looksCausal(view.weights), [view.weights]);
  return (
    <div data-testid="activation-attention" data-heads={view.heads}>
      <label className="lf-field">
        <span className="lf-field-label">Head</span>
        <select className="lf-input" value={String(h)} onChange={(e) => setHead(e.target.value === 'mean' ? 'mean' : Number(e.target.value))} data-testid="activation-head">
          <option value="mean">mean of {view.heads} heads</option>
          {Array.from({ length: view.heads }, (_, i) => (
            <option key={i} value={i}>
              head {i}
            </option>
          ))}
        </select>
      </label>
      <AttentionHeatmap tokens={view.tokens} weights={weights} padding={null} causal={causal} layer={nodeName} head={h} byRow={causal} />
    </div>
  );
}
