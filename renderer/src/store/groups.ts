/**
 * Node groups (imported nested models) and fine-tuning edits on the document, all pure: collapse and
 * expand a group, which box stands for a node while its group is collapsed, freeze / unfreeze nodes and
 * groups, and "replace the head" (drop what follows a node, put a new classifier there, freeze the base).
 */
import type { NodeGroup, XY } from '../../../shared/graph';
import { defaultParams, getLayer, type ParamValue, type Shape } from '../../../shared/layers';
import { freshId, removeItems, uniqueName, type Doc, type DocNode } from './document';

/** React Flow id of a collapsed group's box: not a node id of the document (those never contain ':'). */
export const GROUP_BOX_PREFIX = 'group:';
export const groupBoxId = (groupId: string): string => `${GROUP_BOX_PREFIX}${groupId}`;
export const groupIdOfBox = (flowId: string): string | null => (flowId.startsWith(GROUP_BOX_PREFIX) ? flowId.slice(GROUP_BOX_PREFIX.length) : null);

export function findGroup(doc: Pick<Doc, 'groups'>, groupId: string): NodeGroup | undefined {
  return doc.groups?.find((g) => g.id === groupId);
}

/** The group and every group inside it (through `parent`), outermost first. */
export function groupAndInner(doc: Pick<Doc, 'groups'>, groupId: string): Set<string> {
  const out = new Set([groupId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const g of doc.groups ?? []) {
      if (g.parent !== undefined && out.has(g.parent) && !out.has(g.id)) {
        out.add(g.id);
        grew = true;
      }
    }
  }
  return out;
}

/** Ids of the nodes in a group, its inner groups included. */
export function memberIds(doc: Pick<Doc, 'groups' | 'nodes'>, groupId: string): string[] {
  const inside = groupAndInner(doc, groupId);
  return doc.nodes.filter((n) => n.group !== undefined && inside.has(n.group)).map((n) => n.id);
}

/**
 * For each group, the outermost collapsed group that hides it (itself when collapsed), or null when it is
 * drawn open. A group inside a collapsed group is hidden with it.
 */
export function collapsedRoots(doc: Pick<Doc, 'groups'>): Map<string, string | null> {
  const byId = new Map((doc.groups ?? []).map((g) => [g.id, g]));
  const memo = new Map<string, string | null>();
  const rootOf = (id: string, depth: number): string | null => {
    if (memo.has(id)) return memo.get(id)!;
    const g = byId.get(id);
    if (!g || depth > byId.size) return null; // unknown, or a parent cycle (refused by the project schema)
    const outer = g.parent !== undefined ? rootOf(g.parent, depth + 1) : null;
    const root = outer ?? (g.collapsed ? g.id : null);
    memo.set(id, root);
    return root;
  };
  for (const id of byId.keys()) rootOf(id, 0);
  return memo;
}

/** Node id -> the id of the collapsed group drawn in its place (only nodes that are hidden). */
export function hiddenNodes(doc: Pick<Doc, 'groups' | 'nodes'>): Map<string, string> {
  const out = new Map<string, string>();
  if (!doc.groups?.some((g) => g.collapsed)) return out;
  const roots = collapsedRoots(doc);
  for (const n of doc.nodes) {
    const root = n.group !== undefined ? roots.get(n.group) : null;
    if (root) out.set(n.id, root);
  }
  return out;
}

function mapGroups(doc: Doc, change: (g: NodeGroup) => NodeGroup): Doc {
  let changed = false;
  const groups = (doc.groups ?? []).map((g) => {
    const next = change(g);
    if (next !== g) changed = true;
    return next;
  });
  return changed ? { ...doc, groups } : doc;
}

/** Collapses a group to one box (true) or draws its nodes again (false). */
export function setGroupCollapsed(doc: Doc, groupId: string, collapsed: boolean): Doc {
  if (!findGroup(doc, groupId)) throw new Error(`no group '${groupId}' in this model`);
  return mapGroups(doc, (g) => (g.id !== groupId || Boolean(g.collapsed) === collapsed ? g : collapsed ? { ...g, collapsed: true } : withoutCollapsed(g)));
}

function withoutCollapsed(g: NodeGroup): NodeGroup {
  const { collapsed: _c, ...rest } = g;
  return rest;
}

/** Collapses (or expands) every group that has no parent. */
export function setAllCollapsed(doc: Doc, collapsed: boolean): Doc {
  return mapGroups(doc, (g) => (g.parent !== undefined || Boolean(g.collapsed) === collapsed ? g : collapsed ? { ...g, collapsed: true } : withoutCollapsed(g)));
}

export function isFrozen(n: Pick<DocNode, 'trainable'>): boolean {
  return n.trainable === false;
}

/** Sets nodes trainable or frozen; only the changed nodes are new objects. */
export function setTrainable(doc: Doc, ids: Iterable<string>, trainable: boolean): Doc {
  const set = new Set(ids);
  let changed = false;
  const nodes = doc.nodes.map((n) => {
    if (!set.has(n.id) || isFrozen(n) === !trainable) return n;
    changed = true;
    if (trainable) {
      const { trainable: _t, ...rest } = n;
      return rest;
    }
    return { ...n, trainable: false };
  });
  return changed ? { ...doc, nodes } : doc;
}

/** Freezes (or unfreezes) every node of a group, inner groups included. */
export function setGroupTrainable(doc: Doc, groupId: string, trainable: boolean): Doc {
  if (!findGroup(doc, groupId)) throw new Error(`no group '${groupId}' in this model`);
  return setTrainable(doc, memberIds(doc, groupId), trainable);
}

