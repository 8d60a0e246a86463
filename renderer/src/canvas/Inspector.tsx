import { useEffect, useMemo, useRef, useState } from 'react';
import { checkParam, getLayer, type ParamSpec, type ParamValue } from '../../../shared/layers';
import { resolvedParams } from '../../../shared/graph';
import { dispatch } from '../actions';
import { useAnalysis } from '../training/taskTarget';
import { renameNode, setParam, type Doc, type DocNode } from '../store/document';
import { graphStore, useGraph } from '../store/graphStore';
import { categoryColor } from './colors';
import { formatBytes, formatCount, formatFlops } from './flowModel';
import { formatShape } from '../../../shared/layers/shapeUtils';
import { ModelSummary } from './ModelSummary';
import { InsightWatcher } from '../insight/InsightWatcher';
import { findGroup, groupIdOfBox, memberIds, paramSplit } from '../store/groups';
import { useProjectDataset } from '../training/taskTarget';
import { headFor } from '../actions/groups';
import { LockIcon } from './GroupNodes';
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
  const groupId = groupIdOfBox(id);
  if (groupId !== null) return <GroupInspector key={groupId} groupId={groupId} />;
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
      {(info?.params ?? 0) > 0 && (
        <label className="lf-field lf-field-row" title="Off freezes this layer: its weights stay as they are while the rest trains (fine-tuning).">
          <span className="lf-field-label">
            Trainable{node.trainable === false && <span className="lf-field-hint">frozen</span>}
          </span>
          <input
            type="checkbox"
            className="lf-toggle"
            checked={node.trainable !== false}
            data-testid="field-trainable"
            onChange={(e) => dispatch('setNodeTrainable', { nodeId: node.id, trainable: e.target.checked })}
          />
        </label>
      )}
      {node.group !== undefined && <GroupLine groupId={node.group} />}
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
      {def.type !== 'Input' && <ReplaceHead node={node} />}
      <NodeInsight node={node} />
    </div>
  );
}

function GroupLine({ groupId }: { groupId: string }) {
  const group = useGraph((s) => findGroup(s.doc, groupId));
  if (!group) return null;
  return (
    <div className="lf-muted lf-insp-group" data-testid="inspector-group">
      In group <b>{group.name}</b>{' '}
      <button className="lf-link" onClick={() => dispatch('toggleGroup', { groupId, collapsed: true })}>
        collapse it
      </button>
    </div>
  );
}

/** "Replace the head" at this node: what it will remove and add, for the project's dataset. */
function ReplaceHead({ node }: { node: DocNode }) {
  // Nodes and edges, not the whole doc: dragging the selected node (which replaces only positions) must not
  // redo this walk on every mouse move (it is linear in the graph; it was quadratic, ~ms a move at 500 nodes).
  const nodes = useGraph((s) => s.doc.nodes);
  const edges = useGraph((s) => s.doc.edges);
  const ds = useProjectDataset();
  const { after, oldUnits } = useMemo(() => headInfo(nodes, edges, node.id), [nodes, edges, node.id]);
  const { why } = headFor(ds, oldUnits);
  return (
    <details className="lf-insp-finetune" data-testid="finetune-section">
      <summary className="lf-section-title">Fine-tuning</summary>
      <p className="lf-muted">
        Replace the head: {after.size > 0 ? `removes the ${after.size} layer${after.size === 1 ? '' : 's'} after ${node.name}, ` : ''}adds a new classifier on its output ({why}) and freezes{' '}
        {node.name} and everything before it.
      </p>
      <button className="lf-btn" onClick={() => dispatch('replaceHead', { nodeId: node.id })} data-testid="replace-head">
        Replace the head here
      </button>
    </details>
  );
}

/** What replacing the head at `nodeId` removes (everything after it) and the old head's units (one Dense output). */
function headInfo(nodes: readonly DocNode[], edges: Doc['edges'], nodeId: string): { after: Set<string>; oldUnits: number | null } {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.source);
    if (list) list.push(e.target);
    else next.set(e.source, [e.target]);
  }
  const after = new Set<string>();
  const queue = [nodeId];
  for (let i = 0; i < queue.length; i++) {
    for (const t of next.get(queue[i]!) ?? []) {
      if (!after.has(t)) {
        after.add(t);
        queue.push(t);
      }
    }
  }
  const outputs = nodes.filter((n) => n.type === 'Dense' && !next.has(n.id));
  const oldUnits = outputs.length === 1 && typeof outputs[0]!.params.units === 'number' ? (outputs[0]!.params.units as number) : null;
  return { after, oldUnits };
}

/** A collapsed group's box is selected: what it holds, and its collapse and freeze switches. */
function GroupInspector({ groupId }: { groupId: string }) {
  const doc = useGraph((s) => s.doc);
  const analysis = useAnalysis(doc);
  const group = findGroup(doc, groupId);
  if (!group) return <ModelSummary />;
  const ids = new Set(memberIds(doc, groupId));
  const members = doc.nodes.filter((n) => ids.has(n.id));
  const split = paramSplit({ nodes: members }, (id) => analysis.nodes[id]?.params ?? 0);
  const allFrozen = split.trainable === 0 && split.frozen > 0;
  return (
    <div className="lf-inspector" data-testid="inspector-group-box">
      <div className="lf-insp-head">
        <span className="lf-chip" style={{ background: 'var(--accent)' }}>
          Group
        </span>
        <span className="lf-insp-type">{group.name}</span>
      </div>
      <p className="lf-muted lf-insp-desc">A nested model, imported flattened: {members.length} layers drawn as one box.</p>
      <dl className="lf-kv">
        <dt>Trainable params</dt>
        <dd>{formatCount(split.trainable)}</dd>
        <dt>Frozen params</dt>
        <dd>{formatCount(split.frozen)}</dd>
      </dl>
      <div className="lf-row-buttons">
        <button className="lf-btn" onClick={() => dispatch('toggleGroup', { groupId, collapsed: !group.collapsed })} data-testid="group-inspector-toggle">
          {group.collapsed ? 'Expand' : 'Collapse'}
        </button>
        <button className="lf-btn" onClick={() => dispatch('freezeGroup', { groupId, frozen: !allFrozen })} data-testid="group-inspector-freeze">
          <LockIcon open={allFrozen} /> {allFrozen ? 'Unfreeze group' : 'Freeze group'}
        </button>
      </div>
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
