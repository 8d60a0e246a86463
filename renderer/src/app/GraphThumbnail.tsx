import { getLayer } from '../../../shared/layers';
import type { Graph } from '../../../shared/graph';
import { categoryColor } from '../canvas/colors';

const W = 210;
const H = 80;

/** A small diagram of a graph for the start screen: a box per layer, a line per connection. */
export function GraphThumbnail({ graph }: { graph: Graph }) {
  if (graph.nodes.length === 0) return <svg className="lf-thumb" viewBox="0 0 160 110" />;
  const xs = graph.nodes.map((n) => n.position.x);
  const ys = graph.nodes.map((n) => n.position.y);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const width = Math.max(...xs) - minX + W;
  const height = Math.max(...ys) - minY + H;
  const pad = 30;
  const pos = new Map(graph.nodes.map((n) => [n.id, { x: n.position.x - minX + pad, y: n.position.y - minY + pad }]));
  return (
    <svg className="lf-thumb" viewBox={`0 0 ${width + 2 * pad} ${height + 2 * pad}`} preserveAspectRatio="xMidYMid meet" aria-hidden>
      {graph.edges.map((e) => {
        const a = pos.get(e.source);
        const b = pos.get(e.target);
        if (!a || !b) return null;
        return <line key={e.id} x1={a.x + W / 2} y1={a.y + H} x2={b.x + W / 2} y2={b.y} className="lf-thumb-edge" />;
      })}
      {graph.nodes.map((n) => {
        const p = pos.get(n.id)!;
        return <rect key={n.id} x={p.x} y={p.y} width={W} height={H} rx={14} fill={categoryColor(getLayer(n.type)?.category)} opacity={0.85} />;
      })}
    </svg>
  );
}
