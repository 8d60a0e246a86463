import { checkParam, getLayer, ShapeError, type AnyLayerDef, type ParamValue, type Shape } from '../layers';
import { product } from '../layers/shapeUtils';
import type { Analysis, Graph, GraphEdge, NodeInfo, Problem } from './types';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Params with defaults filled in, so older files and partial edits still infer. */
export function resolvedParams(def: AnyLayerDef, params: Record<string, ParamValue>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [key, spec] of Object.entries(def.params)) out[key] = key in params ? params[key]! : spec.default;
  return out;
}

/**
 * Validates a graph and infers every shape, parameter count and FLOPs in one pass (O(nodes + edges)).
 * Never throws: every problem is reported, naming the node (and field or edge) at fault.
 */
export function analyzeGraph(graph: Graph): Analysis {
  const problems: Problem[] = [];
  const nodes: Record<string, NodeInfo> = {};
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  /** How messages name a node: its name, or '(unnamed)' so every message still says which node. */
  const label = (n: { name: string }) => n.name || '(unnamed)';
  const nameOf = (id: string) => {
    const n = byId.get(id);
    return n ? label(n) : id;
  };

  // Names: unique and usable as layer names.
  const seen = new Map<string, string>();
  for (const n of graph.nodes) {
    if (!NAME_RE.test(n.name)) {
      problems.push({
        code: 'bad-name', nodeId: n.id, field: 'name', severity: 'error',
        message: `${label(n)}: name must start with a letter or _ and contain only letters, digits and _`,
      });
    } else if (seen.has(n.name)) {
      problems.push({ code: 'duplicate-name', nodeId: n.id, field: 'name', severity: 'error', message: `${label(n)}: another node already has this name` });
    }
    seen.set(n.name, n.id);
  }

  // Edges into each node by port; dangling edges.
  const incoming = new Map<string, GraphEdge[]>();
  const outgoing = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!byId.has(e.source) || !byId.has(e.target)) {
      problems.push({ code: 'dangling-edge', edgeId: e.id, severity: 'error', message: `edge ${e.id} connects a node that does not exist` });
      continue;
    }
    (incoming.get(e.target) ?? incoming.set(e.target, []).get(e.target)!).push(e);
    (outgoing.get(e.source) ?? outgoing.set(e.source, []).get(e.source)!).push(e.target);
  }

  // Topological order (Kahn); whatever remains is in or behind a cycle.
  const indegree = new Map(graph.nodes.map((n) => [n.id, incoming.get(n.id)?.length ?? 0]));
  const queue = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const t of outgoing.get(id) ?? []) {
      const d = indegree.get(t)! - 1;
      indegree.set(t, d);
      if (d === 0) queue.push(t);
    }
  }
  const ordered = new Set(order);
  if (order.length < graph.nodes.length) {
    const inCycle = graph.nodes.filter((n) => !ordered.has(n.id));
    const shown = inCycle.slice(0, 8).map(label).join(' -> ') + (inCycle.length > 8 ? ` -> … (${inCycle.length} nodes)` : '');
    for (const n of inCycle) {
      problems.push({
        code: 'cycle', nodeId: n.id, severity: 'error',
        message: `${label(n)}: is part of a cycle (${shown}); a model must flow one way`,
      });
    }
  }

  // Shapes in topological order.
  const shapes = new Map<string, Shape>();
  for (const id of order) {
    const node = byId.get(id)!;
    const info: NodeInfo = { params: 0, flops: 0, activationBytes: 0 };
    nodes[id] = info;
    const def = getLayer(node.type);
    if (!def) {
      problems.push({ code: 'unknown-type', nodeId: id, field: 'type', severity: 'error', message: `${label(node)}: unknown layer type '${node.type}'` });
      continue;
    }
    const params = resolvedParams(def, node.params);
    let paramsOk = true;
    for (const [key, spec] of Object.entries(def.params)) {
      if (spec.when && !spec.when(params)) continue;
      const msg = checkParam(spec, params[key]);
      if (msg) {
        paramsOk = false;
        problems.push({ code: 'bad-param', nodeId: id, field: key, severity: 'error', message: `${label(node)}: ${key} ${msg}` });
      }
    }
    if (paramsOk && def.checkParams) {
      for (const [field, msg] of def.checkParams(params as never)) {
        paramsOk = false;
        problems.push({ code: 'bad-param', nodeId: id, field, severity: 'error', message: `${label(node)}: ${msg}` });
      }
    }

    const edges = [...(incoming.get(id) ?? [])].sort((a, b) => a.targetPort - b.targetPort);
    const portsOk = checkPorts(label(node), id, def, edges, problems, nameOf);
    if (!paramsOk || !portsOk) continue;
    const inputShapes: Shape[] = [];
    for (const e of edges) {
      const s = shapes.get(e.source);
      if (!s) break;
      inputShapes.push(s);
    }
    if (inputShapes.length < edges.length) continue; // an upstream node failed; its own problem says why
    try {
      const out = def.outputShape(inputShapes, params as never);
      if (out.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new ShapeError(`would produce an empty output (${out.join('×')})`);
      }
      shapes.set(id, out);
      info.shape = out;
      info.params = def.paramCount(inputShapes, params as never, out);
      info.flops = def.flops(inputShapes, params as never, out);
      info.activationBytes = product(out) * 4;
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      const edge = error.port !== undefined ? edges[error.port] : undefined;
      problems.push({
        code: 'shape', nodeId: id, field: error.field, edgeId: edge?.id, severity: 'error',
        message: `${label(node)}: ${error.message}`,
      });
    }
  }

  // Whole-graph checks.
  const inputs = graph.nodes.filter((n) => n.type === 'Input').map((n) => n.id);
  const outputs = graph.nodes.filter((n) => n.type !== 'Input' && !(outgoing.get(n.id)?.length)).map((n) => n.id);
  if (graph.nodes.length > 0 && inputs.length === 0) {
    problems.push({ code: 'no-input', severity: 'error', message: 'the model has no Input node: add one where data enters' });
  }
  if (graph.nodes.length === 0 || (inputs.length > 0 && outputs.length === 0)) {
    problems.push({ code: 'no-output', severity: 'error', message: 'the model has no output: the last layer must not feed anything' });
  }
  // Nodes not reachable from any Input.
  const reached = new Set<string>(inputs);
  for (const id of order) if (reached.has(id)) for (const t of outgoing.get(id) ?? []) reached.add(t);
  for (const n of graph.nodes) {
    if (!reached.has(n.id) && n.type !== 'Input' && ordered.has(n.id) && (incoming.get(n.id)?.length ?? 0) > 0) {
      problems.push({ code: 'unreachable', nodeId: n.id, severity: 'error', message: `${label(n)}: no data reaches it from an Input` });
    }
  }
  for (const id of inputs) {
    if (!(outgoing.get(id)?.length)) {
      problems.push({ code: 'unreachable', nodeId: id, severity: 'warning', message: `${nameOf(id)}: this Input feeds nothing` });
    }
  }

  const totals = { params: 0, flops: 0, activationBytes: 0 };
  for (const info of Object.values(nodes)) {
    totals.params += info.params;
    totals.flops += info.flops;
    totals.activationBytes += info.activationBytes;
  }
  return { order, nodes, problems, totals, inputs, outputs, valid: !problems.some((p) => p.severity === 'error') };
}

