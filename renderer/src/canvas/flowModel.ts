/**
 * Turns the document + analysis + view state into React Flow nodes and edges, keeping every object
 * referentially stable when what it shows has not changed. This is what keeps a drag cheap: moving
 * one node makes one new React Flow node; the others (and every node's `data`) stay the same objects,
 * so their memoised components do not render again.
 */
import { Position, type Edge, type Node, type NodeHandle } from '@xyflow/react';
import { getLayer, type AnyLayerDef } from '../../../shared/layers';
import { formatShape } from '../../../shared/layers/shapeUtils';
import type { Analysis, NodeGroup, XY } from '../../../shared/graph';
import { portName, type Doc, type DocNode } from '../store/document';
import type { Size } from '../store/graphStore';
import { collapsedRoots, groupBoxId, groupOrigin } from '../store/groups';

export interface LayerNodeData extends Record<string, unknown> {
  node: DocNode;
  def: AnyLayerDef | undefined;
  summary: string;
  shape: string | null;
  params: number;
  error: string | null;
  ports: readonly string[];
}

export type LayerFlowNode = Node<LayerNodeData, 'layer'>;
export type LayerFlowEdge = Edge<{ clash: string | null }>;

/** How much of a group is frozen. */
export type FrozenState = 'none' | 'some' | 'all';

/** An open group: a labelled frame drawn behind its nodes. */
export interface GroupFrameData extends Record<string, unknown> {
  group: NodeGroup;
  /** Layers inside, inner groups included. */
  count: number;
  frozen: FrozenState;
}
/** A collapsed group: one box standing for its nodes, with what goes in and out and its parameters. */
export interface GroupBoxData extends Record<string, unknown> {
  group: NodeGroup;
  count: number;
  params: number;
  frozen: FrozenState;
  /** Shapes of the values entering / leaving the group ('32×32×3'), one per distinct shape. */
  inShapes: readonly string[];
  outShapes: readonly string[];
}
export type GroupFrameNode = Node<GroupFrameData, 'groupFrame'>;
export type GroupBoxNode = Node<GroupBoxData, 'groupBox'>;
export type FlowNode = LayerFlowNode | GroupFrameNode | GroupBoxNode;

/** Space between a frame's edge and its nodes, and the frame's label strip above them. */
export const FRAME_PAD = 14;
export const FRAME_HEAD = 26;
/** A collapsed group's box before it is measured (the width of a layer node). */
export const GROUP_BOX_SIZE: Size = { width: 230, height: 96 };
/** A layer node's size (fixed: LayerNode.tsx and .lf-node in styles.css, compact or not). */
export const LAYER_SIZE: Size = { width: 210, height: 94 };
/** A handle's box (.lf-handle in styles.css), centred on the node's top or bottom edge. */
const HANDLE = 10;
const handleCache = new Map<number, NodeHandle[]>();

/**
 * Where a layer node's handles are (n inputs spread over its top edge, the output at the bottom centre,
 * as LayerNode.tsx and .lf-handle draw them), relative to the node's top-left corner: given to React Flow
 * with the node's size, it draws the node and its edges in the first frame without measuring them.
 */
export function layerHandles(inputs: number): NodeHandle[] {
  let handles = handleCache.get(inputs);
  if (!handles) {
    const { width, height } = LAYER_SIZE;
    handles = [
      ...Array.from({ length: inputs }, (_, i): NodeHandle => ({ id: `in-${i}`, type: 'target', position: Position.Top, x: (width * (i + 1)) / (inputs + 1) - HANDLE / 2, y: -HANDLE / 2, width: HANDLE, height: HANDLE })),
      { id: 'out', type: 'source', position: Position.Bottom, x: width / 2 - HANDLE / 2, y: height - HANDLE / 2, width: HANDLE, height: HANDLE },
    ];
    handleCache.set(inputs, handles);
  }
  return handles;
}

export interface FlowInput {
  doc: Doc;
  analysis: Analysis;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  measured: Readonly<Record<string, Size>>;
}

function sameData(a: LayerNodeData, b: LayerNodeData): boolean {
  return (
    a.node === b.node &&
    a.def === b.def &&
    a.summary === b.summary &&
    a.shape === b.shape &&
    a.params === b.params &&
    a.error === b.error &&
    a.ports.length === b.ports.length &&
    a.ports.every((p, i) => p === b.ports[i])
  );
}

