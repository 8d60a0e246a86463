import type * as tfjs from '@tensorflow/tfjs';
import { analyzeGraph, resolvedParams, type Analysis, type Graph } from '../../../shared/graph';
import { getLayer, type Tf } from '../../../shared/layers';
import { customLayerFactories } from './custom';

export class CompileError extends Error {
  constructor(
    message: string,
    readonly analysis?: Analysis,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

export interface Compiled {
  model: tfjs.LayersModel;
  analysis: Analysis;
  /** Input node ids in model input order, output node ids in model output order. */
  inputIds: string[];
  outputIds: string[];
}

/**
 * Freezes a built layer (a node with `trainable: false`): its weights leave `model.trainableWeights`, so the
 * optimizer never touches them. A frozen BatchNormalization also runs in inference mode while the model trains
 * (its moving mean and variance normalise and are not updated), as Keras does since 2.1.3: tfjs alone would
 * keep normalising with batch statistics and updating the moving averages of a frozen layer.
 */
export function freeze(layer: tfjs.layers.Layer): void {
  layer.trainable = false;
  if (layer.getClassName() === 'BatchNormalization') {
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
  }
}

/**
 * Compiles a graph into a tf.LayersModel with the functional API. Layer names are node names, so
 * metrics, errors and exports map back to nodes. Throws CompileError listing every graph problem.
 */
export function compileGraph(tf: Tf, graph: Graph, modelName = 'model'): Compiled {
  const analysis = analyzeGraph(graph);
  if (!analysis.valid) {
    const errors = analysis.problems.filter((p) => p.severity === 'error');
    throw new CompileError(`the model has ${errors.length} problem${errors.length === 1 ? '' : 's'}: ${errors.map((p) => p.message).join('; ')}`, analysis);
  }
  const custom = customLayerFactories(tf);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const tensors = new Map<string, tfjs.SymbolicTensor>();
  const incoming = new Map<string, { source: string; port: number }[]>();
  for (const e of graph.edges) (incoming.get(e.target) ?? incoming.set(e.target, []).get(e.target)!).push({ source: e.source, port: e.targetPort });

  for (const id of analysis.order) {
    const node = byId.get(id)!;
    const def = getLayer(node.type)!;
    const params = resolvedParams(def, node.params);
    if (def.inputs.max === 0) {
      const shape = analysis.nodes[id]!.shape!;
      const dtype = node.type === 'Input' && params.kind === 'tokens' ? 'int32' : 'float32';
      tensors.set(id, tf.input({ shape: [...shape], name: node.name, dtype }));
      continue;
    }
    const ins = (incoming.get(id) ?? []).sort((a, b) => a.port - b.port).map((e) => tensors.get(e.source)!);
    const layer = def.build({ tf, custom, inputShapes: ins.map((t) => t.shape.slice(1) as number[]) }, params as never, node.name);
    const out = layer.apply(def.inputs.max === 1 ? ins[0]! : ins) as tfjs.SymbolicTensor;
    if (node.trainable === false) freeze(layer);
    tensors.set(id, out);
  }
  const inputIds = analysis.inputs.filter((id) => tensors.has(id));
  const outputIds = analysis.outputs;
  const model = tf.model({
    name: modelName,
    inputs: inputIds.map((id) => tensors.get(id)!),
    outputs: outputIds.length === 1 ? tensors.get(outputIds[0]!)! : outputIds.map((id) => tensors.get(id)!),
  });
  return { model, analysis, inputIds, outputIds };
}
