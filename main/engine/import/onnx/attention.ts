import { ConstEvalError, evalConst, type NdArray } from './constEval';
import type { OnnxAttr, OnnxModel, OnnxNode } from './decode';

/**
 * Multi-head attention in an ONNX graph, recognised as one MultiHeadAttention layer of ours.
 *
 * Exporters write attention as ops: Q/K/V projections (MatMul [+ Add], or one packed MatMul sliced three
 * ways, as PyTorch's nn.MultiheadAttention does), Reshape / Transpose to heads, a MatMul of two computed
 * tensors (QKᵀ) scaled by a constant, an optional constant mask added, Softmax, a MatMul by V, the heads merged
 * back (Transpose / Reshape) and an output projection. The ops differ from one exporter to the next, so the
 * match is in two steps:
 *
 * 1. `findAttentionBlocks` (structure, no shapes): each Softmax between two MatMuls of computed tensors; from the
 *    first MatMul's operands back through layout ops (Transpose, Reshape, Slice, Gather, (Un)Squeeze, a Mul / Div by
 *    a constant) to the projections; from the second MatMul forward through layout ops to the output projection,
 *    then on through layout ops. The block is every node on a path from the projections to its end; none of its
 *    tensors may be used outside it.
 * 2. `resolveAttention` (at conversion, with the shapes): the layout ops are *run* on index codes (tensors whose
 *    values are their own flat positions, batch 1), which tells exactly which projection column each head
 *    dimension reads, which merged feature each output-projection row takes, and how the block's output is laid
 *    out. Nothing about head order, packing or axis order is assumed; scales met on the way are folded into the
 *    weights (Keras' layout, as our MultiHeadAttention keeps them).
 */

/** x·W (+ b): a MatMul by a constant, a Gemm, or an Add of a constant to such a MatMul. */
export interface Projection {
  /** The node whose output is the projected tensor (the Add when there is a bias). */
  node: OnnxNode;
  matmul: OnnxNode;
  input: string;
  weight: string;
  bias?: string;
}

export interface AttentionBlock {
  q: Projection;
  k: Projection;
  v: Projection;
  o: Projection;
  qk: OnnxNode;
  pv: OnnxNode;
  softmax: OnnxNode;
  /** Between QKᵀ and Softmax: Mul / Div by a scalar, Add of a mask (constant operands). */
  chain: OnnxNode[];
  /** Layout ops after the output projection, in order (the block may end after any of them). */
  tail: OnnxNode[];
  /** Every node of the block, in graph order (projections to the last tail node). */
  nodes: OnnxNode[];
  /** The node that ends the block (the last of `tail`, else the output projection). */
  last: OnnxNode;
}

const LAYOUT = new Set(['Transpose', 'Reshape', 'Slice', 'Gather', 'Squeeze', 'Unsqueeze', 'Identity', 'Flatten', 'Cast', 'Dropout', 'Mul', 'Div']);

