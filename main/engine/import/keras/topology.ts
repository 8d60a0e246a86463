import { analyzeGraph, type Graph, type GraphEdge, type GraphNode, type NodeGroup } from '../../../../shared/graph';
import { checkParam, getLayer, type ParamValue } from '../../../../shared/layers';
import { newProject } from '../../../../shared/project';
import type { UnknownDimension } from '../../../../shared/api/importModel';
import { ModelImportError } from '../errors';
import { KERAS_IMPORTERS, LayerImportError, UNKNOWN_KERAS, type KerasConfig, type KerasSource } from '../keras';
import type { ImportFormatId, ImportOptions, ImportResult } from '../types';

/**
 * Keras / TensorFlow.js topologies -> the format-neutral graph. Reads every serialised form Keras and
 * tfjs write: a full TensorFlow.js model.json (`modelTopology`, `format` key present or not), a Keras
 * 2 `model_config`, Keras 2 and Keras 3 `model.to_json()` objects, a Keras 3 `.keras` config.json and a
 * Sequential's bare layer list; Keras 2 `inbound_nodes` lists and Keras 3 `args` / `__keras_tensor__`
 * calls; `batch_input_shape` / `batch_shape` / InputLayer / `build_input_shape`; `DTypePolicy` dtypes.
 * Nested models (a Functional or Sequential used as a layer, e.g. a Keras application as a base) are
 * flattened: their layers become nodes of one NodeGroup (nested groups through `parent`), their inputs
 * wired to the outer call's sources and their outputs to its consumers.
 */

/**
 * What importKerasTopology needs besides the topology: the format found, whether weights come with it, and
 * the Keras version the file states outside the topology (an .h5's keras_version attribute, a .keras
 * archive's metadata.json), if any.
 */
export type KerasTopologyOptions = ImportOptions & { kind: ImportFormatId; hasWeights: boolean; name?: string; kerasVersion?: string };

type Failure = { name: string; className: string; reason: string };

/** A tensor: output `tensor` of the flattened layer (or nested model) with key `layer`. */
interface Ref {
  layer: string;
  tensor: number;
}

/** A layer of the flattened model. `key` is unique over the whole model (the Keras name, or outer/inner on a clash). */
interface Flat {
  key: string;
  name: string;
  className: string;
  config: KerasConfig;
  inputs: Ref[];
  group?: string;
  trainable: boolean;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Default sizes for unknown input dimensions, by what the dimension is. */
export const UNKNOWN_DIM_DEFAULTS = { 'sequence length': 128, height: 224, width: 224, channels: 3, features: 32 } as const;
type DimLabel = keyof typeof UNKNOWN_DIM_DEFAULTS;

/** A Keras dtype: a string, or (Keras 3) a DTypePolicy / (Keras 2) Policy object naming it. */
function dtypeName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isObject(v)) {
    const c = v.config;
    if (isObject(c) && typeof c.name === 'string') return c.name;
    if (typeof v.name === 'string') return v.name;
  }
  return 'float32';
}

/** One Keras tensor reference: Keras 2 [name, node, tensor, kwargs?] or Keras 3 __keras_tensor__ (keras_history). */
function tensorRef(v: unknown): { name: string; tensor: number } | undefined {
  if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number') return { name: v[0], tensor: Number(v[2] ?? 0) };
  if (isObject(v) && v.class_name === '__keras_tensor__' && isObject(v.config) && Array.isArray(v.config.keras_history)) {
    const h = v.config.keras_history;
    return { name: String(h[0]), tensor: Number(h[2] ?? 0) };
  }
  return undefined;
}

