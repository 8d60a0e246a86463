/**
 * Evaluation of ONNX ops whose inputs are all constants: the shape arithmetic exporters leave in a graph
 * (PyTorch's zero initial states built with Expand, its Pad pads computed with ConstantOfShape / Concat /
 * Slice / Transpose, weights transposed in the graph). Small N-d arrays of float64, numpy broadcasting.
 */

export interface NdArray {
  dims: number[];
  values: Float64Array;
  type: 'float' | 'int' | 'bool' | 'other';
}

export class ConstEvalError extends Error {}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const MAX = 1 << 24;

function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function check(dims: number[]): number[] {
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || size(dims) > MAX) throw new ConstEvalError(`constant of shape [${dims.join(', ')}] is not supported`);
  return dims;
}

export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ConstEvalError(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return check(out);
}

/** Values of `a` read at every index of the broadcast shape `dims`. */
function expandTo(a: NdArray, dims: readonly number[]): Float64Array {
  const r = dims.length;
  const ad = [...new Array<number>(r - a.dims.length).fill(1), ...a.dims];
  const as = stridesOf(ad).map((s, i) => (ad[i] === 1 ? 0 : s));
  const out = new Float64Array(size(dims));
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += idx[i]! * as[i]!;
    out[o] = a.values[src]!;
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function elementwise(xs: NdArray[], f: (...v: number[]) => number, type?: NdArray['type']): NdArray {
  const dims = xs.map((x) => x.dims).reduce((a, b) => broadcastDims(a, b));
  const vals = xs.map((x) => expandTo(x, dims));
  const out = new Float64Array(size(dims));
  for (let i = 0; i < out.length; i++) out[i] = f(...vals.map((v) => v[i]!));
  return { dims, values: out, type: type ?? (xs.some((x) => x.type === 'float') ? 'float' : xs[0]!.type) };
}

function transpose(a: NdArray, perm: number[]): NdArray {
  const dims = perm.map((p) => a.dims[p]!);
  const s = stridesOf(a.dims);
  const ps = perm.map((p) => s[p]!);
  const out = new Float64Array(a.values.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < dims.length; i++) src += idx[i]! * ps[i]!;
    out[o] = a.values[src]!;
    for (let i = dims.length - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dims, values: out, type: a.type };
}

/** Slices `a` along each axis by [start, end) with step (ONNX clamping rules). */
function slice(a: NdArray, starts: number[], ends: number[], axes: number[], steps: number[]): NdArray {
  const r = a.dims.length;
  const ranges = a.dims.map((d) => ({ start: 0, step: 1, count: d }));
  axes.forEach((ax0, k) => {
    const ax = ax0 < 0 ? ax0 + r : ax0;
    const d = a.dims[ax];
    if (d === undefined) throw new ConstEvalError(`Slice axis ${ax0} is out of range`);
    const step = steps[k] ?? 1;
    if (step === 0) throw new ConstEvalError('Slice step 0');
    let s = starts[k]!;
    let e = ends[k]!;
    s = s < 0 ? s + d : s;
    e = e < 0 ? e + d : e;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    ranges[ax] = { start: s, step, count: Math.max(0, Math.ceil((e - s) / step)) };
  });
  const dims = check(ranges.map((x) => x.count));
  const st = stridesOf(a.dims);
  const out = new Float64Array(size(dims));
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < r; i++) src += (ranges[i]!.start + idx[i]! * ranges[i]!.step) * st[i]!;
    out[o] = a.values[src]!;
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dims, values: out, type: a.type };
}

function concat(xs: NdArray[], axis: number): NdArray {
  const r = xs[0]!.dims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (xs.some((x) => x.dims.length !== r || x.dims.some((d, i) => i !== ax && d !== xs[0]!.dims[i]))) throw new ConstEvalError('Concat of constants with different shapes');
  const dims = [...xs[0]!.dims];
  dims[ax] = xs.reduce((a, x) => a + x.dims[ax]!, 0);
  const outer = size(dims.slice(0, ax));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const inner = size(x.dims.slice(ax));
      for (let i = 0; i < inner; i++) out.push(x.values[o * inner + i]!);
    }
  }
  return { dims: check(dims), values: Float64Array.from(out), type: xs[0]!.type };
}

