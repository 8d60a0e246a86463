/**
 * The Attention panel of a text run's dashboard (text classifiers and language models): a text is read by the
 * trained model and one attention layer's weights (a head, or the mean of the heads) are drawn as a heatmap,
 * query tokens as rows and key tokens as columns, coloured from 0 to the map's largest weight in the theme's
 * accent. Non-causal layers also read the padding after the text: its share is an extra column.
 */
import { memo, useId, useMemo, useState } from 'react';
import { MAX_ATTENTION_TEXT, type AttentionMap, type RunDetail } from '../../../shared/api';
import { attentionAvailability, chosenMap, exampleText, formatWeight, heatmapScale, shortLabel } from './attentionView';
import { training } from './runsStore';
import './attention.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const UNAVAILABLE: Record<'no-attention' | 'no-model', (live: boolean) => string> = {
  'no-attention': () => 'This model has no attention layer (MultiHeadAttention), so there are no attention weights to show. The transformer classifier and Mini-GPT templates have them.',
  'no-model': (live) => (live ? 'Attention maps are ready once the run ends (Stop keeps the weights).' : 'This run has no trained model.'),
};

interface Hover {
  q: number;
  /** A key column, or -1 for the padding column. */
  k: number;
}

interface Layout {
  n: number;
  cell: number;
  font: number;
  maxChars: number;
  left: number;
  top: number;
  padX: number | null;
  width: number;
  height: number;
}

function layoutFor(tokens: readonly string[], showPadding: boolean): Layout {
  const n = tokens.length;
  const { cell, font, maxChars } = heatmapScale(n);
  const longest = Math.max(3, ...tokens.map((t) => [...shortLabel(t, maxChars)].length));
  // Monospace labels: about 0.62 em per character.
  const labelSpace = Math.ceil(longest * font * 0.62) + 10;
  const left = labelSpace;
  const top = labelSpace;
  const padX = showPadding ? left + n * cell + 6 : null;
  const width = (padX ?? left + n * cell) + (showPadding ? cell : 0) + 4;
  return { n, cell, font, maxChars, left, top, padX, width, height: top + n * cell + 4 };
}

/** The cells (one rect with a title each) and, for a causal layer, the masked triangle above the diagonal. Drawn once per map. */
const Cells = memo(function Cells({ tokens, weights, padding, scale, causal, layout }: { tokens: readonly string[]; weights: number[][]; padding: number[] | null; scale: number[]; causal: boolean; layout: Layout }) {
  const { n, cell, left, top, padX } = layout;
  const hatch = useId().replace(/:/g, '');
  const rects = [];
  for (let q = 0; q < n; q++) {
    const row = weights[q]!;
    const max = scale[q]!;
    for (let k = 0; k < n; k++) {
      if (causal && k > q) continue;
      const v = row[k] ?? 0;
      rects.push(
        <rect key={q * n + k} className="lf-attn-cell" x={left + k * cell} y={top + q * cell} width={cell} height={cell} fillOpacity={Math.min(1, v / max)} data-q={q} data-k={k}>
          <title>{`${tokens[q]} → ${tokens[k]}: ${formatWeight(v)}`}</title>
        </rect>,
      );
    }
    if (padding && padX !== null) {
      const v = padding[q] ?? 0;
      rects.push(
        <rect key={`pad-${q}`} className="lf-attn-cell lf-attn-pad" x={padX} y={top + q * cell} width={cell} height={cell} fillOpacity={Math.min(1, v / max)} data-q={q} data-k={-1}>
          <title>{`${tokens[q]} → the padding after the text (all its positions together): ${formatWeight(v)}`}</title>
        </rect>,
      );
    }
  }
  let masked = '';
  if (causal && n > 1) {
    masked = `M${left + cell},${top} H${left + n * cell} V${top + (n - 1) * cell}`;
    for (let q = n - 2; q >= 0; q--) masked += ` H${left + (q + 1) * cell} V${top + q * cell}`;
    masked += ' Z';
  }
  return (
    <g>
      <defs>
        <pattern id={`h${hatch}`} patternUnits="userSpaceOnUse" width={6} height={6} patternTransform="rotate(45)">
          <line className="lf-attn-hatch" x1={0} y1={0} x2={0} y2={6} />
        </pattern>
      </defs>
      <rect className="lf-attn-bg" x={left} y={top} width={n * cell} height={n * cell} />
      {padX !== null && <rect className="lf-attn-bg" x={padX} y={top} width={cell} height={n * cell} />}
      {rects}
      {masked && (
        <path className="lf-attn-masked" d={masked} fill={`url(#h${hatch})`} data-testid="attention-masked">
          <title>masked: with causal attention a token does not see the tokens after it</title>
        </path>
      )}
    </g>
  );
});

