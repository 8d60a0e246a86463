/**
 * AvgPool and AvgPoolGrad on wasm by our own kernels (native/pooling.c, pool_avg and pool_avg_grad).
 * tfjs's wasm backend runs AvgPool through XNNPACK, whose 2-thread pool costs ~0.27 ms per op to wake
 * (LeNet-5's two pools: ~0.7 ms a step), and AvgPoolGrad as a scalar C++ loop (~5 ms a step for
 * LeNet-5's two pools at batch 64). Ours are one SIMD pass over channels each (no partial loads: the
 * last chunk of 4 channels overlaps the one before), split over two threads by images when the helper
 * thread is up and the tensor is large enough. Semantics as tfjs's cpu kernels: any window, stride and
 * padding (backend_util.computePool2DInfo of the attrs); the forward mean counts only the window's
 * pixels inside the input; the gradient scales every window's dy by 1/(fh·fw), padding included in
 * the count. Other dtypes, dilations and layouts go to tfjs's kernels (kept). LAYERFORGE_POOLING=0 (or
 * setPoolingKernels(false)) keeps tfjs's kernels.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { sizeOf, type HeapBackend } from './native/heap';

const WASM = 'wasm';
type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };

let enabled = process.env.LAYERFORGE_POOLING !== '0';
/** Turns our average-pooling kernels on or off (benchmarks, tests); tfjs's runs when off. */
export function setPoolingKernels(on: boolean): void {
  enabled = on;
}
export function poolingKernelsEnabled(): boolean {
  return enabled;
}

/**
 * Below this many input floats the work stays on one thread: waking the helper costs more than half a
 * pass saves (LeNet-5's pools, load 6: [64,28,28,6] forward 0.083 ms on one thread, 0.111 ms on two;
 * its gradient 0.139 and 0.167 ms; [64,10,10,16] 0.021-0.039 ms on one, no faster on two).
 */
const SPLIT_MIN = 1 << 20;

type PoolAttrs = {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/**
 * Runs `fn` (pool_avg or pool_avg_grad: (src, dst, nb, h, w, c, oh, ow, fh, fw, sh, sw, top, left,
 * b_begin, b_end)) for input x (NHWC) and pooled tensor y, writing `out` of shape `outShape`; null when
 * it does not apply.
 */
function runPool(tf: Tf, fn: 'pool_avg' | 'pool_avg_grad', src: TensorInfo | undefined, input: TensorInfo | undefined, pooled: TensorInfo | null,
  outShape: 'input' | 'pooled', args: KernelArgs): TensorInfo | null {
  if (!enabled || !src || !input || src.dtype !== 'float32' || input.dtype !== 'float32') return null;
  if (input.shape.length !== 4 || (pooled && pooled.shape.length !== 4)) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has(fn)) return null;
  const { filterSize, strides, pad, dimRoundingMode } = (args.attrs ?? {}) as PoolAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  if (pooled && (info.outHeight !== pooled.shape[1] || info.outWidth !== pooled.shape[2] || info.inChannels !== pooled.shape[3] || info.batchSize !== pooled.shape[0])) return null;
  const backend = args.backend;
  const shape = outShape === 'input' ? input.shape.slice() : [info.batchSize, info.outHeight, info.outWidth, info.inChannels];
  const out = (backend as HeapBackend).makeOutput(shape, 'float32');
  if (sizeOf(shape) === 0) return out;
  const nb = info.batchSize;
  const fixed = [heapOffset(backend, src.dataId), heapOffset(backend, out.dataId), nb, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left];
  const f = native.fn(fn);
  const half = nb >> 1;
  if (native.helper?.ready && sizeOf(input.shape) >= SPLIT_MIN && half > 0) native.helper.alongside(fn, [...fixed, half, nb], () => f(...fixed, 0, half));
  else f(...fixed, 0, nb);
  return out;
}

/** pool_avg for AvgPool's args, or null when it does not apply. */
export function avgPool(tf: Tf, args: KernelArgs): TensorInfo | null {
  const { x } = args.inputs;
  return runPool(tf, 'pool_avg', x, x, null, 'pooled', args);
}

/** pool_avg_grad for AvgPoolGrad's args, or null when it does not apply. */
export function avgPoolGrad(tf: Tf, args: KernelArgs): TensorInfo | null {
  const { dy, input } = args.inputs;
  if (!dy) return null;
  return runPool(tf, 'pool_avg_grad', dy, input, dy, 'input', args);
}

const registered = new WeakSet<object>();

/** Registers our AvgPool and AvgPoolGrad for wasm in place of tfjs's (kept, for the cases ours leaves); idempotent per tf instance. */
export function registerPoolingKernels(tf: Tf): void {
  if (registered.has(tf)) return;
  registered.add(tf);
  const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
  const ours: [string, (args: KernelArgs) => TensorInfo | null][] = [
    ['AvgPool', (args) => avgPool(tf, args)],
    ['AvgPoolGrad', (args) => avgPoolGrad(tf, args)],
  ];
  for (const [name, run] of ours) {
    const original = tf.getKernel(name, WASM);
    if (!original) continue;
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: (args) => run(args as unknown as KernelArgs) ?? original.kernelFunc(args),
      ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
    });
    if (original.setupFunc && live) original.setupFunc(live);
  }
}
