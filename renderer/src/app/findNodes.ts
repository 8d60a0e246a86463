/** Edit > Find Layer: which nodes of the graph match a query (name, type or palette label), best first. */
import type { GraphNode } from '../../../shared/graph';
import { getLayer } from '../../../shared/layers';

export interface NodeMatch {
  id: string;
  name: string;
  type: string;
  label: string;
}

/**
 * Nodes whose name, type or label contains every word of `query` (case-insensitive); names that start
 * with the query come first, then the graph's order. An empty query lists every node.
 */
export function findNodes(nodes: readonly Pick<GraphNode, 'id' | 'name' | 'type'>[], query: string): NodeMatch[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const q = words.join(' ');
  const all = nodes.map((n) => ({ id: n.id, name: n.name, type: n.type, label: getLayer(n.type)?.label ?? n.type }));
  if (words.length === 0) return all;
  const hits = all.filter((m) => {
    const hay = `${m.name} ${m.type} ${m.label}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
  const rank = (m: NodeMatch) => (m.name.toLowerCase() === q ? 0 : m.name.toLowerCase().startsWith(q) ? 1 : 2);
  return hits.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map(({ m }) => m);
}
