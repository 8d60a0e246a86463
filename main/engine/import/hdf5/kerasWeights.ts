import { ModelImportError } from '../errors';
import type { H5Reader } from './reader';

/**
 * Where a Keras file keeps each layer's weights, read from the HDF5 layout without reading the values:
 * original Keras layer name -> its arrays in Keras' own order for that layer (what assignKerasWeights
 * takes). Nested models are flattened: the map is keyed by their inner (leaf) layers' names.
 */
export interface WeightRef {
  /** Dataset path in the HDF5 file. */
  path: string;
  /** The weight's name as the file gives it ('dense/kernel:0'; Keras 3: 'layers/dense/vars/0'). */
  name: string;
  shape: number[];
}
export type WeightRefs = Map<string, WeightRef[]>;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A model config's layer list: `config.layers`, or a (Keras 1 / early Keras 2) Sequential's bare list. */
export function layersOf(entry: unknown): Json[] | undefined {
  if (!isObject(entry)) return undefined;
  const config = entry.config;
  const list = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : undefined;
  return list?.filter(isObject);
}

export function layerName(entry: Json): string | undefined {
  const config = entry.config;
  const name = isObject(config) && typeof config.name === 'string' ? config.name : entry.name;
  return typeof name === 'string' ? name : undefined;
}

const className = (entry: Json): string => (typeof entry.class_name === 'string' ? entry.class_name : '?');

/** Leaf (non-model) layer names under a nested model, at any depth. */
function leafNames(entry: Json, into = new Set<string>()): Set<string> {
  for (const layer of layersOf(entry) ?? []) {
    if (layersOf(layer)) leafNames(layer, into);
    else {
      const n = layerName(layer);
      if (n) into.add(n);
    }
  }
  return into;
}

function shapeOf(r: H5Reader, path: string, layer: string, cls: string): number[] {
  const shape = r.shape(path);
  if (!shape) throw new ModelImportError(`${r.path}: the weights of layer ${layer} name '${path}', which is not an array in the file`, [{ name: layer, className: cls, reason: `weight '${path}' is missing from the file` }]);
  return shape;
}

/**
 * Keras 2 `model.save('m.h5')` (and Keras 3's legacy .h5): model_weights/<layer> groups in layer_names,
 * each with weight_names naming datasets under it. A nested model's group holds its inner layers' weights
 * (all trainable ones, then the non-trainable ones); each weight goes to the inner layer its name starts
 * with ('dense_1/kernel:0', 'lstm/lstm_cell/kernel:0', or with the model's name in front).
 */
export function keras2WeightRefs(r: H5Reader, modelConfig: unknown, root = 'model_weights'): WeightRefs {
  const refs: WeightRefs = new Map();
  const byName = new Map<string, Json>();
  for (const layer of layersOf(modelConfig) ?? []) {
    const n = layerName(layer);
    if (n) byName.set(n, layer);
  }
  const names = r.attrStrings(root, 'layer_names') ?? r.keys(root);
  for (const group of names) {
    const base = `${root}/${group}`;
    if (!r.isGroup(base)) continue;
    const entry = byName.get(group);
    const cls = entry ? className(entry) : '?';
    const weightNames = r.attrStrings(base, 'weight_names');
    if (!weightNames) throw new ModelImportError(`${r.path}: layer ${group} has no readable weight_names attribute`, [{ name: group, className: cls, reason: 'weight_names attribute missing or not strings' }]);
    const leaves = entry && layersOf(entry) ? leafNames(entry) : undefined;
    for (const w of weightNames) {
      const ref: WeightRef = { path: `${base}/${w}`, name: w, shape: shapeOf(r, `${base}/${w}`, group, cls) };
      let owner = group;
      if (leaves) {
        const found = w.replace(/:\d+$/, '').split('/').slice(0, -1).find((s) => leaves.has(s));
        if (!found) throw new ModelImportError(`${r.path}: weight '${w}' of the nested model ${group} names none of its layers`, [{ name: group, className: cls, reason: `weight '${w}' belongs to no inner layer` }]);
        owner = found;
      }
      (refs.get(owner) ?? refs.set(owner, []).get(owner)!).push(ref);
    }
    if (!weightNames.length && !leaves) refs.set(group, refs.get(group) ?? []);
  }
  return refs;
}

