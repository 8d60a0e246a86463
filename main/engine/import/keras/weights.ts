import type * as tfjs from '@tensorflow/tfjs';
import { ModelImportError } from '../errors';
import type { ImportResult } from '../types';

type Failure = { name: string; className: string; reason: string };

/**
 * Keras' weight order for a layer differs from the compiled Layerforge layer's for a few node types; an
 * adapter turns the Keras arrays into the target's (shape-checked afterwards). Keyed by node type.
 */
export const KERAS_WEIGHT_ADAPTERS: Partial<Record<string, (tf: typeof tfjs, weights: tfjs.Tensor[], target: tfjs.LayerVariable[]) => tfjs.Tensor[]>> = {};

const shapeText = (ts: { shape: readonly (number | null)[] }[]): string => `[${ts.map((t) => t.shape.join('x') || 'scalar').join(', ')}]`;

/**
 * Copies a Keras model's weights into the model compiled from its import (`result`), layer by layer.
 * `weights` maps each original Keras layer name to its arrays in Keras' own order for that layer (as a
 * weights manifest / an HDF5 file lists them). A layer whose arrays do not fit the imported layer (count
 * or shapes), a source layer that is not in the import, and an imported layer with weights that the source
 * does not give are all named in one ModelImportError. Nothing is disposed: the caller owns `weights`.
 */
export function assignKerasWeights(tf: typeof tfjs, model: tfjs.LayersModel, result: ImportResult, weights: Map<string, tfjs.Tensor[]>): void {
  const nodeOf = (keras: string): string => result.renamed[keras] ?? keras;
  const original = new Map<string, string>();
  for (const [keras, node] of Object.entries(result.renamed)) original.set(node, keras);
  const nodes = new Map(result.project.graph.nodes.map((n) => [n.name, n]));
  const bad: Failure[] = [];
  const plan: { layer: tfjs.layers.Layer; values: tfjs.Tensor[]; made: tfjs.Tensor[] }[] = [];

  for (const [keras, arrays] of weights) {
    const node = nodes.get(nodeOf(keras));
    if (!node) {
      if (arrays.length) bad.push({ name: keras, className: '?', reason: `the source has weights ${shapeText(arrays)} for it, but it is not a layer of the imported model` });
      continue;
    }
    let layer: tfjs.layers.Layer;
    try {
      layer = model.getLayer(node.name);
    } catch {
      bad.push({ name: keras, className: node.type, reason: 'the compiled model has no layer of that name' });
      continue;
    }
    const want = layer.weights;
    const adapter = KERAS_WEIGHT_ADAPTERS[node.type];
    const values = adapter && arrays.length ? adapter(tf, arrays, want) : arrays;
    const made = values.filter((v) => !arrays.includes(v));
    const fits = values.length === want.length && values.every((v, i) => v.shape.join('x') === want[i]!.shape.join('x'));
    if (!fits) {
      tf.dispose(made);
      bad.push({ name: keras, className: node.type, reason: `weights ${shapeText(arrays)} do not fit the imported layer, which holds ${shapeText(want)}` });
      continue;
    }
    plan.push({ layer, values, made });
  }
  for (const node of result.project.graph.nodes) {
    const keras = original.get(node.name) ?? node.name;
    if (weights.has(keras)) continue;
    let layer: tfjs.layers.Layer | undefined;
    try {
      layer = model.getLayer(node.name);
    } catch {
      continue;
    }
    if (layer.weights.length) bad.push({ name: keras, className: node.type, reason: `the source gives no weights for it (the imported layer holds ${shapeText(layer.weights)})` });
  }
  if (bad.length) {
    for (const p of plan) tf.dispose(p.made);
    throw new ModelImportError(`cannot import the weights of ${bad.length} layer${bad.length === 1 ? '' : 's'}: ${bad.map((b) => `${b.name} (${b.className}): ${b.reason}`).join('; ')}`, bad);
  }
  for (const p of plan) {
    if (p.values.length) p.layer.setWeights(p.values);
    tf.dispose(p.made);
  }
}
