/**
 * Small element-wise ops on wasm without XNNPACK's thread pool. tfjs's wasm backend runs Relu, Relu6,
 * Neg, Abs, Square and broadcasting Add/Sub/Mul/RealDiv/SquaredDifference through XNNPACK, whose
 * 2-thread pthreadpool costs a fixed ~0.27 ms per op (its wake-up) whatever the size: more than the op
 * itself up to about a million floats. Maximum/Minimum take tfjs's generic broadcast loop (~4.7 ms for
 * 32K floats). Ours (native/elementwise.c, ew_unary and ew_binary_bcast) run inline on the calling
 * thread for float32 tensors below LARGE elements; everything else (other dtypes, larger tensors,
 * same-shape or scalar operands of Add/Sub/Mul/RealDiv/SquaredDifference, which tfjs runs inline
 * already) goes to tfjs's kernel. Broadcasts are collapsed (adjacent dims that broadcast alike merged);
 * the kernel runs 4 loops, more (rank 5-6) are walked in JavaScript, one kernel call per outer index.
 * Results equal tfjs's cpu backend bit for bit (NaN propagates through Maximum/Minimum/Relu6, which
 * tfjs's wasm kernels drop; SquaredDifference rounds once, from double, as cpu does).
 * Cast to the tensor's own dtype (tfjs's avgPool op casts its result to float32, the metrics cast
 * float32 tensors) shares the input's buffer, reference-counted, as the Identity kernel does, instead
 * of tfjs's copy; Cast to bool gives x != 0 (tfjs's wasm Cast wrapped the values into bytes).
 * LAYERFORGE_SMALL_OPS=0 (or setSmallOps(false)) keeps tfjs's kernels.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { sizeOf, type HeapBackend } from './native/heap';

const WASM = 'wasm';
type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };
type KernelResult = tfjs.Tensor | TensorInfo | TensorInfo[];

let enabled = process.env.LAYERFORGE_SMALL_OPS !== '0';
/** Turns our small-op kernels on or off (benchmarks, tests); they fall back to tfjs's when off. */
export function setSmallOps(on: boolean): void {
  enabled = on;
}
export function smallOpsEnabled(): boolean {
  return enabled;
}

/** Above this many output elements tfjs's (threaded) kernel is kept: its pool wake-up is then amortised. */
const LARGE = 1 << 20;

export const UNARY_OPS = { Relu: 0, Relu6: 1, Neg: 2, Abs: 3, Square: 4 } as const;
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 } as const;
type BinaryOp = keyof typeof BINARY_OPS;
/** Ops whose same-shape and scalar cases tfjs runs inline (fast): ours takes only real broadcasts. */
const BROADCAST_ONLY = new Set<BinaryOp>(['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference']);

/** ew_unary on x, or null when it does not apply. */
export function smallUnary(op: keyof typeof UNARY_OPS, args: KernelArgs): TensorInfo | null {
  const x = args.inputs.x;
  if (!enabled || !x || x.dtype !== 'float32') return null;
  const n = sizeOf(x.shape);
  if (n > LARGE) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('ew_unary')) return null;
  const out = (args.backend as HeapBackend).makeOutput(x.shape.slice(), 'float32');
  if (n > 0) native.fn('ew_unary')(heapOffset(args.backend, x.dataId), heapOffset(args.backend, out.dataId), UNARY_OPS[op], n);
  return out;
}

/**
 * The broadcast of shapes a and b with adjacent dims that broadcast alike merged: out dims d (at least
 * 4, padded with leading 1s) and element strides of a and b (0 where one broadcasts), innermost last;
 * null when the shapes do not broadcast.
 */
export function collapseBroadcast(a: readonly number[], b: readonly number[]): { out: number[]; d: number[]; sa: number[]; sb: number[] } | null {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array<number>(rank - a.length).fill(1), ...a], pb = [...Array<number>(rank - b.length).fill(1), ...b];
  const out: number[] = [];
  const groups: { size: number; kind: number }[] = [];
  for (let k = 0; k < rank; k++) {
    const x = pa[k]!, y = pb[k]!;
    if (x !== y && x !== 1 && y !== 1) return null;
    const o = x === 1 ? y : x;
    out.push(o);
    if (o === 1) continue;
    const kind = (x === o ? 1 : 0) | (y === o ? 2 : 0);
    const last = groups.at(-1);
    if (last && last.kind === kind) last.size *= o;
    else groups.push({ size: o, kind });
  }
  const d: number[] = [], sa: number[] = [], sb: number[] = [];
  let ra = 1, rb = 1;
  for (let g = groups.length - 1; g >= 0; g--) {
    const { size, kind } = groups[g]!;
    d.unshift(size);
    sa.unshift(kind & 1 ? ra : 0);
    sb.unshift(kind & 2 ? rb : 0);
    if (kind & 1) ra *= size;
    if (kind & 2) rb *= size;
  }
  while (d.length < 4) {
    d.unshift(1);
    sa.unshift(0);
    sb.unshift(0);
  }
  return { out, d, sa, sb };
}

