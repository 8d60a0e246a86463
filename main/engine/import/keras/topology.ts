import { analyzeGraph, type Graph, type GraphEdge, type GraphNode } from '../../../../shared/graph';
import { checkParam, getLayer, type ParamValue } from '../../../../shared/layers';
import { newProject } from '../../../../shared/project';
import { ModelImportError } from '../errors';
import { KERAS_IMPORTERS, LayerImportError, type KerasConfig } from '../keras';
import type { ImportFormatId, ImportOptions, ImportResult } from '../types';

/** What importKerasTopology needs besides the topology: the format found and whether weights come with it. */
export type KerasTopologyOptions = ImportOptions & { kind: ImportFormatId; hasWeights: boolean; name?: string };

interface KerasLayer {
  class_name: string;
  name?: string;
  config: KerasConfig;
  inbound_nodes?: unknown[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keras 2 ([[name, node, tensor, kwargs], …]) and Keras 3 ({args, kwargs} with keras_history) inbound nodes -> source names in port order. */
function inboundNames(node: unknown): string[] {
  const names: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number') {
        names.push(v[0]);
        const kw = v[3] as Record<string, unknown> | undefined;
        if (kw && typeof kw === 'object') for (const key of ['value', 'key']) if (kw[key]) visit(kw[key]);
        return;
      }
      v.forEach(visit);
      return;
    }
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const hist = (o.config as Record<string, unknown> | undefined)?.keras_history;
      if (o.class_name === '__keras_tensor__' && Array.isArray(hist)) {
        names.push(String(hist[0]));
        return;
      }
      if ('args' in o) {
        visit(o.args);
        if (o.kwargs && typeof o.kwargs === 'object') for (const key of ['value', 'key']) if ((o.kwargs as Record<string, unknown>)[key]) visit((o.kwargs as Record<string, unknown>)[key]);
      }
    }
  };
  visit(node);
  return names;
}

function batchShape(c: KerasConfig): (number | null)[] | undefined {
  const s = (c.batch_input_shape ?? c.batch_shape) as (number | null)[] | undefined;
  if (s) return s;
  if (Array.isArray(c.input_shape)) return [null, ...(c.input_shape as (number | null)[])];
  return undefined;
}

function inputParams(name: string, shape: (number | null)[], dtype: string, feedsEmbedding: boolean): Record<string, ParamValue> {
  const dims = shape.slice(1);
  if (dims.some((d) => d === null || d === undefined)) throw new LayerImportError(`input shape [${dims.map((d) => d ?? 'None').join(', ')}] has an unknown dimension; Layerforge needs fixed sizes`);
  const d = dims as number[];
  if (d.length === 3) return { kind: 'image', height: d[0]!, width: d[1]!, channels: d[2]! };
  if (d.length === 2) return { kind: 'sequence', timesteps: d[0]!, features: d[1]! };
  if (d.length === 1 && (dtype.startsWith('int') || feedsEmbedding)) return { kind: 'tokens', length: d[0]! };
  if (d.length === 1) return { kind: 'features', features: d[0]! };
  throw new LayerImportError(`${name}: input shape [${d.join(', ')}] is not supported (Layerforge inputs are images H×W×C, sequences T×F, token ids T or feature vectors N)`);
}

/** Lays nodes out in rows by topological depth (the canvas can re-layout with elkjs). */
function layout(nodes: GraphNode[], edges: GraphEdge[]): void {
  const depth = new Map<string, number>();
  const preds = new Map<string, string[]>();
  for (const e of edges) (preds.get(e.target) ?? preds.set(e.target, []).get(e.target)!).push(e.source);
  const d = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const v = Math.max(-1, ...(preds.get(id) ?? []).map((p) => d(p, seen))) + 1;
    depth.set(id, v);
    return v;
  };
  const rows = new Map<number, GraphNode[]>();
  for (const n of nodes) (rows.get(d(n.id)) ?? rows.set(d(n.id), []).get(d(n.id))!).push(n);
  for (const [row, ns] of rows) ns.forEach((n, i) => (n.position = { x: (i - (ns.length - 1) / 2) * 240, y: row * 110 }));
}

/**
 * Converts a Keras / TensorFlow.js topology (a full model.json, a `model_config`, a Keras 2/3 to_json()
 * object or a Sequential bare list) into a project. Every layer we cannot represent is named in one
 * ModelImportError.
 */
export function importKerasTopology(modelConfig: unknown, options: KerasTopologyOptions): ImportResult {
  try {
    return importTopology(modelConfig, options);
  } catch (error) {
    // Fields of the wrong type deep inside a topology surface as TypeErrors; report them as what they are.
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new ModelImportError(`model.json is malformed (a field has the wrong type or is missing): ${error.message}`);
    }
    throw error;
  }
}

