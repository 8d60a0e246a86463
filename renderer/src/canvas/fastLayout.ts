/**
 * A layered top-to-bottom layout in linear time, for graphs too big for elkjs to lay out within a
 * moment (elkjs took ~1 s for 500 nodes even with its fast options). Same look as the elkjs layout
 * for the graphs models usually are (chains with branches and merges):
 *   1. longest-path layering: a node sits one layer below its deepest input;
 *   2. order within a layer: by the mean x of the node's inputs (ties: model order), one sweep down;
 *   3. x: each node as close to its inputs' mean x as the layer's left-to-right order allows;
 *      y: layers stacked by their tallest node.
 * Nodes on a cycle (never in a valid graph) go to layer 0 rather than hang.
 */
import type { GraphEdge, XY } from '../../../shared/graph';
import type { Size } from '../store/graphStore';

export interface FastLayoutOptions {
  /** Vertical gap between layers. */
  layerGap: number;
  /** Horizontal gap between nodes of one layer. */
  nodeGap: number;
}

/** Width reserved for a long edge where it crosses a layer (its "lane"). */
const LANE_WIDTH = 24;

export function fastLayeredLayout(
  nodeIds: readonly string[],
  edges: readonly GraphEdge[],
  sizeOf: (id: string) => Size,
  opts: FastLayoutOptions = { layerGap: 48, nodeGap: 40 },
): Record<string, XY> {
  const real = nodeIds.length;
  const index = new Map(nodeIds.map((id, i) => [id, i]));
  let preds: number[][] = nodeIds.map(() => []);
  const succs: number[][] = nodeIds.map(() => []);
  for (const e of edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    preds[t]!.push(s);
    succs[s]!.push(t);
  }
  // 1. Longest-path layering (Kahn's order).
  const layerOf = new Int32Array(real);
  const indeg = preds.map((p) => p.length);
  const queue: number[] = [];
  indeg.forEach((d, i) => d === 0 && queue.push(i));
  for (let q = 0; q < queue.length; q++) {
    const n = queue[q]!;
    for (const s of succs[n]!) {
      layerOf[s] = Math.max(layerOf[s]!, layerOf[n]! + 1);
      if (--indeg[s]! === 0) queue.push(s);
    }
  }
  for (let i = 0; i < real; i++) if (indeg[i]! > 0) layerOf[i] = 0; // on a cycle: layer 0
  // Long edges (spanning more than one layer, e.g. residual skips) get a lane node in every layer
  // they cross, so that the nodes of those layers are placed beside the edge rather than on it.
  const layer: number[] = Array.from(layerOf);
  const isLane: boolean[] = nodeIds.map(() => false);
  const newPreds: number[][] = preds.map(() => []);
  for (let t = 0; t < real; t++) {
    for (const s of preds[t]!) {
      let from = s;
      for (let l = layer[s]! + 1; l < layer[t]!; l++) {
        const d = layer.length;
        layer.push(l);
        isLane.push(true);
        newPreds.push([from]);
        from = d;
      }
      if (layer[t]! > layer[s]!) newPreds[t]!.push(from);
    }
  }
  preds = newPreds;
  const layers: number[][] = [];
  layer.forEach((l, i) => (layers[l] ??= []).push(i));
  // 2 + 3. Per layer, top to bottom: order by the wanted centre x, then place left to right. A node
  // fed by a long edge follows that edge's lane (the trunk), so a chain of residual blocks stays in
  // one column with each block's branch beside it, instead of drifting sideways block by block.
  const centre = new Float64Array(layer.length);
  const placedAt = new Uint8Array(layer.length);
  const out: Record<string, XY> = {};
  let y = 0;
  for (const members of layers) {
    if (!members) continue;
    const want = (i: number) => {
      const ps = preds[i]!.filter((j) => placedAt[j]);
      const lanes = ps.filter((j) => isLane[j]);
      const use = lanes.length ? lanes : ps;
      return use.length ? use.reduce((a, j) => a + centre[j]!, 0) / use.length : Number.NaN;
    };
    const wanted = new Map(members.map((i) => [i, want(i)]));
    const ordered = members.slice().sort((a, b) => {
      const wa = wanted.get(a)!, wb = wanted.get(b)!;
      if (!Number.isNaN(wa) && !Number.isNaN(wb) && wa !== wb) return wa - wb;
      // Ties: lanes first (the trunk keeps its column), then model order.
      if (isLane[a] !== isLane[b]) return isLane[a] ? -1 : 1;
      return a - b;
    });
    // Left to right: at the wanted centre when there is room, else just right of the previous node.
    let right = -Infinity;
    let height = 0;
    const placed: Array<{ i: number; x: number; w: number }> = [];
    for (const i of ordered) {
      const size = isLane[i] ? { width: LANE_WIDTH, height: 0 } : sizeOf(nodeIds[i]!);
      const w0 = wanted.get(i)!;
      const ideal = Number.isNaN(w0) ? (placed.length ? right + opts.nodeGap : 0) : w0 - size.width / 2;
      const x = Math.max(ideal, right + opts.nodeGap);
      placed.push({ i, x, w: size.width });
      right = x + size.width;
      height = Math.max(height, size.height);
    }
    // A layer of input-less nodes (the first) is centred on 0.
    const shift = placed.every((p) => Number.isNaN(wanted.get(p.i)!)) ? -(right - placed[0]!.x) / 2 - placed[0]!.x : 0;
    for (const p of placed) {
      const x = Math.round(p.x + shift);
      centre[p.i] = x + p.w / 2;
      placedAt[p.i] = 1;
      if (!isLane[p.i]) out[nodeIds[p.i]!] = { x, y };
    }
    y += height + opts.layerGap;
  }
  return out;
}
