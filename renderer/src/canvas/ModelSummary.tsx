import { useEffect, useRef, useState } from 'react';
import { getLayer } from '../../../shared/layers';
import { formatShape } from '../../../shared/layers/shapeUtils';
import { useAnalysis } from '../training/taskTarget';
import { graphStore, useGraph } from '../store/graphStore';
import { formatBytes, formatCount, formatFlops } from './flowModel';
import { paramSplit } from '../store/groups';
import { dispatch } from '../actions';
import { LockIcon } from './GroupNodes';

/**
 * Rows drawn at first, and added each time the end of the table scrolls into view: a 500-layer model's
 * summary (2,000 cells) cost about as much to draw as its canvas, and a few dozen rows fill the panel.
 */
const ROWS_FIRST = 60;
const ROWS_MORE = 120;

/** Keras-style model summary, shown when nothing is selected. */
export function ModelSummary() {
  // Nodes and edges, not the whole doc: moving a node (which replaces only positions) does not redraw the table.
  const nodes = useGraph((s) => s.doc.nodes);
  const edges = useGraph((s) => s.doc.edges);
  const doc = { nodes, edges };
  const analysis = useAnalysis(doc);
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  const warnings = analysis.problems.filter((p) => p.severity === 'warning');
  const split = paramSplit(doc, (id) => analysis.nodes[id]?.params ?? 0);
  const groups = useGraph((s) => s.doc.groups);
  const [rows, setRows] = useState(ROWS_FIRST);
  const more = useRef<HTMLTableRowElement>(null);
  const hidden = analysis.order.length - rows;
  useEffect(() => {
    const el = more.current;
    if (!el || hidden <= 0) return;
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setRows((r) => r + ROWS_MORE);
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, [hidden]);
  return (
    <div className="lf-inspector" data-testid="model-summary">
      <div className="lf-section-title">Model summary</div>
      <div className="lf-totals">
        <div className="lf-total">
          <div className="lf-total-value" data-testid="total-params">
            {formatCount(analysis.totals.params)}
          </div>
          <div className="lf-total-label">parameters</div>
        </div>
        <div className="lf-total">
          <div className="lf-total-value" data-testid="total-flops">
            {formatFlops(analysis.totals.flops)}
          </div>
          <div className="lf-total-label">FLOPs / sample</div>
        </div>
        <div className="lf-total">
          <div className="lf-total-value" data-testid="total-memory">
            {formatBytes(analysis.totals.activationBytes)}
          </div>
          <div className="lf-total-label">activations / sample</div>
        </div>
      </div>
      {split.frozen > 0 && (
        <div className="lf-param-split" data-testid="param-split">
          <span>
            Trainable <b data-testid="params-trainable">{formatCount(split.trainable)}</b>
          </span>
          <span>
            <LockIcon /> Frozen <b data-testid="params-frozen">{formatCount(split.frozen)}</b>
          </span>
        </div>
      )}
      {(groups?.length ?? 0) > 0 && (
        <div className="lf-row-buttons lf-summary-groups">
          <span className="lf-muted">
            {groups!.length} group{groups!.length === 1 ? '' : 's'}
          </span>
          <button className="lf-btn lf-btn-ghost" onClick={() => dispatch('collapseAllGroups', { collapsed: true })} data-testid="groups-collapse-all">
            Collapse all
          </button>
          <button className="lf-btn lf-btn-ghost" onClick={() => dispatch('collapseAllGroups', { collapsed: false })} data-testid="groups-expand-all">
            Expand all
          </button>
        </div>
      )}
      {doc.nodes.length === 0 ? (
        <p className="lf-muted">No layers yet.</p>
      ) : (
        <table className="lf-summary-table" data-testid="summary-table">
          <thead>
            <tr>
              <th>Layer (type)</th>
              <th>Output shape</th>
              <th className="num">Param #</th>
            </tr>
          </thead>
          <tbody>
            {analysis.order.slice(0, rows).map((id) => {
              const n = byId.get(id);
              if (!n) return null;
              const info = analysis.nodes[id];
              return (
                <tr key={id} onClick={() => graphStore.getState().select([id])} className={errors.some((p) => p.nodeId === id) ? 'bad' : ''}>
                  <td>
                    {n.trainable === false && (info?.params ?? 0) > 0 && <LockIcon title="frozen" />} {n.name} <span className="lf-muted">({getLayer(n.type)?.label ?? n.type})</span>
                  </td>
                  <td className="mono">{info?.shape ? formatShape(info.shape) : '?'}</td>
                  <td className="num mono">{formatCount(info?.params ?? 0)}</td>
                </tr>
              );
            })}
            {hidden > 0 && (
              <tr ref={more} className="lf-summary-more" onClick={() => setRows(analysis.order.length)} data-testid="summary-more">
                <td colSpan={3} className="lf-muted">
                  {hidden} more layer{hidden === 1 ? '' : 's'}…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {(errors.length > 0 || warnings.length > 0) && (
        <>
          <div className="lf-section-title">Problems</div>
          <div className="lf-problems" data-testid="summary-problems">
            {[...errors, ...warnings].map((p, i) => (
              <div
                key={i}
                className={`lf-problem ${p.severity}${p.nodeId ? ' link' : ''}`}
                onClick={() => p.nodeId && graphStore.getState().select([p.nodeId])}
              >
                {p.message}
              </div>
            ))}
          </div>
        </>
      )}
      {doc.nodes.length > 0 && errors.length === 0 && <div className="lf-ok">✓ The model is valid.</div>}
    </div>
  );
}
