/**
 * The dashboard's "Embeddings" section (issue #19): the penultimate layer's outputs for test samples, projected
 * to 2-D (PCA or UMAP) and drawn as a scatter coloured by true class (hollow: misclassified). Pointing at a point
 * shows its sample with the true and predicted class; clicking it opens its activations on the canvas.
 */
import { useMemo, useState } from 'react';
import type { RunDetail } from '../../../shared/api';
import { DEFAULT_EMBEDDING_SAMPLES, MAX_EMBEDDING_SAMPLES, type Embeddings, type ProjectionMethod, type SampleInfo } from '../../../shared/api/insight';
import { insight, insightApi } from './insightStore';
import { ACTIVE_STATUS, classColor, classCounts, nearestPoint, scatterScale } from './insightView';
import { SampleBody } from './SampleView';
import './insight.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const W = 560;
const H = 400;
const SIZES = [500, 1000, 2000, 5000];

export function EmbeddingsPanel({ run }: { run: RunDetail }) {
  const [method, setMethod] = useState<ProjectionMethod>('pca');
  const [samples, setSamples] = useState(DEFAULT_EMBEDDING_SAMPLES);
  const [data, setData] = useState<Embeddings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const canAsk = run.hasModel || ACTIVE_STATUS.has(run.status);
  const classification = (run.classNames?.length ?? 0) > 0;
  if (!canAsk || !classification) return null;

  const show = async (m: ProjectionMethod = method, n = samples) => {
    setMethod(m);
    setBusy(true);
    setError(null);
    try {
      setData(await insightApi().embeddings({ runId: run.id, method: m, samples: n }));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const total = run.evaluation?.count;
  // The sizes offered: up to the whole test split (at most MAX_EMBEDDING_SAMPLES).
  const sizes = total ? [...new Set([...SIZES.filter((n) => n < total), Math.min(total, MAX_EMBEDDING_SAMPLES)])] : SIZES;
  const chosen = sizes.includes(samples) ? samples : sizes.find((n) => n >= samples) ?? sizes[sizes.length - 1]!;
  return (
    <section className="lf-dash-section" data-testid="embeddings-panel">
      <h3>Embeddings</h3>
      <div className="lf-ins-embed-controls">
        <div className="lf-ins-seg" role="radiogroup" aria-label="Projection">
          {(['pca', 'umap'] as const).map((m) => (
            <button
              key={m}
              role="radio"
              aria-checked={method === m}
              className={`lf-btn${method === m ? ' on' : ''}`}
              disabled={busy}
              onClick={() => void show(m, chosen)}
              title={m === 'pca' ? 'Principal components: the two directions along which the outputs vary most (linear, fast)' : 'UMAP: keeps neighbours close (non-linear; clusters read better, distances between them do not)'}
              data-testid={`embed-${m}`}
            >
              {m.toUpperCase()}
            </button>
          ))}
        </div>
        <label className="lf-ins-ctl lf-ins-ctl-row">
          <span className="lf-field-label">Test samples</span>
          <select className="lf-input" value={chosen} disabled={busy} onChange={(e) => setSamples(Number(e.target.value))} data-testid="embed-samples">
            {sizes.map((n) => (
              <option key={n} value={n}>
                {n === total ? `all ${n.toLocaleString()}` : n.toLocaleString()}
              </option>
            ))}
          </select>
        </label>
        <button className="lf-btn lf-btn-primary" disabled={busy} onClick={() => void show(method, chosen)} data-testid="embed-show">
          {busy ? 'Projecting…' : data ? 'Project again' : 'Show the scatter'}
        </button>
      </div>
      {error && (
        <div className="lf-train-error" role="alert" data-testid="embed-error">
          {error}
        </div>
      )}
      {!data && !error && !busy && <div className="lf-muted">The outputs of the layer before the last for test samples, projected to two dimensions: samples the model finds alike land close together.</div>}
      {data && <Scatter data={data} total={total} runId={run.id} live={ACTIVE_STATUS.has(run.status)} />}
    </section>
  );
}

function Scatter({ data, total, runId, live }: { data: Embeddings; total: number | undefined; runId: string; live: boolean }) {
  const [hover, setHover] = useState<number | null>(null);
  const [focus, setFocus] = useState<number | null>(null);
  const [sample, setSample] = useState<{ index: number; info: SampleInfo | null; error?: string } | null>(null);
  const placed = useMemo(() => {
    const s = scatterScale(data.points, W, H, 12);
    return data.points.map((p) => ({ ...p, sx: s.px(p.x), sy: s.py(p.y) }));
  }, [data]);
  const counts = useMemo(() => classCounts(data.points, data.classNames.length), [data]);
  const wrong = counts.reduce((a, c) => a + c.wrong, 0);

  const point = hover !== null ? placed[hover] : undefined;
  const onHover = (i: number | null) => {
    if (i === hover) return;
    setHover(i);
    if (i === null) return;
    const index = placed[i]!.index;
    setSample({ index, info: null });
    insight
      .sample(runId, index, live)
      .then((info) => setSample((s) => (s?.index === index ? { index, info } : s)))
      .catch((e: unknown) => setSample((s) => (s?.index === index ? { index, info: null, error: message(e) } : s)));
  };

  return (
    <div className="lf-ins-embed" data-testid="embed-scatter" data-method={data.method} data-points={data.points.length}>
      <div className="lf-muted lf-ins-note" data-testid="embed-info">
        {data.points.length.toLocaleString()}
        {total ? ` of the ${total.toLocaleString()}` : ''} test samples · the outputs of <b>{data.layerName}</b> ({data.dimensions} values each) projected by {data.method.toUpperCase()} · {wrong} misclassified (hollow) ·{' '}
        {Math.round(data.elapsedMs)} ms
      </div>
      <div className="lf-ins-embed-body">
        <div className="lf-ins-embed-plot">
          <svg
            width={W}
            height={H}
            className="lf-ins-embed-svg"
            role="img"
            aria-label={`${data.method.toUpperCase()} projection of ${data.points.length} test samples`}
            onMouseMove={(e) => {
              const box = e.currentTarget.getBoundingClientRect();
              const i = nearestPoint(placed, e.clientX - box.left, e.clientY - box.top, 8);
              onHover(i >= 0 ? i : null);
            }}
            onMouseLeave={() => onHover(null)}
            onClick={() => point && insight.openActivations(runId, point.index, data.nodeId)}
            style={{ cursor: point ? 'pointer' : 'default' }}
          >
            <rect className="lf-ins-embed-bg" x={0} y={0} width={W} height={H} />
            {placed.map((p, i) => {
              const ok = p.label === p.predicted;
              const c = classColor(p.label);
              const dim = focus !== null && p.label !== focus;
              return ok ? (
                <circle key={i} cx={p.sx} cy={p.sy} r={3} fill={c} opacity={dim ? 0.12 : 0.85} data-testid="embed-point" />
              ) : (
                <circle key={i} cx={p.sx} cy={p.sy} r={3} fill="none" stroke={c} strokeWidth={1.5} opacity={dim ? 0.12 : 0.95} data-testid="embed-point" data-wrong />
              );
            })}
            {point && <circle className="lf-ins-embed-hover" cx={point.sx} cy={point.sy} r={7} pointerEvents="none" />}
          </svg>
          {point && sample && (
            <div className="lf-ins-embed-tip" data-testid="embed-tooltip" style={{ left: Math.min(W - 170, point.sx + 12), top: Math.min(H - 150, Math.max(0, point.sy - 20)) }}>
              {sample.info ? <SampleBody view={sample.info.view} size={64} /> : sample.error ? <div className="lf-field-error">{sample.error}</div> : <div className="lf-muted">reading…</div>}
              <div>
                test sample <b>#{point.index}</b>
              </div>
              <div>
                true <b style={{ color: classColor(point.label) }}>{data.classNames[point.label]}</b>
              </div>
              <div className={point.label !== point.predicted ? 'lf-ins-wrong' : undefined}>
                predicted <b>{data.classNames[point.predicted]}</b>
              </div>
              <div className="lf-muted">click: its activations</div>
            </div>
          )}
        </div>
        <ul className="lf-ins-legend-list" data-testid="embed-legend" onMouseLeave={() => setFocus(null)}>
          {data.classNames.map((c, i) => (
            <li key={i} onMouseEnter={() => setFocus(i)} className={focus === i ? 'on' : undefined} title={`${counts[i]?.count ?? 0} test samples of ${c}, ${counts[i]?.wrong ?? 0} misclassified`}>
              <span className="lf-ins-swatch" style={{ background: classColor(i) }} />
              <span className="lf-ins-legend-name">{c}</span>
              <span className="lf-muted">{counts[i]?.count ?? 0}</span>
            </li>
          ))}
          <li className="lf-muted lf-ins-legend-hint">
            <svg width={10} height={10} aria-hidden="true">
              <circle cx={5} cy={5} r={3.5} fill="none" stroke="currentColor" strokeWidth={1.5} />
            </svg>{' '}
            misclassified
          </li>
        </ul>
      </div>
    </div>
  );
}
