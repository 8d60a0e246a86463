/**
 * Auto-layout: elkjs (layered, top to bottom, ports in order so merge inputs do not cross) up to
 * FAST_LAYOUT_NODES nodes; beyond, our linear-time layered layout (elkjs needs ~1 s for 500 nodes).
 */
import type ELKType from 'elkjs/lib/elk.bundled.js';
import type { XY } from '../../../shared/graph';
import type { Doc } from '../store/document';
import type { Size } from '../store/graphStore';
import { fastLayeredLayout } from './fastLayout';

export const DEFAULT_NODE_SIZE: Size = { width: 210, height: 84 };

let elk: InstanceType<typeof ELKType> | null = null;

/** From this many nodes the layout trades a little polish for speed (see BIG_GRAPH_OPTIONS). */
export const BIG_GRAPH_NODES = 150;
/**
 * For big graphs: longest-path layering, one crossing-minimisation pass, no greedy switch, and polyline
 * routing (we use node positions only; the canvas draws its own edges). On a 500-node residual stack
 * this about halves elkjs's time (measured with scripts/bench/ui.ts); nodes still sit in layers in
 * model order.
 */
const BIG_GRAPH_OPTIONS: Record<string, string> = {
  'elk.layered.layering.strategy': 'LONGEST_PATH',
  'elk.layered.thoroughness': '1',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  'elk.edgeRouting': 'POLYLINE',
};

/** From this many nodes the layout is our linear-time layered one (fastLayout.ts) instead of elkjs. */
export const FAST_LAYOUT_NODES = 300;

export async function layoutDoc(doc: Doc, measured: Readonly<Record<string, Size>>): Promise<Record<string, XY>> {
  if (doc.nodes.length >= FAST_LAYOUT_NODES) {
    return fastLayeredLayout(doc.nodes.map((n) => n.id), doc.edges, (id) => measured[id] ?? DEFAULT_NODE_SIZE);
  }
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
      ...(doc.nodes.length >= BIG_GRAPH_NODES ? BIG_GRAPH_OPTIONS : {}),
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