/** Keras 2 ([[name, node, tensor, kwargs], …]) and Keras 3 ({args, kwargs}) inbound node -> source tensors in port order. */
function inboundRefs(node: unknown): { name: string; tensor: number }[] {
  const refs: { name: string; tensor: number }[] = [];
  const kwargTensors = (kw: unknown): void => {
    if (!isObject(kw)) return;
    for (const key of ['query', 'value', 'key']) if (kw[key] !== undefined && kw[key] !== null) visit(kw[key]);
  };
  const visit = (v: unknown): void => {
    const ref = tensorRef(v);
    if (ref) {
      refs.push(ref);
      if (Array.isArray(v)) kwargTensors(v[3]);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (isObject(v) && 'args' in v) {
      visit(v.args);
      kwargTensors(v.kwargs);
    }
  };
  visit(node);
  return refs;
}

/** input_layers / output_layers: [[name, node, tensor], …], or (Keras 3, one tensor) a flat [name, node, tensor]. */
function layerTriples(v: unknown): { name: string; tensor: number }[] {
  if (!Array.isArray(v)) {
    if (isObject(v)) return Object.values(v).flatMap(layerTriples); // Keras 3 dict outputs
    return [];
  }
  if (typeof v[0] === 'string') return [{ name: v[0], tensor: Number(v[2] ?? 0) }];
  return v.flatMap(layerTriples);
}

function batchShape(c: KerasConfig): (number | null)[] | undefined {
  const s = c.batch_input_shape ?? c.batch_shape;
  if (Array.isArray(s)) return s as (number | null)[];
  if (Array.isArray(c.input_shape)) return [null, ...(c.input_shape as (number | null)[])];
  return undefined;
}

/** The layers of a model config: a Sequential's bare list or `config.layers`. */
function layersOf(cfg: unknown, what: string): unknown[] {
  const layers = Array.isArray(cfg) ? cfg : isObject(cfg) ? cfg.layers : undefined;
  if (!Array.isArray(layers)) throw new ModelImportError(`${what}: the topology has no layer list`);
  return layers;
}

/** The model topology inside whatever wraps it (model.json, model_config, a Keras 3 config.json, to_json()). */
function findTopology(json: unknown): Record<string, unknown> | unknown[] {
  if (Array.isArray(json)) return json; // a Sequential's bare list (Keras 1/2 early to_json of Sequential.config)
  if (!isObject(json)) throw new ModelImportError('model.json is not a JSON object');
  let topo: unknown = json;
  for (let i = 0; i < 3 && isObject(topo); i++) {
    if (topo.modelTopology !== undefined) topo = topo.modelTopology;
    else if (topo.model_config !== undefined) topo = typeof topo.model_config === 'string' ? JSON.parse(topo.model_config) : topo.model_config;
    else break;
  }
  if (Array.isArray(topo)) return topo;
  if (!isObject(topo)) throw new ModelImportError('model.json: the model topology is not a JSON object');
  return topo;
}

/** A Keras version string's reading: 'tfjs-layers 4.22.0' is TensorFlow.js (Keras 2's hard_sigmoid), '2.2.4-tf' Keras 2. */
function versionSource(v: string, where: string): KerasSource | undefined {
  if (/tfjs|tensorflow\.?js/i.test(v)) return { major: 2, from: `${where} '${v}' (TensorFlow.js)`, known: true };
  const m = /^(?:keras\s*v?)?\s*(\d+)\./i.exec(v.trim());
  if (!m) return undefined;
  return { major: Number(m[1]) >= 3 ? 3 : 2, from: `${where} ${v}`, known: true };
}

/**
 * Which Keras wrote a topology, where that changes how a config reads (Keras 3's hard_sigmoid is relu6(x + 3) / 6,
 * Keras 2's and tfjs's clip(0.2x + 0.5, 0, 1)): a version the file states (the .h5 / .keras one given, then
 * `keras_version` of a to_json() or a model.json's modelTopology, then a model.json's `generatedBy`), else its
 * config form: Keras 1 / 2 write `batch_input_shape`; Keras 3 writes InputLayer `batch_shape`, `__keras_tensor__`
 * calls, DTypePolicy dtypes, and a `module` key on the model and its layers (Keras 2.13+ also writes layer
 * `module` keys in its .keras configs, with batch_input_shape); else Keras 2, said to be a guess.
 */
export function kerasSourceOf(json: unknown, given?: string): KerasSource {
  const stated: [unknown, string][] = [[given, 'keras_version']];
  if (isObject(json)) {
    stated.push([json.keras_version, 'keras_version']);
    if (isObject(json.modelTopology)) stated.push([json.modelTopology.keras_version, 'keras_version']);
    stated.push([json.generatedBy, 'generatedBy']);
  }
  for (const [v, where] of stated) {
    const s = typeof v === 'string' ? versionSource(v, where) : undefined;
    if (s) return s;
  }
  // the config form, looked for over the whole JSON (iteratively, bounded: topologies of thousands of layers are fine)
  let keras2 = false;
  let keras3: string | undefined;
  let module: string | undefined;
  const queue: unknown[] = [json];
  for (let i = 0; i < queue.length && i < 2_000_000; i++) {
    const v = queue[i];
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) queue.push(x);
      continue;
    }
    if (!isObject(v)) continue;
    if (v.batch_input_shape !== undefined) keras2 = true;
    if (v.class_name === '__keras_tensor__' || v.class_name === 'DTypePolicy') keras3 ??= String(v.class_name);
    if (Array.isArray(v.batch_shape)) keras3 ??= 'batch_shape';
    if (typeof v.module === 'string' && /^keras(\.layers|\.models|$)/.test(v.module) && typeof v.class_name === 'string') module ??= `module '${v.module}'`;
    for (const x of Object.values(v)) if (typeof x === 'object' && x !== null) queue.push(x);
  }
  if (keras2 && !keras3) return { major: 2, from: "Keras 1 / 2's config form (batch_input_shape)", known: true };
  if (keras3 && !keras2) return { major: 3, from: `Keras 3's config form (${keras3})`, known: true };
  if (module && !keras2) return { major: 3, from: `Keras 3's config form (${module})`, known: true };
  return UNKNOWN_KERAS;
}