function importTopology(json: unknown, options: KerasTopologyOptions): ImportResult {
  const projectName = options.name ?? 'Imported model';
  if (!json || typeof json !== 'object') throw new ModelImportError('model.json is not a JSON object');
  const root = json as Record<string, unknown>;
  let topo = (root.modelTopology ?? root) as Record<string, unknown>;
  if (topo.model_config) topo = topo.model_config as Record<string, unknown>;
  const cls = topo.class_name;
  if (cls !== 'Sequential' && cls !== 'Model' && cls !== 'Functional') {
    throw new ModelImportError(`model.json: expected a Keras Sequential or Functional model topology, got class_name ${JSON.stringify(cls)}`);
  }
  const cfg = topo.config as Record<string, unknown> | unknown[];
  const rawLayers = (Array.isArray(cfg) ? cfg : (cfg.layers as unknown[])) as KerasLayer[];
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw new ModelImportError('model.json: the topology has no layers');

  // Normalise to (name, class, config, inputs) whatever the topology style.
  const layers: { name: string; className: string; config: KerasConfig; inputs: string[] }[] = [];
  const failures: { name: string; className: string; reason: string }[] = [];
  if (cls === 'Sequential') {
    let prev: string | undefined;
    rawLayers.forEach((l, i) => {
      const name = String(l.config?.name ?? l.name ?? `layer_${i}`);
      if (i === 0 && l.class_name !== 'InputLayer') {
        const shape = batchShape(l.config ?? {});
        if (!shape) throw new ModelImportError(`model.json: the first layer (${name}) does not say its input shape`);
        layers.push({ name: 'input_1', className: 'InputLayer', config: { batch_input_shape: shape, dtype: l.config.dtype ?? 'float32' }, inputs: [] });
        prev = 'input_1';
      }
      layers.push({ name, className: l.class_name, config: l.config ?? {}, inputs: prev ? [prev] : [] });
      prev = name;
    });
  } else {
    for (const l of rawLayers) {
      const name = String(l.name ?? l.config?.name);
      const calls = l.inbound_nodes ?? [];
      if (calls.length > 1) failures.push({ name, className: l.class_name, reason: `it is called ${calls.length} times (shared layers are not supported)` });
      layers.push({ name, className: l.class_name, config: l.config ?? {}, inputs: calls.length ? inboundNames(calls[0]) : [] });
    }
  }

  // Names: keep them, but make them valid and unique node names.
  const rename = new Map<string, string>();
  const used = new Set<string>();
  const warnings: string[] = [];
  for (const l of layers) {
    let n = NAME_RE.test(l.name) ? l.name : l.name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([^A-Za-z_])/, '_$1');
    for (let i = 2; used.has(n); i++) n = `${n}_${i}`;
    if (n !== l.name) warnings.push(`layer '${l.name}' is named '${n}' (node names are letters, digits and _)`);
    used.add(n);
    rename.set(l.name, n);
  }

  const consumers = new Map<string, string[]>();
  for (const l of layers) for (const i of l.inputs) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(l.className);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const l of layers) {
    const id = rename.get(l.name)!;
    try {
      let type: string;
      let params: Record<string, ParamValue>;
      if (l.className === 'InputLayer') {
        const shape = batchShape(l.config);
        if (!shape) throw new LayerImportError('the InputLayer has no batch_input_shape');
        type = 'Input';
        params = inputParams(l.name, shape, String(l.config.dtype ?? 'float32'), (consumers.get(l.name) ?? []).includes('Embedding'));
      } else {
        const importer = KERAS_IMPORTERS[l.className];
        if (!importer) throw new LayerImportError(`Layerforge has no layer type for Keras class ${l.className}`);
        const m = importer(l.config);
        type = m.type;
        params = m.params;
        for (const w of m.warnings ?? []) warnings.push(`${id}: ${w}`);
      }
      const def = getLayer(type);
      if (!def) throw new LayerImportError(`Layerforge has no ${type} layer yet`);
      const kept: Record<string, ParamValue> = {};
      for (const [k, v] of Object.entries(params)) {
        const spec = def.params[k];
        if (!spec) {
          warnings.push(`${id}: ${k}=${JSON.stringify(v)} ignored (not a ${type} param)`);
          continue;
        }
        if (spec.when && !spec.when(params)) continue;
        const problem = checkParam(spec, v);
        if (problem) throw new LayerImportError(`${k} ${problem}`);
        kept[k] = v;
      }
      nodes.push({ id, type, name: id, params: kept, position: { x: 0, y: 0 } });
    } catch (error) {
      if (!(error instanceof LayerImportError)) throw error;
      failures.push({ name: l.name, className: l.className, reason: error.message });
    }
    l.inputs.forEach((src, port) => {
      if (!rename.has(src)) failures.push({ name: l.name, className: l.className, reason: `its input '${src}' is not a layer of the model` });
      else edges.push({ id: `e_${rename.get(src)}_${id}_${port}`, source: rename.get(src)!, target: id, targetPort: port });
    });
  }
  if (failures.length) {
    throw new ModelImportError(
      `cannot import: ${failures.length} layer${failures.length === 1 ? '' : 's'} not supported: ${failures.map((f) => `${f.name} (${f.className}): ${f.reason}`).join('; ')}`,
      failures,
    );
  }
  const graph: Graph = { nodes, edges };
  layout(nodes, edges);
  const analysis = analyzeGraph(graph);
  if (!analysis.valid) {
    throw new ModelImportError(`the imported graph is not valid: ${analysis.problems.filter((p) => p.severity === 'error').map((p) => p.message).join('; ')}`);
  }
  const project = { ...newProject(projectName), graph };
  const renamed = Object.fromEntries([...rename].filter(([a, b]) => a !== b));
  return { project, warnings, hasWeights: options.hasWeights, kind: options.kind, renamed, assumed: [] };
}

