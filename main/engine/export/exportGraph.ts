import type * as tfjs from '@tensorflow/tfjs';
import { analyzeGraph, type Graph } from '../../../shared/graph';
import type { Shape } from '../../../shared/layers';
import type { TablePreprocessing } from '../../../shared/tables/types';
import type { ModelTask } from '../../../shared/tasks';
import { vocabSize, type Tokenizer } from '../../../shared/text';
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
  /** Table models: the normalisation every export builds in around the trained graph (see tableScalingOf). */
  table?: TableScaling;
  /** Text models: the tokenizer every export writes beside the model and documents (see textInputOf). */
  text?: TextInput;
}

/**
 * What the exports of a text model (a model folder with a tokenizer) write and document besides the model:
 * the tokenizer, which token-id input it feeds and how long a window is, and what the output means.
 * textInputOf is the one place that decides it; textDocs.ts writes it for every format.
 */
export interface TextInput {
  tokenizer: Tokenizer;
  /** The token-id input (Input of kind 'tokens', int32 [N, T]). */
  input: string;
  /** T: ids per input row (texts are cut after T ids or padded at the end with PAD). */
  length: number;
  /** Ids 0 … vocabSize-1 (the tokenizer's). */
  vocabSize: number;
  /** The output read. */
  output: string;
  /**
   * 'classifier': one score per class ([K]); 'language-model': next-token scores at every position ([T, V],
   * causal); 'other': anything else (documented as its shape).
   */
  head: 'classifier' | 'language-model' | 'other';
  /** Classifier: the class names by output index (from metrics.json when it has them, else '0' … 'K-1'). */
  classes?: string[];
  /** The output layer's activation: 'softmax' means probabilities, 'linear' logits. */
  activation: string;
}

/**
 * What a table model's exports add around the trained graph so that the exported model takes the RAW
 * encoded features (numbers as in the CSV, categories one-hot) and, for regression, returns the target in
 * its own units: the model was trained on x' = (x - mean) / std per feature and predicts y' with
 * y = y' * std + mean. Every exporter applies exactly this; tableScalingOf is the one place that decides it.
 */