class Flattener {
  readonly layers: Flat[] = [];
  readonly groups: NodeGroup[] = [];
  readonly failures: Failure[] = [];
  readonly warnings: string[] = [];
  /** `${key}#${tensor}` of a nested model's outputs / an inner InputLayer -> the tensor it stands for. */
  private readonly alias = new Map<string, Ref>();
  private readonly keys = new Set<string>();
  private readonly groupIds = new Set<string>();
  /** Outputs the outermost model names (output_layers), resolved. */
  outputs: Ref[] = [];
  private inputCount = 0;

  private newKey(name: string, path: string): string {
    let key = this.keys.has(name) && path ? `${path}/${name}` : name;
    for (let i = 2; this.keys.has(key); i++) key = `${name}_${i}`;
    this.keys.add(key);
    return key;
  }

  resolve(ref: Ref): Ref {
    let r = ref;
    for (let i = 0; i < 10_000; i++) {
      const next = this.alias.get(`${r.layer}#${r.tensor}`);
      if (!next) return r;
      r = next;
    }
    throw new ModelImportError(`model.json: the nested models' inputs and outputs refer to each other in a loop (at ${ref.layer})`);
  }

  /** Expands one model (the outermost, or a nested one called on `call`); returns its output tensors. */
  expand(cls: string, cfg: unknown, scope: { group?: string; path: string; trainable: boolean; call?: Ref[]; buildShape?: unknown }, depth = 0): Ref[] {
    if (depth > 50) throw new ModelImportError('model.json: models nested more than 50 deep');
    const what = scope.path || 'model';
    const raw = layersOf(cfg, what);
    if (raw.length === 0) throw new ModelImportError(`${what}: the topology has no layers`);
    const entries = raw.map((l, i) => {
      if (!isObject(l)) throw new ModelImportError(`${what}: layer ${i} is not a JSON object`);
      const config = isObject(l.config) ? l.config : {};
      const name = String(config.name ?? l.name ?? (Array.isArray(l.config) ? `${String(l.class_name).toLowerCase()}_${i + 1}` : `layer_${i}`));
      // a nested Keras 1/2 Sequential keeps its layers as a bare list in `config`
      return { name, className: String(l.class_name), config, raw: l.config, inbound: l.inbound_nodes };
    });
    // Names of this scope -> keys (the outer scope claims its names before any nested model expands).
    const scopeKeys = new Map<string, string>();
    for (const e of entries) if (!scopeKeys.has(e.name)) scopeKeys.set(e.name, this.newKey(e.name, scope.path));
    const keyOf = (name: string): string => scopeKeys.get(name) ?? name;
    const sub = (e: { name: string; config: KerasConfig }) => ({
      group: this.newGroup(e.name, scope.group),
      path: scope.path ? `${scope.path}/${e.name}` : e.name,
      trainable: scope.trainable && e.config.trainable !== false,
    });

    if (cls === 'Sequential') {
      let prev: Ref | undefined = scope.call?.[0];
      entries.forEach((e, i) => {
        const key = keyOf(e.name);
        if (e.className === 'InputLayer') {
          if (prev) this.alias.set(`${key}#0`, prev);
          else this.addInput(key, e.name, e.config, scope.trainable);
          prev = prev ?? { layer: key, tensor: 0 };
          return;
        }
        if (i === 0 && !prev && !MODEL_CLASSES.has(e.className)) {
          const shape = batchShape(e.config) ?? (Array.isArray(scope.buildShape) ? (scope.buildShape as (number | null)[]) : undefined);
          if (!shape) throw new ModelImportError(`${what}: the first layer (${e.name}) does not say its input shape`);
          const inKey = this.newKey(this.inputCount === 0 ? 'input_1' : `input_${this.inputCount + 1}`, scope.path);
          this.addInput(inKey, inKey, { batch_input_shape: shape, dtype: e.config.dtype ?? 'float32' }, scope.trainable);
          prev = { layer: inKey, tensor: 0 };
        }
        if (MODEL_CLASSES.has(e.className)) {
          const outs = this.expand(e.className, e.raw, { ...sub(e), call: prev ? [prev] : undefined, buildShape: e.config.build_input_shape }, depth + 1);
          if (outs.length !== 1) this.failures.push({ name: e.name, className: e.className, reason: `a model inside a Sequential must have one output, it has ${outs.length}` });
          outs.forEach((o, t) => this.alias.set(`${key}#${t}`, o));
          prev = { layer: key, tensor: 0 };
          return;
        }
        this.layers.push({ key, name: e.name, className: e.className, config: e.config, inputs: prev ? [prev] : [], group: scope.group, trainable: scope.trainable && e.config.trainable !== false });
        prev = { layer: key, tensor: 0 };
      });
      return prev ? [prev] : [];
    }

    // Functional
    const c = isObject(cfg) ? cfg : {};
    const inputNames = layerTriples(c.input_layers).map((t) => t.name);
    for (const e of entries) {
      const key = keyOf(e.name);
      const calls = Array.isArray(e.inbound) ? e.inbound : [];
      if (calls.length > 1) this.failures.push({ name: e.name, className: e.className, reason: `it is called ${calls.length} times (shared layers are not supported: each call would need its own copy)` });
      const refs = (calls.length ? inboundRefs(calls[0]) : []).map((r) => ({ layer: keyOf(r.name), tensor: r.tensor }));
      if (e.className === 'InputLayer') {
        if (scope.call) {
          const i = inputNames.indexOf(e.name);
          const src = scope.call[i < 0 ? 0 : i];
          if (!src) this.failures.push({ name: e.name, className: 'InputLayer', reason: `the nested model is called with ${scope.call.length} input${scope.call.length === 1 ? '' : 's'}, but this is its input ${i + 1}` });
          else this.alias.set(`${key}#0`, src);
        } else this.addInput(key, e.name, e.config, scope.trainable);
        continue;
      }
      if (MODEL_CLASSES.has(e.className)) {
        const outs = this.expand(e.className, e.raw, { ...sub(e), call: refs, buildShape: e.config.build_input_shape }, depth + 1);
        outs.forEach((o, t) => this.alias.set(`${key}#${t}`, o));
        continue;
      }
      this.layers.push({ key, name: e.name, className: e.className, config: e.config, inputs: refs, group: scope.group, trainable: scope.trainable && e.config.trainable !== false });
    }
    const outs = layerTriples(c.output_layers).map((t) => ({ layer: keyOf(t.name), tensor: t.tensor }));
    if (outs.length) return outs;
    // no output_layers: the last layer
    const last = entries[entries.length - 1]!;
    return [{ layer: keyOf(last.name), tensor: 0 }];
  }