/** Finds the attention blocks of a graph (no shapes needed). */
export function findAttentionBlocks(m: OnnxModel): AttentionBlock[] {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of m.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  }
  const outputs = new Set(m.outputs.map((o) => o.name));
  // tensors that depend on the graph's inputs
  const dyn = new Set(m.inputs.map((i) => i.name));
  for (const n of m.nodes) if (n.inputs.some((i) => dyn.has(i))) for (const o of n.outputs) dyn.add(o);
  const isDyn = (t: string | undefined) => !!t && dyn.has(t);
  const isConst = (t: string | undefined) => !!t && !dyn.has(t);
  const solo = (t: string) => (consumers.get(t)?.length ?? 0) === 1 && !outputs.has(t);

  const projectionAt = (n: OnnxNode): Projection | null => {
    if (n.opType === 'MatMul' && isDyn(n.inputs[0]) && isConst(n.inputs[1])) return { node: n, matmul: n, input: n.inputs[0]!, weight: n.inputs[1]! };
    if (n.opType === 'Gemm' && isDyn(n.inputs[0]) && isConst(n.inputs[1]) && (!n.inputs[2] || isConst(n.inputs[2]))) {
      return { node: n, matmul: n, input: n.inputs[0]!, weight: n.inputs[1]!, ...(n.inputs[2] ? { bias: n.inputs[2] } : {}) };
    }
    if (n.opType === 'Add' && n.inputs.length === 2) {
      for (const k of [0, 1]) {
        const mm = producer.get(n.inputs[k]!);
        const other = n.inputs[1 - k];
        if (mm?.opType === 'MatMul' && isConst(other) && solo(n.inputs[k]!) && isDyn(mm.inputs[0]) && isConst(mm.inputs[1])) {
          return { node: n, matmul: mm, input: mm.inputs[0]!, weight: mm.inputs[1]!, bias: other };
        }
      }
    }
    return null;
  };
  /** The data input a layout op passes on (null when `n` is not one). */
  const layoutInput = (n: OnnxNode): string | null => {
    if (!LAYOUT.has(n.opType)) return null;
    if (n.opType === 'Mul' || n.opType === 'Div') {
      if (isDyn(n.inputs[0]) && isConst(n.inputs[1])) return n.inputs[0]!;
      if (n.opType === 'Mul' && isDyn(n.inputs[1]) && isConst(n.inputs[0])) return n.inputs[1]!;
      return null;
    }
    return isDyn(n.inputs[0]) ? n.inputs[0]! : null;
  };
  const back = (t: string): Projection | null => {
    for (let guard = 0; guard < 64; guard++) {
      const n = producer.get(t);
      if (!n) return null;
      const p = projectionAt(n);
      if (p) return p;
      const next = layoutInput(n);
      if (!next) return null;
      t = next;
    }
    return null;
  };

  const blocks: AttentionBlock[] = [];
  const taken = new Set<number>();
  for (const sm of m.nodes) {
    if (sm.opType !== 'Softmax' || !isDyn(sm.inputs[0])) continue;
    // back from the Softmax through scalar factors and a mask to QKᵀ
    const chain: OnnxNode[] = [];
    let t = sm.inputs[0]!;
    let qk: OnnxNode | undefined;
    for (let guard = 0; guard < 8 && !qk; guard++) {
      const n = producer.get(t);
      if (!n || !solo(t)) break;
      if (n.opType === 'MatMul' && isDyn(n.inputs[0]) && isDyn(n.inputs[1])) qk = n;
      else if (['Mul', 'Div', 'Add'].includes(n.opType) && n.inputs.length === 2) {
        const k = isDyn(n.inputs[0]) ? 0 : 1;
        if (!isDyn(n.inputs[k]) || !isConst(n.inputs[1 - k]) || (k === 1 && n.opType === 'Div')) break;
        chain.unshift(n);
        t = n.inputs[k]!;
      } else if (n.opType === 'Identity') {
        chain.unshift(n);
        t = n.inputs[0]!;
      } else break;
    }
    if (!qk) continue;
    const smOut = sm.outputs[0]!;
    const pv = consumers.get(smOut)?.[0];
    if (!solo(smOut) || pv?.opType !== 'MatMul' || pv.inputs[0] !== smOut || !isDyn(pv.inputs[1])) continue;
    const q = back(qk.inputs[0]!);
    const k = back(qk.inputs[1]!);
    const v = back(pv.inputs[1]!);
    if (!q || !k || !v) continue;
    // forward from ·V to the output projection, then on through layout ops
    let o: Projection | null = null;
    t = pv.outputs[0]!;
    for (let guard = 0; guard < 64 && !o; guard++) {
      if (!solo(t)) break;
      const c = consumers.get(t)![0]!;
      if ((c.opType === 'MatMul' || c.opType === 'Gemm') && c.inputs[0] === t) {
        const p = projectionAt(c);
        if (!p) break;
        const out = c.outputs[0]!;
        const add = solo(out) ? consumers.get(out)![0]! : undefined;
        const withBias = c.opType === 'MatMul' && add ? projectionAt(add) : null;
        o = withBias && withBias.matmul === c ? withBias : p;
      } else if (layoutInput(c) === t) t = c.outputs[0]!;
      else break;
    }
    if (!o) continue;
    const tail: OnnxNode[] = [];
    t = o.node.outputs[0]!;
    while (solo(t)) {
      const c = consumers.get(t)![0]!;
      if (layoutInput(c) !== t || ['Mul', 'Div', 'Dropout'].includes(c.opType) || c.outputs.length !== 1) break;
      tail.push(c);
      t = c.outputs[0]!;
    }
    const last = tail.at(-1) ?? o.node;
    // the block: the projections and every node on a path from them to `last`
    const anc = new Set<number>();
    const stack = [last];
    while (stack.length) {
      const n = stack.pop()!;
      if (anc.has(n.index)) continue;
      anc.add(n.index);
      for (const i of n.inputs) {
        const p = i && isDyn(i) ? producer.get(i) : undefined;
        if (p) stack.push(p);
      }
    }
    const members = new Set<number>([q, k, v, o].flatMap((p) => [p.node.index, p.matmul.index]));
    const seeds = [q, k, v].map((p) => p.node);
    const seen = new Set<number>();
    while (seeds.length) {
      const n = seeds.pop()!;
      if (seen.has(n.index)) continue;
      seen.add(n.index);
      if (anc.has(n.index)) members.add(n.index);
      if (n === last) continue;
      for (const out of n.outputs) for (const c of consumers.get(out) ?? []) seeds.push(c);
    }
    const nodes = m.nodes.filter((n) => members.has(n.index));
    // nothing of the block may be used outside it, nor be taken by another block
    const closed = nodes.every((n) => !taken.has(n.index) && (n === last || n.outputs.every((out) => !outputs.has(out) && (consumers.get(out) ?? []).every((c) => members.has(c.index)))));
    if (!closed || !members.has(qk.index) || !members.has(sm.index)) continue;
    for (const n of nodes) taken.add(n.index);
    blocks.push({ q, k, v, o, qk, pv, softmax: sm, chain, tail, nodes, last });
  }
  return blocks;
}

