/**
 * The editor's document: the graph's nodes and edges, with node positions kept apart so that moving a
 * node changes only `positions` and never the node objects that shape inference and node rendering
 * depend on. Every function here is pure: it returns a new document and never mutates its argument.
 */
import { defaultParams, getLayer, type ParamValue } from '../../../shared/layers';
import type { Graph, GraphEdge, NodeGroup, XY } from '../../../shared/graph';

export interface DocNode {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** False: the node's weights are frozen (fine-tuning). Absent: trainable. */
  readonly trainable?: boolean;
  /** The NodeGroup (an imported nested model) the node belongs to. */
  readonly group?: string;
}

export interface Doc {
  readonly nodes: readonly DocNode[];
  readonly edges: readonly GraphEdge[];
  readonly positions: Readonly<Record<string, XY>>;
  /** Node groups (imported nested models), with their collapsed state; absent in hand-drawn graphs. */
  readonly groups?: readonly NodeGroup[];
}

export const EMPTY_DOC: Doc = { nodes: [], edges: [], positions: {} };

export function docFromGraph(graph: Graph): Doc {
  return {
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      type: n.type,
      name: n.name,
      params: { ...n.params },
      ...(n.trainable === false ? { trainable: false } : {}),
      ...(n.group !== undefined ? { group: n.group } : {}),
    })),
    edges: graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, targetPort: e.targetPort })),
    positions: Object.fromEntries(graph.nodes.map((n) => [n.id, { x: n.position.x, y: n.position.y }])),
    ...(graph.groups?.length ? { groups: graph.groups.map((g) => ({ ...g })) } : {}),
  };
}

export function graphFromDoc(doc: Doc): Graph {
  return {
    nodes: doc.nodes.map((n) => ({
      id: n.id,
      type: n.type,
      name: n.name,
      params: structuredClone(n.params) as Record<string, ParamValue>,
      position: { ...(doc.positions[n.id] ?? { x: 0, y: 0 }) },
      ...(n.trainable === false ? { trainable: false } : {}),
      ...(n.group !== undefined ? { group: n.group } : {}),
    })),
    edges: doc.edges.map((e) => ({ ...e })),
    ...(doc.groups?.length ? { groups: doc.groups.map((g) => ({ ...g })) } : {}),
  };
}