function gather(data: NdArray, indices: NdArray, axis: number): NdArray {
  const r = data.dims.length;
  const ax = axis < 0 ? axis + r : axis;
  const d = data.dims[ax];
  if (d === undefined) throw new ConstEvalError(`Gather axis ${axis} is out of range`);
  const dims = check([...data.dims.slice(0, ax), ...indices.dims, ...data.dims.slice(ax + 1)]);
  const outer = size(data.dims.slice(0, ax));
  const inner = size(data.dims.slice(ax + 1));
  const out = new Float64Array(size(dims));
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const i0 of indices.values) {
      const i = i0 < 0 ? i0 + d : i0;
      if (i < 0 || i >= d) throw new ConstEvalError(`Gather index ${i0} is out of range`);
      for (let k = 0; k < inner; k++) out[o++] = data.values[(a * d + i) * inner + k]!;
    }
  }
  return { dims, values: out, type: data.type };
}

function reshape(a: NdArray, shape: number[], allowZero: boolean): NdArray {
  const dims = shape.map((d, i) => (d === 0 && !allowZero ? a.dims[i]! : d));
  const known = size(dims.filter((d) => d !== -1));
  const resolved = dims.map((d) => (d === -1 ? a.values.length / known : d));
  if (size(resolved) !== a.values.length) throw new ConstEvalError(`Reshape of ${a.values.length} values to [${shape.join(', ')}]`);
  return { dims: check(resolved), values: a.values, type: a.type };
}

type Attrs = { int: (k: string, d: number) => number; ints: (k: string) => number[] | undefined; float: (k: string, d: number) => number; tensor: (k: string) => NdArray | undefined };

const BIN: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Equal: (a, b) => Number(a === b),
  Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b),
  Pow: (a, b) => a ** b,
};

/** The ops evaluated on constants. */
export const CONST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Equal', 'Less', 'Greater', 'Pow', 'Neg', 'Sqrt', 'Abs', 'Where', 'Reshape', 'Transpose', 'Slice', 'Expand', 'ConstantOfShape', 'Concat', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast', 'Identity', 'Flatten', 'Range', 'Not', 'Trilu']);

/**
 * Evaluates `op` on constant inputs (undefined for an absent optional input). `opset` decides whether
 * axes / starts are attributes or inputs.
 */
