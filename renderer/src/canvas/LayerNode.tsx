/**
 * The one node component for every layer type, drawn from the registry. Memoised: it renders again
 * only when its own data or selection changes (see flowModel.ts for how data stays stable), or when the
 * zoom crosses COMPACT_ZOOM: zoomed out further, where its lines of text would be a few pixels high, a
 * node is drawn compact (its box, name and handles, same size), which makes a 500-node graph's fitted
 * view about a third cheaper to draw.
 */
import { memo } from 'react';
import { Handle, Position, useStore, type NodeProps, type ReactFlowState } from '@xyflow/react';
import { categoryColor } from './colors';
import { formatCount, type LayerFlowNode } from './flowModel';
import { HealthBadge } from '../insight/HealthBadge';
import { LockIcon } from './GroupNodes';

interface RenderCounter {
  __lfRenderCounts?: Record<string, number>;
}

/** Below this zoom nodes are drawn compact (12 px text would be under 5 px on screen). */
export const COMPACT_ZOOM = 0.4;
const compactSelector = (s: ReactFlowState) => s.transform[2] < COMPACT_ZOOM;

interface NodeFrameProps {
  id: string;
  name: string;
  type: string;
  className: string;
  color: string;
  frozen: boolean;
  /** One input handle per port along the top (named by its title), one output handle at the bottom. */
  ports: readonly string[];
  /** Port names written next to their input handles (full nodes with several inputs). */
  portLabels: boolean;
  children: React.ReactNode;
}

/** The node's box and its handles, around what it shows: the same for a compact and a full node. */
function NodeFrame({ id, name, type, className, color, frozen, ports, portLabels, children }: NodeFrameProps) {
  return (
    <div className={className} style={{ '--cat': color } as React.CSSProperties} data-testid={`node-${name}`} data-node-id={id} data-type={type} data-frozen={frozen ? 'true' : undefined}>
      {ports.map((port, i) => (
        <Handle
          key={i}
          type="target"
          position={Position.Top}
          id={`in-${i}`}
          className="lf-handle lf-handle-in"
          style={{ left: `${((i + 1) / (ports.length + 1)) * 100}%` }}
          data-testid={`handle-in-${name}-${i}`}
          title={port}
        >
          {portLabels && <span className="lf-port-label">{port}</span>}
        </Handle>
      ))}
      {children}
      <Handle type="source" position={Position.Bottom} id="out" className="lf-handle lf-handle-out" data-testid={`handle-out-${name}`} />
    </div>
  );
}

function LayerNodeView({ id, data, selected }: NodeProps<LayerFlowNode>) {
  // Tests set window.__lfRenderCounts to count renders per node; costs nothing otherwise.
  const counts = (globalThis as RenderCounter).__lfRenderCounts;
  if (counts) counts[data.node.name] = (counts[data.node.name] ?? 0) + 1;
  const compact = useStore(compactSelector);

  const { node, def, summary, shape, params, error, ports } = data;
  // Frozen (fine-tuning): only nodes with weights show it; the rest have nothing to freeze.
  const frozen = node.trainable === false && params > 0;
  const className = `lf-node${compact ? ' compact' : ''}${selected ? ' selected' : ''}${error ? ' invalid' : ''}${frozen ? ' frozen' : ''}`;
  const frame = { id, name: node.name, type: node.type, className, color: categoryColor(def?.category), frozen, ports, portLabels: ports.length > 1 && !compact };
  if (compact) {
    return (
      <NodeFrame {...frame}>
        <div className="lf-node-head" title={error ?? `${node.name} (${def?.label ?? node.type})`}>
          <span className="lf-node-name">{node.name}</span>
          {frozen && <LockIcon title="Frozen: its weights do not change while training" />}
          <HealthBadge nodeId={id} />
        </div>
      </NodeFrame>
    );
  }
  return (
    <NodeFrame {...frame}>
      <div className="lf-node-head">
        <span className="lf-node-dot" />
        <span className="lf-node-name" title={node.name}>
          {node.name}
        </span>
        {frozen && <LockIcon title="Frozen: its weights do not change while training" />}
        <HealthBadge nodeId={id} />
      </div>
      <div className="lf-node-summary" data-testid="node-summary">
        <span className="lf-node-type">{def?.label ?? node.type}</span>
        {summary && <span> · {summary}</span>}
      </div>
      {/* Fixed height whether it shows the shape or an error: nodes never change size while editing. */}
      <div className="lf-node-foot">
        {error ? (
          <div className="lf-node-error" data-testid="node-error" role="alert" title={error}>
            {error}
          </div>
        ) : (
          <>
            <span className="lf-node-shape" data-testid="node-shape" title="Output shape (per sample)">
              {shape ?? '?'}
            </span>
            <span className="lf-node-params" data-testid="node-params">
              {params > 0 ? `${formatCount(params)} params` : ''}
            </span>
          </>
        )}
      </div>
    </NodeFrame>
  );
}

/**
 * Renders again only when what it draws changes: its data or its selection. React Flow also passes the
 * position, size and drag state, which change on every measurement and mouse move, but the node wrapper
 * applies those itself; comparing them would re-render the node body for nothing (twice per node on
 * opening a project, on every mouse move of a drag).
 */
export const LayerNode = memo(LayerNodeView, (a, b) => a.id === b.id && a.data === b.data && a.selected === b.selected);
