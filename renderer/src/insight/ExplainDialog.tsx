/**
 * "Why this prediction?" (issue #19): Grad-CAM (a convolution layer's view, weighted by how much each of its
 * channels pushes the class) or a gradient saliency map (which pixels change the class score most), for a class
 * the user picks (the predicted one first), beside the image. Opened from the predictions gallery, a confusion
 * cell's samples and the activations view; drawn over everything (a portal), so it works above the dashboard.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { Explanation, ExplainMethod } from '../../../shared/api/insight';
import { pct } from '../training/chartData';
import { useTraining } from '../training/runsStore';
import { HeatCanvas } from './HeatCanvas';
import { insight, insightApi, useInsight, type ExplainTarget } from './insightStore';
import { ACTIVE_STATUS, formatValue } from './insightView';
import { SampleVerdict } from './SampleView';
import './insight.css';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

const METHODS: { id: ExplainMethod; label: string; hint: string }[] = [
  { id: 'gradcam', label: 'Grad-CAM', hint: 'Where a convolution layer saw evidence for the class: its feature maps weighted by how much each pushes the class score.' },
  { id: 'saliency', label: 'Saliency', hint: 'Which pixels change the class score most (the gradient of the score with respect to the image).' },
];

/** Mounted once (in the inspector); shows itself when a "Why?" was asked. */
export function ExplainDialog() {
  const target = useInsight((s) => s.explain);
  if (!target || typeof document === 'undefined') return null;
  return createPortal(<ExplainBox target={target} />, document.body);
}