export function createFlowModel() {
  const dataCache = new Map<string, LayerNodeData>();
  const nodeCache = new Map<string, { node: LayerFlowNode; position: XY; selected: boolean; measured: Size | undefined }>();
  const edgeCache = new Map<string, LayerFlowEdge>();
  // What the node data was last computed from: while these stay the same objects (a drag, a selection
  // change, a measurement) every node's data is reused as is, without recomputing summaries and shapes.
  let dataFrom: { nodes: Doc['nodes']; edges: Doc['edges']; analysis: Analysis } | null = null;
  const groupCache = new Map<string, { node: GroupFrameNode | GroupBoxNode; key: string }>();
  let lastNodes: FlowNode[] = [];
  let lastEdges: LayerFlowEdge[] = [];

  function nodes(input: FlowInput): FlowNode[] {
    const { doc, analysis, selectedNodes, measured } = input;
    const reuse = dataFrom !== null && dataFrom.nodes === doc.nodes && dataFrom.edges === doc.edges && dataFrom.analysis === analysis;
    dataFrom = { nodes: doc.nodes, edges: doc.edges, analysis };
    const errors = new Map<string, string>();
    for (const p of analysis.problems) {
      if (p.nodeId && p.severity === 'error' && !errors.has(p.nodeId)) errors.set(p.nodeId, p.message);
    }
    const inputsUsed = new Map<string, number>();
    for (const e of doc.edges) inputsUsed.set(e.target, Math.max(inputsUsed.get(e.target) ?? 0, e.targetPort + 1));
    const seen = new Set<string>();
    const groups = groupView(doc);
    const layerNodes: LayerFlowNode[] = [];
    for (const n of doc.nodes) {
      seen.add(n.id);
      const data = (reuse && dataCache.get(n.id)) || nodeData(n);
      if (groups?.hidden.has(n.id)) continue;
      layerNodes.push(flowNode(n, data));
    }
    function flowNode(n: DocNode, data: LayerNodeData): LayerFlowNode {
      const position = doc.positions[n.id] ?? ORIGIN;
      const selected = selectedNodes.has(n.id);
      const size = measured[n.id];
      const cached = nodeCache.get(n.id);
      if (cached && cached.node.data === data && cached.position === position && cached.selected === selected && cached.measured === size) {
        return cached.node;
      }
      const node: LayerFlowNode = {
        id: n.id,
        type: 'layer',
        position,
        data,
        selected,
        // Its size and handles are known (fixed by CSS): React Flow draws the node and its edges at once and
        // has nothing to measure (its check finds the same size, so no measuring pass re-renders 500 nodes).
        measured: size ?? LAYER_SIZE,
        handles: layerHandles(data.ports.length),
      };
      nodeCache.set(n.id, { node, position, selected, measured: size });
      return node;
    }
    const groupNodes = groups ? groupFlowNodes(doc, groups, analysis, input) : [];
    const out: FlowNode[] = groupNodes.length ? [...groupNodes.filter((g) => g.type === 'groupFrame'), ...layerNodes, ...groupNodes.filter((g) => g.type === 'groupBox')] : layerNodes;

    function nodeData(n: DocNode): LayerNodeData {
      const def = getLayer(n.type);
      const info = analysis.nodes[n.id];
      let summary = '';
      if (def) {
        try {
          summary = def.summary({ ...defaultsOf(def), ...n.params } as never);
        } catch {
          summary = '';
        }
      }
      const portTotal = !def ? 0 : def.inputs.max !== Infinity ? def.inputs.max : Math.max(def.inputs.min, (inputsUsed.get(n.id) ?? 0) + 1);
      const ports = Array.from({ length: portTotal }, (_, i) => portName(n.type, i));
      const err = errors.get(n.id);
      const fresh: LayerNodeData = {
        node: n,
        def,
        summary,
        shape: info?.shape ? formatShape(info.shape) : null,
        params: info?.params ?? 0,
        error: err ? stripName(err, n.name) : null,
        ports,
      };
      const cachedData = dataCache.get(n.id);
      const data = cachedData && sameData(cachedData, fresh) ? cachedData : fresh;
      dataCache.set(n.id, data);
      return data;
    }
    for (const id of [...nodeCache.keys()]) {
      if (!seen.has(id)) {
        nodeCache.delete(id);
        dataCache.delete(id);
      }
    }
    lastNodes = sameItems(out, lastNodes) ? lastNodes : out;
    return lastNodes;
  }

  /** Frames for open groups (behind their nodes), boxes for collapsed ones; the same objects while nothing they show changed. */
  function groupFlowNodes(doc: Doc, view: GroupView, analysis: Analysis, input: FlowInput): Array<GroupFrameNode | GroupBoxNode> {
    const out: Array<GroupFrameNode | GroupBoxNode> = [];
    const seenGroups = new Set<string>();
    const sizeOf = (id: string): Size => input.measured[id] ?? LAYER_SIZE;
    for (const g of doc.groups ?? []) {
      const root = view.roots.get(g.id) ?? null;
      const members = view.members.get(g.id) ?? [];
      if (members.length === 0 || (root !== null && root !== g.id)) continue;
      seenGroups.add(g.id);
      let frozenCount = 0;
      let weighted = 0;
      let params = 0;
      for (const n of members) {
        const p = analysis.nodes[n.id]?.params ?? 0;
        params += p;
        if (p > 0) {
          weighted += 1;
          if (n.trainable === false) frozenCount += 1;
        }
      }
      const frozen: FrozenState = frozenCount === 0 ? 'none' : frozenCount === weighted ? 'all' : 'some';
      const boxId = groupBoxId(g.id);
      if (root === g.id) {
        const position = groupOrigin(doc, g.id) ?? ORIGIN;
        const ids = new Set(members.map((n) => n.id));
        const inShapes = new Set<string>();
        const outShapes = new Set<string>();
        for (const e of doc.edges) {
          const a = ids.has(e.source);
          const b = ids.has(e.target);
          if (a === b) continue;
          const shape = analysis.nodes[e.source]?.shape;
          (b ? inShapes : outShapes).add(shape ? formatShape(shape) : '?');
        }
        const selected = input.selectedNodes.has(boxId);
        const size = input.measured[boxId];
        const data: GroupBoxData = { group: g, count: members.length, params, frozen, inShapes: [...inShapes], outShapes: [...outShapes] };
        const key = JSON.stringify([data, position, selected, size]);
        const cached = groupCache.get(g.id);
        if (cached && cached.key === key) {
          out.push(cached.node);
          continue;
        }
        const node: GroupBoxNode = { id: boxId, type: 'groupBox', position, data, selected, ...(size ? { measured: size } : {}) };
        groupCache.set(g.id, { node, key });
        out.push(node);
        continue;
      }
      // An open group: the frame spans its drawn nodes and the boxes of inner collapsed groups.
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      const boxesDone = new Set<string>();
      for (const n of members) {
        const hiddenBy = view.hidden.get(n.id);
        let p: XY | undefined;
        let size: Size;
        if (hiddenBy) {
          if (boxesDone.has(hiddenBy)) continue;
          boxesDone.add(hiddenBy);
          p = groupOrigin(doc, hiddenBy) ?? undefined;
          size = input.measured[groupBoxId(hiddenBy)] ?? GROUP_BOX_SIZE;
        } else {
          p = doc.positions[n.id];
          size = sizeOf(n.id);
        }
        if (!p) continue;
        x0 = Math.min(x0, p.x);
        y0 = Math.min(y0, p.y);
        x1 = Math.max(x1, p.x + size.width);
        y1 = Math.max(y1, p.y + size.height);
      }
      if (!Number.isFinite(x0)) continue;
      const position = { x: x0 - FRAME_PAD, y: y0 - FRAME_PAD - FRAME_HEAD };
      const width = x1 - x0 + 2 * FRAME_PAD;
      const height = y1 - y0 + 2 * FRAME_PAD + FRAME_HEAD;
      const depth = view.depth.get(g.id) ?? 0;
      const data: GroupFrameData = { group: g, count: members.length, frozen };
      const key = JSON.stringify([data, position, width, height, depth]);
      const cached = groupCache.get(g.id);
      if (cached && cached.key === key) {
        out.push(cached.node);
        continue;
      }
      const node: GroupFrameNode = {
        id: `frame:${g.id}`,
        type: 'groupFrame',
        position,
        data,
        width,
        height,
        style: { width, height },
        measured: { width, height },
        // Above the edges (its label strip takes clicks; the body lets them through), below the layer nodes,
        // which come after the frames in the array (outer frames first).
        zIndex: 0,
        selectable: false,
        draggable: false,
        connectable: false,
        focusable: false,
      };
      groupCache.set(g.id, { node, key });
      out.push(node);
    }
    for (const id of [...groupCache.keys()]) if (!seenGroups.has(id)) groupCache.delete(id);
    // Outer frames first (drawn below inner ones).
    return out.sort((a, b) => (a.type === 'groupFrame' && b.type === 'groupFrame' ? (view.depth.get(a.data.group.id) ?? 0) - (view.depth.get(b.data.group.id) ?? 0) : 0));
  }

  function edges(input: FlowInput): LayerFlowEdge[] {
    const { doc, analysis, selectedEdges } = input;
    const clashes = new Map<string, string>();
    for (const p of analysis.problems) if (p.edgeId && p.severity === 'error') clashes.set(p.edgeId, p.message);
    const seen = new Set<string>();
    const hidden = groupView(doc)?.hidden;
    const drawn = new Set<string>();
    const out: LayerFlowEdge[] = [];
    for (const e of doc.edges) {
      // Into or out of a collapsed group: the edge goes to its box (one edge per pair of ends); inside it, none.
      const hs = hidden?.get(e.source);
      const ht = hidden?.get(e.target);
      const source = hs ? groupBoxId(hs) : e.source;
      const target = ht ? groupBoxId(ht) : e.target;
      const targetHandle = ht ? 'in-0' : `in-${e.targetPort}`;
      if (hs || ht) {
        const pair = `${source}\u0000${target}\u0000${targetHandle}`;
        if (source === target || drawn.has(pair)) continue;
        drawn.add(pair);
      }
      seen.add(e.id);
      out.push(edgeOf(e, source, target, targetHandle));
    }
    function edgeOf(e: Doc['edges'][number], source: string, target: string, targetHandle: string): LayerFlowEdge {
      const clash = clashes.get(e.id) ?? null;
      const selected = selectedEdges.has(e.id);
      const cached = edgeCache.get(e.id);
      if (
        cached && cached.source === source && cached.target === target && cached.targetHandle === targetHandle &&
        cached.selected === selected && cached.data?.clash === clash
      ) {
        return cached;
      }
      const edge: LayerFlowEdge = {
        id: e.id,
        // On the edge, not through React Flow's defaultEdgeOptions: with those, every edge component
        // copies its edge on each render and re-renders whenever the option object changes.
        type: 'smoothstep',
        source,
        target,
        sourceHandle: 'out',
        targetHandle,
        selected,
        data: { clash },
        className: clash ? 'lf-edge-clash' : undefined,
        ariaLabel: clash ?? undefined,
      };
      edgeCache.set(e.id, edge);
      return edge;
    }
    for (const id of [...edgeCache.keys()]) if (!seen.has(id)) edgeCache.delete(id);
    // The same array when no edge changed (a drag): React Flow then skips its edge update.
    lastEdges = sameItems(out, lastEdges) ? lastEdges : out;
    return lastEdges;
  }

  return { nodes, edges };
}

