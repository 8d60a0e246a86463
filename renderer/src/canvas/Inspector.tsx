import { useEffect, useRef, useState } from 'react';
import { checkParam, getLayer, type ParamSpec, type ParamValue } from '../../../shared/layers';
import { resolvedParams } from '../../../shared/graph';
import { dispatch } from '../actions';
import { useAnalysis } from '../training/taskTarget';
import { renameNode, setParam, type DocNode } from '../store/document';
import { graphStore, useGraph } from '../store/graphStore';
import { categoryColor } from './colors';
import { formatBytes, formatCount, formatFlops } from './flowModel';
import { formatShape } from '../../../shared/layers/shapeUtils';
import { ModelSummary } from './ModelSummary';
import { InsightWatcher } from '../insight/InsightWatcher';
import { NodeInsight } from '../insight/NodeInsight';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
let editSession = 0;

/** The inspector, and (mounted with it, always) the watcher of the canvas's insight state and the "Why?" dialog. */
export function Inspector() {
  return (
    <>
      <InsightWatcher />
      <InspectorBody />
    </>
  );
}

function InspectorBody() {
  const selected = useGraph((s) => s.selectedNodes);
  const nodes = useGraph((s) => s.doc.nodes);
  if (selected.size === 0) return <ModelSummary />;
  if (selected.size > 1) {
    return (
      <div className="lf-inspector" data-testid="inspector-multi">
        <div className="lf-section-title">{selected.size} layers selected</div>
        <div className="lf-row-buttons">
          <button className="lf-btn" onClick={() => dispatch('duplicate')}>Duplicate</button>
          <button className="lf-btn" onClick={() => dispatch('copy')}>Copy</button>
          <button className="lf-btn lf-btn-danger" onClick={() => dispatch('deleteSelection')}>Delete</button>
        </div>
      </div>
    );
  }
  const id = [...selected][0]!;
  const node = nodes.find((n) => n.id === id);
  if (!node) return <ModelSummary />;
  return <NodeInspector key={node.id} node={node} />;
}

function NodeInspector({ node }: { node: DocNode }) {
  const def = getLayer(node.type);
  const nodes = useGraph((s) => s.doc.nodes);
  const edges = useGraph((s) => s.doc.edges);
  const analysis = useAnalysis({ nodes, edges });
  const info = analysis.nodes[node.id];
  const problems = analysis.problems.filter((p) => p.nodeId === node.id);
  if (!def) return <div className="lf-inspector">Unknown layer type {node.type}</div>;
  const params = resolvedParams(def, node.params as Record<string, ParamValue>);
  return (
    <div className="lf-inspector" data-testid="inspector">
      <div className="lf-insp-head">
        <span className="lf-chip" style={{ background: categoryColor(def.category) }}>
          {def.category}
        </span>
        <span className="lf-insp-type">{def.label}</span>
      </div>
      <p className="lf-muted lf-insp-desc">{def.description}</p>
      <NameField node={node} />
      <div className="lf-section-title">Parameters</div>
      {Object.entries(def.params).length === 0 && <div className="lf-muted">This layer has no parameters.</div>}
      {Object.entries(def.params).map(([key, spec]) =>
        spec.when && !spec.when(params) ? null : (
          <ParamField key={key} nodeId={node.id} field={key} spec={spec} value={params[key]!} problem={problems.find((p) => p.field === key)?.message} />
        ),
      )}
      <div className="lf-section-title">Output</div>
      <dl className="lf-kv">
        <dt>Shape</dt>
        <dd data-testid="inspector-shape">{info?.shape ? formatShape(info.shape) : '—'}</dd>
        <dt>Parameters</dt>
        <dd>{formatCount(info?.params ?? 0)}</dd>
        <dt>FLOPs</dt>
        <dd>{formatFlops(info?.flops ?? 0)}</dd>
        <dt>Activation</dt>
        <dd>{formatBytes(info?.activationBytes ?? 0)}</dd>
      </dl>
      {problems.length > 0 && (
        <div className="lf-problems" data-testid="inspector-problems">
          {problems.map((p, i) => (
            <div key={i} className={`lf-problem ${p.severity}`}>
              {p.message}
            </div>
          ))}
        </div>
      )}
      <NodeInsight node={node} />
    </div>
  );
}

function NameField({ node }: { node: DocNode }) {
  const [text, setText] = useState(node.name);
  const focused = useRef(false);
  useEffect(() => {
    if (!focused.current) setText(node.name);
  }, [node.name]);
  const taken = useGraph((s) => s.doc.nodes.some((n) => n.id !== node.id && n.name === text));
  const error = !NAME_RE.test(text) ? 'Use letters, digits and _, starting with a letter or _.' : taken ? 'Another layer has this name.' : null;
  const apply = () => {
    if (!error && text !== node.name) {
      const s = graphStore.getState();
      s.commit(renameNode(s.doc, node.id, text), 'Rename');
    }
    if (error) setText(node.name);
  };
  return (
    <label className="lf-field">
      <span className="lf-field-label">Name</span>
      <input
        className={`lf-input${error ? ' invalid' : ''}`}
        value={text}
        data-testid="field-name"
        spellCheck={false}
        onFocus={() => (focused.current = true)}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          focused.current = false;
          apply();
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
          if (e.key === 'Escape') {
            setText(node.name);
            (e.target as HTMLInputElement).blur();
          }
        }}
      />
      {error && <span className="lf-field-error">{error}</span>}
    </label>
  );
}

