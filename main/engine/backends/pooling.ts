/**
 * AvgPoolGrad on wasm by our own kernel (native/pooling.c, pool_avg_grad). tfjs's wasm backend runs
 * its own C++ AvgPoolGrad, a scalar loop that costs ~5 ms a step for LeNet-5's two pools at batch 64
 * (~400K floats). Ours gathers each input pixel's windows with SIMD over channels, split over two
 * threads by images when the helper thread is up and the tensor is large enough. Semantics as tfjs's
 * cpu AvgPoolGrad: any window, stride and padding (backend_util.computePool2DInfo of the attrs), every
 * window's dy scaled by 1/(fh·fw), padding included in the count. Other dtypes, dilations and layouts
 * go to tfjs's kernel (kept). LAYERFORGE_POOLING=0 (or setPoolingKernels(false)) keeps tfjs's kernel.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { heapOffset, nativeKernels } from './native';
import { sizeOf, type HeapBackend } from './native/heap';

const WASM = 'wasm';
type TensorInfo = tfjs.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; attrs?: Record<string, unknown>; backend: unknown };

let enabled = process.env.LAYERFORGE_POOLING !== '0';
/** Turns our pooling-gradient kernel on or off (benchmarks, tests); tfjs's runs when off. */
export function setPoolingKernels(on: boolean): void {
  enabled = on;
}
export function poolingKernelsEnabled(): boolean {
  return enabled;
}

/** Below this many dx floats the work stays on one thread (the hand-off would cost more than it saves). */
const SPLIT_MIN = 1 << 15;

/** pool_avg_grad for AvgPoolGrad's args, or null when it does not apply. */
export function avgPoolGrad(tf: Tf, args: KernelArgs): TensorInfo | null {
  const { dy, input } = args.inputs;
  if (!enabled || !dy || !input || dy.dtype !== 'float32' || input.dtype !== 'float32') return null;
  if (input.shape.length !== 4 || dy.shape.length !== 4) return null;
  const native = nativeKernels(args.backend);
  if (!native?.has('pool_avg_grad')) return null;
  const attrs = args.attrs ?? {};
  const { filterSize, strides, pad, dimRoundingMode } = attrs as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2] || info.inChannels !== dy.shape[3] || info.batchSize !== dy.shape[0]) return null;
  const backend = args.backend;
  const dx = (backend as HeapBackend).makeOutput(input.shape.slice(), 'float32');
  const n = sizeOf(input.shape);
  if (n === 0) return dx;
  const pdy = heapOffset(backend, dy.dataId), pdx = heapOffset(backend, dx.dataId);
  const nb = info.batchSize;
  const fixed = [pdy, pdx, nb, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left];
  const f = native.fn('pool_avg_grad');
  const half = nb >> 1;
  if (native.helper?.ready && n >= SPLIT_MIN && half > 0) native.helper.alongside('pool_avg_grad', [...fixed, half, nb], () => f(...fixed, 0, half));
  else f(...fixed, 0, nb);
  return dx;
}

const registered = new WeakSet<object>();

/** Registers our AvgPoolGrad for wasm in place of tfjs's (kept, for the cases ours leaves); idempotent per tf instance. */
export function registerPoolingKernels(tf: Tf): void {
  if (registered.has(tf)) return;
  const original = tf.getKernel('AvgPoolGrad', WASM);
  if (!original) return;
  registered.add(tf);
  tf.unregisterKernel('AvgPoolGrad', WASM);
  tf.registerKernel({
    kernelName: 'AvgPoolGrad',
    backendName: WASM,
    kernelFunc: (args) => avgPoolGrad(tf, args as unknown as KernelArgs) ?? original.kernelFunc(args),
    ...(original.setupFunc ? { setupFunc: original.setupFunc } : {}),
  });
  const live = (tf.engine() as unknown as { registry: Record<string, tfjs.KernelBackend | undefined> }).registry[WASM];
  if (original.setupFunc && live) original.setupFunc(live);
}
