/**
 * Turns the document + analysis + view state into React Flow nodes and edges, keeping every object
 * referentially stable when what it shows has not changed. This is what keeps a drag cheap: moving
 * one node makes one new React Flow node; the others (and every node's `data`) stay the same objects,
 * so their memoised components do not render again.
 */
import type { Edge, Node } from '@xyflow/react';
import { getLayer, type AnyLayerDef } from '../../../shared/layers';
import { formatShape } from '../../../shared/layers/shapeUtils';
import type { Analysis, XY } from '../../../shared/graph';
import { portName, type Doc, type DocNode } from '../store/document';
import type { Size } from '../store/graphStore';

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
  let lastNodes: LayerFlowNode[] = [];
  let lastEdges: LayerFlowEdge[] = [];

  function nodes(input: FlowInput): LayerFlowNode[] {
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
    const out = doc.nodes.map((n) => {
      seen.add(n.id);
      const data = (reuse && dataCache.get(n.id)) || nodeData(n);
      const position = doc.positions[n.id] ?? ORIGIN;
      const selected = selectedNodes.has(n.id);
      const size = measured[n.id];
      const cached = nodeCache.get(n.id);
      if (cached && cached.node.data === data && cached.position === position && cached.selected === selected && cached.measured === size) {
        return cached.node;
      }
      const node: LayerFlowNode = { id: n.id, type: 'layer', position, data, selected, ...(size ? { measured: size } : {}) };
      nodeCache.set(n.id, { node, position, selected, measured: size });
      return node;
    });

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

  function edges(input: FlowInput): LayerFlowEdge[] {
    const { doc, analysis, selectedEdges } = input;
    const clashes = new Map<string, string>();
    for (const p of analysis.problems) if (p.edgeId && p.severity === 'error') clashes.set(p.edgeId, p.message);
    const seen = new Set<string>();
    const out = doc.edges.map((e) => {
      seen.add(e.id);
      const clash = clashes.get(e.id) ?? null;
      const selected = selectedEdges.has(e.id);
      const cached = edgeCache.get(e.id);
      if (
        cached && cached.source === e.source && cached.target === e.target && cached.targetHandle === `in-${e.targetPort}` &&
        cached.selected === selected && cached.data?.clash === clash
      ) {
        return cached;
      }
      const edge: LayerFlowEdge = {
        id: e.id,
        source: e.source,
        target: e.target,
        sourceHandle: 'out',
        targetHandle: `in-${e.targetPort}`,
        selected,
        data: { clash },
        className: clash ? 'lf-edge-clash' : undefined,
        ariaLabel: clash ?? undefined,
      };
      edgeCache.set(e.id, edge);
      return edge;
    });
    for (const id of [...edgeCache.keys()]) if (!seen.has(id)) edgeCache.delete(id);
    // The same array when no edge changed (a drag): React Flow then skips its edge update.
    lastEdges = sameItems(out, lastEdges) ? lastEdges : out;
    return lastEdges;
  }

  return { nodes, edges };
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