  private addInput(key: string, name: string, config: KerasConfig, trainable: boolean): void {
    this.inputCount++;
    this.layers.push({ key, name, className: 'InputLayer', config, inputs: [], trainable });
  }

  private newGroup(name: string, parent?: string): string {
    let id = `group_${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 190);
    for (let i = 2; this.groupIds.has(id); i++) id = `${id.replace(/_\d+$/, '')}_${i}`;
    this.groupIds.add(id);
    this.groups.push({ id, name: name.slice(0, 200) || id, ...(parent ? { parent } : {}) });
    return id;
  }
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
    if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
      throw new ModelImportError(`model.json is malformed (a field has the wrong type or is missing): ${error.message}`);
    }
    throw error;
  }
}

function importTopology(json: unknown, options: KerasTopologyOptions): ImportResult {
  const projectName = options.name ?? 'Imported model';
  const topo = findTopology(json);
  const cls = Array.isArray(topo) ? 'Sequential' : topo.class_name;
  if (typeof cls !== 'string' || !MODEL_CLASSES.has(cls)) {
    throw new ModelImportError(`model.json: expected a Keras Sequential or Functional model topology, got class_name ${JSON.stringify(cls)}`);
  }
  const cfg = Array.isArray(topo) ? topo : topo.config;
  const source = kerasSourceOf(json, options.kerasVersion);
  const f = new Flattener();
  const topTrainable = !(isObject(cfg) && cfg.trainable === false);
  f.outputs = f.expand(cls, cfg, { path: '', trainable: topTrainable, buildShape: isObject(cfg) ? cfg.build_input_shape : undefined });
  const layers = f.layers;
  const failures = f.failures;
  const warnings = f.warnings;

  // Names: keep them, but make them valid and unique node names.
  const rename = new Map<string, string>();
  const used = new Set<string>();
  // layers known by their own name (not outer/inner after a clash) claim it first
  const claimOrder = [...layers.filter((l) => l.key === l.name), ...layers.filter((l) => l.key !== l.name)];
  for (const l of claimOrder) {
    let base = NAME_RE.test(l.name) ? l.name : l.name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([^A-Za-z_])/, '_$1');
    if (base.length > 150) base = base.slice(0, 150);
    let n = base;
    for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
    if (n !== l.name) warnings.push(`layer '${l.key}' is named '${n}' (node names are letters, digits and _, unique)`);
    used.add(n);
    rename.set(l.key, n);
  }

  // Sources resolved through nested models' inputs / outputs.
  const byKey = new Map(layers.map((l) => [l.key, l]));
  const sources = new Map<string, Ref[]>();
  for (const l of layers) {
    const srcs: Ref[] = [];
    for (const r of l.inputs) {
      const s = f.resolve(r);
      const src = byKey.get(s.layer);
      if (!src) failures.push({ name: l.key, className: l.className, reason: `its input '${s.layer}' is not a layer of the model` });
      else if (s.tensor !== 0) failures.push({ name: l.key, className: l.className, reason: `it reads output ${s.tensor} of '${s.layer}' (${src.className}), which has one output in Layerforge` });
      else srcs.push(s);
    }
    sources.set(l.key, srcs);
  }
  const folded = foldCorrectPad(layers, sources, warnings);
  const consumers = new Map<string, string[]>();
  for (const l of layers) for (const s of sources.get(l.key)!) (consumers.get(s.layer) ?? consumers.set(s.layer, []).get(s.layer)!).push(l.className);

  const assumed: UnknownDimension[] = [];
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const l of layers) {
    if (folded.has(l.key)) continue;
    const id = rename.get(l.key)!;
    try {
      let type: string;
      let params: Record<string, ParamValue>;
      if (l.className === 'InputLayer') {
        const shape = batchShape(l.config);
        if (!shape) throw new LayerImportError('the InputLayer has no batch_input_shape / batch_shape');
        type = 'Input';
        params = inputParams(id, shape, dtypeName(l.config.dtype), (consumers.get(l.key) ?? []).includes('Embedding'), options.dims ?? {}, assumed);
      } else {
        const importer = Object.hasOwn(KERAS_IMPORTERS, l.className) ? KERAS_IMPORTERS[l.className] : undefined;
        if (!importer) throw new LayerImportError(`Layerforge has no layer type for Keras class ${l.className}`);
        const m = importer(l.config, source);
        if (source.major === 3 && l.config.activation === 'hard_sigmoid') {
          warnings.push(`${id}: activation 'hard_sigmoid' of Keras 3 is relu6(x + 3) / 6; Layerforge's hardSigmoid is Keras 2's clip(0.2x + 0.5, 0, 1), so outputs differ`);
        }
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
      const node: GraphNode = { id, type, name: id, params: kept, position: { x: 0, y: 0 } };
      if (!l.trainable) node.trainable = false;
      if (l.group && type !== 'Input') node.group = l.group;
      nodes.push(node);
    } catch (error) {
      if (!(error instanceof LayerImportError)) throw error;
      failures.push({ name: l.key, className: l.className, reason: error.message });
    }
    sources.get(l.key)!.forEach((src, port) => edges.push({ id: `e_${rename.get(src.layer)}_${id}_${port}`, source: rename.get(src.layer)!, target: id, targetPort: port }));
  }
  if (failures.length) {
    throw new ModelImportError(
      `cannot import: ${failures.length} layer${failures.length === 1 ? '' : 's'} not supported: ${failures.map((x) => `${x.name} (${x.className}): ${x.reason}`).join('; ')}`,
      failures,
    );
  }
  warnings.push(...assumedWarnings(assumed));
  // Outputs: Layerforge's outputs are the nodes nothing reads.
  for (const o of f.outputs) {
    const r = f.resolve(o);
    if (consumers.has(r.layer) && rename.has(r.layer)) warnings.push(`${rename.get(r.layer)}: a model output that other layers also read; Layerforge's outputs are the nodes nothing reads, so it is not an output of the import`);
  }
  const usedGroups = new Set(nodes.map((n) => n.group).filter((g): g is string => g !== undefined));
  // keep a group that holds nodes, or holds a group that does
  const keep = new Set<string>();
  for (const g of f.groups) {
    if (!usedGroups.has(g.id)) continue;
    for (let cur: NodeGroup | undefined = g; cur && !keep.has(cur.id); cur = f.groups.find((x) => x.id === cur!.parent)) keep.add(cur.id);
  }
  const groups = f.groups.filter((g) => keep.has(g.id));
  const graph: Graph = groups.length ? { nodes, edges, groups } : { nodes, edges };
  layout(nodes, edges);
  const analysis = analyzeGraph(graph);
  if (!analysis.valid) {
    throw new ModelImportError(`the imported graph is not valid: ${analysis.problems.filter((p) => p.severity === 'error').map((p) => p.message).join('; ')}`);
  }
  for (const [pad, conv] of folded) {
    const node = nodes.find((n) => n.id === rename.get(conv));
    const src = graph.edges.find((e) => e.target === node?.id);
    const shape = src ? analysis.nodes[src.source]?.shape : undefined;
    if (!shape || shape[0]! % 2 !== 0 || shape[1]! % 2 !== 0) {
      throw new ModelImportError(`cannot import: 1 layer not supported: ${pad} (ZeroPadding2D): padding ((0, 1), (0, 1)) before ${conv} is only exact as 'same' padding on an even-sized input, and its input is ${shape ? shape.join('×') : 'unknown'}`, [{ name: pad, className: 'ZeroPadding2D', reason: 'asymmetric padding on an odd-sized input' }]);
    }
  }
  const project = { ...newProject(projectName), graph };
  const renamed = Object.fromEntries([...rename].filter(([a, b]) => a !== b));
  return { project, warnings, hasWeights: options.hasWeights, kind: options.kind, renamed, assumed };
}