/** keras.src.utils.naming.to_snake_case: how Keras 3 names a layer's group ('BatchNormalization' -> 'batch_normalization'). */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Keras 3 saves a layer's sub-layers as attributes: its own vars, then these in this order (others sorted, private ones last). */
const CHILD_ORDER: Record<string, string[]> = { Bidirectional: ['forward_layer', 'backward_layer'] };

/**
 * Keras 3 `model.save('m.keras')`: model.weights.h5 holds layers/<snake_case class name, made unique in the
 * order of model.layers>/vars/0..n (keras/src/saving/saving_lib.py; a Sequential's layers leave out its
 * InputLayer); nested models: layers/functional/layers/<…>; a layer's own sub-layers as groups named by
 * attribute (layers/lstm/cell/vars, layers/bidirectional/forward_layer/…). Recent Keras also writes the
 * layer's name on each vars group (attribute `name`), which is preferred when present. Keras 2.13's
 * .keras kept the same under _layer_checkpoint_dependencies. Optimizer variables are not read.
 */
export function keras3WeightRefs(r: H5Reader, config: unknown): WeightRefs {
  const refs: WeightRefs = new Map();
  const container = !r.isGroup('layers') && r.isGroup('_layer_checkpoint_dependencies') ? '_layer_checkpoint_dependencies' : 'layers';

  const vars = (path: string, layer: string, cls: string, out: WeightRef[]): void => {
    const own = `${path}/vars`;
    const keys = r
      .keys(own)
      .filter((k) => /^\d+$/.test(k))
      .sort((a, b) => Number(a) - Number(b));
    for (const k of keys) out.push({ path: `${own}/${k}`, name: `${own}/${k}`, shape: shapeOf(r, `${own}/${k}`, layer, cls) });
    const first = CHILD_ORDER[cls] ?? [];
    const children = r
      .keys(path)
      .filter((k) => k !== 'vars' && r.isGroup(`${path}/${k}`))
      .sort((a, b) => {
        const ia = first.indexOf(a);
        const ib = first.indexOf(b);
        if (ia !== ib) return (ia < 0 ? Infinity : ia) - (ib < 0 ? Infinity : ib);
        return (a.startsWith('_') ? `~${a}` : a) < (b.startsWith('_') ? `~${b}` : b) ? -1 : 1;
      });
    for (const child of children) vars(`${path}/${child}`, layer, cls, out);
  };

  const walk = (model: Json, prefix: string): void => {
    const used = new Map<string, number>();
    const layers = layersOf(model) ?? [];
    const sequential = className(model) === 'Sequential';
    layers.forEach((layer, i) => {
      const cls = className(layer);
      if (sequential && i === 0 && cls === 'InputLayer') return; // Sequential.layers leaves it out
      const snake = toSnakeCase(cls);
      const count = used.get(snake);
      used.set(snake, (count ?? -1) + 1);
      const name = layerName(layer) ?? snake;
      let path = `${prefix}/${count === undefined ? snake : `${snake}_${count + 1}`}`;
      const stated = r.attrString(`${path}/vars`, 'name');
      if (stated !== undefined && stated !== name) {
        // The file names its layers: trust the names over the position.
        const sibling = r.keys(prefix).find((k) => r.attrString(`${prefix}/${k}/vars`, 'name') === name);
        if (sibling) path = `${prefix}/${sibling}`;
      }
      if (layersOf(layer)) {
        walk(layer, `${path}/layers`);
        return;
      }
      const out: WeightRef[] = [];
      if (r.isGroup(path)) vars(path, name, cls, out);
      refs.set(name, out);
    });
  };
  if (!isObject(config)) throw new ModelImportError(`${r.path}: the model's config is not a JSON object`);
  walk(config, container);
  return refs;
}

/** Parameters the file holds for the model's layers (every array counted: trainable and not). */
export function countParams(refs: WeightRefs): number {
  let total = 0;
  for (const list of refs.values()) for (const w of list) total += w.shape.reduce((a, b) => a * b, 1);
  return total;
}