export interface TableScaling {
  preprocessing: TablePreprocessing;
  /** The feature-vector input (Input of kind 'features', shape [N]) the raw values enter. */
  input: string;
  /** Per encoded feature, N values each: x' = (x - mean) / std. */
  mean: number[];
  std: number[];
  /** Regression with a standardised target: the output to rescale, y = y' * std + mean. Absent otherwise. */
  output?: { name: string; mean: number; std: number };
  /** What the single output gives: a value in the target's units, one unit for two classes (P(classes[1]) with a sigmoid), or one score per class. */
  head: 'regression' | 'binary' | 'multiclass';
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The input normalisation and output scaling a table model's exports need, checked against the graph;
 * undefined without preprocessing (image and text models). Throws, naming what does not fit, when the
 * preprocessing and the graph disagree (feature count, several inputs, a regression output of many units).
 */
export function tableScalingOf(g: ExportGraph, pre: TablePreprocessing | undefined): TableScaling | undefined {
  if (!pre) return undefined;
  const bad = (why: string): never => {
    throw new Error(`the model's table preprocessing does not fit its graph: ${why}`);
  };
  const n = pre.featureNames.length;
  if (pre.featureMean.length !== n || pre.featureStd.length !== n) bad(`${n} feature names but ${pre.featureMean.length} means and ${pre.featureStd.length} deviations`);
  pre.featureMean.forEach((m, i) => finite(m) || bad(`feature ${pre.featureNames[i]} has mean ${String(m)}`));
  pre.featureStd.forEach((s, i) => (finite(s) && s > 0) || bad(`feature ${pre.featureNames[i]} has standard deviation ${String(s)} (must be > 0)`));
  if (g.inputs.length !== 1) bad(`a table model has one feature-vector input, this one has ${g.inputs.length}`);
  const input = g.layers.find((l) => l.name === g.inputs[0])!;
  if (input.outputShape.length !== 1 || input.dtype !== 'float32') bad(`input ${input.name} is [${input.outputShape.join(', ')}] ${input.dtype}, not a feature vector`);
  if (input.outputShape[0] !== n) bad(`input ${input.name} takes ${input.outputShape[0]} features, the preprocessing makes ${n}`);
  if (g.outputs.length !== 1) bad(`a table model has one output, this one has ${g.outputs.length}`);
  const out = g.layers.find((l) => l.name === g.outputs[0])!;
  const t = pre.target;
  const scaling: TableScaling = { preprocessing: pre, input: input.name, mean: [...pre.featureMean], std: [...pre.featureStd], head: 'regression' };
  if (t.task === 'regression') {
    if (out.outputShape.length !== 1 || out.outputShape[0] !== 1) bad(`a regression output has one unit, ${out.name} is [${out.outputShape.join(', ')}]`);
    if (t.mean !== undefined || t.std !== undefined) {
      const mean = t.mean ?? 0;
      const std = t.std ?? 1;
      if (!finite(mean) || !finite(std) || std <= 0) bad(`target ${t.name} has mean ${String(t.mean)} and standard deviation ${String(t.std)}`);
      scaling.output = { name: out.name, mean, std };
    }
    return scaling;
  }
  scaling.head = out.outputShape.length === 1 && out.outputShape[0] === 1 ? 'binary' : 'multiclass';
  return scaling;
}

/** Class names by output index as a model folder's metrics.json records them (classNames, or perClassAccuracy's keys), when they fit. */
function classNamesOf(metrics: Record<string, unknown> | undefined, k: number): string[] | undefined {
  const names = metrics?.classNames;
  if (Array.isArray(names) && names.length === k && names.every((n) => typeof n === 'string')) return names as string[];
  const per = metrics?.perClassAccuracy;
  if (per && typeof per === 'object' && !Array.isArray(per)) {
    const keys = Object.keys(per);
    // object keys that look like array indexes are reordered by JSON.parse, so only trust names that are not
    if (keys.length === k && !keys.some((x) => /^(0|[1-9]\d*)$/.test(x))) return keys;
  }
  return undefined;
}

/**
 * The tokenizer side of a text model's exports, checked against the graph; undefined without a tokenizer
 * (image and table models). Throws, naming what does not fit, when the model has no token-id input to feed
 * or its Embedding is smaller than the tokenizer's vocabulary (ids the model could not read).
 */
export function textInputOf(g: ExportGraph, tokenizer: Tokenizer | undefined, task?: ModelTask, metrics?: Record<string, unknown>): TextInput | undefined {
  if (!tokenizer) return undefined;
  const bad = (why: string): never => {
    throw new Error(`the model's tokenizer does not fit its graph: ${why}`);
  };
  const tokenInputs = g.inputs.map((n) => g.layers.find((l) => l.name === n)!).filter((l) => l.dtype === 'int32' && l.outputShape.length === 1);
  if (tokenInputs.length !== 1) bad(`a text model has one token-id input, this one has ${tokenInputs.length}`);
  const input = tokenInputs[0]!;
  const v = vocabSize(tokenizer);
  for (const l of g.layers) {
    if (l.type !== 'Embedding' || !l.inputs.includes(input.name)) continue;
    const dim = Number(l.config.inputDim);
    if (Number.isFinite(dim) && dim < v) bad(`${l.name} embeds ${dim} ids, the ${tokenizer.kind} tokenizer makes ids up to ${v - 1}`);
  }
  if (g.outputs.length !== 1) bad(`a text model has one output, this one has ${g.outputs.length}`);
  const out = g.layers.find((l) => l.name === g.outputs[0])!;
  const T = input.outputShape[0]!;
  const s = out.outputShape;
  const activation = activationOf(out.config);
  const lm = task ? task.id === 'language-modelling' : s.length === 2 && s[0] === T && s[1] === v;
  const text: TextInput = { tokenizer, input: input.name, length: T, vocabSize: v, output: out.name, head: 'other', activation };
  if (lm && s.length === 2 && s[0] === T) text.head = 'language-model';
  else if ((!task || task.id === 'classification') && s.length === 1) {
    text.head = 'classifier';
    text.classes = classNamesOf(metrics, s[0]!) ?? Array.from({ length: s[0]! }, (_, i) => String(i));
  }
  return text;
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

/** The export graph of a trained-model folder, with its table scaling when the folder has a preprocessing, its text input when it has a tokenizer. */
export function exportGraphOfFolder(folder: ModelFolder): ExportGraph {
  const g = exportGraphOf(folder.project.graph, folder.model, folder.project.name);
  const table = tableScalingOf(g, folder.preprocessing);
  const text = textInputOf(g, folder.tokenizer, folder.task, folder.metrics);
  return { ...g, ...(table ? { table } : {}), ...(text ? { text } : {}) };
}

/** A name like `hint` that is not in `taken` (adds _1, _2, …); the name is added to `taken`. */
export function freshName(taken: Set<string>, hint: string): string {
  let name = hint;
  for (let i = 1; taken.has(name); i++) name = `${hint}_${i}`;
  taken.add(name);
  return name;
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
