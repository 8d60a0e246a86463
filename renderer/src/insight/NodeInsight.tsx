/**
 * The inspector's "Output for a test sample" section (issue #19): the run the canvas refers to (said in words,
 * and pickable), a sample picker, and the selected node's output for that sample, refreshed while the run
 * trains. Training-health warnings of the node are listed above it.
 */
import { useEffect, useRef, useState } from 'react';
import type { RunSummary } from '../../../shared/api';
import type { Activations, SampleInfo } from '../../../shared/api/insight';
import type { DocNode } from '../store/document';
import { training, useTraining } from '../training/runsStore';
import { ActivationBody } from './ActivationViews';
import { insight, insightApi, useCanvasRun, useInsight, useNodeWarnings } from './insightStore';
import { ACTIVE_STATUS, REASON_TEXT, clampSample, runLabel } from './insightView';
import { SampleBody, SampleVerdict } from './SampleView';
import { useLiveQuery } from './useLiveQuery';
import './insight.css';

export function NodeInsight({ node }: { node: DocNode }) {
  const { pick, candidates } = useCanvasRun();
  const runs = useTraining((s) => s.runs);
  const detail = useTraining((s) => (pick ? s.details[pick.runId] : undefined));
  const warnings = useNodeWarnings(node.id);
  const run = pick ? runs.find((r) => r.id === pick.runId) : undefined;
  // The runs come from the engine: connect if the Train tab has not yet (idempotent).
  useEffect(() => {
    void training.init();
  }, []);

  return (
    <section className="lf-ins" data-testid="insight-section">
      <div className="lf-section-title">Output for a test sample</div>
      {warnings.length > 0 && (
        <div className="lf-ins-warnings" data-testid="insight-warnings">
          {warnings.map((w, i) => (
            <div key={i} className="lf-ins-warning" data-kind={w.kind}>
              ⚠ {w.message} <span className="lf-muted">(epoch {w.epoch})</span>
            </div>
          ))}
        </div>
      )}
      {!pick || !run || !detail ? (
        <div className="lf-muted" data-testid="insight-none">
          {runs.length === 0 ? 'Train this model to see what this layer computes for a test sample.' : 'No run of this model has a trained model yet: train it to see what this layer computes for a test sample.'}
        </div>
      ) : (
        <>
          <RunLine runId={pick.runId} reason={REASON_TEXT[pick.reason]} candidates={candidates} />
          {pick.fit === 'changed' && <div className="lf-muted lf-ins-note">The canvas changed since this run was trained: its layers are shown as they were trained.</div>}
          {detail.graph.nodes.some((n) => n.id === node.id && n.type === node.type) ? (
            <NodeOutput key={`${pick.runId}:${node.id}`} runId={pick.runId} nodeId={node.id} nodeName={node.name} live={ACTIVE_STATUS.has(run.status)} freshness={`${run.status}:${run.epochsDone}`} classNames={detail.classNames} conv={node.type === 'Conv2D'} />
          ) : (
            <div className="lf-muted" data-testid="insight-missing">
              This layer was added after {run.name} was trained: train again to see its output.
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** Which run answers, in words ("Model · run 3 · epoch 2/10 · live"), and a picker among the runs of this model. */
function RunLine({ runId, reason, candidates }: { runId: string; reason: string; candidates: RunSummary[] }) {
  const pinned = useInsight((s) => s.pinnedRunId);
  const run = candidates.find((r) => r.id === runId);
  if (!run) return null;
  return (
    <div className="lf-ins-run">
      {candidates.length > 1 ? (
        <select
          className="lf-input"
          value={runId}
          onChange={(e) => insight.pinRun(e.target.value)}
          aria-label="Run whose model answers"
          data-testid="insight-run-select"
        >
          {candidates.map((r) => (
            <option key={r.id} value={r.id}>
              {runLabel(r)}
            </option>
          ))}
        </select>
      ) : null}
      <div className="lf-muted" data-testid="insight-run" data-run-id={runId} data-live={ACTIVE_STATUS.has(run.status)}>
        <b className="lf-ins-runname">{runLabel(run)}</b> ({pinned === runId ? 'picked' : reason})
      </div>
    </div>
  );
}

/** The sample picker: index, previous / next, the sample and its prediction. */
function SamplePicker({ sample, info, loading }: { sample: number; info: SampleInfo | null; loading: boolean }) {
  const count = info?.count ?? null;
  const [text, setText] = useState(String(sample));
  useEffect(() => setText(String(sample)), [sample]);
  const go = (i: number) => insight.pickSample(clampSample(i, count));
  return (
    <div className="lf-ins-picker" data-testid="sample-picker">
      <div className="lf-ins-picker-row">
        <span className="lf-field-label">Test sample</span>
        <button className="lf-btn lf-btn-ghost" onClick={() => go(sample - 1)} disabled={sample <= 0} aria-label="Previous sample" data-testid="sample-prev">
          ‹
        </button>
        <input
          className="lf-input lf-ins-index"
          type="number"
          min={0}
          max={count !== null ? count - 1 : undefined}
          value={text}
          aria-label="Test sample index"
          data-testid="sample-index"
          onChange={(e) => {
            setText(e.target.value);
            if (e.target.value.trim() !== '' && Number.isFinite(Number(e.target.value))) go(Number(e.target.value));
          }}
          onBlur={() => setText(String(sample))}
        />
        <button className="lf-btn lf-btn-ghost" onClick={() => go(sample + 1)} disabled={count !== null && sample >= count - 1} aria-label="Next sample" data-testid="sample-next">
          ›
        </button>
        <span className="lf-muted">{count !== null ? `of ${count.toLocaleString()}` : ''}</span>
        {loading && <span className="lf-muted lf-ins-busy">reading…</span>}
      </div>
    </div>
  );
}

function NodeOutput({ runId, nodeId, nodeName, live, freshness, classNames, conv }: { runId: string; nodeId: string; nodeName: string; live: boolean; freshness: string; classNames: string[]; conv: boolean }) {
  const sample = useInsight((s) => s.sample);
  const where = useRef<HTMLDivElement>(null);
  const q = useLiveQuery<Activations>(`${runId}:${nodeId}:${sample}:${freshness}`, () => insightApi().activations({ runId, nodeId, sample }), live, where);
  // The answer shown is the one for this node and sample (while another is read, the old one stays).
  const act = q.data && q.data.nodeId === nodeId && q.data.sample.index === sample ? q.data : null;
  // An index past the end: the engine says how many there are; keep the picker inside.
  useEffect(() => {
    if (q.data && q.data.sample.count > 0 && sample >= q.data.sample.count) insight.pickSample(q.data.sample.count - 1);
  }, [q.data, sample]);
  const info = act?.sample ?? q.data?.sample ?? null;
  const image = act?.sample.view.kind === 'image';
  return (
    <div ref={where} className="lf-ins-output" data-testid="insight-output" data-state={q.error ? 'error' : act ? 'ready' : 'loading'}>
      <SamplePicker sample={sample} info={info} loading={q.loading} />
      {act && (
        <div className="lf-ins-sample">
          <SampleBody view={act.sample.view} size={96} />
          <div className="lf-ins-sample-side">
            <SampleVerdict info={act.sample} classNames={classNames} />
            {image && classNames.length > 0 && (
              <button className="lf-btn" onClick={() => insight.openExplain({ runId, sample, method: 'gradcam', nodeId: conv ? nodeId : undefined })} data-testid="activation-why">
                {conv ? `Why? (Grad-CAM on ${nodeName})` : 'Why this prediction?'}
              </button>
            )}
          </div>
        </div>
      )}
      {q.error && (
        <div className="lf-train-error" role="alert" data-testid="activation-error">
          {q.error}
        </div>
      )}
      {act ? (
        <>
          <div className="lf-muted lf-ins-note" data-testid="activation-meta" data-live={act.live} data-epoch={act.epoch}>
            <b>{act.layerName}</b> · output {act.shape.join('×')} · {act.live ? `live, weights of epoch ${act.epoch}` : `epoch ${act.epoch}`} · {Math.round(act.elapsedMs)} ms
          </div>
          <ActivationBody view={act.view} nodeName={nodeName} />
        </>
      ) : (
        !q.error && <div className="lf-muted">Reading {nodeName}’s output…</div>
      )}
    </div>
  );
}
