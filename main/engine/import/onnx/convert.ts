import { resolvedParams } from '../../../../shared/graph';
import { getLayer, ShapeError, type ActivationName, type ParamValue } from '../../../../shared/layers';
import type { UnknownDimension } from '../types';
import { ModelImportError } from '../errors';
import { AttentionError, findAttentionBlocks, resolveAttention, type AttentionBlock, type Known } from './attention';
import { CONST_OPS, ConstEvalError, evalConst, type NdArray } from './constEval';
import type { OnnxAttr, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './decode';

/**
 * ONNX graph -> Layerforge nodes (registry layers), with the initializers as weights in TensorFlow.js's
 * layout. Every ONNX tensor is tracked as one of our nodes' outputs seen through a *layout*: `perm[i]` says
 * which axis of our (batch-first, channels-last) tensor ONNX axis i is (0 = the batch), -1 an inserted axis of
 * size 1. An NCHW image is our NHWC node seen through perm [0, 3, 1, 2]; Transpose, Squeeze, Unsqueeze and
 * layout-only Reshapes just change the perm, so no layer is made for them. Convolutions, pools and batch norms
 * require the channel-first view; a Flatten of a channel-first map becomes our Flatten plus a permutation of
 * the feature order (`rowPerm`) that the following Gemm / MatMul absorbs into its weight rows.
 */

export interface BuiltNode {
  id: string;
  type: string;
  params: Record<string, ParamValue>;
  inputs: string[];
  shape: number[];
  /** Weights by tfjs weight name (kernel, bias, gamma, …), in tfjs's layout. */
  weights: Record<string, { shape: number[]; values: Float32Array }>;
  /** The ONNX node it came from (its name, or `op_type #index`). */
  source: string;
}

export interface Converted {
  nodes: BuiltNode[];
  outputs: string[];
  warnings: string[];
  assumed: UnknownDimension[];
  renamed: Record<string, string>;
  /** Float elements of the initializers (and Constant tensors) the graph uses as weights. */
  sourceParams: number;
  hasWeights: boolean;
}

interface TVal {
  kind: 'tensor';
  node: string;
  /** Our per-sample shape (no batch). */
  shape: number[];
  perm: number[];
  /** onnx flat feature j = our flat feature rowPerm[j] (a Flatten of a channel-first map). */
  rowPerm?: Int32Array;
  /** Every tensor from the node's output up to this one has a single consumer (an activation may fold in). */
  solo: boolean;
}
interface CVal {
  kind: 'const';
  dims: number[];
  values: Float64Array;
  type: OnnxTensor['type'];
  /** Counts toward the file's parameters when used as a weight. */
  weight: boolean;
}
interface FVal {
  kind: 'failed';
}
type Val = TVal | CVal | FVal;

class OpError extends Error {}
/** A node whose input already failed: no new message. */
class Skip extends Error {}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FOLDS = new Set(['Conv2D', 'Conv1D', 'Dense', 'DepthwiseConv2D', 'Conv2DTranspose']);
const identity = (n: number) => Array.from({ length: n }, (_, i) => i);
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const f32 = (v: Float64Array | number[]) => Float32Array.from(v);

/** Transposes a row-major array. */
function transpose(values: Float64Array | Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const n = shape.length;
  const strides = new Array<number>(n);
  let acc = 1;
  for (let i = n - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = perm.map((p) => strides[p]!);
  const out = new Float32Array(values.length);
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < n; i++) src += idx[i]! * outStrides[i]!;
    out[o] = values[src]!;
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function samePads(inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const eff = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + eff - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function nodeLabel(n: OnnxNode): string {
  return n.name || `${n.opType} #${n.index}`;
}

/** Unknown-dimension defaults by what the axis is. */
const DEFAULT_DIM: Record<string, number> = { height: 224, width: 224, channels: 3, 'sequence length': 32, features: 32 };

export function convertOnnx(model: OnnxModel, dims: Record<string, number> = {}): Converted {
  return new Converter(model, dims).run();
}

class Converter {
  private readonly vals = new Map<string, Val>();
  private readonly consumers = new Map<string, OnnxNode[]>();
  private readonly built = new Map<string, BuiltNode>();
  private readonly order: string[] = [];
  private readonly used = new Set<string>();
  private readonly failures: { name: string; className: string; reason: string }[] = [];
  private readonly warnings: string[] = [];
  private readonly assumed: UnknownDimension[] = [];
  private readonly renamed: Record<string, string> = {};
  private readonly weightTensors = new Set<string>();
  private readonly fused = new Map<number, { act: ActivationName; input: string }>();
  private readonly skipped = new Set<number>();
  /** Uses of a tensor by a fused pattern beyond its first (x·sigmoid(x) reads x twice): one use for an activation to fold. */
  private readonly patternUses = new Map<string, number>();
  /** Attention blocks by the index of the node that ends them (their other nodes are skipped). */
  private readonly attention = new Map<number, AttentionBlock>();
  private readonly graphOutputs: Set<string>;
  private constFromNode = new Set<string>();

  constructor(
    private readonly m: OnnxModel,
    private readonly dims: Record<string, number>,
  ) {
    this.graphOutputs = new Set(m.outputs.map((o) => o.name));
  }

  run(): Converted {
    const m = this.m;
    for (const n of m.nodes) for (const i of n.inputs) if (i) (this.consumers.get(i) ?? this.consumers.set(i, []).get(i)!).push(n);
    for (const [name, t] of m.initializers) this.vals.set(name, { kind: 'const', dims: t.dims, values: t.values(), type: t.type, weight: true });
    if (!m.inputs.length) throw new ModelImportError('the ONNX graph has no inputs (every graph input is an initializer)');
    if (!m.outputs.length) throw new ModelImportError('the ONNX graph has no outputs');
    for (const blk of findAttentionBlocks(m)) {
      for (const n of blk.nodes) if (n !== blk.last) this.skipped.add(n.index);
      this.attention.set(blk.last.index, blk);
    }
    for (const inp of m.inputs) {
      try {
        this.input(inp);
      } catch (error) {
        if (!(error instanceof OpError)) throw error;
        this.failures.push({ name: inp.name, className: 'Input', reason: error.message });
        this.vals.set(inp.name, { kind: 'failed' });
      }
    }
    this.fuse();
    for (const n of m.nodes) {
      if (this.skipped.has(n.index)) continue;
      try {
        if (n.domain && n.domain !== 'ai.onnx') throw new OpError(`operator domain '${n.domain}' is not the standard ONNX domain`);
        this.node(n);
      } catch (error) {
        if (error instanceof Skip) {
          for (const o of n.outputs) this.vals.set(o, { kind: 'failed' });
          continue;
        }
        if (!(error instanceof OpError || error instanceof ShapeError)) throw error;
        this.failures.push({ name: nodeLabel(n), className: n.opType, reason: error.message });
        for (const o of n.outputs) this.vals.set(o, { kind: 'failed' });
      }
    }
    const outputs: string[] = [];
    for (const o of m.outputs) {
      const v = this.vals.get(o.name);
      if (!v) {
        this.failures.push({ name: o.name, className: 'Output', reason: 'no node of the graph produces this output' });
        continue;
      }
      if (v.kind === 'failed') continue;
      if (v.kind === 'const') {
        this.failures.push({ name: o.name, className: 'Output', reason: 'the output is a constant (it does not depend on the inputs)' });
        continue;
      }
      if (this.built.get(v.node)!.type === 'Input') {
        this.failures.push({ name: o.name, className: 'Output', reason: 'the output is the input itself (no layer between them)' });
        continue;
      }
      const ours = [0, ...v.shape.map((_, i) => i + 1)];
      const real = v.perm.filter((a) => a !== -1);
      if (!same(real, ours) || v.rowPerm) {
        const onnxShape = this.onnxShape(v).map((d, i) => (i === v.perm.indexOf(0) ? 'N' : String(d)));
        this.warnings.push(`${v.node}: output '${o.name}' is [N, ${v.shape.join(', ')}] here (channels last); the ONNX model gives [${onnxShape.join(', ')}]${v.rowPerm ? ' in channel-first feature order' : ''}`);
      } else if (v.perm.length !== ours.length) {
        this.warnings.push(`${v.node}: output '${o.name}' is [N, ${v.shape.join(', ')}] here; the ONNX model adds axes of size 1`);
      }
      if (!outputs.includes(v.node)) outputs.push(v.node);
    }
    if (this.failures.length) {
      const f = this.failures;
      throw new ModelImportError(
        `cannot import: ${f.length} ONNX operator${f.length === 1 ? '' : 's'} not supported: ${f.map((x) => `${x.name} (${x.className}): ${x.reason}`).join('; ')}`,
        f,
      );
    }
    this.layerNames(outputs);
    // Keep only what leads to an output (dead branches of the ONNX graph would become extra outputs).
    const keep = new Set<string>();
    const visit = (id: string) => {
      if (keep.has(id)) return;
      keep.add(id);
      for (const i of this.built.get(id)!.inputs) visit(i);
    };
    outputs.forEach(visit);
    const nodes = this.order.filter((id) => keep.has(id)).map((id) => this.built.get(id)!);
    for (const n of nodes) if (n.type === 'Input' && !outputs.length) keep.add(n.id);
    let sourceParams = 0;
    for (const name of this.weightTensors) {
      const v = this.vals.get(name);
      if (v?.kind === 'const' && v.type === 'float') sourceParams += v.dims.reduce((a, b) => a * b, 1);
    }
    return {
      nodes,
      outputs,
      warnings: this.warnings,
      assumed: this.assumed,
      renamed: this.renamed,
      sourceParams,
      hasWeights: this.weightTensors.size > 0,
    };
  }

  // ---------------------------------------------------------------- naming and building

  /**
   * Our own exports name each layer's last ONNX tensor after the layer (and list the layers in the metadata):
   * nodes take those names back, so a round trip keeps them.
   */
  private layerNames(outputs: string[]): void {
    let listed: unknown;
    try {
      listed = JSON.parse(this.m.metadata.get('layers') ?? '[]');
    } catch {
      return;
    }
    if (!Array.isArray(listed)) return;
    const ren = new Map<string, string>();
    for (const l of listed) {
      const name = (l as { name?: unknown })?.name;
      if (typeof name !== 'string' || !NAME_RE.test(name)) continue;
      // a layer wrapped in Transposes (convolutions, pools) names the Transpose back: <name>_nhwc; a linear Dense
      // ends at its bias Add (<name>_biased) or MatMul, a MultiHeadAttention without biases at <name>_out_mm
      const found = [name, `${name}_nhwc`, `${name}_ntf`, `${name}_biased`, `${name}_matmul`, `${name}_out_mm`].find((t) => this.vals.get(t)?.kind === 'tensor');
      const v = found ? this.vals.get(found) : undefined;
      if (v?.kind !== 'tensor' || ren.has(v.node) || this.built.get(v.node)!.type === 'Input') continue;
      if (this.used.has(name) && !ren.has(v.node) && v.node !== name) continue;
      ren.set(v.node, name);
      this.used.add(name);
    }
    if (!ren.size) return;
    for (const b of this.built.values()) {
      b.inputs = b.inputs.map((i) => ren.get(i) ?? i);
      const to = ren.get(b.id);
      if (to) {
        for (const [k, v] of Object.entries(this.renamed)) if (v === b.id) delete this.renamed[k];
        b.id = to;
      }
    }
    const order = this.order.map((id) => ren.get(id) ?? id);
    this.order.splice(0, this.order.length, ...order);
    for (const [from, to] of ren) {
      const b = this.built.get(from)!;
      this.built.delete(from);
      this.built.set(to, b);
    }
    outputs.splice(0, outputs.length, ...outputs.map((o) => ren.get(o) ?? o));
  }

  private fresh(hint: string, prefix = 'node'): string {
    let n = hint.replace(/^[/.]+/, '').replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '') || 'node';
    // tfjs layer names start with a letter or digit; ours with a letter
    if (!/^[A-Za-z]/.test(n)) n = `${prefix}_${n}`;
    if (n.length > 64) n = n.slice(0, 64);
    let out = n;
    for (let i = 2; this.used.has(out); i++) out = `${n}_${i}`;
    this.used.add(out);
    return out;
  }

  private add(type: string, params: Record<string, ParamValue>, inputs: TVal[], from: OnnxNode | string, weights: BuiltNode['weights'] = {}, hint?: string): BuiltNode {
    const def = getLayer(type);
    if (!def) throw new OpError(`Layerforge has no ${type} layer`);
    const source = typeof from === 'string' ? from : nodeLabel(from);
    for (const i of inputs) {
      if (!same(i.shape, this.built.get(i.node)!.shape)) throw new OpError(`it reads the two directions of the bidirectional ${this.built.get(i.node)!.type} ${i.node} separately (Layerforge concatenates them)`);
    }
    const id = this.fresh(hint ?? source);
    if (typeof from !== 'string' && from.name && from.name !== id && !hint) this.renamed[from.name] = id;
    const shape = def.outputShape(inputs.map((i) => i.shape), resolvedParams(def, params) as never) as number[];
    const b: BuiltNode = { id, type, params, inputs: inputs.map((i) => i.node), shape: [...shape], weights, source };
    this.built.set(id, b);
    this.order.push(id);
    return b;
  }

  /** The value of an ONNX node's output, made by a new node of ours (identity layout). */
  private out(n: OnnxNode, b: BuiltNode, k = 0): TVal {
    const v: TVal = { kind: 'tensor', node: b.id, shape: b.shape, perm: identity(b.shape.length + 1), solo: this.uses(n.outputs[k]!) === 1 };
    this.vals.set(n.outputs[k]!, v);
    return v;
  }

  private uses(tensor: string): number {
    return (this.consumers.get(tensor)?.length ?? 0) + (this.graphOutputs.has(tensor) ? 1 : 0) - (this.patternUses.get(tensor) ?? 0);
  }

  private setVal(n: OnnxNode, v: TVal | CVal, k = 0): void {
    if (v.kind === 'tensor') v = { ...v, solo: v.solo && this.uses(n.outputs[k]!) === 1 };
    this.vals.set(n.outputs[k]!, v);
  }

  private onnxShape(v: TVal): number[] {
    return v.perm.map((a) => (a === -1 ? 1 : a === 0 ? 1 : v.shape[a - 1]!));
  }

  // ---------------------------------------------------------------- inputs

  private input(info: OnnxValueInfo): void {
    if (!info.dims) throw new OpError('the input has no shape in the file');
    const intLike = [2, 3, 4, 5, 6, 7, 12, 13].includes(info.elemType);
    if (info.elemType !== 1 && !intLike) throw new OpError(`input type ${info.elemType} is not supported (float32 inputs, or integer token ids)`);
    const rank = info.dims.length;
    const cons = this.consumers.get(info.name) ?? [];
    const name = this.fresh(info.name, 'input');
    if (name !== info.name) this.renamed[info.name] = name;
    // Which layout: NCHW unless every consumer turns it channel-first (an NHWC input, as our own exports and tf2onnx write).
    let perm: number[];
    let labels: string[];
    let kind: string;
    const layerforge = this.m.producerName === 'Layerforge';
    const toNchw = cons.length > 0 && cons.every((c) => c.opType === 'Transpose' && same(this.ints(c, 'perm') ?? [], [0, 3, 1, 2]));
    const attentionRead = [...this.attention.values()].some((b) => b.q.input === info.name || b.k.input === info.name);
    // PyTorch's nn.MultiheadAttention without batch_first reads [T, N, E]; traced with one sample, its file says [T, 1, E]
    const seqFirst = rank === 3 && !layerforge && attentionRead && typeof info.dims[0] === 'number' && info.dims[0] > 1 && info.dims[1] === 1;
    const rnn = seqFirst || (cons.length > 0 && cons.every((c) => ['LSTM', 'GRU', 'RNN'].includes(c.opType) && c.inputs[0] === info.name && this.int(c, 'layout', 0) === 0));
    const conv1d = cons.length > 0 && cons.every((c) => ['Conv', 'MaxPool', 'AveragePool', 'BatchNormalization'].includes(c.opType));
    if (rank === 4) {
      if (layerforge || toNchw) {
        perm = [0, 1, 2, 3];
        labels = ['height', 'width', 'channels'];
      } else {
        perm = [0, 3, 1, 2];
        labels = ['channels', 'height', 'width'];
      }
      kind = 'image';
    } else if (rank === 3 && intLike) {
      throw new OpError('integer inputs must be [batch, length] token ids');
    } else if (rank === 3) {
      if (rnn) {
        perm = [1, 0, 2];
        labels = ['sequence length', 'batch', 'features'];
      } else if (conv1d && !layerforge) {
        perm = [0, 2, 1];
        labels = ['channels', 'sequence length'];
      } else {
        perm = [0, 1, 2];
        labels = ['sequence length', 'features'];
      }
      kind = 'sequence';
    } else if (rank === 2) {
      perm = [0, 1];
      labels = intLike ? ['sequence length'] : ['features'];
      kind = intLike ? 'tokens' : 'features';
    } else {
      throw new OpError(`a rank-${rank} input [${info.dims.join(', ')}] is not supported (Layerforge inputs are images, sequences, token ids or feature vectors)`);
    }
    if (rnn && rank === 3) labels = ['sequence length', 'batch', 'features'];
    const batchAxis = perm.indexOf(0);
    // ONNX axis -> size; our shape from the perm.
    const sizes: number[] = [];
    let li = 0;
    info.dims.forEach((d, axis) => {
      if (axis === batchAxis) return;
      const label = rnn && rank === 3 ? (axis === 0 ? 'sequence length' : 'features') : labels[li]!;
      li++;
      const key = `${name}:${axis - (axis > batchAxis ? 1 : 0)}`;
      if (typeof d === 'number' && d > 0) {
        if (d > 100_000) throw new OpError(`input axis ${axis} has size ${d}, more than Layerforge's inputs take`);
        sizes[axis] = d;
        return;
      }
      const given = this.dims[key];
      const value = given !== undefined && Number.isInteger(given) && given > 0 ? given : DEFAULT_DIM[label] ?? 32;
      this.assumed.push({ key, input: name, axis: axis - (axis > batchAxis ? 1 : 0), label, value, chosen: given !== undefined && value === given });
      sizes[axis] = value;
    });
    const shape: number[] = [];
    perm.forEach((ourAxis, onnxAxis) => {
      if (ourAxis > 0) shape[ourAxis - 1] = sizes[onnxAxis]!;
    });
    const params: Record<string, ParamValue> =
      kind === 'image'
        ? { kind, height: shape[0]!, width: shape[1]!, channels: shape[2]! }
        : kind === 'sequence'
          ? { kind, timesteps: shape[0]!, features: shape[1]! }
          : kind === 'tokens'
            ? { kind, length: shape[0]! }
            : { kind, features: shape[0]! };
    const def = getLayer('Input')!;
    const b: BuiltNode = { id: name, type: 'Input', params, inputs: [], shape: def.outputShape([], resolvedParams(def, params) as never) as number[], weights: {}, source: info.name };
    this.built.set(name, b);
    this.order.push(name);
    this.vals.set(info.name, { kind: 'tensor', node: name, shape: b.shape, perm, solo: false });
  }

  // ---------------------------------------------------------------- attributes and operands

  private attr(n: OnnxNode, key: string): OnnxAttr | undefined {
    return n.attrs.get(key);
  }
  private int(n: OnnxNode, key: string, def: number): number {
    const a = this.attr(n, key);
    return a?.kind === 'int' ? a.value : def;
  }
  private float(n: OnnxNode, key: string, def: number): number {
    const a = this.attr(n, key);
    return a?.kind === 'float' ? a.value : def;
  }
  private ints(n: OnnxNode, key: string): number[] | undefined {
    const a = this.attr(n, key);
    return a?.kind === 'ints' ? a.value : undefined;
  }
  private str(n: OnnxNode, key: string, def: string): string {
    const a = this.attr(n, key);
    return a?.kind === 'string' ? a.value : def;
  }

  private val(n: OnnxNode, i: number): Val | undefined {
    const name = n.inputs[i];
    if (!name) return undefined;
    const v = this.vals.get(name);
    if (!v) throw new OpError(`its input '${name}' is not produced by any earlier node, initializer or graph input`);
    if (v.kind === 'failed') throw new Skip();
    return v;
  }
  private tensor(n: OnnxNode, i: number): TVal {
    const v = this.val(n, i);
    if (!v) throw new OpError(`input ${i + 1} is missing`);
    if (v.kind !== 'tensor') throw new OpError(`input ${i + 1} ('${n.inputs[i]}') is a constant; Layerforge needs the model's data here`);
    return v;
  }
  /** A constant operand (initializer or Constant); `weight` marks it as a parameter of the model. */
  private constant(n: OnnxNode, i: number, what: string, weight = true): CVal | undefined {
    const v = this.val(n, i);
    if (!v) return undefined;
    if (v.kind !== 'const') throw new OpError(`its ${what} ('${n.inputs[i]}') is computed in the graph, not stored in the file (Layerforge needs ${what} as an initializer)`);
    if (weight && v.weight) this.weightTensors.add(n.inputs[i]!);
    return v;
  }
  private needConst(n: OnnxNode, i: number, what: string, weight = true): CVal {
    const c = this.constant(n, i, what, weight);
    if (!c) throw new OpError(`its ${what} is missing`);
    return c;
  }
  /** Integer list from an attribute (older opsets) or a constant input (newer). */
  private intsFrom(n: OnnxNode, key: string, input: number): number[] | undefined {
    const a = this.ints(n, key);
    if (a) return a;
    const c = this.constant(n, input, key, false);
    return c ? Array.from(c.values) : undefined;
  }

  /** The built node behind a value. */
  private b(v: TVal): BuiltNode {
    return this.built.get(v.node)!;
  }

  /** Requires the channel-first view of an image (rank 4) or sequence (rank 3) of ours. */
  private channelsFirst(n: OnnxNode, x: TVal, rank: 3 | 4): void {
    const want = rank === 4 ? [0, 3, 1, 2] : [0, 2, 1];
    if (x.rowPerm || !same(x.perm, want) || x.shape.length !== rank - 1) {
      throw new OpError(`${n.opType} needs a ${rank === 4 ? 'N×C×H×W image' : 'N×C×L sequence'} here, got a tensor whose layout Layerforge cannot map (${this.describe(x)})`);
    }
  }

  private describe(x: TVal): string {
    return `ONNX shape [${this.onnxShape(x).join(', ')}] from ${x.node} [${x.shape.join(', ')}]`;
  }

  /** Axis of ours (1-based, 0 = batch) that ONNX axis `a` (possibly negative) is. */
  private ourAxis(x: TVal, a: number): number {
    const r = x.perm.length;
    const ax = a < 0 ? a + r : a;
    if (ax < 0 || ax >= r) throw new OpError(`axis ${a} is out of range for a rank-${r} tensor`);
    return x.perm[ax]!;
  }

  /** Per-channel (our last axis) values of a constant broadcast against x, a scalar, or null. */
  private channelVector(c: CVal, x: TVal): Float64Array | number | null {
    const size = c.dims.reduce((a, b) => a * b, 1);
    if (size === 1) return c.values[0]!;
    const r = x.perm.length;
    if (c.dims.length > r) return null;
    const padded = [...new Array<number>(r - c.dims.length).fill(1), ...c.dims];
    const axes = padded.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
    const last = x.shape.length;
    if (axes.length !== 1 || x.perm[axes[0]!] !== last || padded[axes[0]!] !== x.shape[last - 1] || x.rowPerm) return null;
    return c.values;
  }

  // ---------------------------------------------------------------- fusions

  /** Patterns of several ONNX nodes that are one activation: x·sigmoid(x) (swish), the erf form of gelu. */
  private fuse(): void {
    const byOutput = new Map<string, OnnxNode>();
    for (const n of this.m.nodes) for (const o of n.outputs) byOutput.set(o, n);
    const single = (t: string) => this.uses(t) === 1;
    const scalar = (name: string | undefined, want: number, tol = 1e-4): boolean => {
      if (!name) return false;
      let t = this.m.initializers.get(name);
      const c = byOutput.get(name);
      if (!t && c?.opType === 'Constant') {
        const a = c.attrs.get('value');
        if (a?.kind === 'tensor') t = a.value;
      }
      try {
        return !!t && t.size === 1 && Math.abs(t.values()[0]! - want) < tol;
      } catch {
        return false;
      }
    };
    const otherInput = (n: OnnxNode, t: string) => (n.inputs[0] === t ? n.inputs[1] : n.inputs[1] === t ? n.inputs[0] : undefined);
    for (const sig of this.m.nodes) {
      if (sig.opType !== 'Sigmoid' || !single(sig.outputs[0]!)) continue;
      const mul = this.consumers.get(sig.outputs[0]!)?.[0];
      if (mul?.opType === 'Mul' && otherInput(mul, sig.outputs[0]!) === sig.inputs[0]) {
        this.skipped.add(sig.index);
        this.fused.set(mul.index, { act: 'swish', input: sig.inputs[0]! });
        this.patternUses.set(sig.inputs[0]!, (this.patternUses.get(sig.inputs[0]!) ?? 0) + 1);
      }
    }
    for (const erf of this.m.nodes) {
      if (erf.opType !== 'Erf' || !single(erf.outputs[0]!)) continue;
      const div = byOutput.get(erf.inputs[0]!);
      if (!div || div.opType !== 'Div' || !single(div.outputs[0]!) || !scalar(div.inputs[1], Math.SQRT2)) continue;
      const x = div.inputs[0]!;
      const add = this.consumers.get(erf.outputs[0]!)?.[0];
      if (add?.opType !== 'Add' || !single(add.outputs[0]!) || !scalar(otherInput(add, erf.outputs[0]!), 1)) continue;
      const m1 = this.consumers.get(add.outputs[0]!)?.[0];
      if (m1?.opType !== 'Mul' || !single(m1.outputs[0]!)) continue;
      const o1 = otherInput(m1, add.outputs[0]!);
      const m2 = this.consumers.get(m1.outputs[0]!)?.[0];
      if (m2?.opType !== 'Mul') continue;
      const o2 = otherInput(m2, m1.outputs[0]!);
      // torch: x * (1 + erf) then * 0.5; ours: (1 + erf) * 0.5 then x *
      if ((o1 === x && scalar(o2, 0.5)) || (scalar(o1, 0.5) && o2 === x)) {
        for (const s of [div, erf, add, m1]) this.skipped.add(s.index);
        this.fused.set(m2.index, { act: 'gelu', input: x });
        this.patternUses.set(x, (this.patternUses.get(x) ?? 0) + 1);
      }
    }
  }

  // ---------------------------------------------------------------- activations

  /** Applies an activation: folded into the Conv / Dense before it when it is that layer's only consumer, else an Activation layer. */
  private activate(n: OnnxNode, x: TVal, act: ActivationName): void {
    const src = this.b(x);
    if (x.solo && FOLDS.has(src.type) && src.params.activation === 'linear' && (act !== 'softmax' || (same(x.perm, identity(x.perm.length)) && !x.rowPerm))) {
      src.params.activation = act;
      this.setVal(n, x);
      return;
    }
    if (act === 'softmax' && (x.rowPerm || x.perm[x.perm.length - 1] !== x.shape.length)) {
      this.out(n, this.add('Softmax', { axis: x.perm[x.perm.length - 1]! }, [x], n));
      return;
    }
    this.setVal(n, { ...this.out(n, this.add('Activation', { activation: act }, [x], n)), perm: x.perm, rowPerm: x.rowPerm });
  }

  // ---------------------------------------------------------------- operators

  private node(n: OnnxNode): void {
    const blk = this.attention.get(n.index);
    if (blk) return this.attentionBlock(blk);
    const fusedAct = this.fused.get(n.index);
    if (fusedAct) {
      const v = this.vals.get(fusedAct.input);
      if (!v || v.kind === 'failed') throw new Skip();
      if (v.kind !== 'tensor') throw new OpError('its input is a constant');
      return this.activate(n, v, fusedAct.act);
    }
    if (CONST_OPS.has(n.opType) && n.inputs.some((i) => i)) {
      const ins = n.inputs.map((_, i) => this.val(n, i));
      if (ins.every((v) => !v || v.kind === 'const')) {
        const cs = ins as (CVal | undefined)[];
        let r: NdArray;
        try {
          r = evalConst(n.opType, cs, {
            int: (k, d) => this.int(n, k, d),
            ints: (k) => this.ints(n, k),
            float: (k, d) => this.float(n, k, d),
            tensor: (k) => {
              const a = this.attr(n, k);
              return a?.kind === 'tensor' ? { dims: a.value.dims, values: a.value.values(), type: a.value.type } : undefined;
            },
          }, this.m.opset);
        } catch (error) {
          if (error instanceof ConstEvalError) throw new OpError(error.message);
          throw error;
        }
        // a weight computed from weights (transposed in the graph, say) still counts as the file's parameters
        const weight = r.type === 'float' && cs.some((c) => c?.weight && c.type === 'float');
        if (weight) cs.forEach((c, i) => c && this.weightTensors.delete(n.inputs[i]!));
        return this.setVal(n, { kind: 'const', dims: r.dims, values: r.values, type: r.type, weight });
      }
    }
    const handler = OPS[n.opType];
    if (!handler) throw new OpError(`operator ${n.opType} has no Layerforge equivalent`);
    handler.call(this, n);
  }

  /** An attention block (attention.ts) -> one MultiHeadAttention layer, with the layout ops after it that it does not absorb. */
  private attentionBlock(blk: AttentionBlock): void {
    const known = (name: string): Known => {
      const v = this.vals.get(name);
      if (!v) return undefined;
      if (v.kind === 'failed') throw new Skip();
      if (v.kind === 'const') return { kind: 'const', arr: { dims: v.dims, values: v.values, type: v.type } };
      return { kind: 'tensor', onnxShape: this.onnxShape(v), timeAxis: v.perm.indexOf(1) };
    };
    const where = `the attention block ending here (from ${nodeLabel(blk.q.matmul)})`;
    for (const [name, what] of [[blk.q.input, 'query'], [blk.k.input, 'key/value']] as const) {
      const v = this.vals.get(name);
      if (v?.kind === 'failed') throw new Skip();
      if (v?.kind !== 'tensor') throw new OpError(`${where}: its ${what} input '${name}' is not the model's data`);
      if (v.shape.length !== 2 || v.perm.length !== 3 || v.perm[2] !== 2 || v.rowPerm) throw new OpError(`${where}: its ${what} input is not a [batch, time, features] sequence of Layerforge's (${this.describe(v)})`);
    }
    let r: ReturnType<typeof resolveAttention>;
    try {
      r = resolveAttention(blk, known, this.m.opset);
    } catch (error) {
      if (error instanceof AttentionError) throw new OpError(`${where} has no Layerforge equivalent: ${error.message}`);
      throw error;
    }
    for (const w of r.weightNames) if ((this.vals.get(w) as CVal).weight) this.weightTensors.add(w);
    const q = this.vals.get(r.query) as TVal;
    const kv = this.vals.get(r.kv) as TVal;
    const { numHeads, keyDim, valueDim, causal, useBias } = r.params;
    const params: Record<string, ParamValue> = { numHeads, keyDim, valueDim: valueDim === keyDim ? 0 : valueDim, causal, useBias };
    const b = this.add('MultiHeadAttention', params, r.kv === r.query ? [q] : [q, kv], r.end, r.weights);
    const out = r.end.outputs[0]!;
    this.vals.set(out, { kind: 'tensor', node: b.id, shape: b.shape, perm: r.perm, solo: this.uses(out) === 1 });
    this.attention.delete(blk.last.index);
    for (const n of r.rest) this.node(n);
  }

  passThrough(n: OnnxNode): void {
    const v = this.val(n, 0);
    if (!v) throw new OpError('input 1 is missing');
    this.setVal(n, v as TVal | CVal);
  }

  relu(n: OnnxNode): void {
    this.activate(n, this.tensor(n, 0), 'relu');
  }
  simpleAct(act: ActivationName): (n: OnnxNode) => void {
    return (n) => this.activate(n, this.tensor(n, 0), act);
  }

  clip(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const lo = this.m.opset < 11 ? this.float(n, 'min', -Infinity) : this.constant(n, 1, 'min', false)?.values[0] ?? -Infinity;
    const hi = this.m.opset < 11 ? this.float(n, 'max', Infinity) : this.constant(n, 2, 'max', false)?.values[0] ?? Infinity;
    if (lo === 0 && hi === 6) return this.activate(n, x, 'relu6');
    if (lo === 0 && hi === Infinity) return this.activate(n, x, 'relu');
    if (lo === 0 && hi > 0) return void this.setVal(n, { ...this.out(n, this.add('ReLU', { maxValue: hi }, [x], n)), perm: x.perm, rowPerm: x.rowPerm });
    throw new OpError(`Clip(${lo}, ${hi}) has no Layerforge equivalent (Clip(0, max) maps to ReLU with a cap)`);
  }

  leakyRelu(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    this.setVal(n, { ...this.out(n, this.add('LeakyReLU', { alpha: this.float(n, 'alpha', 0.01) }, [x], n)), perm: x.perm, rowPerm: x.rowPerm });
  }

  elu(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const alpha = this.float(n, 'alpha', 1);
    if (alpha === 1) return this.activate(n, x, 'elu');
    this.setVal(n, { ...this.out(n, this.add('ELU', { alpha }, [x], n)), perm: x.perm, rowPerm: x.rowPerm });
  }

  hardSigmoid(n: OnnxNode): void {
    const alpha = this.float(n, 'alpha', 0.2);
    const beta = this.float(n, 'beta', 0.5);
    if (Math.abs(alpha - 0.2) > 1e-6 || Math.abs(beta - 0.5) > 1e-6) throw new OpError(`HardSigmoid(alpha ${alpha}, beta ${beta}) differs from Layerforge's hardSigmoid (alpha 0.2, beta 0.5)`);
    this.activate(n, this.tensor(n, 0), 'hardSigmoid');
  }

  gelu(n: OnnxNode): void {
    if (this.str(n, 'approximate', 'none') !== 'none') throw new OpError(`Gelu(approximate='${this.str(n, 'approximate', '')}') differs from Layerforge's gelu (the exact erf form)`);
    this.activate(n, this.tensor(n, 0), 'gelu');
  }

  softmax(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const r = x.perm.length;
    const axis = this.int(n, 'axis', this.m.opset >= 13 ? -1 : 1);
    const ax = axis < 0 ? axis + r : axis;
    if (this.m.opset < 13 && ax !== r - 1) throw new OpError(`Softmax over axes ${ax}… flattened together (opset ${this.m.opset}) is not supported; only the last axis`);
    if (ax !== r - 1) {
      const our = this.ourAxis(x, axis);
      if (our <= 0) throw new OpError(`Softmax along axis ${axis} (the batch or an axis of size 1) is not supported`);
      this.setVal(n, { ...this.out(n, this.add('Softmax', { axis: our }, [x], n)), perm: x.perm });
      return;
    }
    this.activate(n, x, 'softmax');
  }

  prelu(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const slope = this.needConst(n, 1, 'slope');
    const ch = this.channelVector(slope, x);
    if (ch === null) throw new OpError('PRelu with a slope that is not one per channel (or one for all) is not supported');
    const c = x.shape[x.shape.length - 1]!;
    const shared = x.shape.slice(0, -1).map((_, i) => i + 1);
    const alpha = typeof ch === 'number' ? new Float32Array(c).fill(ch) : f32(ch);
    const b = this.add('PReLU', { sharedAxes: shared }, [x], n, { alpha: { shape: [...shared.map(() => 1), c], values: alpha } });
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  /** Conv: Conv2D, DepthwiseConv2D (group = channels) or Conv1D, with a ZeroPadding before it for explicit pads tfjs's 'same' does not make. */
  conv(n: OnnxNode): void {
    let x = this.tensor(n, 0);
    const w = this.needConst(n, 1, 'weight');
    const bias = this.constant(n, 2, 'bias');
    const rank = w.dims.length;
    if (rank !== 4 && rank !== 3) throw new OpError(`${rank - 2}-D convolution is not supported (2-D and 1-D only)`);
    this.channelsFirst(n, x, rank as 3 | 4);
    const spatial = rank - 2;
    const k = this.ints(n, 'kernel_shape') ?? w.dims.slice(2);
    const strides = this.ints(n, 'strides') ?? new Array<number>(spatial).fill(1);
    const dil = this.ints(n, 'dilations') ?? new Array<number>(spatial).fill(1);
    const group = this.int(n, 'group', 1);
    const [O, Ig] = w.dims as [number, number];
    const cin = x.shape[x.shape.length - 1]!;
    if (spatial === 2 && (k[0] !== k[1] || strides[0] !== strides[1] || dil[0] !== dil[1])) {
      throw new OpError(`kernel ${k.join('×')}, strides ${strides.join('×')}, dilations ${dil.join('×')}: Layerforge's convolutions are square (one size for height and width)`);
    }
    const depthwise = group > 1 && group === cin && Ig === 1 && spatial === 2;
    if (group !== 1 && !depthwise) throw new OpError(`grouped convolution (group ${group} of ${cin} channels) is not supported; only group 1 and depthwise (group = channels)`);
    if (!depthwise && Ig !== cin) throw new OpError(`its weight expects ${Ig} input channels, the input has ${cin}`);
    const pad = this.padding(n, x, k[0]!, strides[0]!, dil[0]!, spatial);
    if (!pad) throw new OpError(`pads [${(this.ints(n, 'pads') ?? []).join(', ')}] are asymmetric in a way tfjs's 'same' padding does not reproduce`);
    if (pad.zero) x = this.zeroPad(n, x, pad.zero, spatial);
    const type = spatial === 1 ? 'Conv1D' : depthwise ? 'DepthwiseConv2D' : 'Conv2D';
    const params: Record<string, ParamValue> = { kernelSize: k[0]!, strides: strides[0]!, padding: pad.mode, activation: 'linear', useBias: !!bias };
    if (type !== 'DepthwiseConv2D') Object.assign(params, { filters: O, dilation: dil[0]! });
    else {
      if (dil[0] !== 1) throw new OpError('dilated depthwise convolution is not supported');
      params.depthMultiplier = O / cin;
    }
    const weights: BuiltNode['weights'] = {};
    if (type === 'Conv2D') weights.kernel = { shape: [k[0]!, k[1]!, cin, O], values: transpose(w.values, w.dims, [2, 3, 1, 0]) };
    else if (type === 'Conv1D') weights.kernel = { shape: [k[0]!, cin, O], values: transpose(w.values, w.dims, [2, 1, 0]) };
    else {
      // ONNX [cin*mult, 1, kh, kw] (output channel c*mult+m) -> tfjs [kh, kw, cin, mult]
      const mult = O / cin;
      weights.depthwise_kernel = { shape: [k[0]!, k[1]!, cin, mult], values: transpose(w.values, [cin, mult, k[0]!, k[1]!], [2, 3, 0, 1]) };
    }
    if (bias) weights.bias = { shape: [O], values: f32(bias.values) };
    const b = this.add(type, params, [x], n, weights);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  /** 'valid', 'same' or a ZeroPadding then 'valid' for ONNX pads/auto_pad; null when none reproduces them. */
  private padding(n: OnnxNode, x: TVal, k: number, s: number, d: number, spatial: number): { mode: 'valid' | 'same'; zero?: number[] } | null {
    const auto = this.str(n, 'auto_pad', 'NOTSET');
    if (auto === 'VALID') return { mode: 'valid' };
    const sizes = x.shape.slice(0, spatial);
    if (auto === 'SAME_UPPER') return { mode: 'same' };
    if (auto === 'SAME_LOWER') return sizes.every((h) => samePads(h, k, s, d)[0] === samePads(h, k, s, d)[1]) ? { mode: 'same' } : null;
    const pads = this.ints(n, 'pads') ?? new Array<number>(2 * spatial).fill(0);
    if (pads.every((p) => p === 0)) return { mode: 'valid' };
    const begin = pads.slice(0, spatial);
    const end = pads.slice(spatial);
    if (sizes.every((h, i) => {
      const [a, b] = samePads(h, k, s, d);
      return a === begin[i] && b === end[i];
    })) return { mode: 'same' };
    if (begin.every((p, i) => p === end[i])) return { mode: 'valid', zero: begin };
    return null;
  }

  private zeroPad(n: OnnxNode, x: TVal, p: number[], spatial: number): TVal {
    const b = spatial === 2 ? this.add('ZeroPadding2D', { padding: p[0]!, paddingWidth: p[1] === p[0] ? -1 : p[1]! }, [x], n, {}, `${this.fresh(nodeLabel(n))}_pad`) : this.add('ZeroPadding1D', { padding: p[0]!, paddingEnd: -1 }, [x], n, {}, `${this.fresh(nodeLabel(n))}_pad`);
    return { kind: 'tensor', node: b.id, shape: b.shape, perm: x.perm, solo: true };
  }

  convTranspose(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const w = this.needConst(n, 1, 'weight');
    const bias = this.constant(n, 2, 'bias');
    if (w.dims.length !== 4) throw new OpError('only 2-D transposed convolution is supported');
    this.channelsFirst(n, x, 4);
    const [I, O] = w.dims as [number, number, number, number];
    const k = this.ints(n, 'kernel_shape') ?? w.dims.slice(2);
    const s = this.ints(n, 'strides') ?? [1, 1];
    const d = this.ints(n, 'dilations') ?? [1, 1];
    const pads = this.ints(n, 'pads') ?? [0, 0, 0, 0];
    const op = this.ints(n, 'output_padding') ?? [0, 0];
    if (this.int(n, 'group', 1) !== 1) throw new OpError('grouped transposed convolution is not supported');
    if (d.some((v) => v !== 1)) throw new OpError('dilated transposed convolution is not supported');
    if (k[0] !== k[1] || s[0] !== s[1]) throw new OpError(`kernel ${k.join('×')} / strides ${s.join('×')} are not square`);
    if (this.ints(n, 'output_shape') || this.str(n, 'auto_pad', 'NOTSET') !== 'NOTSET') throw new OpError('output_shape / auto_pad on ConvTranspose are not supported (give pads)');
    if (I !== x.shape[2]) throw new OpError(`its weight expects ${I} input channels, the input has ${x.shape[2]}`);
    const kk = k[0]!;
    const ss = s[0]!;
    // The pads and output padding our exporter writes for tfjs's valid / same (export/onnx/layers.ts transposePads).
    const outPad = Math.max(ss - kk, 0);
    const total = Math.max(kk - ss, 0);
    const sameP = [Math.floor(total / 2), Math.floor(total / 2), total - Math.floor(total / 2), total - Math.floor(total / 2)];
    let padding: 'valid' | 'same';
    if (pads.every((p) => p === 0) && op.every((p) => p === outPad)) padding = 'valid';
    else if (same(pads, sameP) && op.every((p) => p === outPad)) padding = 'same';
    else throw new OpError(`pads [${pads.join(', ')}] with output_padding [${op.join(', ')}] crop the output differently from tfjs's 'valid' and 'same' transposed convolutions`);
    const weights: BuiltNode['weights'] = { kernel: { shape: [kk, kk, O, I], values: transpose(w.values, w.dims, [2, 3, 1, 0]) } };
    if (bias) weights.bias = { shape: [O], values: f32(bias.values) };
    const b = this.add('Conv2DTranspose', { filters: O, kernelSize: kk, strides: ss, padding, activation: 'linear', useBias: !!bias }, [x], n, weights);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  pool(n: OnnxNode): void {
    let x = this.tensor(n, 0);
    const max = n.opType === 'MaxPool';
    const r = x.perm.length;
    if (r !== 4 && r !== 3) throw new OpError(`${r - 2}-D pooling is not supported`);
    this.channelsFirst(n, x, r as 3 | 4);
    const spatial = r - 2;
    const k = this.ints(n, 'kernel_shape') ?? [];
    const s = this.ints(n, 'strides') ?? new Array<number>(spatial).fill(1);
    if (k.length !== spatial) throw new OpError('kernel_shape is missing');
    if ((this.ints(n, 'dilations') ?? []).some((v) => v !== 1)) throw new OpError('dilated pooling is not supported');
    if (spatial === 2 && (k[0] !== k[1] || s[0] !== s[1])) throw new OpError(`pool ${k.join('×')} / strides ${s.join('×')} are not square`);
    if (n.outputs.length > 1 && n.outputs[1] && this.uses(n.outputs[1])) throw new OpError('MaxPool indices output is not supported');
    const pad = this.padding(n, x, k[0]!, s[0]!, 1, spatial);
    if (!pad) throw new OpError(`pads [${(this.ints(n, 'pads') ?? []).join(', ')}] are asymmetric in a way tfjs's 'same' padding does not reproduce`);
    if (pad.zero) {
      const countPad = this.int(n, 'count_include_pad', 0) === 1;
      if (max && !this.nonNegative(x)) throw new OpError(`MaxPool with pads [${this.ints(n, 'pads')!.join(', ')}] over values that may be negative: tfjs pads 'same' differently and zero padding would change the maxima`);
      if (!max && !countPad) throw new OpError(`AveragePool with pads [${this.ints(n, 'pads')!.join(', ')}] and count_include_pad=0 has no tfjs equivalent (tfjs's 'same' pads differently)`);
      x = this.zeroPad(n, x, pad.zero, spatial);
    } else if (!max && pad.mode === 'same' && this.int(n, 'count_include_pad', 0) === 1 && (this.ints(n, 'pads') ?? []).some((p) => p > 0)) {
      throw new OpError('AveragePool with count_include_pad=1 over padding tfjs does not count is not supported');
    }
    const ceil = this.int(n, 'ceil_mode', 0) === 1;
    if (ceil) {
      const sizes = x.shape.slice(0, spatial);
      const differs = sizes.some((h) => Math.floor((h - k[0]!) / s[0]!) !== Math.ceil((h - k[0]!) / s[0]!));
      if (differs && pad.mode === 'valid') throw new OpError('ceil_mode=1 gives a larger output than tfjs pooling for this input size');
    }
    const type = spatial === 2 ? (max ? 'MaxPool2D' : 'AvgPool2D') : max ? 'MaxPool1D' : 'AvgPool1D';
    const b = this.add(type, { poolSize: k[0]!, strides: s[0] === k[0] ? 0 : s[0]!, padding: pad.mode }, [x], n);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  /** True when x is known not to be negative (after relu, relu6, sigmoid or a ReLU layer). */
  private nonNegative(x: TVal): boolean {
    const b = this.b(x);
    const act = b.params.activation;
    if (act === 'relu' || act === 'relu6' || act === 'sigmoid' || act === 'softmax' || act === 'hardSigmoid') return true;
    if (b.type === 'ReLU' && Number(b.params.negativeSlope ?? 0) === 0) return true;
    if (['MaxPool2D', 'ZeroPadding2D', 'AvgPool2D', 'Dropout'].includes(b.type)) {
      const src = this.built.get(b.inputs[0]!);
      return !!src && this.nonNegative({ kind: 'tensor', node: src.id, shape: src.shape, perm: [], solo: false });
    }
    return false;
  }

  globalPool(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const r = x.perm.length;
    if (r !== 4 && r !== 3) throw new OpError(`global pooling of a rank-${r} tensor is not supported`);
    this.channelsFirst(n, x, r as 3 | 4);
    const avg = n.opType === 'GlobalAveragePool';
    const type = r === 4 ? (avg ? 'GlobalAvgPool2D' : 'GlobalMaxPool2D') : avg ? 'GlobalAvgPool1D' : 'GlobalMaxPool1D';
    const b = this.add(type, {}, [x], n);
    // ONNX keeps the spatial axes as 1s: [N, C, 1, 1]
    this.setVal(n, { ...this.out(n, b), perm: [0, 1, ...new Array<number>(r - 2).fill(-1)] });
  }

  reduce(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const axes = this.intsFrom(n, 'axes', 1);
    const keep = this.int(n, 'keepdims', 1) === 1;
    const r = x.perm.length;
    if (!axes) throw new OpError('reducing every axis is not supported');
    const ours = axes.map((a) => this.ourAxis(x, a)).sort();
    const spatial = x.shape.length === 3 ? [1, 2] : x.shape.length === 2 ? [1] : null;
    if (!spatial || !same(ours, spatial) || x.rowPerm) throw new OpError(`${n.opType} over axes [${axes.join(', ')}] is not a global pooling of an image or sequence`);
    const avg = n.opType === 'ReduceMean';
    const type = spatial.length === 2 ? (avg ? 'GlobalAvgPool2D' : 'GlobalMaxPool2D') : avg ? 'GlobalAvgPool1D' : 'GlobalMaxPool1D';
    const b = this.add(type, {}, [x], n);
    const reduced = new Set(axes.map((a) => (a < 0 ? a + r : a)));
    const perm = x.perm.flatMap((p, i) => (reduced.has(i) ? (keep ? [-1] : []) : [p === 0 ? 0 : p === x.shape.length ? 1 : -1]));
    this.setVal(n, { ...this.out(n, b), perm });
  }

  batchNorm(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    if (x.perm.length < 2 || x.perm[1] !== x.shape.length || x.rowPerm) throw new OpError(`its channel axis (1) is not the channel axis Layerforge normalises (${this.describe(x)})`);
    if (this.int(n, 'training_mode', 0) === 1) throw new OpError('training_mode=1 is not supported');
    const c = x.shape[x.shape.length - 1]!;
    const vec = (i: number, what: string) => {
      const t = this.needConst(n, i, what);
      if (t.values.length !== c) throw new OpError(`its ${what} has ${t.values.length} values for ${c} channels`);
      return f32(t.values);
    };
    const eps = this.float(n, 'epsilon', 1e-5);
    const weights = { gamma: { shape: [c], values: vec(1, 'scale') }, beta: { shape: [c], values: vec(2, 'bias') }, moving_mean: { shape: [c], values: vec(3, 'mean') }, moving_variance: { shape: [c], values: vec(4, 'variance') } };
    const b = this.add('BatchNormalization', { epsilon: eps, momentum: 1 - this.float(n, 'momentum', 0.9) || 0.99 }, [x], n, weights);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  layerNorm(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const axis = this.int(n, 'axis', -1);
    const r = x.perm.length;
    if ((axis < 0 ? axis + r : axis) !== r - 1 || x.perm[r - 1] !== x.shape.length || x.rowPerm) throw new OpError(`LayerNormalization from axis ${axis} is not over the last (feature) axis only`);
    const d = x.shape[x.shape.length - 1]!;
    const scale = this.needConst(n, 1, 'scale');
    const bias = this.constant(n, 2, 'bias');
    const weights: BuiltNode['weights'] = { gamma: { shape: [d], values: f32(scale.values) } };
    if (bias) weights.beta = { shape: [d], values: f32(bias.values) };
    const b = this.add('LayerNormalization', { epsilon: this.float(n, 'epsilon', 1e-5), center: !!bias, scale: true }, [x], n, weights);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  gemm(n: OnnxNode): void {
    const a = this.tensor(n, 0);
    const w = this.needConst(n, 1, 'weight');
    const c = this.constant(n, 2, 'bias');
    if (this.int(n, 'transA', 0)) throw new OpError('transA=1 is not supported');
    const transB = this.int(n, 'transB', 0) === 1;
    const alpha = this.float(n, 'alpha', 1);
    const beta = this.float(n, 'beta', 1);
    if (w.dims.length !== 2) throw new OpError('its weight is not a matrix');
    const [I, O] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    let bias: Float32Array | undefined;
    if (c) {
      const size = c.values.length;
      if (size !== O && size !== 1) throw new OpError(`its bias C has ${size} values for ${O} outputs`);
      bias = new Float32Array(O).map((_, i) => beta * c.values[size === 1 ? 0 : i]!);
    }
    this.dense(n, a, w.values, I, O, transB, alpha, bias);
  }

  matmul(n: OnnxNode): void {
    const a = this.tensor(n, 0);
    if (this.val(n, 1)?.kind === 'tensor') throw new OpError('MatMul of two tensors the model computes (as attention does) has no Layerforge layer (only MatMul by a constant weight, a Dense)');
    const w = this.needConst(n, 1, 'weight');
    if (w.dims.length !== 2) throw new OpError('MatMul with a weight of rank other than 2 (or of two computed tensors) is not supported');
    this.dense(n, a, w.values, w.dims[0]!, w.dims[1]!, false, 1, undefined);
  }

  private dense(n: OnnxNode, a: TVal, w: Float64Array, I: number, O: number, transB: boolean, alpha: number, bias: Float32Array | undefined): void {
    const r = a.perm.length;
    if (a.perm[r - 1] !== a.shape.length || a.shape.length > 2 || a.perm.some((p, i) => i < r - 1 && p === a.shape.length)) {
      throw new OpError(`its input is not a batch of vectors (or sequence) in Layerforge's layout (${this.describe(a)})`);
    }
    if (a.shape[a.shape.length - 1] !== I) throw new OpError(`its weight expects ${I} inputs, the tensor has ${a.shape[a.shape.length - 1]}`);
    const kernel = new Float32Array(I * O);
    for (let i = 0; i < I; i++) {
      const row = a.rowPerm ? a.rowPerm[i]! : i;
      for (let o = 0; o < O; o++) kernel[row * O + o] = alpha * w[transB ? o * I + i : i * O + o]!;
    }
    const weights: BuiltNode['weights'] = { kernel: { shape: [I, O], values: kernel } };
    if (bias) weights.bias = { shape: [O], values: bias };
    const b = this.add('Dense', { units: O, activation: 'linear', useBias: !!bias }, [a], n, weights);
    this.setVal(n, { ...this.out(n, b), perm: a.perm });
  }

  /** Add / Sub / Mul / Div: two tensors of one shape (a merge layer), or a tensor and a constant (bias, scale-and-shift). */
  binary(n: OnnxNode): void {
    const a = this.val(n, 0);
    const c = this.val(n, 1);
    if (!a || !c) throw new OpError('it needs two inputs');
    if (a.kind === 'tensor' && c.kind === 'tensor') return this.merge(n, [a, c]);
    if (a.kind === 'const' && c.kind === 'const') return this.constFold(n, a, c);
    const op = n.opType;
    if (a.kind === 'const' && (op === 'Sub' || op === 'Div')) throw new OpError(`${op} of a constant by the model's data is not supported`);
    const x = (a.kind === 'tensor' ? a : c) as TVal;
    const k = (a.kind === 'const' ? a : c) as CVal;
    this.weightTensors.add(a.kind === 'const' ? n.inputs[0]! : n.inputs[1]!);
    const ch = this.channelVector(k, x);
    const src = this.b(x);
    // A bias after a bias-less MatMul / Conv.
    if (op === 'Add' && ch !== null && x.solo && FOLDS.has(src.type) && src.params.useBias === false && src.params.activation === 'linear') {
      const units = src.shape[src.shape.length - 1]!;
      src.params.useBias = true;
      src.weights.bias = { shape: [units], values: typeof ch === 'number' ? new Float32Array(units).fill(ch) : f32(ch) };
      return this.setVal(n, x);
    }
    // A positional embedding: a [T, D] constant added to a sequence.
    if (op === 'Add' && ch === null && x.shape.length === 2 && same(x.perm, [0, 1, 2]) && k.values.length === x.shape[0]! * x.shape[1]! && same(k.dims.filter((d) => d !== 1), x.shape)) {
      const b = this.add('PositionalEmbedding', { sequenceLength: x.shape[0]! }, [x], n, { embeddings: { shape: x.shape, values: f32(k.values) } });
      return void this.out(n, b);
    }
    if (ch === null) throw new OpError(`${op} with a constant of shape [${k.dims.join(', ')}] that is neither a scalar nor one value per channel is not supported (${this.describe(x)})`);
    if (typeof ch === 'number') return this.rescale(n, x, op, ch);
    return this.affine(n, x, op, ch);
  }

  /** x·s + o with scalars: a Rescaling (folding into the one before it when it is its only consumer). */
  private rescale(n: OnnxNode, x: TVal, op: string, v: number): void {
    const src = this.b(x);
    const fold = x.solo && src.type === 'Rescaling';
    let scale = fold ? Number(src.params.scale) : 1;
    let offset = fold ? Number(src.params.offset) : 0;
    if (op === 'Mul') [scale, offset] = [scale * v, offset * v];
    else if (op === 'Div') [scale, offset] = [scale / v, offset / v];
    else if (op === 'Add') offset += v;
    else offset -= v;
    if (fold) {
      Object.assign(src.params, { scale, offset });
      return this.setVal(n, x);
    }
    this.setVal(n, { ...this.out(n, this.add('Rescaling', { scale, offset }, [x], n)), perm: x.perm, rowPerm: x.rowPerm });
  }

  /**
   * x·g + b per channel: a BatchNormalization with mean 0 and variance 1 − ε (our exporter writes a batch norm as
   * Mul + Add; a Sub / Div pair is a standardisation), folding a chain of them into one.
   */
  private affine(n: OnnxNode, x: TVal, op: string, v: Float64Array): void {
    const src = this.b(x);
    const c = v.length;
    const eps = 1e-3;
    const fold = x.solo && src.type === 'BatchNormalization' && src.source.startsWith('affine:');
    const gamma = fold ? Float64Array.from(src.weights.gamma!.values) : new Float64Array(c).fill(1);
    const beta = fold ? Float64Array.from(src.weights.beta!.values) : new Float64Array(c);
    for (let i = 0; i < c; i++) {
      if (op === 'Mul') [gamma[i], beta[i]] = [gamma[i]! * v[i]!, beta[i]! * v[i]!];
      else if (op === 'Div') [gamma[i], beta[i]] = [gamma[i]! / v[i]!, beta[i]! / v[i]!];
      else if (op === 'Add') beta[i] = beta[i]! + v[i]!;
      else beta[i] = beta[i]! - v[i]!;
    }
    const weights = { gamma: { shape: [c], values: f32(gamma) }, beta: { shape: [c], values: f32(beta) }, moving_mean: { shape: [c], values: new Float32Array(c) }, moving_variance: { shape: [c], values: new Float32Array(c).fill(1 - eps) } };
    if (fold) {
      src.weights = weights;
      return this.setVal(n, x);
    }
    const b = this.add('BatchNormalization', { epsilon: eps }, [x], n, weights);
    b.source = `affine:${b.source}`;
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  private static MERGES: Record<string, string> = { Add: 'Add', Sum: 'Add', Mul: 'Multiply', Sub: 'Subtract', Max: 'Maximum', Min: 'Minimum', Mean: 'Average' };

  private merge(n: OnnxNode, xs: TVal[]): void {
    const type = Converter.MERGES[n.opType]!;
    const first = xs[0]!;
    for (const x of xs.slice(1)) {
      if (!same(x.perm, first.perm) || !same(x.shape, first.shape) || !!x.rowPerm !== !!first.rowPerm || (x.rowPerm && !same(Array.from(x.rowPerm), Array.from(first.rowPerm!)))) {
        throw new OpError(`${n.opType} of tensors with different shapes or layouts (${xs.map((v) => this.describe(v)).join(' vs ')}): Layerforge's merges take inputs of one shape, without broadcasting`);
      }
    }
    if (xs.length === 1) return this.setVal(n, first);
    const b = this.add(type, {}, xs, n);
    this.setVal(n, { ...this.out(n, b), perm: first.perm, rowPerm: first.rowPerm });
  }

  variadic(n: OnnxNode): void {
    const xs = n.inputs.map((_, i) => this.val(n, i));
    if (xs.some((x) => x?.kind !== 'tensor')) {
      if (xs.length === 2) return this.binary(n);
      throw new OpError(`${n.opType} with constant operands is not supported`);
    }
    this.merge(n, xs as TVal[]);
  }

  private constFold(n: OnnxNode, a: CVal, c: CVal): void {
    if (a.values.length !== c.values.length && a.values.length !== 1 && c.values.length !== 1) throw new OpError('arithmetic on two constants of different shapes is not supported');
    const len = Math.max(a.values.length, c.values.length);
    const at = (v: CVal, i: number) => v.values[v.values.length === 1 ? 0 : i]!;
    const f: Record<string, (x: number, y: number) => number> = { Add: (x, y) => x + y, Sub: (x, y) => x - y, Mul: (x, y) => x * y, Div: (x, y) => (a.type === 'int' ? Math.trunc(x / y) : x / y) };
    const op = f[n.opType];
    if (!op) throw new OpError(`${n.opType} of constants is not supported`);
    const values = Float64Array.from({ length: len }, (_, i) => op(at(a, i), at(c, i)));
    this.setVal(n, { kind: 'const', dims: a.values.length >= c.values.length ? a.dims : c.dims, values, type: a.type, weight: false });
  }

  concat(n: OnnxNode): void {
    const vs = n.inputs.map((_, i) => this.val(n, i));
    if (vs.every((v) => v?.kind === 'const')) {
      const cs = vs as CVal[];
      const values = Float64Array.from(cs.flatMap((c) => Array.from(c.values)));
      return this.setVal(n, { kind: 'const', dims: [values.length], values, type: cs[0]?.type ?? 'int', weight: false });
    }
    if (vs.some((v) => v?.kind !== 'tensor')) throw new OpError('Concat of the model\'s data with a constant is not supported');
    const xs = vs as TVal[];
    const axis = this.int(n, 'axis', 1);
    const first = xs[0]!;
    const our = this.ourAxis(first, axis);
    if (our <= 0) throw new OpError(`Concat along axis ${axis} (the batch or an axis of size 1) is not supported`);
    for (const x of xs) if (!same(x.perm, first.perm) || x.rowPerm) throw new OpError('Concat of tensors in different layouts is not supported');
    if (xs.length === 1) return this.setVal(n, first);
    const b = this.add('Concatenate', { axis: our }, xs, n);
    this.setVal(n, { ...this.out(n, b), perm: first.perm });
  }

  transposeOp(n: OnnxNode): void {
    const v = this.val(n, 0);
    if (!v) throw new OpError('input 1 is missing');
    if (v.kind === 'const') throw new OpError('Transpose of a constant is not supported');
    const x = v as TVal;
    const p = this.ints(n, 'perm') ?? identity(x.perm.length).reverse();
    if (p.length !== x.perm.length || !same([...p].sort((a, b) => a - b), identity(p.length))) throw new OpError(`perm [${p.join(', ')}] does not fit a rank-${x.perm.length} tensor`);
    if (x.rowPerm && !same(p, identity(p.length))) throw new OpError('Transpose of a flattened channel-first map is not supported');
    this.setVal(n, { ...x, perm: p.map((i) => x.perm[i]!) });
  }

  unsqueeze(n: OnnxNode): void {
    const v = this.val(n, 0);
    if (!v) throw new OpError('input 1 is missing');
    const axes = this.intsFrom(n, 'axes', 1);
    if (!axes) throw new OpError('axes are missing');
    if (v.kind === 'const') return this.setVal(n, { ...v, dims: v.values.length === 1 && v.dims.length === 0 ? [1] : [...v.dims, ...axes.map(() => 1)] });
    const x = v as TVal;
    const r = x.perm.length + axes.length;
    const norm = axes.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
    const perm = [...x.perm];
    for (const a of norm) perm.splice(a, 0, -1);
    this.setVal(n, { ...x, perm });
  }

  squeeze(n: OnnxNode): void {
    const v = this.val(n, 0);
    if (!v) throw new OpError('input 1 is missing');
    if (v.kind === 'const') return this.setVal(n, { ...v, dims: v.dims.filter((d) => d !== 1) });
    const x = v as TVal;
    const r = x.perm.length;
    const axes = this.intsFrom(n, 'axes', 1)?.map((a) => (a < 0 ? a + r : a)) ?? x.perm.map((p, i) => (p === -1 ? i : -1)).filter((i) => i >= 0);
    for (const a of axes) {
      if (x.perm[a] === -1) continue;
      if (x.perm[a] === 0) throw new OpError('Squeeze of the batch axis is not supported');
      // squeezing an axis of ours of size 1 is a Reshape
      if (x.shape[x.perm[a]! - 1] === 1) return this.reshapeTo(n, x, this.onnxShape(x).filter((_, i) => !axes.includes(i)));
      throw new OpError(`Squeeze of axis ${a}, which is not of size 1`);
    }
    this.setVal(n, { ...x, perm: x.perm.filter((_, i) => !axes.includes(i)) });
  }

  flatten(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const axis = this.int(n, 'axis', 1);
    if (axis !== 1 || x.perm[0] !== 0) throw new OpError(`Flatten from axis ${axis} is not a per-sample flatten`);
    const size = x.shape.reduce((a, b) => a * b, 1);
    this.reshapeTo(n, x, [1, size]);
  }

  reshape(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const target = this.needConst(n, 1, 'shape', false);
    const t = Array.from(target.values);
    const cur = this.onnxShape(x);
    if (x.perm[0] !== 0) return this.reshapeTail(n, x, t, cur);
    const rest = t.slice(1).map((d, i) => (d === 0 && this.int(n, 'allowzero', 0) === 0 ? cur[i + 1] ?? 0 : d));
    const size = x.shape.reduce((a, b) => a * b, 1);
    const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (rest.filter((d) => d === -1).length > 1) throw new OpError(`shape [${t.join(', ')}] has more than one -1`);
    const resolved = rest.map((d) => (d === -1 ? size / known : d));
    if (resolved.some((d) => !Number.isInteger(d) || d <= 0) || resolved.reduce((a, b) => a * b, 1) !== size) {
      throw new OpError(`shape [${t.join(', ')}] does not keep the batch first and the ${size} values of a sample (from [${cur.join(', ')}])`);
    }
    this.reshapeTo(n, x, [1, ...resolved]);
  }

  /**
   * A Reshape of a tensor whose batch is not its first axis ([T, N, 2, H] of a bidirectional RNN, say): only
   * merging the trailing axes back into one axis of ours (the two directions into the concatenation).
   */
  private reshapeTail(n: OnnxNode, x: TVal, t: number[], cur: number[]): void {
    const b = x.perm.indexOf(0);
    const real = this.b(x).shape;
    const tail = x.perm.slice(b + 1);
    const ok = b >= 0 && t.length === b + 2 && t.slice(0, b).every((d, i) => d === 0 || d === cur[i]) && tail.length > 0 && tail.every((p, i) => p > 0 && (i === 0 || p === tail[i - 1]! + 1));
    if (ok) {
      const p = tail[0]!;
      const q = tail[tail.length - 1]!;
      const merged = [...x.shape.slice(0, p - 1), x.shape.slice(p - 1, q).reduce((u, v) => u * v, 1), ...x.shape.slice(q)];
      const lead = x.perm.slice(0, b + 1).map((a) => (a > q ? a - (q - p) : a));
      if (same(merged, real) && lead.every((a) => a < p || a > q || a === 0)) return this.setVal(n, { ...x, shape: real, perm: [...lead, p] });
    }
    throw new OpError(`Reshape to [${t.join(', ')}] of a tensor whose first axis is not the batch (${this.describe(x)}) is not supported`);
  }

  /** A Reshape to `target` (ONNX, batch first): a layout change, a Flatten (with a row permutation), or our Reshape. */
  private reshapeTo(n: OnnxNode, x: TVal, target: number[]): void {
    const per = target.slice(1);
    const realShape = this.b(x).shape;
    const order = x.perm.filter((p) => p > 0);
    if (!x.rowPerm && order.every((p, i) => i === 0 || p > order[i - 1]!) && same(per, realShape)) return this.setVal(n, { ...x, shape: realShape, perm: identity(per.length + 1) });
    if (!same(x.shape, realShape)) throw new OpError(`Reshape to [N, ${per.join(', ')}] of the two directions of ${x.node} is not the concatenation Layerforge makes`);
    const real = x.perm.map((p, i) => ({ p, i })).filter(({ p, i }) => p > 0 && this.onnxShape(x)[i]! > 1).map(({ p }) => p);
    const inOrder = real.every((p, i) => i === 0 || p > real[i - 1]!);
    // Only size-1 axes change: the same values in the same order.
    const nonUnit = per.filter((d) => d !== 1);
    const ourNonUnit = x.shape.filter((d) => d !== 1);
    if (inOrder && same(nonUnit, ourNonUnit) && !x.rowPerm) {
      if (same(per, x.shape)) return this.setVal(n, { ...x, perm: identity(per.length + 1) });
      // our shape keeps its axes; ONNX sees 1s where it adds them
      const perm: number[] = [0];
      let j = 0;
      const ourAxes = x.shape.map((d, i) => ({ d, a: i + 1 })).filter(({ d }) => d !== 1);
      let ok = true;
      for (const d of per) {
        if (d === 1) perm.push(-1);
        else if (ourAxes[j]?.d === d) perm.push(ourAxes[j++]!.a);
        else ok = false;
      }
      if (ok && x.shape.every((d) => d !== 1)) return this.setVal(n, { ...x, perm });
    }
    if (per.length === 1) {
      // a flatten
      const b = x.shape.length > 1 ? this.add('Flatten', {}, [x], n) : null;
      let rowPerm = x.rowPerm;
      if (!inOrder) {
        // ONNX flattens in its axis order; ours in ours: onnx feature j = our feature rowPerm[j]
        const shape = this.onnxShape(x);
        const strides = new Array<number>(x.shape.length + 1).fill(0);
        let acc = 1;
        for (let a = x.shape.length; a >= 1; a--) {
          strides[a] = acc;
          acc *= x.shape[a - 1]!;
        }
        const axes = x.perm.map((p, i) => ({ p, size: shape[i]! })).filter(({ p }) => p !== 0);
        const perm = new Int32Array(per[0]!);
        const idx = new Array<number>(axes.length).fill(0);
        for (let j = 0; j < perm.length; j++) {
          let src = 0;
          axes.forEach(({ p }, k) => {
            if (p > 0) src += idx[k]! * strides[p]!;
          });
          perm[j] = src;
          for (let k = axes.length - 1; k >= 0; k--) {
            if (++idx[k]! < axes[k]!.size) break;
            idx[k] = 0;
          }
        }
        rowPerm = x.rowPerm ? Int32Array.from(perm, (p) => x.rowPerm![p]!) : perm;
      }
      const base = b ? this.out(n, b) : { ...x };
      return this.setVal(n, { ...base, perm: [0, 1], rowPerm });
    }
    if (!inOrder || x.rowPerm) throw new OpError(`Reshape to [N, ${per.join(', ')}] of a channel-first tensor (${this.describe(x)}) mixes channels and positions; Layerforge can only follow it when it flattens`);
    const b = this.add('Reshape', { targetShape: per }, [x], n);
    this.out(n, b);
  }

  pad(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const mode = this.str(n, 'mode', 'constant');
    if (mode !== 'constant') throw new OpError(`Pad mode '${mode}' is not supported (only zero padding)`);
    const pads = this.m.opset < 11 ? this.ints(n, 'pads') : this.constant(n, 1, 'pads', false) && Array.from(this.constant(n, 1, 'pads', false)!.values);
    if (!pads) throw new OpError('pads are missing');
    const value = this.m.opset < 11 ? this.float(n, 'value', 0) : this.constant(n, 2, 'constant value', false)?.values[0] ?? 0;
    if (value !== 0) throw new OpError(`padding with ${value} is not supported (only zeros)`);
    if (n.inputs[3]) throw new OpError('Pad with axes is not supported');
    const r = x.perm.length;
    if (pads.length !== 2 * r) throw new OpError(`pads [${pads.join(', ')}] do not fit a rank-${r} tensor`);
    // per our axis: [begin, end]
    const our = new Map<number, [number, number]>();
    x.perm.forEach((p, i) => {
      if (pads[i] || pads[i + r]) our.set(p, [pads[i]!, pads[i + r]!]);
    });
    const spatial = x.shape.length - 1;
    if ([...our.keys()].some((a) => a < 1 || a > spatial) || x.rowPerm) throw new OpError(`Pad [${pads.join(', ')}] pads the batch or channel axis (only height / width or the steps of a sequence)`);
    const [t, bo] = our.get(1) ?? [0, 0];
    const [l, ri] = our.get(2) ?? [0, 0];
    if (pads.some((p) => p < 0)) throw new OpError('negative pads (cropping) are not supported');
    let b: BuiltNode;
    if (x.shape.length === 3) {
      if (t !== bo || l !== ri) throw new OpError(`asymmetric padding [${pads.join(', ')}] is not supported (ZeroPadding2D pads top = bottom, left = right)`);
      b = this.add('ZeroPadding2D', { padding: t, paddingWidth: l === t ? -1 : l }, [x], n);
    } else if (x.shape.length === 2) {
      b = this.add('ZeroPadding1D', { padding: t, paddingEnd: bo === t ? -1 : bo }, [x], n);
    } else throw new OpError('Pad of a vector is not supported');
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  resize(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    this.channelsFirst(n, x, 4);
    const mode = this.str(n, 'mode', 'nearest');
    let scales: number[] | undefined;
    if (n.opType === 'Upsample') scales = this.ints(n, 'scales') ?? (this.attr(n, 'scales')?.kind === 'floats' ? (this.attr(n, 'scales') as { value: number[] }).value : undefined) ?? (this.constant(n, 1, 'scales', false) && Array.from(this.constant(n, 1, 'scales', false)!.values));
    else {
      const si = this.m.opset >= 11 ? 2 : 1;
      const sc = this.constant(n, si, 'scales', false);
      if (sc && sc.values.length) scales = Array.from(sc.values);
      const sz = this.m.opset >= 11 ? this.constant(n, 3, 'sizes', false) : undefined;
      if ((!scales || !scales.length) && sz && sz.values.length === 4) {
        const cur = this.onnxShape(x);
        scales = Array.from(sz.values).map((s, i) => (i === 0 ? 1 : s / cur[i]!));
      }
    }
    if (!scales || scales.length !== 4) throw new OpError('its scales / sizes are missing or not constant');
    const [, , sh, sw] = scales;
    if (scales[0] !== 1 || scales[1] !== 1 || sh !== sw || !Number.isInteger(sh) || sh! < 1) throw new OpError(`scales [${scales.join(', ')}] are not one integer factor for height and width`);
    const ct = this.str(n, 'coordinate_transformation_mode', 'half_pixel');
    let interpolation: 'nearest' | 'bilinear';
    if (mode === 'nearest') {
      const nm = this.str(n, 'nearest_mode', 'round_prefer_floor');
      // with an integer factor: asymmetric + floor and half_pixel + round_prefer_floor / round_prefer_ceil (when the factor is odd…) repeat pixels
      const repeats = n.opType === 'Upsample' || ct === 'asymmetric' ? nm === 'floor' || n.opType === 'Upsample' : ct === 'half_pixel' || ct === 'pytorch_half_pixel' ? nm === 'round_prefer_ceil' || nm === 'round_prefer_floor' : false;
      if (!repeats && !(ct === 'asymmetric' && nm !== 'ceil')) throw new OpError(`nearest resize with coordinate_transformation_mode '${ct}' and nearest_mode '${nm}' does not repeat pixels as UpSampling2D does`);
      interpolation = 'nearest';
    } else if (mode === 'linear' || mode === 'bilinear') {
      if (n.opType !== 'Upsample' && ct !== 'asymmetric') {
        throw new OpError(`bilinear resize with coordinate_transformation_mode '${ct}' differs from tfjs's UpSampling2D (align_corners=False, half_pixel_centers=False: 'asymmetric')`);
      }
      interpolation = 'bilinear';
    } else throw new OpError(`resize mode '${mode}' is not supported`);
    const b = this.add('UpSampling2D', { size: sh!, interpolation }, [x], n);
    this.setVal(n, { ...this.out(n, b), perm: x.perm });
  }

  dropout(n: OnnxNode): void {
    if (n.outputs[1] && this.uses(n.outputs[1])) throw new OpError('Dropout mask output is not supported');
    this.passThrough(n);
  }

  /** Constant: a tensor (or value_float(s) / value_int(s)) the graph computes with. */
  constantOp(n: OnnxNode): void {
    const a = this.attr(n, 'value');
    if (a?.kind === 'tensor') {
      this.setVal(n, { kind: 'const', dims: a.value.dims, values: a.value.values(), type: a.value.type, weight: true });
      this.constFromNode.add(n.outputs[0]!);
      return;
    }
    for (const [key, type] of [['value_float', 'float'], ['value_int', 'int'], ['value_floats', 'float'], ['value_ints', 'int']] as const) {
      const v = this.attr(n, key);
      if (v && (v.kind === 'float' || v.kind === 'int')) return this.setVal(n, { kind: 'const', dims: [], values: Float64Array.of(v.value), type, weight: false });
      if (v && (v.kind === 'floats' || v.kind === 'ints')) return this.setVal(n, { kind: 'const', dims: [v.value.length], values: Float64Array.from(v.value), type, weight: false });
    }
    throw new OpError('a Constant without a numeric value is not supported');
  }

  /** Shape of a tensor: its ONNX shape as a constant (batch 1). */
  shapeOp(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const s = this.onnxShape(x);
    this.setVal(n, { kind: 'const', dims: [s.length], values: Float64Array.from(s), type: 'int', weight: false });
  }

  gather(n: OnnxNode): void {
    const data = this.val(n, 0);
    const idx = this.val(n, 1);
    if (!data || !idx) throw new OpError('it needs two inputs');
    const axis = this.int(n, 'axis', 0);
    if (data.kind === 'const' && idx.kind === 'const') {
      if (data.dims.length > 1) throw new OpError('Gather on a constant matrix by constant indices is not supported');
      const values = Float64Array.from(idx.values, (i) => data.values[i < 0 ? i + data.values.length : i]!);
      return this.setVal(n, { kind: 'const', dims: idx.dims, values, type: data.type, weight: false });
    }
    if (data.kind === 'const' && idx.kind === 'tensor') {
      // an embedding lookup
      if (axis !== 0 || data.dims.length !== 2) throw new OpError('Gather from a constant that is not a [vocabulary, dim] matrix along axis 0 is not an embedding');
      this.weightTensors.add(n.inputs[0]!);
      const src = this.b(idx);
      if (src.type !== 'Input' || src.params.kind !== 'tokens') throw new OpError('an embedding lookup must read the token-id input directly');
      const [V, D] = data.dims as [number, number];
      const b = this.add('Embedding', { inputDim: V, outputDim: D }, [idx], n, { embeddings: { shape: [V, D], values: f32(data.values) } });
      return void this.out(n, b);
    }
    if (data.kind === 'tensor' && idx.kind === 'const' && idx.values.length === 1) {
      // h_n[-1]: picking the one entry of an axis of size 1 (a layer's last state)
      const r = data.perm.length;
      const ax = axis < 0 ? axis + r : axis;
      const i = idx.values[0]!;
      if (data.perm[ax] === -1 && (i === 0 || i === -1)) return this.setVal(n, { ...data, perm: idx.dims.length ? data.perm : data.perm.filter((_, k) => k !== ax) });
    }
    throw new OpError('Gather / indexing of the model\'s data is not supported (only an embedding lookup, or the single entry of an axis of size 1)');
  }

  cast(n: OnnxNode): void {
    this.passThrough(n);
  }

  /** LSTM / GRU (forward or bidirectional, activations rnnActivations reads): gates reordered to tfjs's, W/R transposed, the two biases summed. */
  rnn(n: OnnxNode): void {
    const x = this.tensor(n, 0);
    const kind = n.opType as 'LSTM' | 'GRU' | 'RNN';
    const layout = this.int(n, 'layout', 0);
    const want = layout === 0 ? [1, 0, 2] : [0, 1, 2];
    if (!same(x.perm, want) || x.shape.length !== 2 || x.rowPerm) throw new OpError(`its input is not a [${layout === 0 ? 'T, N' : 'N, T'}, F] sequence of the model (${this.describe(x)})`);
    const dir = this.str(n, 'direction', 'forward');
    if (dir !== 'forward' && dir !== 'bidirectional') throw new OpError(`direction '${dir}' is not supported (forward or bidirectional)`);
    const D = dir === 'bidirectional' ? 2 : 1;
    if (this.attr(n, 'clip')) throw new OpError('clip is not supported');
    if (kind === 'LSTM' && this.int(n, 'input_forget', 0)) throw new OpError('input_forget=1 is not supported');
    const { gate, activation } = rnnActivations(n, kind, D);
    const H = this.int(n, 'hidden_size', 0);
    const W = this.needConst(n, 1, 'W');
    const R = this.needConst(n, 2, 'R');
    const B = this.constant(n, 3, 'B');
    if (n.inputs[4] && this.val(n, 4)) throw new OpError('sequence_lens is not supported');
    for (const [i, what] of [[5, 'initial_h'], [6, 'initial_c']] as const) {
      const init = this.constant(n, i, what, false);
      if (init && init.values.some((v) => v !== 0)) throw new OpError(`a non-zero ${what} is not supported`);
    }
    if (kind === 'LSTM' && n.inputs[7] && this.val(n, 7)) throw new OpError('peepholes (P) are not supported');
    const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
    const F = x.shape[1]!;
    if (W.dims.join() !== [D, G * H, F].join() || R.dims.join() !== [D, G * H, H].join()) throw new OpError(`W [${W.dims.join(', ')}] / R [${R.dims.join(', ')}] do not fit hidden_size ${H}, ${F} features and ${D} direction(s)`);
    // tfjs gate g comes from ONNX gate order[g]. LSTM: tfjs i,f,c,o; ONNX i,o,f,c. GRU: z,r,h both.
    const order = kind === 'LSTM' ? [0, 2, 3, 1] : kind === 'GRU' ? [0, 1, 2] : [0];
    const gates = (m: Float64Array, rows: number, d: number) => {
      const out = new Float32Array(rows * G * H);
      const base = d * G * H * rows;
      for (let g = 0; g < G; g++) for (let u = 0; u < H; u++) for (let r = 0; r < rows; r++) out[r * G * H + g * H + u] = m[base + (order[g]! * H + u) * rows + r]!;
      return out;
    };
    const resetAfter = kind === 'GRU' && this.int(n, 'linear_before_reset', 0) === 1;
    const gruDef = getLayer('GRU');
    if (resetAfter && !(gruDef && 'resetAfter' in gruDef.params)) throw new OpError("linear_before_reset=1 (PyTorch's GRU, Keras' reset_after=True) is not supported by Layerforge's GRU yet");
    if (B && B.values.length !== D * 2 * G * H) throw new OpError(`B has ${B.values.length} values, expected ${D * 2 * G * H}`);
    const weights: BuiltNode['weights'] = {};
    for (let d = 0; d < D; d++) {
      const bias = new Float32Array(resetAfter ? 2 * G * H : G * H);
      if (B) {
        const o = d * 2 * G * H;
        for (let g = 0; g < G; g++) {
          for (let u = 0; u < H; u++) {
            const wb = B.values[o + order[g]! * H + u]!;
            const rb = B.values[o + G * H + order[g]! * H + u]!;
            if (resetAfter) {
              bias[g * H + u] = wb;
              bias[G * H + g * H + u] = rb;
            } else bias[g * H + u] = wb + rb;
          }
        }
      }
      const pre = D === 2 ? (d === 0 ? 'forward/' : 'backward/') : '';
      weights[`${pre}kernel`] = { shape: [F, G * H], values: gates(W.values, F, d) };
      weights[`${pre}recurrent_kernel`] = { shape: [H, G * H], values: gates(R.values, H, d) };
      weights[`${pre}bias`] = { shape: resetAfter ? [2, G * H] : [G * H], values: bias };
    }
    const yUsed = this.uses(n.outputs[0] ?? '') > 0;
    const hUsed = this.uses(n.outputs[1] ?? '') > 0;
    if (kind === 'LSTM' && this.uses(n.outputs[2] ?? '') > 0) throw new OpError('its cell state output Y_c is used; Layerforge\'s LSTM gives the hidden state only');
    if (yUsed && hUsed) throw new OpError('both its sequence output Y and its last state Y_h are used; Layerforge gives one of them (returnSequences)');
    const type = kind === 'RNN' ? 'SimpleRNN' : kind;
    const params: Record<string, ParamValue> = { units: H, activation, ...(kind === 'RNN' ? {} : { recurrentActivation: gate }), returnSequences: yUsed };
    if (resetAfter) params.resetAfter = true;
    if (D === 2) Object.assign(params, { bidirectional: true, mergeMode: 'concat' });
    const b = this.add(type, params, [x], n, weights);
    // ONNX Y: [T, D, N, H] (layout 1: [N, T, D, H]); Y_h: [D, N, H] (layout 1: [N, D, H]). Ours: [N, T, D·H] / [N, D·H],
    // seen as [N, T, D, H] / [N, D, H] (logical shapes) when there are two directions.
    const seq = D === 2 ? [b.shape[0]!, 2, H] : b.shape;
    const last = D === 2 ? [2, H] : b.shape;
    const ySeq: TVal = { kind: 'tensor', node: b.id, shape: seq, perm: D === 2 ? (layout === 0 ? [1, 2, 0, 3] : [0, 1, 2, 3]) : layout === 0 ? [1, -1, 0, 2] : [0, 1, -1, 2], solo: false };
    const yLast: TVal = { kind: 'tensor', node: b.id, shape: last, perm: D === 2 ? (layout === 0 ? [1, 0, 2] : [0, 1, 2]) : layout === 0 ? [-1, 0, 1] : [0, -1, 1], solo: false };
    if (yUsed) this.vals.set(n.outputs[0]!, ySeq);
    if (hUsed) this.vals.set(n.outputs[1]!, yLast);
    if (!yUsed && !hUsed) this.vals.set(n.outputs[1] ?? n.outputs[0]!, yLast);
    if (kind === 'LSTM' && n.outputs[2]) this.vals.set(n.outputs[2], { kind: 'failed' });
  }
}

/** The alpha / beta an ONNX recurrent-op activation takes (onnxruntime's table), with ONNX's defaults. */
const RNN_ACT_ARGS: Record<string, { alpha?: number; beta?: number }> = {
  affine: { alpha: 0, beta: 0 },
  leakyrelu: { alpha: 0.01 },
  thresholdedrelu: { alpha: 0 },
  scaledtanh: { alpha: 0, beta: 0 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  elu: { alpha: 1 },
};

/**
 * An LSTM / GRU / RNN node's `activations` as Layerforge's params: the gate activation (LSTM f, GRU f:
 * Sigmoid, or HardSigmoid with alpha 0.2 / beta 0.5, tfjs's and Keras 2's hardSigmoid, or alpha 1/6 / beta 0.5,
 * Keras 3's) and the cell / hidden one (Tanh, Relu, Sigmoid, Softsign, Softplus, Elu(1), Affine(1, 0),
 * HardSigmoid(0.2, 0.5)), the same in each direction (and for LSTM's g and h). alpha / beta values are
 * consumed in order by the functions that take them, as onnxruntime reads activation_alpha / activation_beta.
 */
function rnnActivations(n: OnnxNode, kind: 'LSTM' | 'GRU' | 'RNN', directions: number): { gate: string; activation: string } {
  const one = kind === 'LSTM' ? ['Sigmoid', 'Tanh', 'Tanh'] : kind === 'GRU' ? ['Sigmoid', 'Tanh'] : ['Tanh'];
  const attr = (name: string) => n.attrs.get(name);
  const acts = attr('activations');
  const names = acts?.kind === 'strings' ? acts.value : Array.from({ length: directions }, () => one).flat();
  if (names.length !== one.length * directions) throw new OpError(`activations [${names.join(', ')}]: expected ${one.length * directions} (${one.join(', ')} per direction)`);
  const floats = (name: string) => {
    const v = attr(name);
    return v?.kind === 'floats' ? v.value : v?.kind === 'float' ? [v.value] : [];
  };
  const alphas = floats('activation_alpha');
  const betas = floats('activation_beta');
  let ai = 0;
  let bi = 0;
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  const described: string[] = [];
  const read = names.map((raw: string) => {
    const key = raw.toLowerCase();
    const args = Object.hasOwn(RNN_ACT_ARGS, key) ? RNN_ACT_ARGS[key]! : {};
    const alpha = args.alpha === undefined ? undefined : ai < alphas.length ? alphas[ai++]! : args.alpha;
    const beta = args.beta === undefined ? undefined : bi < betas.length ? betas[bi++]! : args.beta;
    described.push(`${raw}${alpha === undefined ? '' : `(alpha ${+alpha.toPrecision(6)}${beta === undefined ? '' : `, beta ${+beta.toPrecision(6)}`})`}`);
    const plain: Record<string, string> = { sigmoid: 'sigmoid', tanh: 'tanh', relu: 'relu', softsign: 'softsign', softplus: 'softplus' };
    if (Object.hasOwn(plain, key)) return plain[key]!;
    if (key === 'hardsigmoid' && close(beta!, 0.5) && close(alpha!, 0.2)) return 'hardSigmoid';
    if (key === 'hardsigmoid' && close(beta!, 0.5) && close(alpha!, 1 / 6)) return 'hardSigmoidKeras3';
    if (key === 'elu' && close(alpha!, 1)) return 'elu';
    if (key === 'affine' && close(alpha!, 1) && close(beta!, 0)) return 'linear';
    return undefined;
  });
  const first = read.slice(0, one.length);
  const differ = read.some((a, i) => a !== first[i % one.length]);
  const [gate, activation, cell] = kind === 'RNN' ? ['sigmoid', first[0], first[0]] : [first[0], first[1], first[2] ?? first[1]];
  const gates = ['sigmoid', 'hardSigmoid', 'hardSigmoidKeras3'];
  const others = ['tanh', 'relu', 'sigmoid', 'softsign', 'softplus', 'elu', 'linear', 'hardSigmoid'];
  if (differ || activation !== cell || !gate || !activation || !gates.includes(gate) || !others.includes(activation)) {
    throw new OpError(
      `activations [${described.join(', ')}] differ from what Layerforge's ${kind === 'RNN' ? 'SimpleRNN' : kind} computes: ${kind === 'RNN' ? '' : 'a gate activation (Sigmoid, or HardSigmoid with alpha 0.2 or 1/6 and beta 0.5), then '}one activation${kind === 'LSTM' ? ' (the same for g and h)' : ''} among Tanh, Relu, Sigmoid, Softsign, Softplus, Elu(alpha 1), Affine(alpha 1, beta 0), HardSigmoid(alpha 0.2, beta 0.5), the same in both directions`,
    );
  }
  return { gate, activation };
}

type Handler = (this: Converter, n: OnnxNode) => void;
const act = (a: ActivationName): Handler =>
  function (this: Converter, n: OnnxNode) {
    this.simpleAct(a)(n);
  };
const P = Converter.prototype;
const OPS: Record<string, Handler> = {
  Identity: P.passThrough,
  Dropout: P.dropout,
  Cast: P.cast,
  Relu: P.relu,
  Sigmoid: act('sigmoid'),
  Tanh: act('tanh'),
  Selu: act('selu'),
  Softplus: act('softplus'),
  Softsign: act('softsign'),
  HardSwish: act('hardSwish'),
  HardSigmoid: P.hardSigmoid,
  Elu: P.elu,
  Gelu: P.gelu,
  Clip: P.clip,
  LeakyRelu: P.leakyRelu,
  PRelu: P.prelu,
  Softmax: P.softmax,
  Conv: P.conv,
  ConvTranspose: P.convTranspose,
  MaxPool: P.pool,
  AveragePool: P.pool,
  GlobalAveragePool: P.globalPool,
  GlobalMaxPool: P.globalPool,
  ReduceMean: P.reduce,
  ReduceMax: P.reduce,
  BatchNormalization: P.batchNorm,
  LayerNormalization: P.layerNorm,
  Gemm: P.gemm,
  MatMul: P.matmul,
  Add: P.binary,
  Sub: P.binary,
  Mul: P.binary,
  Div: P.binary,
  Sum: P.variadic,
  Max: P.variadic,
  Min: P.variadic,
  Mean: P.variadic,
  Concat: P.concat,
  Transpose: P.transposeOp,
  Unsqueeze: P.unsqueeze,
  Squeeze: P.squeeze,
  Flatten: P.flatten,
  Reshape: P.reshape,
  Pad: P.pad,
  Resize: P.resize,
  Upsample: P.resize,
  Constant: P.constantOp,
  Shape: P.shapeOp,
  Gather: P.gather,
  LSTM: P.rnn,
  GRU: P.rnn,
  RNN: P.rnn,
};

/** The ONNX operators the importer maps (for docs and tests). */
export const ONNX_IMPORT_OPS = Object.keys(OPS).sort();