function rangeHint(spec: ParamSpec): string {
  if (spec.kind !== 'int' && spec.kind !== 'float') return '';
  const lo = spec.min !== undefined ? `${spec.kind === 'float' && spec.exclusiveMin ? '>' : ''}${spec.min}` : '';
  const hi = spec.max !== undefined ? `${spec.max}` : '';
  return lo && hi ? `${lo} – ${hi}` : lo ? `≥ ${lo}` : hi ? `≤ ${hi}` : '';
}

function parseText(spec: ParamSpec, text: string): ParamValue | undefined {
  const t = text.trim();
  if (spec.kind === 'intList') {
    if (!t) return [];
    const parts = t.split(/[\s,×x]+/).filter(Boolean).map(Number);
    return parts;
  }
  if (!t) return undefined;
  const n = Number(t);
  return Number.isNaN(n) ? undefined : n;
}

function ParamField({ nodeId, field, spec, value, problem }: { nodeId: string; field: string; spec: ParamSpec; value: ParamValue; problem?: string }) {
  const label = spec.label ?? field;
  const commit = (v: ParamValue, mergeKey?: string) => {
    const s = graphStore.getState();
    s.commit(setParam(s.doc, nodeId, field, v), `Set ${label}`, mergeKey);
  };
  const testid = `field-${field}`;
  if (spec.kind === 'bool') {
    return (
      <label className="lf-field lf-field-row" title={spec.description}>
        <span className="lf-field-label">{label}</span>
        <input type="checkbox" className="lf-toggle" checked={value === true} data-testid={testid} onChange={(e) => commit(e.target.checked)} />
      </label>
    );
  }
  if (spec.kind === 'choice') {
    return (
      <label className="lf-field" title={spec.description}>
        <span className="lf-field-label">{label}</span>
        <select className="lf-input" value={String(value)} data-testid={testid} onChange={(e) => commit(e.target.value)}>
          {spec.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return <TextParam spec={spec} label={label} value={value} testid={testid} commit={commit} problem={problem} nodeId={nodeId} field={field} />;
}

function TextParam(props: {
  spec: ParamSpec;
  label: string;
  value: ParamValue;
  testid: string;
  problem?: string;
  nodeId: string;
  field: string;
  commit: (v: ParamValue, mergeKey?: string) => void;
}) {
  const { spec, label, value, testid, problem, commit, nodeId, field } = props;
  const shown = Array.isArray(value) ? value.join(', ') : String(value);
  const [text, setText] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  const session = useRef(0);
  const focused = useRef(false);
  useEffect(() => {
    if (!focused.current) {
      setText(shown);
      setError(null);
    }
  }, [shown]);
  const onChange = (t: string) => {
    setText(t);
    const v = parseText(spec, t);
    const msg = v === undefined ? (t.trim() ? 'not a number' : 'required') : checkParam(spec, v);
    setError(msg);
    if (!msg && v !== undefined) commit(v, `param:${nodeId}:${field}:${session.current}`);
  };
  const hint = rangeHint(spec);
  return (
    <label className="lf-field" title={spec.description}>
      <span className="lf-field-label">
        {label}
        {hint && <span className="lf-field-hint">{hint}</span>}
      </span>
      <input
        className={`lf-input${error ? ' invalid' : ''}`}
        value={text}
        inputMode={spec.kind === 'intList' ? 'text' : 'decimal'}
        data-testid={testid}
        spellCheck={false}
        onFocus={() => {
          focused.current = true;
          editSession += 1;
          session.current = editSession;
        }}
        onBlur={() => {
          focused.current = false;
          graphStore.getState().endGroup();
          setText(shown);
          setError(null);
        }}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
          if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
            if (typeof value === 'number' && spec.kind !== 'intList') {
              e.preventDefault();
              const step = spec.kind === 'int' ? 1 : Math.abs(value) >= 1 ? 0.1 : 0.01;
              const next = Number((value + (e.key === 'ArrowUp' ? step : -step)).toPrecision(12));
              onChange(String(next));
            }
          }
        }}
      />
      {error ? (
        <span className="lf-field-error" data-testid={`${testid}-error`}>
          {label} {error}
        </span>
      ) : problem ? (
        <span className="lf-field-error" data-testid={`${testid}-error`}>
          {problem}
        </span>
      ) : null}
    </label>
  );
}
