/**
 * What our wasm kernels use of tfjs's wasm backend besides native/index.ts, and the registration
 * boilerplate they share:
 *
 * - `HeapBackend`: the BackendWasm methods that allocate, free and view float32 tensors on its heap.
 * - `registerNativeKernel(tf, { name, inputs, optional }, run)`: registers one wasm kernel (once per tf
 *   instance) whose kernelFunc fetches our module (throwing "Layerforge's wasm kernels are not loaded"
 *   when it is absent), checks the required inputs by name, and hands `run` a context with heap
 *   offsets, outputs and scratch buffers. Outputs are freed if `run` throws, scratch buffers always.
 * - `nativeKernelHere(tf, name)`: whether the current backend runs that kernel (wasm, registered,
 *   our module loaded): the test before `runKernel`, with tfjs ops as the fallback.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../inventory';
import { WASM } from '../kernels';
import { heapOffset, nativeKernels, type NativeKernels } from './index';

type TensorInfo = tfjs.TensorInfo;

/** The parts of tfjs's BackendWasm that allocate, free and view tensors on its heap. */
export interface HeapBackend {
  /** A new tensor on the heap (contents undefined). */
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): void;
  /** A view of a float32 tensor's heap memory: take it after the last makeOutput (an allocation may replace the heap buffer). */
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** The number of elements of a shape. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A kernel's name and inputs: `inputs` are required (the kernel throws naming a missing one), `optional` may be absent. */
export interface NativeKernelSpec<R extends string, O extends string> {
  readonly name: string;
  readonly inputs: readonly R[];
  readonly optional?: readonly O[];
}

/** What a kernel body gets. Its functions need no `this` (destructure freely) and work during the call only. */
export interface NativeKernelContext<R extends string, O extends string> {
  /** Our modules on this backend's memory. */
  readonly native: NativeKernels;
  readonly backend: HeapBackend;
  readonly inputs: { readonly [K in R]: TensorInfo } & { readonly [K in O]?: TensorInfo };
  readonly attrs: Readonly<Record<string, unknown>>;
  /** A tensor's heap byte offset; 0 for an absent (optional) one. */
  readonly at: (t: TensorInfo | undefined) => number;
  /** A new float32 tensor to return (freed if the body throws). */
  readonly output: (shape: number[]) => TensorInfo;
  /** A float32 buffer of `floats` elements, freed when the body returns or throws. */
  readonly scratch: (floats: number) => TensorInfo;
}

export type NativeKernelResult = TensorInfo | TensorInfo[];

const registered = new WeakMap<object, Set<string>>();

/** The kernel call in progress (kernels run synchronously; a nested one saves and restores it). */
interface Call {
  readonly backend: unknown;
  readonly heap: HeapBackend;
  readonly outputs: TensorInfo[];
  scratch: TensorInfo[] | null;
}
let current: Call | null = null;

function inCall(): Call {
  if (!current) throw new Error('native kernel context: used outside its kernel call');
  return current;
}

// Made once, not per call: a closure per call costs more than some small kernels (~0.5 µs each under tsx, whose keepNames names every one).
const at = (t: TensorInfo | undefined): number => (t ? heapOffset(inCall().backend, t.dataId) : 0);
const output = (shape: number[]): TensorInfo => {
  const call = inCall();
  const t = call.heap.makeOutput(shape, 'float32');
  call.outputs.push(t);
  return t;
};
const scratch = (floats: number): TensorInfo => {
  const call = inCall();
  const t = call.heap.makeOutput([floats], 'float32');
  (call.scratch ??= []).push(t);
  return t;
};

/**
 * Registers `spec.name` on wasm, idempotent per tf instance (and a no-op when a kernel of that name is
 * already registered there). The kernel throws when our module is not loaded: callers check
 * `nativeKernelHere` (or `nativeKernels(backend)`) before they run it. The context's functions work
 * during the call only.
 */
export function registerNativeKernel<R extends string, O extends string = never>(tf: Tf, spec: NativeKernelSpec<R, O>, run: (ctx: NativeKernelContext<R, O>) => NativeKernelResult): void {
  const { name } = spec;
  let names = registered.get(tf);
  if (names?.has(name) || tf.getKernel(name, WASM)) return;
  if (!names) registered.set(tf, (names = new Set()));
  names.add(name);
  tf.registerKernel({
    kernelName: name,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = nativeKernels(backend);
      if (!native) throw new Error(`${name}: Layerforge's wasm kernels are not loaded`);
      const given = inputs as Record<string, TensorInfo | undefined>;
      for (const k of spec.inputs) if (!given[k]) throw new Error(`${name}: missing input '${k}' (required: ${spec.inputs.join(', ')})`);
      const heap = backend as unknown as HeapBackend;
      const outer = current;
      const call: Call = (current = { backend, heap, outputs: [], scratch: null });
      try {
        return run({ native, backend: heap, inputs: given as NativeKernelContext<R, O>['inputs'], attrs: (attrs ?? {}) as Record<string, unknown>, at, output, scratch });
      } catch (error) {
        for (const t of call.outputs) heap.disposeData(t.dataId);
        throw error;
      } finally {
        if (call.scratch) for (const t of call.scratch) heap.disposeData(t.dataId);
        current = outer;
      }
    },
  });
}

/** Whether the current backend runs `kernelName` of ours: wasm, the kernel registered, our module loaded. */
export function nativeKernelHere(tf: Tf, kernelName: string): boolean {
  return tf.getBackend() === WASM && tf.getKernel(kernelName, WASM) != null && nativeKernels(tf.backend()) !== null;
}

/**
 * Runs a kernel over [0, total) on this thread and the helper together, the range taken in chunks of
 * `chunk` from one shared counter on the heap (native/simd.h's FOR_CLAIMED): a helper that starts late
 * (woken from its sleep, or not scheduled at once) takes fewer chunks, and this thread never waits for a
 * fixed half. helperArgs / hereArgs: the arguments before the range (they differ in per-thread scratch
 * only); each call gets (0, total, counter, chunk) after them.
 */
export function runClaimed(native: NativeKernels, backend: HeapBackend, name: string, helperArgs: readonly number[], hereArgs: readonly number[], total: number, chunk: number): void {
  const helper = native.helper;
  const fn = native.fn(name);
  if (!helper?.ready) {
    fn(...hereArgs, 0, total, 0, chunk);
    return;
  }
  withClaimCounter(backend, (next) => helper.alongside(name, [...helperArgs, 0, total, next, chunk], () => fn(...hereArgs, 0, total, next, chunk)));
}

/** Calls run with the heap offset of a zeroed int32 counter for claim_chunk (native/simd.h), freed after run. */
export function withClaimCounter(backend: HeapBackend, run: (next: number) => void): void {
  const counter = backend.makeOutput([1], 'float32');
  try {
    backend.typedArrayFromHeap(counter).fill(0); // 0.0f: the int32 counter's 0
    run(heapOffset(backend, counter.dataId));
  } finally {
    backend.disposeData(counter.dataId);
  }
}