/** Token labels on both axes (query rows on the left, key columns on top), the hovered ones emphasised. */
function Labels({ tokens, layout, hover }: { tokens: readonly string[]; layout: Layout; hover: Hover | null }) {
  const { cell, font, maxChars, left, top, padX } = layout;
  return (
    <g className="lf-attn-labels" style={{ fontSize: font }}>
      {tokens.map((t, i) => {
        const label = shortLabel(t, maxChars);
        const x = left + i * cell + cell / 2;
        return (
          <g key={i}>
            <text className={hover?.q === i ? 'on' : undefined} x={left - 5} y={top + i * cell + cell / 2} textAnchor="end" dominantBaseline="central">
              <tspan data-testid="attention-row-label">{label}</tspan>
              <title>{`query ${i}: ${t}`}</title>
            </text>
            <text className={hover?.k === i ? 'on' : undefined} x={x} y={top - 5} transform={`rotate(-90 ${x} ${top - 5})`} textAnchor="start" dominantBaseline="central">
              <tspan data-testid="attention-col-label">{label}</tspan>
              <title>{`key ${i}: ${t}`}</title>
            </text>
          </g>
        );
      })}
      {padX !== null && (
        <text className={`lf-attn-padlabel${hover?.k === -1 ? ' on' : ''}`} x={padX + cell / 2} y={top - 5} transform={`rotate(-90 ${padX + cell / 2} ${top - 5})`} textAnchor="start" dominantBaseline="central">
          padding
        </text>
      )}
    </g>
  );
}

/** The colour scale: 0 to the map's largest weight. */
function Legend({ max, byRow }: { max: number; byRow: boolean }) {
  const id = useId().replace(/:/g, '');
  return (
    <div className="lf-attn-legend" data-testid="attention-legend">
      <span className="lf-muted">weight</span>
      <svg width={160} height={14} aria-hidden="true">
        <defs>
          <linearGradient id={`g${id}`}>
            <stop offset="0" style={{ stopColor: 'var(--accent)', stopOpacity: 0 }} />
            <stop offset="1" style={{ stopColor: 'var(--accent)', stopOpacity: 1 }} />
          </linearGradient>
        </defs>
        <rect className="lf-attn-bg" x={0} y={0} width={160} height={14} rx={3} />
        <rect x={0} y={0} width={160} height={14} rx={3} fill={`url(#g${id})`} />
      </svg>
      <span>0</span>
      <span className="lf-muted">to</span>
      {byRow ? (
        <span data-testid="attention-legend-max">each row&rsquo;s largest weight</span>
      ) : (
        <>
          <span data-testid="attention-legend-max">{formatWeight(max)}</span>
          <span className="lf-muted">(the largest weight in this map)</span>
        </>
      )}
    </div>
  );
}