// ---------------------------------------------------------------- resolution

export class AttentionError extends Error {}

/** What the converter knows of a tensor: a constant, or the model's data with its ONNX shape (batch 1). */
export type Known =
  | { kind: 'const'; arr: NdArray }
  | { kind: 'tensor'; onnxShape: number[]; timeAxis: number }
  | undefined;

export interface ResolvedAttention {
  params: { numHeads: number; keyDim: number; valueDim: number; causal: boolean; useBias: boolean };
  /** Keras' names and shapes: query|key|value/kernel [D, heads, dim], …/bias [heads, dim], attention_output/kernel [heads, V, D], attention_output/bias [D]. */
  weights: Record<string, { shape: number[]; values: Float32Array }>;
  query: string;
  kv: string;
  /** The initializers read as weights. */
  weightNames: string[];
  /** The node whose output the layer gives (a node of `tail`, or the output projection), and the remaining tail nodes to convert as usual. */
  end: OnnxNode;
  rest: OnnxNode[];
  /** Per ONNX axis of `end`'s output: 0 batch, 1 time, 2 features, -1 an extra axis of size 1. */
  perm: number[];
}

interface Val {
  arr: NdArray;
  /** Which seed's positions the values are (null: an ordinary constant). */
  code: string | null;
  scale: number;
}

const size = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const strides = (d: readonly number[]) => {
  const s = new Array<number>(d.length).fill(1);
  for (let i = d.length - 2; i >= 0; i--) s[i] = s[i + 1]! * d[i + 1]!;
  return s;
};
const unravel = (flat: number, dims: readonly number[]) => {
  const out = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    out[i] = flat % dims[i]!;
    flat = Math.floor(flat / dims[i]!);
  }
  return out;
};