function checkPorts(
  name: string,
  id: string,
  def: AnyLayerDef,
  edges: GraphEdge[],
  problems: Problem[],
  nameOf: (id: string) => string,
): boolean {
  let ok = true;
  const portName = (i: number) => def.inputs.names?.[i] ?? `input ${i + 1}`;
  const used = new Map<number, GraphEdge>();
  for (const e of edges) {
    const prev = used.get(e.targetPort);
    if (prev) {
      problems.push({
        code: 'port-taken', nodeId: id, edgeId: e.id, severity: 'error',
        message: `${name}: ${portName(e.targetPort)} is fed by both ${nameOf(prev.source)} and ${nameOf(e.source)}`,
      });
      ok = false;
    }
    used.set(e.targetPort, e);
  }
  if (edges.length > def.inputs.max) {
    problems.push({
      code: 'extra-input', nodeId: id, edgeId: edges[edges.length - 1]!.id, severity: 'error',
      message: def.inputs.max === 0
        ? `${name}: ${def.label} takes no inputs, but ${edges.length} ${edges.length === 1 ? 'is' : 'are'} connected`
        : `${name}: takes at most ${def.inputs.max} input${def.inputs.max === 1 ? '' : 's'}, but ${edges.length} are connected`,
    });
    ok = false;
  } else if (edges.length < def.inputs.min) {
    problems.push({
      code: 'missing-input', nodeId: id, severity: 'error',
      message: def.inputs.min === 1
        ? `${name}: has no input; connect a layer to it`
        : `${name}: needs at least ${def.inputs.min} inputs, has ${edges.length}`,
    });
    ok = false;
  } else if (edges.some((e, i) => e.targetPort !== i)) {
    const missing = edges.findIndex((e, i) => e.targetPort !== i);
    problems.push({ code: 'missing-input', nodeId: id, severity: 'error', message: `${name}: ${portName(missing)} is not connected` });
    ok = false;
  }
  return ok;
}