/** Trainable and frozen parameter totals, from per-node counts (analysis.nodes[id].params). */
export function paramSplit(doc: Pick<Doc, 'nodes'>, paramsOf: (id: string) => number): { trainable: number; frozen: number } {
  let trainable = 0;
  let frozen = 0;
  for (const n of doc.nodes) {
    const p = paramsOf(n.id);
    if (isFrozen(n)) frozen += p;
    else trainable += p;
  }
  return { trainable, frozen };
}

function walk(doc: Pick<Doc, 'edges'>, from: string, dir: 'down' | 'up'): Set<string> {
  const next = new Map<string, string[]>();
  for (const e of doc.edges) {
    const [a, b] = dir === 'down' ? [e.source, e.target] : [e.target, e.source];
    (next.get(a) ?? next.set(a, []).get(a)!).push(b);
  }
  const seen = new Set<string>();
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    for (const m of next.get(queue[i]!) ?? []) {
      if (!seen.has(m) && m !== from) {
        seen.add(m);
        queue.push(m);
      }
    }
  }
  return seen;
}

/** What the new head ends with: the dataset's classes and the task's output activation. */
export interface HeadSpec {
  units: number;
  activation: ParamValue;
}

export interface ReplacedHead {
  doc: Doc;
  /** Ids of the nodes added (pooling where needed, then the Dense). */
  added: string[];
  /** Names of the nodes removed (what followed the chosen node). */
  removed: string[];
  /** How many nodes are frozen now (the chosen node and everything before it). */
  frozen: number;
}

/** The layer that turns an output of this shape into a vector for the new Dense, or null when it is one already. */
export function poolingFor(shape: Shape | null): string | null {
  if (!shape || shape.length === 1) return null;
  if (shape.length === 3) return 'GlobalAvgPool2D';
  if (shape.length === 2) return 'GlobalAvgPool1D';
  return 'Flatten';
}

/**
 * "Replace the head" at `nodeId`: removes every node that follows it (the old classifier), adds a new head
 * on its output (global average pooling when the output is an image map or a sequence, then a Dense with
 * the dataset's classes) and freezes the chosen node and everything before it.
 * `shape` is the chosen node's output shape (per sample) from shape inference.
 */
export function replaceHead(doc: Doc, nodeId: string, shape: Shape | null, head: HeadSpec): ReplacedHead {
  const node = doc.nodes.find((n) => n.id === nodeId);
  if (!node) throw new Error(`no node '${nodeId}' in this model`);
  const after = walk(doc, nodeId, 'down');
  const removed = doc.nodes.filter((n) => after.has(n.id)).map((n) => n.name);
  let work = removeItems(doc, after);
  const base = [nodeId, ...walk(work, nodeId, 'up')];
  work = setTrainable(work, base, false);
  const at: XY = work.positions[nodeId] ?? { x: 0, y: 0 };
  const added: string[] = [];
  const taken = new Set<string>();
  const add = (type: string, name: string, params: Record<string, ParamValue>, dy: number) => {
    const def = getLayer(type);
    if (!def) throw new Error(`replaceHead: unknown layer type '${type}'`);
    const id = freshId(work, 'n');
    const free = !work.nodes.some((n) => n.name === name) && !taken.has(name);
    const finalName = free ? name : uniqueName(work, name, taken);
    taken.add(finalName);
    const from = added.length ? added[added.length - 1]! : nodeId;
    const edgeId = freshId({ ...work, nodes: [...work.nodes, { id, type, name: finalName, params: {} }] }, 'e');
    work = {
      ...work,
      nodes: [...work.nodes, { id, type, name: finalName, params: { ...defaultParams(def), ...params } }],
      edges: [...work.edges, { id: edgeId, source: from, target: id, targetPort: 0 }],
      positions: { ...work.positions, [id]: { x: at.x, y: at.y + dy } },
    };
    added.push(id);
  };
  const pool = poolingFor(shape);
  if (pool) add(pool, 'head_pool', {}, 130);
  add('Dense', 'head', { units: head.units, activation: head.activation }, pool ? 260 : 130);
  return { doc: work, added, removed, frozen: base.length };
}

/** Where a collapsed group's box sits: the top-left corner of its nodes' positions. */
export function groupOrigin(doc: Pick<Doc, 'groups' | 'nodes' | 'positions'>, groupId: string): XY | null {
  let x = Infinity;
  let y = Infinity;
  for (const id of memberIds(doc, groupId)) {
    const p = doc.positions[id];
    if (!p) continue;
    x = Math.min(x, p.x);
    y = Math.min(y, p.y);
  }
  return Number.isFinite(x) ? { x, y } : null;
}

/** Moves of group boxes (React Flow positions of `group:<id>`) as moves of their nodes, by the same offset. */
export function boxMoves(doc: Doc, moves: Readonly<Record<string, XY>>): Record<string, XY> {
  const out: Record<string, XY> = {};
  for (const [flowId, p] of Object.entries(moves)) {
    const groupId = groupIdOfBox(flowId);
    if (groupId === null) {
      out[flowId] = p;
      continue;
    }
    const origin = groupOrigin(doc, groupId);
    if (!origin) continue;
    const dx = p.x - origin.x;
    const dy = p.y - origin.y;
    for (const id of memberIds(doc, groupId)) {
      const q = doc.positions[id];
      if (q) out[id] = { x: q.x + dx, y: q.y + dy };
    }
  }
  return out;
}