function ExplainBox({ target }: { target: ExplainTarget }) {
  const run = useTraining((s) => s.runs.find((r) => r.id === target.runId));
  const detail = useTraining((s) => s.details[target.runId]);
  const [answer, setAnswer] = useState<{ key: string; data: Explanation } | null>(null);
  const [error, setError] = useState<{ key: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const key = JSON.stringify([target.runId, target.sample, target.method, target.classIndex ?? null, target.nodeId ?? null, refresh]);

  useEffect(() => {
    let alive = true;
    setBusy(true);
    insightApi()
      .explain({ runId: target.runId, sample: target.sample, method: target.method, ...(target.classIndex !== undefined ? { classIndex: target.classIndex } : {}), ...(target.method === 'gradcam' && target.nodeId ? { nodeId: target.nodeId } : {}) })
      .then((data) => {
        if (!alive) return;
        setAnswer({ key, data });
        setError(null);
      })
      .catch((e: unknown) => alive && setError({ key, text: message(e) }))
      .finally(() => alive && setBusy(false));
    return () => {
      alive = false;
    };
  }, [key]);

  useEffect(() => {
    box.current?.focus();
  }, []);

  const convs = useMemo(() => (detail?.graph.nodes ?? []).filter((n) => n.type === 'Conv2D'), [detail]);
  const data = answer?.data;
  const failed = error?.key === key ? error.text : null;
  const classNames = detail?.classNames ?? [];
  const live = run ? ACTIVE_STATUS.has(run.status) : false;
  const classIndex = target.classIndex ?? data?.classIndex ?? data?.sample.predicted ?? 0;
  const method = METHODS.find((m) => m.id === target.method)!;

  return (
    <div className="lf-modal-backdrop lf-ins-backdrop" onMouseDown={(e) => e.target === e.currentTarget && insight.closeExplain()}>
      <div
        ref={box}
        tabIndex={-1}
        className="lf-modal lf-ins-explain"
        role="dialog"
        aria-modal="true"
        aria-label="Why this prediction?"
        data-testid="explain-dialog"
        data-state={failed ? 'error' : busy ? 'loading' : data ? 'ready' : 'loading'}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'Escape') {
            e.preventDefault();
            insight.closeExplain();
          }
        }}
      >
        <div className="lf-modal-head">
          <h2>
            Why this prediction? <span className="lf-muted lf-ins-sub">test sample #{target.sample}{run ? ` · ${run.name}` : ''}</span>
          </h2>
          <button type="button" className="lf-btn lf-btn-ghost" onClick={() => insight.closeExplain()} aria-label="Close" data-testid="explain-dialog-close">
            ×
          </button>
        </div>
        <div className="lf-ins-explain-controls">
          <div className="lf-ins-seg" role="radiogroup" aria-label="Method">
            {METHODS.map((m) => (
              <button key={m.id} role="radio" aria-checked={target.method === m.id} className={`lf-btn${target.method === m.id ? ' on' : ''}`} title={m.hint} onClick={() => insight.updateExplain({ method: m.id })} data-testid={`explain-method-${m.id}`}>
                {m.label}
              </button>
            ))}
          </div>
          <label className="lf-ins-ctl">
            <span className="lf-field-label">Class</span>
            <select className="lf-input" value={classIndex} onChange={(e) => insight.updateExplain({ classIndex: Number(e.target.value) })} data-testid="explain-class">
              {(classNames.length ? classNames : data ? [data.className] : []).map((c, i) => (
                <option key={i} value={i}>
                  {c}
                  {data?.sample.probabilities?.[i] !== undefined ? ` · ${pct(data.sample.probabilities[i])}` : ''}
                  {data?.sample.predicted === i ? ' · predicted' : ''}
                  {data?.sample.label === i ? ' · true' : ''}
                </option>
              ))}
            </select>
          </label>
          {target.method === 'gradcam' && convs.length > 0 && (
            <label className="lf-ins-ctl">
              <span className="lf-field-label">Convolution</span>
              <select className="lf-input" value={target.nodeId ?? ''} onChange={(e) => insight.updateExplain({ nodeId: e.target.value || undefined })} data-testid="explain-layer">
                <option value="">the last one{convs.length ? ` (${convs[convs.length - 1]!.name})` : ''}</option>
                {convs.map((n) => (
                  <option key={n.id} value={n.id}>
                    {n.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {live && (
            <button className="lf-btn" onClick={() => setRefresh((r) => r + 1)} disabled={busy} title="The run is training: read it again with the weights of now" data-testid="explain-refresh">
              Refresh
            </button>
          )}
          {busy && <span className="lf-muted">reading…</span>}
        </div>
        <p className="lf-muted lf-ins-note">{method.hint}</p>
        {failed && (
          <div className="lf-train-error" role="alert" data-testid="explain-error">
            {failed}
          </div>
        )}
        {data && (
          <div className={`lf-ins-explain-body${busy ? ' stale' : ''}`}>
            <figure className="lf-ins-fig">
              <img className="lf-ins-pixel" src={data.image} alt="the test image" width={192} height={192} data-testid="explain-image" />
              <figcaption>the image</figcaption>
            </figure>
            <figure className="lf-ins-fig">
              <img className="lf-ins-pixel" src={data.overlay} alt={`${method.label} for ${data.className}`} width={192} height={192} data-testid="explain-overlay" />
              <figcaption>
                {method.label} for <b>{data.className}</b>
                {data.layerName ? ` on ${data.layerName}` : ''}
              </figcaption>
            </figure>
            <figure className="lf-ins-fig" data-testid="explain-heatmap">
              <HeatCanvas
                values={data.heatmap}
                cell={Math.max(1, Math.floor(192 / Math.max(1, data.heatmap.length)))}
                scale={{ kind: 'sequential', lo: 0, hi: 1 }}
                label={`${method.label} heat map`}
                readout="bottom"
                describe={(r, c, v) => `row ${r}, column ${c}: ${formatValue(v)}`}
              />
              <figcaption>the heat map alone (0: no influence, 1: the most)</figcaption>
            </figure>
            <div className="lf-ins-explain-side">
              <SampleVerdict info={data.sample} classNames={classNames} />
              <div className="lf-muted">
                {data.live ? 'Answered by the training run (the weights of now)' : 'Answered by the trained model'} · {Math.round(data.elapsedMs)} ms
              </div>
            </div>
          </div>
        )}
      </div>
    </div>
  );
}
