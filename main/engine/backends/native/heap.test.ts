import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../wasm';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './heap';
import { setNativeKernelsEnabled } from './index';

const KERNEL = 'LayerforgeHeapTest';
let kept: ((t: tf.TensorInfo | undefined) => number) | null = null;

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
  // y = 2x (+ b), through a scratch buffer; attrs.fail: throw after making the output and the scratch.
  registerNativeKernel(tf, { name: KERNEL, inputs: ['x'], optional: ['b'] }, ({ backend, inputs: { x, b }, attrs, at, output, scratch }) => {
    const y = output(x.shape);
    const s = scratch(sizeOf(x.shape));
    expect(at(undefined)).toBe(0);
    kept = at;
    if (attrs.fail) throw new Error('body failed');
    const xv = backend.typedArrayFromHeap(x), sv = backend.typedArrayFromHeap(s), yv = backend.typedArrayFromHeap(y);
    const bv = b ? backend.typedArrayFromHeap(b) : null;
    for (let i = 0; i < xv.length; i++) sv[i] = 2 * xv[i]!;
    for (let i = 0; i < xv.length; i++) yv[i] = sv[i]! + (bv ? bv[i]! : 0);
    return y;
  });
});
afterAll(() => setNativeKernelsEnabled(true));

const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

describe('registerNativeKernel (the registration our multi-output wasm kernels share)', () => {
  it('registers once per tf instance', () => {
    const first = tf.getKernel(KERNEL, 'wasm');
    expect(first).toBeDefined();
    registerNativeKernel(tf, { name: KERNEL, inputs: ['x'] }, () => {
      throw new Error('not this one');
    });
    expect(tf.getKernel(KERNEL, 'wasm')).toBe(first);
  });

  it('runs the body with heap offsets, outputs and scratch (freed), optional inputs absent or given', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]), b = tf.tensor1d([10, 20, 30]);
    const before = dataIds();
    const y = tf.engine().runKernel(KERNEL, { x }) as tf.Tensor;
    expect(dataIds() - before).toBe(1);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
    const yb = tf.engine().runKernel(KERNEL, { x, b }) as tf.Tensor;
    expect(Array.from(await yb.data())).toEqual([12, 24, 36]);
    // The context's functions serve the call in progress only.
    expect(() => kept!(x)).toThrow(/outside its kernel call/);
    tf.dispose([x, b, y, yb]);
  });

  it('names a missing input, says when our module is not loaded, and frees outputs and scratch when the body throws', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    expect(() => tf.engine().runKernel(KERNEL, {})).toThrow(`${KERNEL}: missing input 'x'`);
    const before = dataIds();
    expect(() => tf.engine().runKernel(KERNEL, { x }, { fail: true } as unknown as tf.NamedAttrMap)).toThrow('body failed');
    expect(dataIds()).toBe(before);
    setNativeKernelsEnabled(false);
    try {
      expect(() => tf.engine().runKernel(KERNEL, { x })).toThrow(`${KERNEL}: Layerforge's wasm kernels are not loaded`);
    } finally {
      setNativeKernelsEnabled(true);
    }
    x.dispose();
  });

  it('nativeKernelHere: wasm with the kernel registered and our module loaded', async () => {
    await tf.setBackend('wasm');
    expect(nativeKernelHere(tf, KERNEL)).toBe(true);
    expect(nativeKernelHere(tf, 'LayerforgeNoSuchKernel')).toBe(false);
    setNativeKernelsEnabled(false);
    try {
      expect(nativeKernelHere(tf, KERNEL)).toBe(false);
    } finally {
      setNativeKernelsEnabled(true);
    }
    await tf.setBackend('cpu');
    expect(nativeKernelHere(tf, KERNEL)).toBe(false);
  });
});
