/**
 * Auto-layout: elkjs (layered, top to bottom, ports in order so merge inputs do not cross) below
 * FAST_LAYOUT_NODES nodes; beyond, our linear-time layered layout (elkjs needs ~1 s for 500 nodes).
 */
import type ELKType from 'elkjs/lib/elk.bundled.js';
import type { GraphEdge, XY } from '../../../shared/graph';
import type { Doc } from '../store/document';
import type { Size } from '../store/graphStore';
import { groupBoxId, groupOrigin, hiddenNodes } from '../store/groups';
import { fastLayeredLayout } from './fastLayout';

/** A collapsed group's box before it is measured (flowModel's GROUP_BOX_SIZE; kept here to avoid a cycle). */
const BOX_SIZE: Size = { width: 230, height: 96 };

/** A layer node's size (flowModel.ts LAYER_SIZE, fixed by .lf-node's CSS; React Flow no longer measures it). */
export const DEFAULT_NODE_SIZE: Size = { width: 210, height: 94 };

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

/**
 * From this many nodes the layout is our linear-time layered one (fastLayout.ts) instead of elkjs. 150: an
 * imported ResNet50 (177 nodes) took elkjs 1.0-3.4 s on a loaded 2-core machine, fastLayout 3-30 ms, and
 * importing, laying out and drawing it must take under 2 s.
 */
export const FAST_LAYOUT_NODES = 150;

/**
 * Positions for the document's nodes. A collapsed group is laid out as its one box (edges to its nodes go
 * to the box); its hidden nodes move with the box, keeping their places relative to each other.
 */
export async function layoutDoc(doc: Doc, measured: Readonly<Record<string, Size>>): Promise<Record<string, XY>> {
  const hidden = hiddenNodes(doc);
  // A large model keeps the fast layout with its groups collapsed: the same look, and no elkjs load (seconds on a busy machine).
  const fast = doc.nodes.length >= FAST_LAYOUT_NODES;
  if (hidden.size === 0) return layoutGraph(doc.nodes.map((n) => n.id), doc.edges, measured, fast);
  const ids: string[] = [];
  const boxes = new Set<string>();
  for (const n of doc.nodes) {
    const root = hidden.get(n.id);
    if (!root) ids.push(n.id);
    else if (!boxes.has(root)) {
      boxes.add(root);
      ids.push(groupBoxId(root));
    }
  }
  const edges: GraphEdge[] = [];
  const pairs = new Set<string>();
  for (const e of doc.edges) {
    const hs = hidden.get(e.source);
    const ht = hidden.get(e.target);
    const source = hs ? groupBoxId(hs) : e.source;
    const target = ht ? groupBoxId(ht) : e.target;
    const key = `${source}\u0000${target}`;
    if (source === target || ((hs || ht) && pairs.has(key))) continue;
    pairs.add(key);
    edges.push({ ...e, source, target, targetPort: ht ? 0 : e.targetPort });
  }
  const placed = await layoutGraph(ids, edges, { ...Object.fromEntries([...boxes].map((g) => [groupBoxId(g), BOX_SIZE])), ...measured }, fast);
  const out: Record<string, XY> = {};
  for (const id of ids) if (placed[id]) out[id] = placed[id];
  for (const g of boxes) {
    const to = placed[groupBoxId(g)];
    const from = groupOrigin(doc, g);
    delete out[groupBoxId(g)];
    if (!to || !from) continue;
    for (const n of doc.nodes) {
      if (hidden.get(n.id) !== g) continue;
      const p = doc.positions[n.id] ?? from;
      out[n.id] = { x: Math.round(p.x - from.x + to.x), y: Math.round(p.y - from.y + to.y) };
    }
  }
  return out;
}

async function layoutGraph(nodeIds: readonly string[], edges: readonly GraphEdge[], measured: Readonly<Record<string, Size>>, fast: boolean): Promise<Record<string, XY>> {
  const doc = { nodes: nodeIds.map((id) => ({ id })), edges };
  if (fast) {
    return fastLayeredLayout(nodeIds, edges, (id) => measured[id] ?? DEFAULT_NODE_SIZE);
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