export function resolveAttention(block: AttentionBlock, known: (name: string) => Known, opset: number): ResolvedAttention {
  const fail = (why: string): never => {
    throw new AttentionError(why);
  };
  const constOf = (name: string | undefined, what: string): NdArray => {
    const k = name ? known(name) : undefined;
    if (k?.kind !== 'const') return fail(`its ${what} ('${name}') is not a constant`);
    return k.arr;
  };
  const dataOf = (name: string, what: string) => {
    const k = known(name);
    if (k?.kind !== 'tensor') return fail(`its ${what} input '${name}' is not the model's data`);
    if (k.onnxShape.length !== 3) return fail(`its ${what} input '${name}' is [${k.onnxShape.join(', ')}], not a [batch, time, features] sequence`);
    return k;
  };
  const xq = dataOf(block.q.input, 'query');
  if (block.k.input !== block.v.input) fail('its keys and values are projected from different tensors');
  const xkv = block.k.input === block.q.input ? xq : dataOf(block.k.input, 'key/value');

  // -------- the projections' weights: [Din, C] and bias [C]
  const attrs = (n: OnnxNode) => ({
    int: (k: string, d: number) => {
      const a = n.attrs.get(k);
      return a?.kind === 'int' ? a.value : d;
    },
    ints: (k: string) => {
      const a = n.attrs.get(k);
      return a?.kind === 'ints' ? a.value : undefined;
    },
    float: (k: string, d: number) => {
      const a = n.attrs.get(k);
      return a?.kind === 'float' ? a.value : d;
    },
    tensor: (k: string) => {
      const a: OnnxAttr | undefined = n.attrs.get(k);
      return a?.kind === 'tensor' ? { dims: a.value.dims, values: a.value.values(), type: a.value.type } : undefined;
    },
  });
  const matrix = (p: Projection, din: number) => {
    const w = constOf(p.weight, 'projection weight');
    if (w.dims.length !== 2) fail(`the projection weight '${p.weight}' is not a matrix`);
    const gemm = p.matmul.opType === 'Gemm';
    const at = attrs(p.matmul);
    if (gemm && at.int('transA', 0)) fail(`${p.matmul.name || 'Gemm'} has transA=1`);
    const transB = gemm && at.int('transB', 0) === 1;
    const alpha = gemm ? at.float('alpha', 1) : 1;
    const [I, C] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    if (I !== din) fail(`the projection weight '${p.weight}' takes ${I} features, its input has ${din}`);
    const at2 = (i: number, c: number) => alpha * w.values[transB ? c * I + i : i * C + c]!;
    let bias: Float64Array | null = null;
    if (p.bias) {
      const b = constOf(p.bias, 'projection bias');
      if (b.values.length !== C && b.values.length !== 1) fail(`the projection bias '${p.bias}' has ${b.values.length} values for ${C} outputs`);
      const beta = gemm ? at.float('beta', 1) : 1;
      bias = Float64Array.from({ length: C }, (_, c) => beta * b.values[b.values.length === 1 ? 0 : c]!);
    }
    return { I, C, at: at2, bias };
  };
  const dq = xq.onnxShape[2]!;
  const dkv = xkv.onnxShape[2]!;
  const Wq = matrix(block.q, dq);
  const Wk = matrix(block.k, dkv);
  const Wv = matrix(block.v, dkv);

  // -------- run the layout ops on index codes
  const env = new Map<string, Val>();
  const codes = (dims: number[]): NdArray => ({ dims, values: Float64Array.from({ length: size(dims) }, (_, i) => i), type: 'float' });
  const projShape = (x: { onnxShape: number[] }, C: number) => [...x.onnxShape.slice(0, -1), C];
  const seed = (p: Projection, dims: number[]) => env.set(p.node.outputs[0]!, { arr: codes(dims), code: p.node.outputs[0]!, scale: 1 });
  seed(block.q, projShape(xq, Wq.C));
  if (block.k.node !== block.q.node) seed(block.k, projShape(xkv, Wk.C));
  if (block.v.node !== block.q.node && block.v.node !== block.k.node) seed(block.v, projShape(xkv, Wv.C));
  const special = new Set<number>([block.qk, block.pv, block.softmax, ...block.chain, ...[block.q, block.k, block.v, block.o].flatMap((p) => [p.node, p.matmul])].map((n) => n.index));
  const input = (name: string): Val | undefined => {
    const v = env.get(name);
    if (v) return v;
    const k = known(name);
    return k?.kind === 'const' ? { arr: k.arr, code: null, scale: 1 } : undefined;
  };
  const run = (n: OnnxNode) => {
    if (special.has(n.index) || n.outputs.every((o) => env.has(o))) return;
    const ins = n.inputs.map((i) => (i ? input(i) : undefined));
    if (n.inputs.some((i, k) => i && !ins[k])) return; // not reachable in this pass
    const coded = ins.filter((v) => v?.code);
    if (n.opType === 'Shape') {
      const x = ins[0]!.arr;
      let dims = x.dims;
      const a = attrs(n);
      const r = dims.length;
      const s = a.int('start', 0);
      const e = n.attrs.has('end') ? a.int('end', r) : r;
      dims = dims.slice(s < 0 ? s + r : s, e < 0 ? e + r : e);
      env.set(n.outputs[0]!, { arr: { dims: [dims.length], values: Float64Array.from(dims), type: 'int' }, code: null, scale: 1 });
      return;
    }
    if (coded.length > 1) fail(`${n.name || n.opType} combines two computed tensors inside the attention block`);
    const c = coded[0];
    if (c && (n.opType === 'Mul' || n.opType === 'Div')) {
      const other = ins.find((v) => v !== c)!;
      if (other.arr.values.length !== 1) fail(`${n.name || n.opType} scales by a constant that is not a scalar`);
      const f = other.arr.values[0]!;
      env.set(n.outputs[0]!, { ...c, scale: n.opType === 'Mul' ? c.scale * f : c.scale / f });
      return;
    }
    if (c && !LAYOUT.has(n.opType)) fail(`${n.name || n.opType} (${n.opType}) inside the attention block is not a layout operation`);
    if (n.opType === 'Dropout' || n.opType === 'Identity') {
      env.set(n.outputs[0]!, ins[0]!);
      return;
    }
    let r: NdArray;
    try {
      r = evalConst(n.opType, ins.map((v) => v?.arr), attrs(n), opset);
    } catch (error) {
      if (error instanceof ConstEvalError) fail(`${n.name || n.opType} (${n.opType}): ${error.message}`);
      throw error;
    }
    env.set(n.outputs[0]!, { arr: c ? { ...r, type: 'float' } : r, code: c?.code ?? null, scale: c?.scale ?? 1 });
  };
  const runAll = () => block.nodes.forEach(run);
  runAll();
  const got = (name: string, what: string, from: string): Val => {
    const v = env.get(name);
    if (!v || v.code !== from) return fail(`its ${what} ('${name}') could not be traced back to its projection through layout operations`);
    return v;
  };

  // Q [..heads, Tq, kd], Kᵀ [..heads, kd, Tk], V [..heads, Tk, vd]: which projection column each head dimension reads
  const A = got(block.qk.inputs[0]!, 'query', block.q.node.outputs[0]!);
  const B = got(block.qk.inputs[1]!, 'key', block.k.node.outputs[0]!);
  const V = got(block.pv.inputs[1]!, 'value', block.v.node.outputs[0]!);
  if (A.arr.dims.length < 3 || B.arr.dims.length !== A.arr.dims.length || V.arr.dims.length !== A.arr.dims.length) fail('its Q, K and V are not [heads, time, dim] tensors of one rank');
  const lead = A.arr.dims.slice(0, -2);
  if ([B, V].some((x) => x.arr.dims.slice(0, -2).join() !== lead.join())) fail(`its Q, K and V split the heads differently ([${A.arr.dims.join(', ')}], [${B.arr.dims.join(', ')}], [${V.arr.dims.join(', ')}])`);
  const h = size(lead);
  const [Tq, kd] = A.arr.dims.slice(-2) as [number, number];
  const [kd2, Tk] = B.arr.dims.slice(-2) as [number, number];
  const [Tk2, vd] = V.arr.dims.slice(-2) as [number, number];
  if (kd2 !== kd || Tk2 !== Tk) fail('its Q, Kᵀ and V shapes do not fit one attention');
  const Txq = xq.onnxShape[xq.timeAxis]!;
  const Txkv = xkv.onnxShape[xkv.timeAxis]!;
  if (Tq !== Txq || Tk !== Txkv) fail(`its heads see ${Tq} query and ${Tk} key steps, the inputs have ${Txq} and ${Txkv}`);
  /** cols[head·dim + j]: the projection column at (head, position t, j) for every t; fails if it moves with t or time is reordered. */
  const columns = (x: Val, x0: { onnxShape: number[]; timeAxis: number }, C: number, D: number, tAxisLast: boolean, what: string) => {
    const src = [...x0.onnxShape.slice(0, -1), C];
    const cols = new Int32Array(h * D).fill(-1);
    for (let f = 0; f < x.arr.values.length; f++) {
      const idx = unravel(f, x.arr.dims);
      const hd = size(lead) === 1 ? 0 : idx.slice(0, -2).reduce((acc, v, i) => acc * lead[i]! + v, 0);
      const [a, b] = idx.slice(-2) as [number, number];
      const [t, j] = tAxisLast ? [b, a] : [a, b];
      const from = unravel(x.arr.values[f]!, src);
      if (from[x0.timeAxis] !== t || from.some((v, i) => i !== x0.timeAxis && i !== src.length - 1 && v !== 0)) fail(`its ${what} heads do not read the positions of the sequence in order`);
      const col = from[src.length - 1]!;
      const slot = hd * D + j;
      if (cols[slot] === -1) cols[slot] = col;
      else if (cols[slot] !== col) fail(`its ${what} heads read different projection columns at different positions`);
    }
    return cols;
  };
  const colQ = columns(A, xq, Wq.C, kd, false, 'query');
  const colK = columns(B, xkv, Wk.C, kd, true, 'key');
  const colV = columns(V, xkv, Wv.C, vd, false, 'value');

  // -------- scores: scale and mask between QKᵀ and Softmax
  let scale = A.scale * B.scale;
  let mask: NdArray | null = null;
  for (const n of block.chain) {
    if (n.opType === 'Identity') continue;
    const k = known(n.inputs[0]!)?.kind === 'const' ? 0 : 1;
    const c = constOf(n.inputs[k], `${n.opType} operand`);
    if (n.opType === 'Add') {
      if (mask) fail('it adds two masks to the scores');
      mask = c;
    } else {
      if (c.values.length !== 1) fail(`${n.name || n.opType} scales the scores by a constant that is not a scalar`);
      scale = n.opType === 'Mul' ? scale * c.values[0]! : scale / c.values[0]!;
    }
  }
  const sa = block.softmax.attrs.get('axis');
  const axis = sa?.kind === 'int' ? sa.value : opset >= 13 ? -1 : 1;
  const rank = A.arr.dims.length;
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) fail(`its Softmax is over axis ${axis}, not over the keys (the last axis)`);
  let causal = false;
  if (mask) {
    const d = mask.dims;
    if (mask.values.length !== 1 && (d.length < 2 || d.length > rank || d.slice(0, -2).some((x) => x !== 1) || d[d.length - 2] !== Tq || d[d.length - 1] !== Tk)) fail(`its mask [${d.join(', ')}] is not one [${Tq}, ${Tk}] mask for every head`);
    let zero = true;
    let isCausal = Tq === Tk;
    for (let i = 0; i < Tq; i++) {
      for (let j = 0; j < Tk; j++) {
        const v = mask.values.length === 1 ? mask.values[0]! : mask.values[i * Tk + j]!;
        const blocked = v <= -1e4;
        if (!blocked && Math.abs(v) > 1e-6) fail(`its mask adds ${v} at (${i}, ${j}); only a causal mask (0, or −∞ / ≤ −1e4 after the diagonal) has a Layerforge equivalent`);
        if (blocked) zero = false;
        if (blocked !== j > i) isCausal = false;
      }
    }
    if (!zero && !isCausal) fail('its mask is not causal (each position seeing itself and the earlier ones); Layerforge\'s MultiHeadAttention has no other mask');
    causal = !zero;
  }

  // -------- merging the heads: which merged feature each output-projection row takes
  const oIn = block.o.matmul.inputs[0]!;
  env.set(block.pv.outputs[0]!, { arr: codes([...lead, Tq, vd]), code: block.pv.outputs[0]!, scale: 1 });
  runAll();
  const M = got(oIn, 'merged heads', block.pv.outputs[0]!);
  const F = M.arr.dims.at(-1)!;
  if (F !== h * vd || size(M.arr.dims.slice(0, -1)) !== Tq) fail(`its heads are merged into [${M.arr.dims.join(', ')}], not [${Tq}, ${h * vd}]`);
  const rowOf = new Int32Array(F).fill(-1); // merged feature f = head·vd + j of row rowOf
  for (let e = 0; e < M.arr.values.length; e++) {
    const r = Math.floor(e / F);
    const f = e % F;
    const [hd, t, j] = unravel(M.arr.values[e]!, [h, Tq, vd]) as [number, number, number];
    if (t !== r) fail('its merged heads do not keep the positions in order');
    const slot = hd * vd + j;
    if (rowOf[f] === -1) rowOf[f] = slot;
    else if (rowOf[f] !== slot) fail('its merged heads put different head dimensions in one feature');
  }
  const Wo = matrix(block.o, F);
  const D = Wo.C;
  if (D !== dq) fail(`its output projection gives ${D} features, the query has ${dq} (Layerforge's MultiHeadAttention keeps the query's size)`);

  // -------- after the output projection: how the output is laid out
  const yName = block.o.node.outputs[0]!;
  const yDims = [...M.arr.dims.slice(0, -1), D];
  env.set(yName, { arr: codes(yDims), code: yName, scale: 1 });
  runAll();
  const qBatch = [0, 1, 2].find((a) => a !== xq.timeAxis && a !== 2)!;
  const layoutOf = (v: Val): number[] | null => {
    const dims = v.arr.dims;
    if (v.scale !== 1) return null;
    const st = strides(dims);
    const at = (axis: number) => {
      const c = v.arr.values[st[axis]!]!;
      return [Math.floor(c / D), c % D];
    };
    let tA = -1;
    let dA = -1;
    for (let a = 0; a < dims.length; a++) {
      if (dims[a] === 1) continue;
      const [r, d] = at(a);
      if (r === 1 && d === 0 && tA === -1) tA = a;
      else if (r === 0 && d === 1 && dA === -1) dA = a;
      else return null;
    }
    if (dA === -1 && D === 1) dA = dims.findIndex((x, i) => x === 1 && i !== tA);
    if (tA === -1 && Tq === 1) tA = dims.findIndex((x, i) => x === 1 && i !== dA);
    if (tA === -1 || dA === -1) return null;
    for (let e = 0; e < v.arr.values.length; e++) {
      const idx = unravel(e, dims);
      const c = v.arr.values[e]!;
      if (Math.floor(c / D) !== idx[tA] || c % D !== idx[dA]) return null;
    }
    const ones = dims.map((_, a) => a).filter((a) => a !== tA && a !== dA);
    if (!ones.length) return null; // the batch is merged into another axis
    const batch = ones.includes(qBatch) && dims.length === 3 ? qBatch : ones[0]!;
    return dims.map((_, a) => (a === tA ? 1 : a === dA ? 2 : a === batch ? 0 : -1));
  };
  const ends = [block.o.node, ...block.tail];
  let endAt = -1;
  let perm: number[] | null = null;
  for (let i = ends.length - 1; i >= 0 && !perm; i--) {
    const v = env.get(ends[i]!.outputs[0]!);
    if (v?.code === yName) perm = layoutOf(v);
    if (perm) endAt = i;
  }
  if (!perm) fail('its output is not a [batch, time, features] sequence after the output projection');

  // -------- weights, Keras' layout; the scores' scale and V's and the merge's folded in
  const fq = scale * Math.sqrt(kd);
  const kernel = (W: ReturnType<typeof matrix>, cols: Int32Array, D0: number, dim: number, f: number) => {
    const out = new Float32Array(D0 * h * dim);
    for (let i = 0; i < D0; i++) for (let s = 0; s < h * dim; s++) out[i * h * dim + s] = f * W.at(i, cols[s]!);
    return { shape: [D0, h, dim], values: out };
  };
  const bias = (W: ReturnType<typeof matrix>, cols: Int32Array, dim: number, f: number) => ({ shape: [h, dim], values: Float32Array.from({ length: h * dim }, (_, s) => (W.bias ? f * W.bias[cols[s]!]! : 0)) });
  const useBias = !!(Wq.bias || Wk.bias || Wv.bias || Wo.bias);
  const weights: ResolvedAttention['weights'] = {
    'query/kernel': kernel(Wq, colQ, dq, kd, fq),
    'key/kernel': kernel(Wk, colK, dkv, kd, 1),
    'value/kernel': kernel(Wv, colV, dkv, vd, V.scale),
  };
  const slotRow = new Int32Array(F).fill(-1);
  rowOf.forEach((slot, f) => (slotRow[slot] = f));
  if (slotRow.some((f) => f === -1)) fail('its merged heads do not use every head dimension once');
  const ok = new Float32Array(F * D);
  for (let s = 0; s < F; s++) for (let d = 0; d < D; d++) ok[s * D + d] = M.scale * Wo.at(slotRow[s]!, d);
  weights['attention_output/kernel'] = { shape: [h, vd, D], values: ok };
  if (useBias) {
    weights['query/bias'] = bias(Wq, colQ, kd, fq);
    weights['key/bias'] = bias(Wk, colK, kd, 1);
    weights['value/bias'] = bias(Wv, colV, vd, V.scale);
    weights['attention_output/bias'] = { shape: [D], values: Float32Array.from({ length: D }, (_, d) => Wo.bias?.[d] ?? 0) };
  }
  const weightNames = [...new Set([block.q, block.k, block.v, block.o].flatMap((p) => [p.weight, ...(p.bias ? [p.bias] : [])]))];
  return {
    params: { numHeads: h, keyDim: kd, valueDim: vd, causal, useBias },
    weights,
    query: block.q.input,
    kv: block.k.input,
    weightNames,
    end: ends[endAt]!,
    rest: ends.slice(endAt + 1),
    perm: perm!,
  };
}