interface GroupView {
  /** Group id -> its nodes (inner groups included). */
  members: Map<string, DocNode[]>;
  /** Group id -> the collapsed group hiding it (itself when collapsed), null when open. */
  roots: Map<string, string | null>;
  /** Hidden node id -> the collapsed group drawn in its place. */
  hidden: Map<string, string>;
  depth: Map<string, number>;
}

// One view per document (nodes + groups arrays): shared by nodes() and edges(), and across drags.
let viewCache: { nodes: Doc['nodes']; groups: Doc['groups']; view: GroupView | null } | null = null;
function groupView(doc: Doc): GroupView | null {
  if (viewCache && viewCache.nodes === doc.nodes && viewCache.groups === doc.groups) return viewCache.view;
  let view: GroupView | null = null;
  if (doc.groups?.length) {
    const parentOf = new Map(doc.groups.map((g) => [g.id, g.parent]));
    const members = new Map<string, DocNode[]>();
    const depth = new Map<string, number>();
    for (const g of doc.groups) {
      let d = 0;
      for (let p = g.parent; p !== undefined && d <= doc.groups.length; p = parentOf.get(p)) d++;
      depth.set(g.id, d);
    }
    const roots = collapsedRoots(doc);
    const hidden = new Map<string, string>();
    for (const n of doc.nodes) {
      let steps = 0;
      for (let g = n.group; g !== undefined && steps <= doc.groups.length; g = parentOf.get(g), steps++) {
        (members.get(g) ?? members.set(g, []).get(g)!).push(n);
      }
      const root = n.group !== undefined ? roots.get(n.group) : null;
      if (root) hidden.set(n.id, root);
    }
    view = { members, roots, hidden, depth };
  }
  viewCache = { nodes: doc.nodes, groups: doc.groups, view };
  return view;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const ORIGIN: XY = { x: 0, y: 0 };
const defaultsCache = new WeakMap<AnyLayerDef, Record<string, unknown>>();
function defaultsOf(def: AnyLayerDef): Record<string, unknown> {
  let d = defaultsCache.get(def);
  if (!d) {
    d = Object.fromEntries(Object.entries(def.params).map(([k, s]) => [k, s.default]));
    defaultsCache.set(def, d);
  }
  return d;
}

/** "conv2d_1: kernelSize 40 is larger…" -> "kernelSize 40 is larger…" (the node shows its name already). */
function stripName(message: string, name: string): string {
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

// One formatter for every count: Number#toLocaleString builds a new one per call, which showed up in the
// profile of opening a 500-node project (two counts per node, every summary row).
const COUNT_FORMAT = new Intl.NumberFormat('en-US');
export function formatCount(n: number): string {
  return COUNT_FORMAT.format(n);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatFlops(f: number): string {
  if (f < 1e3) return `${f}`;
  if (f < 1e6) return `${(f / 1e3).toFixed(1)} K`;
  if (f < 1e9) return `${(f / 1e6).toFixed(1)} M`;
  return `${(f / 1e9).toFixed(2)} G`;
}
