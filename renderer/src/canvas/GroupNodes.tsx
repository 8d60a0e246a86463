/**
 * The two faces of a node group (an imported nested model) on the canvas: open, a labelled frame behind
 * its nodes; collapsed, one box that stands for them (edges rerouted to it by flowModel.ts).
 */
import { memo } from 'react';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { dispatch } from '../actions';
import { formatCount, type FrozenState, type GroupBoxNode, type GroupFrameNode } from './flowModel';
import './groups.css';

const frozenLabel = (f: FrozenState) => (f === 'all' ? 'Unfreeze' : 'Freeze');

/** A padlock (SVG: no emoji font needed), closed for frozen weights, open for "unfreeze". */
export function LockIcon({ open = false, title }: { open?: boolean; title?: string }) {
  return (
    <svg className="lf-lock" width="11" height="12" viewBox="0 0 11 12" role={title ? 'img' : undefined} aria-hidden={title ? undefined : true} aria-label={title}>
      {title && <title>{title}</title>}
      <path d={open ? 'M3 5.5V3.6a2.5 2.5 0 0 1 4.9-.7' : 'M3 5.5V3.6a2.5 2.5 0 0 1 5 0v1.9'} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
      <rect x="1" y="5.5" width="9" height="6" rx="1.3" fill="currentColor" />
    </svg>
  );
}

/** Compact switches (icons; the words are in their title and accessible name): frames of narrow nested models keep their name readable. */
function GroupButtons({ groupId, frozen, collapsed, name }: { groupId: string; frozen: FrozenState; collapsed: boolean; name: string }) {
  const freezeLabel = frozen === 'all' ? `Unfreeze ${name}: make its layers trainable again` : `Freeze ${name}: its weights stay as they are while training`;
  const toggleLabel = collapsed ? `Expand ${name}: show its layers` : `Collapse ${name} to one box`;
  return (
    <span className="lf-group-buttons nodrag">
      <button
        type="button"
        className={`lf-group-btn${frozen === 'all' ? ' on' : ''}`}
        title={freezeLabel}
        aria-label={freezeLabel}
        aria-pressed={frozen === 'all'}
        onClick={(e) => {
          e.stopPropagation();
          dispatch('freezeGroup', { groupId, frozen: frozen !== 'all' });
        }}
        data-testid={`group-freeze-${name}`}
      >
        <LockIcon open={frozen !== 'all'} /> {frozenLabel(frozen)}
      </button>
      <button
        type="button"
        className="lf-group-btn"
        title={toggleLabel}
        aria-label={toggleLabel}
        onClick={(e) => {
          e.stopPropagation();
          dispatch('toggleGroup', { groupId });
        }}
        data-testid={`group-toggle-${name}`}
        aria-expanded={!collapsed}
      >
        {collapsed ? '▸' : '▾'}
      </button>
    </span>
  );
}

function GroupFrameView({ data }: NodeProps<GroupFrameNode>) {
  const { group, count, frozen } = data;
  return (
    // The layer count is in the name's tooltip: a narrow frame (one column of nodes) keeps its label strip for the name and switches.
    <div className={`lf-group-frame frozen-${frozen}`} data-testid={`group-frame-${group.name}`} data-frozen={frozen} data-count={count}>
      <div className="lf-group-head">
        <span className="lf-group-name" title={`${group.name}: ${count} layer${count === 1 ? '' : 's'}${frozen === 'all' ? ', frozen' : frozen === 'some' ? ', partly frozen' : ''}`}>
          {frozen === 'all' && <LockIcon title="frozen" />}
          <span className="lf-group-name-text">{group.name}</span>
        </span>
        <GroupButtons groupId={group.id} frozen={frozen} collapsed={false} name={group.name} />
      </div>
    </div>
  );
}

function GroupBoxView({ data, selected }: NodeProps<GroupBoxNode>) {
  const { group, count, params, frozen, inShapes, outShapes } = data;
  return (
    <div className={`lf-node lf-group-box${selected ? ' selected' : ''}${frozen === 'all' ? ' frozen' : ''}`} data-testid={`group-box-${group.name}`} data-frozen={frozen}>
      <Handle type="target" position={Position.Top} id="in-0" className="lf-handle lf-handle-in" isConnectable={false} />
      <div className="lf-node-head">
        <span className="lf-group-stack" aria-hidden>
          ▣
        </span>
        <span className="lf-node-name" title={group.name}>
          {group.name}
        </span>
        {frozen === 'all' && <LockIcon title="Frozen: its weights do not change while training" />}
      </div>
      <div className="lf-node-summary" data-testid="group-box-summary">
        <span className="lf-node-type">Group</span> · {count} layer{count === 1 ? '' : 's'}
        {frozen === 'some' ? ' · partly frozen' : ''}
      </div>
      <div className="lf-group-box-shapes" title="Input → output shapes (per sample)" data-testid="group-box-shapes">
        {(inShapes.join(', ') || '—') + ' → ' + (outShapes.join(', ') || '—')}
      </div>
      <div className="lf-group-box-foot">
        <span className="lf-node-params" data-testid="group-box-params">
          {params > 0 ? `${formatCount(params)} params` : ''}
        </span>
        <GroupButtons groupId={group.id} frozen={frozen} collapsed name={group.name} />
      </div>
      <Handle type="source" position={Position.Bottom} id="out" className="lf-handle lf-handle-out" isConnectable={false} />
    </div>
  );
}

export const GroupFrame = memo(GroupFrameView, (a, b) => a.data === b.data);
export const GroupBox = memo(GroupBoxView, (a, b) => a.data === b.data && a.selected === b.selected);