/** The heatmap of one map, scrolling when it is larger than the panel; hovering a cell names it. */
export function AttentionHeatmap({ tokens, weights, padding, causal, layer, head, byRow = false }: { tokens: readonly string[]; weights: number[][]; padding: number[] | null; causal: boolean; layer: string; head: number | 'mean'; byRow?: boolean }) {
  const [hover, setHover] = useState<Hover | null>(null);
  const layout = useMemo(() => layoutFor(tokens, padding !== null), [tokens, padding]);
  // The padding column sums many keys: it saturates rather than setting the scale for the tokens' own cells.
  const max = useMemo(() => Math.max(1e-9, ...weights.flat()), [weights]);
  const scale = useMemo(() => weights.map((row) => (byRow ? Math.max(1e-9, ...row) : max)), [weights, max, byRow]);
  const value = hover ? (hover.k === -1 ? padding?.[hover.q] : weights[hover.q]?.[hover.k]) : undefined;
  const { cell, left, top } = layout;
  return (
    <div className="lf-attn-map">
      <div className="lf-attn-readout" data-testid="attention-readout" aria-live="polite">
        {hover && value !== undefined ? (
          <>
            query <b>{tokens[hover.q]}</b> <span className="lf-muted">({hover.q})</span> → {hover.k === -1 ? <b>the padding (all its positions)</b> : <><b>{tokens[hover.k]}</b> <span className="lf-muted">({hover.k})</span></>}: <b>{formatWeight(value)}</b>
          </>
        ) : (
          <span className="lf-muted">Rows: each token as the query (the token reading); columns: the tokens it reads. Point at a cell for its weight.</span>
        )}
      </div>
      <div className="lf-attn-scroll">
        <svg
          className="lf-attn-svg"
          width={layout.width}
          height={layout.height}
          role="img"
          aria-label={`attention of ${layer}, ${head === 'mean' ? 'mean of the heads' : `head ${head}`}, over ${tokens.length} tokens`}
          data-testid="attention-heatmap"
          data-tokens={tokens.length}
          data-layer={layer}
          data-head={head}
          data-causal={causal}
          data-scale={byRow ? 'row' : 'map'}
          onMouseOver={(e) => {
            const el = e.target as Element;
            const q = el.getAttribute('data-q');
            const k = el.getAttribute('data-k');
            setHover(q !== null && k !== null ? { q: Number(q), k: Number(k) } : null);
          }}
          onMouseLeave={() => setHover(null)}
        >
          <Cells tokens={tokens} weights={weights} padding={padding} scale={scale} causal={causal} layout={layout} />
          <Labels tokens={tokens} layout={layout} hover={hover} />
          {hover && <rect className="lf-attn-hover" x={(hover.k === -1 ? layout.padX! : left + hover.k * cell) + 0.5} y={top + hover.q * cell + 0.5} width={cell - 1} height={cell - 1} pointerEvents="none" />}
        </svg>
      </div>
      <Legend max={max} byRow={byRow} />
    </div>
  );
}