/**
 * Keras applications (MobileNet v1/v2, EfficientNet, …) pad ((0, 1), (0, 1)) before a stride-2 3×3 'valid'
 * convolution (imagenet_utils.correct_pad). On an even-sized input that is exactly TensorFlow's 'same'
 * padding, so the pad is folded into the convolution (checked against the input size once shapes are
 * known). Returns pad key -> convolution key for each fold.
 */
function foldCorrectPad(layers: Flat[], sources: Map<string, Ref[]>, warnings: string[]): Map<string, string> {
  const folded = new Map<string, string>();
  const readers = new Map<string, Flat[]>();
  for (const l of layers) for (const s of sources.get(l.key) ?? []) (readers.get(s.layer) ?? readers.set(s.layer, []).get(s.layer)!).push(l);
  const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);
  for (const pad of layers) {
    if (pad.className !== 'ZeroPadding2D' || !Array.isArray(pad.config.padding)) continue;
    const [rows, cols] = (pad.config.padding as unknown[]).map(pair);
    if (!rows || !cols || rows[0] !== 0 || rows[1] !== 1 || cols[0] !== 0 || cols[1] !== 1) continue;
    const next = readers.get(pad.key) ?? [];
    const conv = next[0];
    if (next.length !== 1 || !conv || !['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D'].includes(conv.className)) continue;
    const k = pair(conv.config.kernel_size);
    const st = pair(conv.config.strides ?? 1);
    if ((conv.config.padding ?? 'valid') !== 'valid' || k[0] !== 3 || k[1] !== 3 || st[0] !== 2 || st[1] !== 2) continue;
    sources.set(conv.key, sources.get(pad.key) ?? []);
    conv.config = { ...conv.config, padding: 'same' };
    folded.set(pad.key, conv.key);
    warnings.push(`${pad.key}: ZeroPadding2D ((0, 1), (0, 1)) before ${conv.key} (3×3, stride 2, 'valid') is imported as ${conv.key} with padding 'same' (identical on its even-sized input)`);
  }
  return folded;
}

