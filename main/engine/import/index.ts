import type * as tfjs from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { analyzeGraph, type Graph, type GraphEdge, type GraphNode } from '../../../shared/graph';
import { checkParam, getLayer, type ParamValue } from '../../../shared/layers';
import { newProject, parseProjectText, PROJECT_FORMAT, type ProjectFile } from '../../../shared/project';
import { compileGraph } from '../compile';
import { registerCustomLayers } from '../compile/custom';
import { loadModelFolder, type ModelFolder } from '../export/modelFolder';
import type { ImportFormatId } from './types';
import { ModelImportError } from './errors';
export { ModelImportError } from './errors';
import { KERAS_IMPORTERS, LayerImportError, type KerasConfig } from './keras';

export interface ImportResult {
  project: ProjectFile;
  /** Behaviour changes worth telling the user (one line each). */
  warnings: string[];
  /** True when the source lists trained weights (a weightsManifest or a Layerforge model folder). */
  hasWeights: boolean;
  /** The format found: a TensorFlow.js model.json is 'tfjs-layers' (it has a modelTopology), Keras to_json() output 'keras-json'. */
  kind: ImportFormatId;
  /** Original layer name -> node name, where they differ (names made valid / unique). */
  renamed: Record<string, string>;
}

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
 * Converts a TensorFlow.js / Keras model.json (Sequential or Functional topology, with or without
 * weights) into a project. Every layer we cannot represent is named in one ModelImportError.
 */
export function importKerasModelJson(json: unknown, projectName = 'Imported model'): ImportResult {
  try {
    return importTopology(json, projectName);
  } catch (error) {
    // Fields of the wrong type deep inside a topology surface as TypeErrors; report them as what they are.
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new ModelImportError(`model.json is malformed (a field has the wrong type or is missing): ${error.message}`);
    }
    throw error;
  }
}

function importTopology(json: unknown, projectName: string): ImportResult {
  if (!json || typeof json !== 'object') throw new ModelImportError('model.json is not a JSON object');
  const root = json as Record<string, unknown>;
  let topo = (root.modelTopology ?? root) as Record<string, unknown>;
  if (topo.model_config) topo = topo.model_config as Record<string, unknown>;
  const cls = topo.class_name;
  if (cls !== 'Sequential' && cls !== 'Model' && cls !== 'Functional') {
    throw new ModelImportError(`model.json: expected a Keras Sequential or Functional model topology, got class_name ${JSON.stringify(cls)}`);
  }
  const hasWeights = Array.isArray(root.weightsManifest) && (root.weightsManifest as { weights?: unknown[] }[]).some((g) => (g.weights ?? []).length > 0);
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
  return { project, warnings, hasWeights, kind: root.modelTopology ? 'tfjs-layers' : 'keras-json', renamed };
}

/**
 * Imports a path: a Layerforge project file, a Layerforge model folder (project.json + model.json, as
 * `train --out` and the tfjs export write), a folder with a model.json, or a model.json file.
 */
export async function importModelPath(path: string): Promise<ImportResult> {
  let file = path;
  if ((await stat(path)).isDirectory()) {
    const project = join(path, 'project.json');
    try {
      const text = await readFile(project, 'utf8');
      const p = parseProjectText(text, project);
      let hasWeights = false;
      try {
        await stat(join(path, 'model.json'));
        hasWeights = true;
      } catch {
        // a project folder without a model
      }
      return { project: p, warnings: [], hasWeights, kind: 'layerforge-model-folder', renamed: {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    file = join(path, 'model.json');
  }
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelImportError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (json && typeof json === 'object' && (json as { format?: unknown }).format === PROJECT_FORMAT) {
    return { project: parseProjectText(text, file), warnings: [], hasWeights: false, kind: 'layerforge-project', renamed: {} };
  }
  const name = basename(file) === 'model.json' ? basename(dirname(file)) || 'Imported model' : basename(file).replace(/\.json$/, '');
  return importKerasModelJson(json, name);
}

/** Reads a model.json at any file name plus the weight shards its manifest lists (paths relative to it). */
function modelJsonHandler(tf: typeof tfjs, file: string): tfjs.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(file, 'utf8')) as { modelTopology: object; weightsManifest?: { paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }[] };
      const specs: tfjs.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const buf = await readFile(join(dirname(file), p));
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
        }
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) };
    },
  };
}

/**
 * Imports a path *with* its trained weights: the project plus a compiled model holding them, ready for
 * saveModelFolder (then evaluate, train further or export). Weights are copied layer by layer by name;
 * a layer whose weights do not fit is named in the error.
 */
export async function importWithWeights(tf: typeof tfjs, path: string): Promise<{ result: ImportResult; folder: ModelFolder }> {
  const result = await importModelPath(path);
  if (!result.hasWeights) throw new ModelImportError(`${path} has no trained weights (no weightsManifest / model.json beside the project)`);
  const isDir = (await stat(path)).isDirectory();
  if (result.kind === 'layerforge-model-folder') return { result, folder: await loadModelFolder(tf, path) };
  registerCustomLayers(tf);
  const source = await tf.loadLayersModel(modelJsonHandler(tf, isDir ? join(path, 'model.json') : path));
  const { model } = compileGraph(tf, result.project.graph);
  const bad: { name: string; className: string; reason: string }[] = [];
  try {
    for (const layer of source.layers) {
      const weights = layer.getWeights();
      if (!weights.length) continue;
      const target = model.getLayer(result.renamed[layer.name] ?? layer.name);
      const want = target.getWeights(); // the variables themselves: never dispose
      const mismatch = weights.length !== want.length || weights.some((w, i) => w.shape.join('x') !== want[i]!.shape.join('x'));
      if (mismatch) {
        bad.push({ name: layer.name, className: layer.getClassName(), reason: `weights [${weights.map((w) => w.shape.join('x')).join(', ')}] do not fit the imported layer` });
        continue;
      }
      target.setWeights(weights);
    }
  } finally {
    source.dispose();
  }
  if (bad.length) {
    model.dispose();
    throw new ModelImportError(`cannot import the weights of ${bad.length} layer${bad.length === 1 ? '' : 's'}: ${bad.map((b) => `${b.name} (${b.className}): ${b.reason}`).join('; ')}`, bad);
  }
  return { result, folder: { project: result.project, model, metrics: { importedFrom: path } } };
}

export { LayerImportError } from './keras';
