/**
 * Tile, done fast, for training: BatchNormalization's gradient (tfjs's FusedBatchNorm gradient tiles
 * [1,1,1,C] up to [N,H,W,C]) and LayerNormalization (tfjs-layers tiles in the forward pass).
 *
 * - The wasm Tile kernel (replaces tfjs's, a per-element C++ loop that took ~770 ms of a 1.5 s
 *   resnet-small step): block copies on the wasm heap. The first repetition of every row is written
 *   once, then each dimension, innermost first, is filled by copying its first repetition block
 *   (copyWithin, i.e. memmove). Output-sized work, no per-element index arithmetic.
 * - The Tile gradient (replaces tfjs's for every backend, which slices and adds once per repetition:
 *   65,536 Slice + Add kernels for [1,1,1,C] -> [64,32,32,C]): dy reshaped to
 *   [r0, s0, r1, s1, ...] and summed over the r axes, one reduction.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { WASM } from './kernels';

type TypedArray = Float32Array | Int32Array | Uint8Array;

interface WasmBackendHeap {
  makeOutput(shape: number[], dtype: tfjs.DataType): tfjs.TensorInfo;
  typedArrayFromHeap(t: tfjs.TensorInfo): TypedArray;
}

/** out = tile(x, reps) for row-major arrays; exported for tests. */
export function tileInto(x: TypedArray, shape: readonly number[], reps: readonly number[], out: TypedArray): void {
  const k = shape.length;
  if (k === 0) {
    out[0] = x[0]!;
    return;
  }
  const outShape = shape.map((s, i) => s * reps[i]!);
  // outStride[d]: elements per step of output dimension d.
  const outStride = new Array<number>(k).fill(1);
  for (let d = k - 2; d >= 0; d--) outStride[d] = outStride[d + 1]! * outShape[d + 1]!;
  const last = shape[k - 1]!;
  const rLast = reps[k - 1]!;
  // 1. Every row of x, repeated rLast times, at the output position where all outer repetition
  //    indices are 0.
  const rows = x.length / last;
  const idx = new Array<number>(Math.max(0, k - 1)).fill(0);
  for (let r = 0; r < rows; r++) {
    let o = 0;
    for (let d = 0; d < k - 1; d++) o += idx[d]! * outStride[d]!;
    const row = x.subarray(r * last, (r + 1) * last);
    for (let q = 0; q < rLast; q++) out.set(row, o + q * last);
    for (let d = k - 2; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  // 2. Dimensions k-2 .. 0: copy the first repetition block reps[d]-1 times, for every outer prefix
  //    that is itself a first repetition.
  for (let d = k - 2; d >= 0; d--) {
    const r = reps[d]!;
    if (r === 1) continue;
    const block = shape[d]! * outStride[d]!;
    // Outer prefixes: indices 0..shape[e]-1 on dimensions e < d (repetition 0 there).
    const prefixes = shape.slice(0, d).reduce((a, b) => a * b, 1);
    const pidx = new Array<number>(d).fill(0);
    for (let p = 0; p < prefixes; p++) {
      let o = 0;
      for (let e = 0; e < d; e++) o += pidx[e]! * outStride[e]!;
      for (let q = 1; q < r; q++) out.copyWithin(o + q * block, o, o + block);
      for (let e = d - 1; e >= 0; e--) {
        if (++pidx[e]! < shape[e]!) break;
        pidx[e] = 0;
      }
    }
  }
}

let kernelRegistered = false;
let gradientRegistered = false;

/** Registers our wasm Tile kernel (idempotent; after '@tensorflow/tfjs-backend-wasm' is imported). */
export function registerWasmTile(tf: Tf): void {
  if (kernelRegistered) return;
  kernelRegistered = true;
  const original = tf.getKernel('Tile', WASM);
  if (original) tf.unregisterKernel('Tile', WASM);
  tf.registerKernel({
    kernelName: 'Tile',
    backendName: WASM,
    ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}),
    kernelFunc: (args) => {
      const x = args.inputs.x as tfjs.TensorInfo;
      const reps = (args.attrs as { reps: number[] }).reps;
      if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) {
        if (!original) throw new Error('Tile: no wasm kernel for this case');
        return original.kernelFunc(args);
      }
      const backend = args.backend as unknown as WasmBackendHeap;
      const out = backend.makeOutput(x.shape.map((s, i) => s * reps[i]!), x.dtype);
      if (x.shape.some((s) => s === 0) || reps.some((r) => r === 0)) return out;
      // Views after makeOutput (an allocation may replace the heap buffer).
      tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
      return out;
    },
  });
}

/** Registers the Tile gradient for every backend (idempotent). */
export function registerTileGradient(tf: Tf): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tfjs.Tensor];
      const reps = (attrs as unknown as { reps: number[] }).reps;
      return {
        x: () => {
          const d = dy as tfjs.Tensor;
          const split = x.shape.flatMap((s, i) => [reps[i]!, s]);
          const repAxes = x.shape.map((_, i) => 2 * i).filter((a) => split[a]! > 1);
          const r = d.reshape(split);
          return (repAxes.length ? tf.sum(r, repAxes) : r).reshape(x.shape);
        },
      };
    },
  });
}