const DIM_LABELS: Record<number, DimLabel[]> = { 1: ['features'], 2: ['sequence length', 'features'], 3: ['height', 'width', 'channels'] };

/** An Input node's params from a Keras batch shape; unknown (None) dimensions take ImportOptions.dims or a default, recorded in `assumed`. */
function inputParams(name: string, shape: (number | null)[], dtype: string, feedsEmbedding: boolean, dims: Record<string, number>, assumed: UnknownDimension[]): Record<string, ParamValue> {
  const raw = shape.slice(1);
  const tokens = raw.length === 1 && (dtype.startsWith('int') || dtype.startsWith('uint') || feedsEmbedding);
  const labels = tokens ? (['sequence length'] as DimLabel[]) : DIM_LABELS[raw.length];
  if (!labels) throw new LayerImportError(`input shape [${raw.map((d) => d ?? 'None').join(', ')}] is not supported (Layerforge inputs are images H×W×C, sequences T×F, token ids T or feature vectors N)`);
  const d = raw.map((v, axis) => {
    if (v !== null && v !== undefined && Number.isInteger(Number(v)) && Number(v) > 0) return Number(v);
    if (v !== null && v !== undefined) throw new LayerImportError(`input dimension ${axis} is ${JSON.stringify(v)}, not a size`);
    const key = `${name}:${axis}`;
    const label = labels[axis]!;
    const chosen = Object.hasOwn(dims, key);
    const value = chosen ? dims[key]! : UNKNOWN_DIM_DEFAULTS[label];
    if (!Number.isInteger(value) || value < 1) throw new ModelImportError(`the size given for ${key} (${label}) must be a whole number of at least 1, got ${String(value)}`);
    assumed.push({ key, input: name, axis, label, value, chosen });
    return value;
  });
  if (tokens) return { kind: 'tokens', length: d[0]! };
  if (d.length === 3) return { kind: 'image', height: d[0]!, width: d[1]!, channels: d[2]! };
  if (d.length === 2) return { kind: 'sequence', timesteps: d[0]!, features: d[1]! };
  return { kind: 'features', features: d[0]! };
}

