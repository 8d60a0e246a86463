/**
 * Element-wise kernels of ours for the wasm backend, and the registration they share.
 *
 * - `registerElementwiseKernel`: a kernel whose output has its first input's shape and that one export
 *   of our module computes element by element (relu_grad, add_relu, …), split over the helper thread for
 *   large tensors. Used by reluGrad.ts and addRelu.ts.
 * - `biasAddKernel` (the wasm `Add`, registered by kernels.ts): x + b with b a bias broadcast over the
 *   last axis ([C] or [1,…,1,C]; a Conv2D layer's bias while training, where tfjs does not fuse it
 *   because the activation is not linear) in one SIMD pass of native/elementwise.c (ew_bias_add), rows
 *   split over two threads. tfjs's wasm Add walks a broadcast with index arithmetic per element. Every
 *   other broadcasting float32 Add goes to smallOps.ts (no XNNPACK pool), the rest to tfjs's kernel.
 * - `scatterPhase`: writes one phase of a strided NHWC tensor (ew_phase_scatter), for the input
 *   gradient of strided convolutions (kernels.ts).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels, splitElements, type NativeKernels } from './native';
import { registerNativeKernel, sizeOf, type HeapBackend } from './native/heap';
import { smallBinary } from './smallOps';

type TensorInfo = tfjs.TensorInfo;
type KernelResult = tfjs.Tensor | TensorInfo | TensorInfo[];

/**
 * Registers `kernelName` on wasm (once): float32 inputs named `inputNames`, an output shaped as the
 * first, computed by our module's `exportName(inputOffsets…, outOffset, count)`; the helper thread takes
 * the second half of tensors from `splitMin()` elements (read at each call; 2^16 unless given). The kernel throws if our module is not loaded: callers check
 * `nativeKernels(backend)` before they run it.
 */
export function registerElementwiseKernel(tf: Tf, kernelName: string, inputNames: readonly string[], exportName: string, splitMin: () => number = () => 1 << 16): void {
  registerNativeKernel(tf, { name: kernelName, inputs: inputNames }, ({ native, inputs, at, output }) => {
    const ins = inputNames.map((k) => inputs[k]!);
    const out = output(ins[0]!.shape);
    const f = native.fn(exportName);
    const n = sizeOf(ins[0]!.shape);
    const offsets = [...ins.map(at), at(out)];
    if (n >= splitMin()) splitElements(native, exportName, offsets, n, (o, count) => f(...o, count));
    else f(...offsets, n);
    return out;
  });
}

/** Rows of work split over the helper thread when it is up and the work is large (`rows * perRow` floats). */
export function splitRows(native: NativeKernels, exportName: string, args: readonly number[], rows: number, perRow: number, minFloats = 1 << 16): void {
  const f = native.fn(exportName);
  const half = rows >> 1;
  if (native.helper?.ready && half > 0 && rows * perRow >= minFloats) {
    native.helper.alongside(exportName, [...args, half, rows], () => f(...args, 0, half));
  } else f(...args, 0, rows);
}

/**
 * Bias adds below this many floats stay on one thread: waking the helper costs more than half a pass
 * saves (64×10×10×16: 0.022 ms on one thread, 0.052 ms on two; 64×28×28×6: 0.18 and 0.21 ms; load 8).
 */
const BIAS_SPLIT_MIN = 1 << 20;

/** Whether b is x's bias over its last axis: [C] or [1,…,1,C] with C = x's last dimension, b no larger in rank. */
function isLastAxisBias(x: TensorInfo, b: TensorInfo): boolean {
  const c = x.shape.at(-1);
  return c != null && c > 0 && x.shape.length >= 2 && b.shape.length >= 1 && b.shape.length <= x.shape.length && b.shape.at(-1) === c && b.shape.slice(0, -1).every((d) => d === 1);
}

/** The wasm Add: bias broadcasts over the last axis in our module, everything else tfjs's kernel. */
export function biasAddKernel(args: { inputs: Record<string, TensorInfo | undefined>; backend: unknown }, original: tfjs.KernelConfig | undefined): KernelResult {
  const { a, b } = args.inputs;
  const native = a && b && a.dtype === 'float32' && b.dtype === 'float32' ? nativeKernels(args.backend) : null;
  if (native?.has('ew_bias_add') && a && b) {
    const [x, bias] = isLastAxisBias(a, b) ? [a, b] : isLastAxisBias(b, a) ? [b, a] : [null, null];
    if (x && bias && sizeOf(x.shape) > 0) {
      const backend = args.backend;
      const out = (backend as HeapBackend).makeOutput(x.shape, 'float32');
      const c = x.shape.at(-1)!;
      splitRows(native, 'ew_bias_add', [heapOffset(backend, x.dataId), heapOffset(backend, bias.dataId), heapOffset(backend, out.dataId), c], sizeOf(x.shape) / c, c, BIAS_SPLIT_MIN);
      return out;
    }
  }
  const small = smallBinary('Add', args);
  if (small) return small;
  if (!original) throw new Error('Add: no wasm kernel for this case');
  return original.kernelFunc(args as unknown as Parameters<tfjs.KernelFunc>[0]);
}

/**
 * dst[b, y0 + sh·m, x0 + sw·k, :] = src[b, m, k, :] for every image (src null: zeros), dst [n, h, w, c]
 * and src [n, hs, ws, c], float32 on the wasm heap; images split over the helper thread.
 */
export function scatterPhase(native: NativeKernels, backend: unknown, src: TensorInfo | null, dst: TensorInfo, hs: number, ws: number, y0: number, x0: number, sh: number, sw: number): void {
  const [n, h, w, c] = dst.shape as [number, number, number, number];
  const args = [src ? heapOffset(backend, src.dataId) : 0, heapOffset(backend, dst.dataId), hs, ws, c, h, w, y0, x0, sh, sw];
  splitRows(native, 'ew_phase_scatter', args, n, hs * ws * c);
}
