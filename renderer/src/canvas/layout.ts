/** Auto-layout with elkjs: layered, top to bottom, ports in order so merge inputs do not cross. */
import type ELKType from 'elkjs/lib/elk.bundled.js';
import type { XY } from '../../../shared/graph';
import type { Doc } from '../store/document';
import type { Size } from '../store/graphStore';

export const DEFAULT_NODE_SIZE: Size = { width: 210, height: 84 };

let elk: InstanceType<typeof ELKType> | null = null;

export async function layoutDoc(doc: Doc, measured: Readonly<Record<string, Size>>): Promise<Record<string, XY>> {
  if (!elk) {
    // Loaded on first use: elkjs is large and most sessions never lay out.
    const { default: ELK } = await import('elkjs/lib/elk.bundled.js');
    elk = new ELK();
  }
  const result = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '48',
      'elk.spacing.nodeNode': '40',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: doc.nodes.map((n) => ({
      id: n.id,
      width: measured[n.id]?.width ?? DEFAULT_NODE_SIZE.width,
      height: measured[n.id]?.height ?? DEFAULT_NODE_SIZE.height,
    })),
    edges: doc.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const out: Record<string, XY> = {};
  for (const c of result.children ?? []) out[c.id] = { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) };
  return out;
}