/** The panel: a text, Show, a layer and a head (or the mean of the heads), the heatmap. */
export function AttentionPanel({ run }: { run: RunDetail }) {
  const availability = attentionAvailability(run);
  // The text starts as an example from the run (it may arrive after the panel: the evaluation, a sample) until the user types.
  const [typed, setTyped] = useState<string | null>(null);
  const text = typed ?? exampleText(run);
  const [map, setMap] = useState<AttentionMap | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [layerIndex, setLayerIndex] = useState(0);
  const [head, setHead] = useState<number | 'mean'>('mean');
  // The colour scale: chosen, or by the layer (each row for causal layers: their first rows, with few keys, hold
  // the largest weights and would leave the rest of a whole-map scale nearly blank).
  const [scaleChoice, setScaleChoice] = useState<'map' | 'row' | null>(null);

  const layer = map?.layers[Math.min(layerIndex, map.layers.length - 1)];
  const chosen = useMemo(() => (layer ? chosenMap(layer, head === 'mean' || head < layer.heads ? head : 'mean') : null), [layer, head]);
  const padding = useMemo(() => (chosen && layer && !layer.causal && chosen.padding.some((v) => v >= 0.0005) ? chosen.padding : null), [chosen, layer]);

  if (availability === 'not-text') return null;
  const byRow = (scaleChoice ?? (layer?.causal ? 'row' : 'map')) === 'row';
  const live = run.status === 'starting' || run.status === 'running' || run.status === 'paused';

  const go = async () => {
    if (busy || !text) return;
    setBusy(true);
    setFailure(null);
    try {
      const m = await training.attentionMap({ runId: run.id, text });
      setMap(m);
      if (layerIndex >= m.layers.length) setLayerIndex(0);
    } catch (e) {
      setMap(null);
      setFailure(message(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="lf-dash-section lf-attn" data-testid="attention-panel">
      <h3>Attention</h3>
      {availability !== 'ok' ? (
        <div className="lf-muted" data-testid="attention-unavailable" data-reason={availability}>
          {UNAVAILABLE[availability](live)}
        </div>
      ) : (
        <>
          <form
            className="lf-attn-form"
            onSubmit={(e) => {
              e.preventDefault();
              void go();
            }}
          >
            <textarea
              className="lf-input lf-attn-text"
              rows={2}
              value={text}
              maxLength={MAX_ATTENTION_TEXT}
              spellCheck={false}
              placeholder="Type a text to see which tokens each token attends to"
              aria-label="Text to read"
              onChange={(e) => setTyped(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  void go();
                }
              }}
              data-testid="attention-text"
            />
            <button type="submit" className="lf-btn lf-btn-primary" disabled={busy || !text} data-testid="attention-show" title="Show (Ctrl+Enter)">
              {busy ? 'Reading…' : 'Show'}
            </button>
          </form>
          {failure && (
            <div className="lf-train-error" role="alert" data-testid="attention-error">
              {failure}
            </div>
          )}
          {map && layer && chosen && (
            <>
              <div className="lf-attn-controls">
                <label className="lf-attn-select">
                  <span className="lf-field-label">Layer</span>
                  <select className="lf-input" value={Math.min(layerIndex, map.layers.length - 1)} onChange={(e) => setLayerIndex(Number(e.target.value))} data-testid="attention-layer">
                    {map.layers.map((l, i) => (
                      <option key={l.name} value={i}>
                        {l.name} · {l.heads} heads · {l.causal ? 'causal' : 'bidirectional'}
                      </option>
                    ))}
                  </select>
                </label>
                <label className="lf-attn-select">
                  <span className="lf-field-label">Head</span>
                  <select className="lf-input" value={String(head)} onChange={(e) => setHead(e.target.value === 'mean' ? 'mean' : Number(e.target.value))} data-testid="attention-head">
                    <option value="mean">mean of heads</option>
                    {Array.from({ length: layer.heads }, (_, h) => (
                      <option key={h} value={h}>
                        head {h}
                      </option>
                    ))}
                  </select>
                </label>
                <label className="lf-attn-select" title="Colour each cell by the whole map's largest weight, or by its row's (where each token looks most, even when its weights are small)">
                  <span className="lf-field-label">Colour scale</span>
                  <select className="lf-input" value={byRow ? 'row' : 'map'} onChange={(e) => setScaleChoice(e.target.value === 'row' ? 'row' : 'map')} data-testid="attention-scale">
                    <option value="map">whole map</option>
                    <option value="row">each row</option>
                  </select>
                </label>
                <span className="lf-muted lf-attn-info" data-testid="attention-info">
                  {map.tokens.length} token{map.tokens.length === 1 ? '' : 's'}
                  {map.truncated ? ` of ${map.textTokens.toLocaleString()} (the model reads ${map.seqLen}${map.tokens.length < map.seqLen ? `, at most ${map.tokens.length} shown` : ''})` : ''}
                  {padding ? ` · ${(padding.reduce((a, b) => a + b, 0) / padding.length * 100).toFixed(1)}% of the attention goes to the padding after the text` : ''}
                </span>
              </div>
              <AttentionHeatmap tokens={map.tokens} weights={chosen.weights} padding={padding} causal={layer.causal} layer={layer.name} head={head === 'mean' || head < layer.heads ? head : 'mean'} byRow={byRow} />
            </>
          )}
        </>
      )}
    </section>
  );
}