export function evalConst(op: string, ins: (NdArray | undefined)[], attrs: Attrs, opset: number): NdArray {
  const a = ins[0];
  const need = (x: NdArray | undefined, what: string): NdArray => {
    if (!x) throw new ConstEvalError(`${op} is missing its ${what}`);
    return x;
  };
  const list = (x: NdArray | undefined) => (x ? Array.from(x.values) : undefined);
  if (op in BIN) {
    const f = BIN[op]!;
    const xs = ins.filter((x): x is NdArray => !!x);
    return xs.slice(1).reduce((acc, x) => elementwise([acc, x], f, ['Equal', 'Less', 'Greater'].includes(op) ? 'bool' : undefined), xs[0]!);
  }
  switch (op) {
    case 'Div': {
      const x = need(a, 'input');
      const y = need(ins[1], 'divisor');
      const int = x.type === 'int' && y.type === 'int';
      return elementwise([x, y], (p, q) => (int ? Math.trunc(p / q) : p / q));
    }
    case 'Neg': return elementwise([need(a, 'input')], (v) => -v);
    case 'Sqrt': return elementwise([need(a, 'input')], Math.sqrt);
    case 'Abs': return elementwise([need(a, 'input')], Math.abs);
    case 'Not': return elementwise([need(a, 'input')], (v) => Number(!v), 'bool');
    case 'Where': return elementwise([need(a, 'condition'), need(ins[1], 'x'), need(ins[2], 'y')], (c, x, y) => (c ? x : y), ins[1]!.type);
    case 'Identity': return need(a, 'input');
    case 'Cast': {
      const to = attrs.int('to', 1);
      const x = need(a, 'input');
      const type: NdArray['type'] = [1, 10, 11, 16].includes(to) ? 'float' : to === 9 ? 'bool' : 'int';
      return { dims: x.dims, values: type === 'int' ? x.values.map(Math.trunc) : type === 'bool' ? x.values.map((v) => Number(!!v)) : x.values, type };
    }
    case 'Reshape': return reshape(need(a, 'input'), list(need(ins[1], 'shape'))!, attrs.int('allowzero', 0) === 1);
    case 'Flatten': {
      const x = need(a, 'input');
      const ax = attrs.int('axis', 1);
      const r = ax < 0 ? ax + x.dims.length : ax;
      return { dims: [size(x.dims.slice(0, r)), size(x.dims.slice(r))], values: x.values, type: x.type };
    }
    case 'Transpose': {
      const x = need(a, 'input');
      return transpose(x, attrs.ints('perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i));
    }
    case 'Slice': {
      const x = need(a, 'input');
      if (opset < 10) {
        const starts = attrs.ints('starts') ?? [];
        return slice(x, starts, attrs.ints('ends') ?? [], attrs.ints('axes') ?? starts.map((_, i) => i), []);
      }
      const starts = list(need(ins[1], 'starts'))!;
      return slice(x, starts, list(need(ins[2], 'ends'))!, list(ins[3]) ?? starts.map((_, i) => i), list(ins[4]) ?? []);
    }
    case 'Expand': {
      const x = need(a, 'input');
      const dims = broadcastDims(x.dims, list(need(ins[1], 'shape'))!);
      return { dims, values: expandTo(x, dims), type: x.type };
    }
    case 'ConstantOfShape': {
      const dims = check(list(need(a, 'shape'))!);
      const v = attrs.tensor('value');
      return { dims, values: new Float64Array(size(dims)).fill(v?.values[0] ?? 0), type: v?.type ?? 'float' };
    }
    case 'Concat': return concat(ins.filter((x): x is NdArray => !!x), attrs.int('axis', 0));
    case 'Gather': return gather(need(a, 'data'), need(ins[1], 'indices'), attrs.int('axis', 0));
    case 'Unsqueeze': {
      const x = need(a, 'input');
      const axes = (opset < 13 ? attrs.ints('axes') : list(ins[1])) ?? [];
      const r = x.dims.length + axes.length;
      const dims = [...x.dims];
      for (const ax of axes.map((v) => (v < 0 ? v + r : v)).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
      return { dims, values: x.values, type: x.type };
    }
    case 'Squeeze': {
      const x = need(a, 'input');
      const axes = (opset < 13 ? attrs.ints('axes') : list(ins[1]))?.map((v) => (v < 0 ? v + x.dims.length : v));
      return { dims: x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)), values: x.values, type: x.type };
    }
    case 'Trilu': {
      // the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of the last two axes; PyTorch's causal masks
      const x = need(a, 'input');
      if (x.dims.length < 2) throw new ConstEvalError('Trilu of a tensor of rank < 2');
      const k = ins[1]?.values[0] ?? 0;
      const upper = attrs.int('upper', 1) === 1;
      const [rows, cols] = x.dims.slice(-2) as [number, number];
      return { dims: x.dims, values: x.values.map((v, f) => {
        const j = f % cols;
        const i = Math.floor(f / cols) % rows;
        return (upper ? j - i >= k : j - i <= k) ? v : 0;
      }), type: x.type };
    }
    case 'Range': {
      const [s, l, d] = [need(a, 'start').values[0]!, need(ins[1], 'limit').values[0]!, need(ins[2], 'delta').values[0]!];
      const n = Math.max(Math.ceil((l - s) / d), 0);
      if (n > MAX) throw new ConstEvalError('Range too long');
      return { dims: [n], values: Float64Array.from({ length: n }, (_, i) => s + i * d), type: a!.type };
    }
  }
  throw new ConstEvalError(`${op} of constants is not supported`);
}