let idCounter = 0;
/** A fresh id not used by any node or edge of `doc`. */
export function freshId(doc: Doc, prefix: string): string {
  const used = new Set<string>([...doc.nodes.map((n) => n.id), ...doc.edges.map((e) => e.id)]);
  for (;;) {
    idCounter += 1;
    const id = `${prefix}${Date.now().toString(36)}${idCounter.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    if (!used.has(id)) return id;
  }
}

/** The smallest `prefix_k` (k >= 1) that no node of `doc` (or of `taken`) uses. */
export function uniqueName(doc: Doc, prefix: string, taken: ReadonlySet<string> = new Set()): string {
  const used = new Set(doc.nodes.map((n) => n.name));
  for (let k = 1; ; k++) {
    const name = `${prefix}_${k}`;
    if (!used.has(name) && !taken.has(name)) return name;
  }
}

export function addNode(doc: Doc, type: string, position: XY): { doc: Doc; id: string } {
  const def = getLayer(type);
  if (!def) throw new Error(`addNode: unknown layer type '${type}'`);
  const id = freshId(doc, 'n');
  const node: DocNode = { id, type, name: uniqueName(doc, def.namePrefix), params: defaultParams(def) };
  return { id, doc: { ...doc, nodes: [...doc.nodes, node], positions: { ...doc.positions, [id]: { ...position } } } };
}

export function removeItems(doc: Doc, nodeIds: Iterable<string>, edgeIds: Iterable<string> = []): Doc {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIds);
  if (nodes.size === 0 && edges.size === 0) return doc;
  const positions = { ...doc.positions };
  for (const id of nodes) delete positions[id];
  const keptEdges = doc.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.source) && !nodes.has(e.target));
  return pruneGroups({
    ...doc,
    nodes: doc.nodes.filter((n) => !nodes.has(n.id)),
    edges: renumberPorts(doc, keptEdges),
    positions,
  });
}

/** Drops groups left with no node (directly or through an inner group), so no empty frame stays behind. */
export function pruneGroups(doc: Doc): Doc {
  if (!doc.groups?.length) return doc;
  const used = new Set<string>();
  const parentOf = new Map(doc.groups.map((g) => [g.id, g.parent]));
  for (const n of doc.nodes) {
    for (let g = n.group; g !== undefined && !used.has(g); g = parentOf.get(g)) used.add(g);
  }
  if (used.size === doc.groups.length) return doc;
  const groups = doc.groups.filter((g) => used.has(g.id));
  if (groups.length) return { ...doc, groups };
  const { groups: _dropped, ...rest } = doc;
  return rest;
}

/**
 * After edges into a variadic node (Add, Concatenate) are removed, its remaining inputs move down to
 * fill the gaps (ports 0, 1, …) so that it stays valid. Fixed-port layers keep their port numbers.
 */
function renumberPorts(doc: Doc, edges: readonly GraphEdge[]): GraphEdge[] {
  const typeOf = new Map(doc.nodes.map((n) => [n.id, n.type]));
  const byTarget = new Map<string, GraphEdge[]>();
  for (const e of edges) (byTarget.get(e.target) ?? byTarget.set(e.target, []).get(e.target)!).push(e);
  const renumbered = new Map<string, GraphEdge>();
  for (const [target, list] of byTarget) {
    const def = getLayer(typeOf.get(target) ?? '');
    if (!def || def.inputs.max !== Infinity) continue;
    [...list].sort((a, b) => a.targetPort - b.targetPort).forEach((e, i) => {
      if (e.targetPort !== i) renumbered.set(e.id, { ...e, targetPort: i });
    });
  }
  return edges.map((e) => renumbered.get(e.id) ?? e);
}

export function updateNode(doc: Doc, id: string, change: (n: DocNode) => DocNode): Doc {
  let changed = false;
  const nodes = doc.nodes.map((n) => {
    if (n.id !== id) return n;
    const next = change(n);
    if (next !== n) changed = true;
    return next;
  });
  return changed ? { ...doc, nodes } : doc;
}

export function setParam(doc: Doc, id: string, key: string, value: ParamValue): Doc {
  return updateNode(doc, id, (n) =>
    JSON.stringify(n.params[key]) === JSON.stringify(value) ? n : { ...n, params: { ...n.params, [key]: value } },
  );
}

export function renameNode(doc: Doc, id: string, name: string): Doc {
  return updateNode(doc, id, (n) => (n.name === name ? n : { ...n, name }));
}

/** Moves nodes; only `positions` changes, so node objects keep their identity. */
export function moveNodes(doc: Doc, moves: Readonly<Record<string, XY>>): Doc {
  let changed = false;
  const positions = { ...doc.positions };
  for (const [id, p] of Object.entries(moves)) {
    const old = positions[id];
    if (!old || old.x !== p.x || old.y !== p.y) {
      if (!doc.nodes.some((n) => n.id === id)) continue;
      positions[id] = { x: p.x, y: p.y };
      changed = true;
    }
  }
  return changed ? { ...doc, positions } : doc;
}

export interface ConnectRequest {
  source: string;
  target: string;
  /** Target input port; omitted = the first free one. */
  port?: number;
}

export type ConnectResult = { ok: true; doc: Doc; edgeId: string } | { ok: false; reason: string };

/** Number of input handles a node shows: fixed layers their max, variadic ones one more than connected. */
export function portCount(doc: Doc, nodeId: string): number {
  const node = doc.nodes.find((n) => n.id === nodeId);
  const def = node && getLayer(node.type);
  if (!def) return 0;
  if (def.inputs.max !== Infinity) return def.inputs.max;
  const used = doc.edges.filter((e) => e.target === nodeId).length;
  return Math.max(def.inputs.min, used + 1);
}

export function portName(type: string, port: number): string {
  const def = getLayer(type);
  return def?.inputs.names?.[port] ?? (def && def.inputs.max === 1 ? 'input' : `input ${port + 1}`);
}

/** Checks a new connection; the reason, when refused, is meant for the user. */
export function connect(doc: Doc, req: ConnectRequest): ConnectResult {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const source = byId.get(req.source);
  const target = byId.get(req.target);
  if (!source || !target) return { ok: false, reason: 'That node no longer exists.' };
  const targetDef = getLayer(target.type);
  if (!targetDef) return { ok: false, reason: `${target.name} has an unknown layer type '${target.type}'.` };
  if (source.id === target.id) return { ok: false, reason: `${source.name} cannot feed itself: that would make a cycle.` };
  if (targetDef.inputs.max === 0) return { ok: false, reason: `${target.name} is an ${targetDef.label}: it takes no inputs.` };
  const into = doc.edges.filter((e) => e.target === target.id);
  if (into.some((e) => e.source === source.id) && targetDef.inputs.max !== Infinity) {
    return { ok: false, reason: `${source.name} already feeds ${target.name}.` };
  }
  // Cycle: is source reachable from target?
  const path = findPath(doc, target.id, source.id);
  if (path) {
    const names = path.map((id) => byId.get(id)?.name ?? id);
    return { ok: false, reason: `Refused: that would create a cycle (${[source.name, ...names].join(' → ')}). A model must flow one way.` };
  }
  if (into.length >= targetDef.inputs.max) {
    const n = targetDef.inputs.max;
    return {
      ok: false,
      reason: `Refused: ${target.name} (${targetDef.label}) takes ${n === 1 ? 'one input' : `at most ${n} inputs`} and already has ${into.length === 1 ? 'one' : into.length}. Delete an incoming edge first.`,
    };
  }
  const taken = new Set(into.map((e) => e.targetPort));
  let port = req.port;
  if (port === undefined || port < 0) {
    port = 0;
    while (taken.has(port)) port++;
  }
  if (port >= targetDef.inputs.max) return { ok: false, reason: `${target.name} has no input port ${port + 1}.` };
  if (taken.has(port)) {
    if (targetDef.inputs.max === Infinity) {
      // Variadic: take the next free port instead.
      port = 0;
      while (taken.has(port)) port++;
    } else {
      const other = into.find((e) => e.targetPort === port)!;
      return {
        ok: false,
        reason: `Refused: ${portName(target.type, port)} of ${target.name} is already fed by ${byId.get(other.source)?.name ?? other.source}. Delete that edge first.`,
      };
    }
  }
  const edgeId = freshId(doc, 'e');
  return { ok: true, edgeId, doc: { ...doc, edges: [...doc.edges, { id: edgeId, source: source.id, target: target.id, targetPort: port }] } };
}

/** Node ids of a path from `from` to `to` following edges (both ends included), or null. */
function findPath(doc: Doc, from: string, to: string): string[] | null {
  const out = new Map<string, string[]>();
  for (const e of doc.edges) (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    if (id === to) {
      const path = [id];
      let cur = id;
      while (prev.has(cur)) {
        cur = prev.get(cur)!;
        path.unshift(cur);
      }
      return path;
    }
    for (const t of out.get(id) ?? []) {
      if (!seen.has(t)) {
        seen.add(t);
        prev.set(t, id);
        queue.push(t);
      }
    }
  }
  return null;
}

/** A piece of a graph on the clipboard: nodes, the edges among them, positions. */
export interface Fragment {
  format: 'layerforge-fragment';
  version: 1;
  nodes: DocNode[];
  edges: GraphEdge[];
  positions: Record<string, XY>;
}

export function extractFragment(doc: Doc, nodeIds: Iterable<string>): Fragment | null {
  const ids = new Set(nodeIds);
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  if (nodes.length === 0) return null;
  return {
    format: 'layerforge-fragment',
    version: 1,
    nodes: nodes.map((n) => structuredClone(n) as DocNode),
    edges: doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map((e) => ({ ...e })),
    positions: Object.fromEntries(nodes.map((n) => [n.id, { ...(doc.positions[n.id] ?? { x: 0, y: 0 }) }])),
  };
}

/** Parses clipboard text; null when it is not a fragment we can use. */
export function parseFragment(text: string): Fragment | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const f = raw as Partial<Fragment>;
  if (f.format !== 'layerforge-fragment' || !Array.isArray(f.nodes) || !Array.isArray(f.edges) || typeof f.positions !== 'object') return null;
  const nodes = f.nodes.filter(
    (n): n is DocNode =>
      typeof n === 'object' && n !== null && typeof n.id === 'string' && typeof n.name === 'string' &&
      typeof n.type === 'string' && getLayer(n.type) !== undefined && typeof n.params === 'object' && n.params !== null,
  );
  if (nodes.length === 0) return null;
  const ids = new Set(nodes.map((n) => n.id));
  const edges = f.edges.filter(
    (e): e is GraphEdge =>
      typeof e === 'object' && e !== null && ids.has(e.source) && ids.has(e.target) && Number.isInteger(e.targetPort) && e.targetPort >= 0,
  );
  const positions: Record<string, XY> = {};
  for (const n of nodes) {
    const p = (f.positions as Record<string, XY>)[n.id];
    positions[n.id] = p && Number.isFinite(p.x) && Number.isFinite(p.y) ? { x: p.x, y: p.y } : { x: 0, y: 0 };
  }
  return { format: 'layerforge-fragment', version: 1, nodes, edges, positions };
}

/**
 * Inserts a fragment with fresh ids and unique names. `at` places the fragment's top-left corner;
 * without it the fragment is offset by `offset` from where it was.
 */
export function insertFragment(doc: Doc, fragment: Fragment, place: { at?: XY; offset?: XY }): { doc: Doc; ids: string[] } {
  const idMap = new Map<string, string>();
  let work = doc;
  const newNodes: DocNode[] = [];
  const taken = new Set<string>();
  const xs = fragment.nodes.map((n) => fragment.positions[n.id]?.x ?? 0);
  const ys = fragment.nodes.map((n) => fragment.positions[n.id]?.y ?? 0);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const dx = place.at ? place.at.x - minX : (place.offset?.x ?? 0);
  const dy = place.at ? place.at.y - minY : (place.offset?.y ?? 0);
  const positions = { ...doc.positions };
  for (const n of fragment.nodes) {
    const id = freshId(work, 'n');
    idMap.set(n.id, id);
    const def = getLayer(n.type)!;
    const nameFree = !doc.nodes.some((m) => m.name === n.name) && !taken.has(n.name);
    const name = nameFree ? n.name : uniqueName(doc, def.namePrefix, taken);
    taken.add(name);
    // A pasted node keeps its frozen state but leaves its group (the copy stands outside the nested model).
    const node: DocNode = { id, type: n.type, name, params: structuredClone(n.params) as Record<string, ParamValue>, ...(n.trainable === false ? { trainable: false } : {}) };
    newNodes.push(node);
    const p = fragment.positions[n.id] ?? { x: 0, y: 0 };
    positions[id] = { x: p.x + dx, y: p.y + dy };
    work = { ...work, nodes: [...work.nodes, node] };
  }
  const newEdges: GraphEdge[] = [];
  for (const e of fragment.edges) {
    const id = freshId(work, 'e');
    const edge = { id, source: idMap.get(e.source)!, target: idMap.get(e.target)!, targetPort: e.targetPort };
    newEdges.push(edge);
    work = { ...work, edges: [...work.edges, edge] };
  }
  return {
    ids: newNodes.map((n) => n.id),
    doc: { ...doc, nodes: [...doc.nodes, ...newNodes], edges: [...doc.edges, ...newEdges], positions },
  };
}
