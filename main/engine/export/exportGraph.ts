import type * as tfjs from '@tensorflow/tfjs';
import { analyzeGraph, type Graph } from '../../../shared/graph';
import type { Shape } from '../../../shared/layers';
import type { ModelFolder } from './modelFolder';

/** One weight of a layer, as tfjs holds it (tfjs/Keras layout), with float32 values. */
export interface ExportWeight {
  /** Full tfjs name, e.g. 'conv2d_1/kernel' or 'bidi/forward_lstm_1/lstm_cell/kernel'. */
  fullName: string;
  /** Short key: the last path segment ('kernel', 'bias', 'moving_mean', …), prefixed with 'forward/' or 'backward/' inside a Bidirectional wrapper. */
  key: string;
  shape: number[];
  values: Float32Array;
}

/** One layer of the graph, with everything an exporter needs and nothing format-specific. */
export interface ExportLayer {
  /** Node (= tfjs layer) name. */
  name: string;
  /** Registry type, e.g. 'Conv2D'. */
  type: string;
  /** tfjs class name of the built layer, e.g. 'Conv2D', 'Bidirectional', 'InputLayer'. */
  className: string;
  /** tfjs layer config (camelCase, as layer.getConfig() gives it). Empty for Input. */
  config: Record<string, unknown>;
  /** Names of the layers feeding this one, in input-port order. */
  inputs: string[];
  /** Per-sample input shapes, in port order. */
  inputShapes: Shape[];
  /** Per-sample output shape. */
  outputShape: Shape;
  /** 'int32' for token inputs, else 'float32'. */
  dtype: 'float32' | 'int32';
  weights: ExportWeight[];
}

export interface ExportGraph {
  name: string;
  /** Layers in topological order. */
  layers: ExportLayer[];
  /** Input layer names in model input order; output layer names in model output order. */
  inputs: string[];
  outputs: string[];
}

/** Thrown when a format cannot express some layers: names every one of them. */
export class UnsupportedLayersError extends Error {
  constructor(
    readonly format: string,
    readonly layers: { name: string; type: string; reason: string }[],
  ) {
    super(
      `cannot export to ${format}: ${layers.length} layer${layers.length === 1 ? '' : 's'} not supported: ${layers
        .map((l) => `${l.name} (${l.type}): ${l.reason}`)
        .join('; ')}`,
    );
    this.name = 'UnsupportedLayersError';
  }
}

/** Sub-scopes whose name is part of the key (our MultiHeadAttention: query/kernel, attention_output/bias, …). */
const SCOPED = new Set(['query', 'key', 'value', 'attention_output']);

function weightKey(fullName: string): string {
  const parts = fullName.split('/');
  const last = parts[parts.length - 1]!.replace(/_\d+$/, '');
  if (parts.some((p) => p.startsWith('forward'))) return `forward/${last}`;
  if (parts.some((p) => p.startsWith('backward'))) return `backward/${last}`;
  const scope = parts.length >= 3 ? parts[parts.length - 2]! : '';
  if (SCOPED.has(scope)) return `${scope}/${last}`;
  return last;
}

/** Reads a layer's weights (tfjs layout) into plain arrays. */
export function layerWeights(layer: tfjs.layers.Layer): ExportWeight[] {
  return layer.weights.map((w) => {
    const t = w.read();
    return { fullName: w.originalName ?? w.name, key: weightKey(w.originalName ?? w.name), shape: [...t.shape], values: new Float32Array(t.dataSync()) };
  });
}

/**
 * The format-neutral view of a trained model that every exporter walks: the project graph (types,
 * wiring, shapes) joined with the tfjs layers (configs, trained weights) by node name.
 */
export function exportGraphOf(graph: Graph, model: tfjs.LayersModel, name = 'model'): ExportGraph {
  const analysis = analyzeGraph(graph);
  if (!analysis.valid) {
    throw new Error(`the model's graph has problems: ${analysis.problems.filter((p) => p.severity === 'error').map((p) => p.message).join('; ')}`);
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const layers: ExportLayer[] = [];
  for (const id of analysis.order) {
    const node = byId.get(id)!;
    const incoming = graph.edges.filter((e) => e.target === id).sort((a, b) => a.targetPort - b.targetPort);
    let tfLayer: tfjs.layers.Layer;
    try {
      tfLayer = model.getLayer(node.name);
    } catch {
      throw new Error(`the model has no layer named '${node.name}' (node of type ${node.type}): project.json and model.json do not match`);
    }
    const config = node.type === 'Input' ? {} : (tfLayer.getConfig() as Record<string, unknown>);
    layers.push({
      name: node.name,
      type: node.type,
      className: tfLayer.getClassName(),
      config,
      inputs: incoming.map((e) => byId.get(e.source)!.name),
      inputShapes: incoming.map((e) => analysis.nodes[e.source]!.shape!),
      outputShape: analysis.nodes[id]!.shape!,
      dtype: node.type === 'Input' && node.params.kind === 'tokens' ? 'int32' : 'float32',
      weights: layerWeights(tfLayer),
    });
  }
  const names = (ids: string[]) => ids.map((i) => byId.get(i)!.name);
  return { name, layers, inputs: names(analysis.inputs), outputs: names(analysis.outputs) };
}

export function exportGraphOfFolder(folder: ModelFolder): ExportGraph {
  return exportGraphOf(folder.project.graph, folder.model, folder.project.name);
}

/** Python/JS-safe identifier from a layer name. */
export function identifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `l_${id}` : id;
}

export function weight(layer: ExportLayer, key: string): ExportWeight | undefined {
  return layer.weights.find((w) => w.key === key);
}

export function requireWeight(layer: ExportLayer, key: string): ExportWeight {
  const w = weight(layer, key);
  if (!w) throw new Error(`${layer.name} (${layer.type}): weight '${key}' is missing (has: ${layer.weights.map((x) => x.key).join(', ') || 'none'})`);
  return w;
}

/** Permutes an n-d row-major array: out[idx permuted] — `perm[i]` is the source axis of output axis i. */
export function transposeArray(values: Float32Array, shape: readonly number[], perm: readonly number[]): { values: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const n = shape.length;
  const srcStrides = new Array<number>(n);
  let acc = 1;
  for (let i = n - 1; i >= 0; i--) {
    srcStrides[i] = acc;
    acc *= shape[i]!;
  }
  const out = new Float32Array(values.length);
  const idx = new Array<number>(n).fill(0);
  const stridesOut = perm.map((p) => srcStrides[p]!);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < n; i++) src += idx[i]! * stridesOut[i]!;
    out[o] = values[src]!;
    for (let i = n - 1; i >= 0; i--) {
      idx[i]!++;
      if (idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return { values: out, shape: outShape };
}

/** 'same' padding as tfjs computes it for one spatial axis: [before, after]. */
export function samePads(inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const eff = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Reads a number or [n, n] config value as one number per spatial axis. */
export function pair(v: unknown, fallback = 1): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** The activation name a tfjs config carries ('relu', 'linear', …). */
export function activationOf(config: Record<string, unknown>, key = 'activation'): string {
  const a = config[key];
  if (a === undefined || a === null) return 'linear';
  if (typeof a === 'string') return a;
  if (typeof a === 'object' && 'className' in a) return String((a as { className: unknown }).className);
  return String(a);
}