/** ew_binary_bcast on a and b, or null when it does not apply (see the file comment). */
export function smallBinary(op: BinaryOp, args: KernelArgs): TensorInfo | null {
  const { a, b } = args.inputs;
  if (!enabled || !a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (BROADCAST_ONLY.has(op)) {
    const same = a.shape.length === b.shape.length && a.shape.every((v, i) => v === b.shape[i]);
    if (same || sizeOf(a.shape) === 1 || sizeOf(b.shape) === 1) return null;
  }
  const c = collapseBroadcast(a.shape, b.shape);
  if (!c) return null;
  const n = sizeOf(c.out);
  if (n > LARGE) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('ew_binary_bcast')) return null;
  const backend = args.backend;
  const out = (backend as HeapBackend).makeOutput(c.out, 'float32');
  if (n > 0) {
    const f = native.fn('ew_binary_bcast');
    const { d, sa, sb } = c;
    const k = d.length - 4; // loops beyond the kernel's 4 (rank 5 and 6 broadcasts): walked here
    const [, d1, d2, d3] = d.slice(k) as [number, number, number, number];
    const inner = d.slice(k).reduce((x, y) => x * y, 1);
    const [a0, b0, o0] = [heapOffset(backend, a.dataId), heapOffset(backend, b.dataId), heapOffset(backend, out.dataId)];
    const strides = [...sa.slice(k), ...sb.slice(k)];
    const idx = new Array<number>(k).fill(0);
    for (let outer = 0, oa = 0, ob = 0; outer < n / inner; outer++) {
      f(a0 + 4 * oa, b0 + 4 * ob, o0 + 4 * outer * inner, BINARY_OPS[op], d1, d2, d3, ...strides, 0, inner / d3);
      for (let j = k - 1; j >= 0; j--) {
        oa += sa[j]!;
        ob += sb[j]!;
        if (++idx[j]! < d[j]!) break;
        oa -= sa[j]! * d[j]!;
        ob -= sb[j]! * d[j]!;
        idx[j] = 0;
      }
    }
  }
  return out;
}

/**
 * Cast to x's own dtype: the output shares x's buffer (reference-counted). Cast of float32 / int32 to
 * bool: x != 0 (tfjs's wasm kernel copies the values into bytes, so 0.5 became 0 and -2 became 254;
 * cpu gives 1 for any nonzero, NaN included). Null for the other conversions (tfjs's kernel).
 */
export function sameTypeCast(args: KernelArgs): TensorInfo | null {
  const x = args.inputs.x;
  const dtype = args.attrs?.dtype;
  if (!enabled || !x || x.dtype === 'string') return null;
  const backend = args.backend as { incRef(dataId: unknown): void; makeOutput(shape: number[], dtype: 'bool'): TensorInfo; typedArrayFromHeap(t: TensorInfo): ArrayLike<number> };
  if (dtype === x.dtype) {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  if (dtype !== 'bool' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return null;
  const out = backend.makeOutput(x.shape.slice(), 'bool');
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out) as Uint8Array; // views after the allocation
  for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  return out;
}

const originals = new WeakMap<object, Map<string, tfjs.KernelConfig>>();

/**
 * Registers our Relu, Relu6, Neg, Abs, Square, Sub, Multiply, RealDiv, Maximum, Minimum,
 * SquaredDifference and same-dtype Cast for wasm in place of tfjs's (kept, for the cases ours leaves); idempotent per tf
 * instance. Add is kernels.ts's (elementwise.ts's biasAddKernel tries smallBinary).
 */
export function registerSmallOps(tf: Tf): void {
  if (originals.has(tf)) return;
  const kept = new Map<string, tfjs.KernelConfig>();
  originals.set(tf, kept);
  const ours: [string, (args: KernelArgs) => TensorInfo | null][] = [
    ...(Object.keys(UNARY_OPS) as (keyof typeof UNARY_OPS)[]).map((op) => [op, (args: KernelArgs) => smallUnary(op, args)] as [string, (args: KernelArgs) => TensorInfo | null]),
    ...(Object.keys(BINARY_OPS) as BinaryOp[]).filter((op) => op !== 'Add').map((op) => [op, (args: KernelArgs) => smallBinary(op, args)] as [string, (args: KernelArgs) => TensorInfo | null]),
    ['Cast', sameTypeCast],
  ];
  const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
  for (const [name, run] of ours) {
    const original = tf.getKernel(name, WASM);
    if (!original) continue;
    kept.set(name, original);
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: (args): KernelResult => run(args as unknown as KernelArgs) ?? original.kernelFunc(args),
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    });
    // Setup functions run when a backend initialises; run it now if wasm already has.
    if (original.setupFunc && live) original.setupFunc(live);
  }
}