/** Warning lines for the unknown dimensions an import gave sizes to. */
function assumedWarnings(assumed: UnknownDimension[]): string[] {
  return assumed.map((a) =>
    a.chosen ? `${a.input}: ${a.label} (axis ${a.axis}) is not fixed in the file; set to ${a.value} as chosen` : `${a.input}: ${a.label} (axis ${a.axis}) is not fixed in the file (None); using the default ${a.value} (choose another size with dims '${a.key}')`,
  );
}

/** Lays nodes out in rows by topological depth (the canvas can re-layout with elkjs). */
function layout(nodes: GraphNode[], edges: GraphEdge[]): void {
  const depth = new Map<string, number>();
  const preds = new Map<string, string[]>();
  for (const e of edges) (preds.get(e.target) ?? preds.set(e.target, []).get(e.target)!).push(e.source);
  // iterative (graphs of thousands of layers): nodes come in topological order from Keras, but do not rely on it
  const d = (start: string): number => {
    const stack: string[] = [start];
    const onStack = new Set<string>();
    while (stack.length) {
      const id = stack[stack.length - 1]!;
      if (depth.has(id)) {
        stack.pop();
        continue;
      }
      onStack.add(id);
      const pending = (preds.get(id) ?? []).filter((p) => !depth.has(p) && !onStack.has(p));
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      depth.set(id, Math.max(-1, ...(preds.get(id) ?? []).map((p) => depth.get(p) ?? 0)) + 1);
      onStack.delete(id);
      stack.pop();
    }
    return depth.get(start)!;
  };
  const rows = new Map<number, GraphNode[]>();
  for (const n of nodes) (rows.get(d(n.id)) ?? rows.set(d(n.id), []).get(d(n.id))!).push(n);
  for (const [row, ns] of rows) ns.forEach((n, i) => (n.position = { x: (i - (ns.length - 1) / 2) * 240, y: row * 110 }));
}
