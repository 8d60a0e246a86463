/**
 * Two small ops of the sequence models as one kernel each way (wasm with our module; native/attention.c):
 *
 * - `embeddingLookup`: an Embedding layer's rows for int32 ids. tfjs's layer reshapes the ids, gathers,
 *   reshapes back, and differentiates the gather through Reshapes, two Transposes and UnsortedSegmentSum
 *   (ScatterNd on wasm): here the forward is one GatherV2 on the table as it is (kernels.ts's block copies of
 *   rows, throwing for an id outside the table), and `LayerforgeEmbeddingGrad` zeroes dW and adds each dy row
 *   into its id's row (`emb_grad`).
 * - `sequenceMean`: GlobalAveragePooling1D's mean over the time axis of [batch, T, D], whose gradient in
 *   tfjs is Reshape, a ones tensor, Multiply and RealDiv: here tf.mean forward (our middle-axis column sums)
 *   and `LayerforgeSequenceMeanGrad` (dy / T broadcast over the steps, `seq_mean_grad`) backward.
 *
 * - `hashedDropout`: the Dropout layer while training, one kernel each way with a hashed mask.
 * - `residualAdd`: the Add layer on two tensors of one shape, one kernel forward and one backward.
 *
 * Used by tfjs's Embedding, GlobalAveragePooling1D, Dropout and Add layers through compile/custom/classes.ts (their call()
 * replaced on our tf instance; class, config and weights unchanged). Elsewhere (cpu, webgpu, without our
 * module, other dtypes or ranks) the layers run as tfjs's. LAYERFORGE_SEQUENCE_OPS=0 turns them all off.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { nativeKernels } from './native';
import { nativeKernelHere, registerNativeKernel, sizeOf } from './native/heap';

export const EMBEDDING_GRAD_KERNEL = 'LayerforgeEmbeddingGrad';
export const SEQUENCE_MEAN_GRAD_KERNEL = 'LayerforgeSequenceMeanGrad';
export const DROPOUT_KERNEL = 'LayerforgeHashedDropout';

function floatBits(x: number): number {
  return new Int32Array(new Float32Array([x]).buffer)[0]!;
}

const registeredOn = new WeakSet<object>();

/** Registers the three wasm kernels (idempotent per tf instance; done on first use by sequenceOpsHere). */
export function registerSequenceKernels(tf: Tf): void {
  if (registeredOn.has(tf)) return;
  registeredOn.add(tf);
  registerNativeKernel(tf, { name: EMBEDDING_GRAD_KERNEL, inputs: ['dy', 'ids'] }, ({ native, inputs: { dy, ids }, attrs, at, output }) => {
    const [vocab, d] = attrs.tableShape as [number, number];
    const dw = output([vocab, d]);
    native.fn('emb_grad')(at(dy), at(ids), at(dw), sizeOf(ids.shape), d, vocab);
    return dw;
  });
  registerNativeKernel(tf, { name: SEQUENCE_MEAN_GRAD_KERNEL, inputs: ['dy'] }, ({ native, inputs: { dy }, attrs, at, output }) => {
    const [b, t, d] = attrs.shape as [number, number, number];
    const dx = output([b, t, d]);
    native.fn('seq_mean_grad')(at(dy), at(dx), b, t, d, floatBits(t));
    return dx;
  });
  registerNativeKernel(tf, { name: DROPOUT_KERNEL, inputs: ['x'] }, ({ native, inputs: { x }, attrs, at, output }) => {
    const y = output(x.shape.slice());
    native.fn('seq_dropout')(at(x), at(y), sizeOf(x.shape), floatBits(Number(attrs.keep)), Number(attrs.seed) | 0);
    return y;
  });
}

/** Whether the ops run here: wasm with our module (this build of it), not switched off by LAYERFORGE_SEQUENCE_OPS=0. */
export function sequenceOpsHere(tf: Tf): boolean {
  if (process.env.LAYERFORGE_SEQUENCE_OPS === '0') return false;
  registerSequenceKernels(tf);
  return nativeKernelHere(tf, EMBEDDING_GRAD_KERNEL) && nativeKernels(tf.backend())?.has('seq_dropout') === true;
}

/** table [vocab, D] (float32) rows for ids (int32, any shape): [...ids.shape, D], differentiable in table. Call only where sequenceOpsHere. */
export function embeddingLookup(tf: Tf, table: tfjs.Tensor, ids: tfjs.Tensor): tfjs.Tensor {
  const engine = tf.engine();
  const gradAttrs = { tableShape: table.shape.slice() } as unknown as tfjs.NamedAttrMap;
  const op = tf.customGrad(((w: tfjs.Tensor, save: (ts: tfjs.Tensor[]) => void) => {
    save([ids]);
    return {
      value: tf.gather(w, ids),
      gradFunc: (dy: tfjs.Tensor, saved: tfjs.Tensor[]) => [engine.runKernel(EMBEDDING_GRAD_KERNEL, { dy, ids: saved[0]! }, gradAttrs) as tfjs.Tensor],
    };
  }) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(table);
}

/** The mean of x [batch, T, D] (float32) over T: [batch, D], its gradient one kernel. Call only where sequenceOpsHere. */
export function sequenceMean(tf: Tf, x: tfjs.Tensor): tfjs.Tensor {
  const engine = tf.engine();
  const gradAttrs = { shape: x.shape.slice() } as unknown as tfjs.NamedAttrMap;
  const op = tf.customGrad(((xi: tfjs.Tensor) => ({
    value: tf.mean(xi, 1),
    gradFunc: (dy: tfjs.Tensor) => [engine.runKernel(SEQUENCE_MEAN_GRAD_KERNEL, { dy }, gradAttrs) as tfjs.Tensor],
  })) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(x);
}

/**
 * Dropout of x (float32) at `rate` (0 < rate < 1) with a hashed mask (native/attention.c seq_dropout: the
 * attention's counter-based draw, seeded from Math.random per call): x/keep where kept, else 0; the gradient
 * recomputes the mask from the seed (one kernel each way; tf.dropout: Add, Floor, RealDiv, Multiply forward
 * and Cast, Multiply backward). Call only where sequenceOpsHere.
 */
export function hashedDropout(tf: Tf, x: tfjs.Tensor, rate: number): tfjs.Tensor {
  const engine = tf.engine();
  const attrs = { keep: 1 - rate, seed: Math.floor(Math.random() * 0x100000000) | 0 } as unknown as tfjs.NamedAttrMap;
  const op = tf.customGrad(((xi: tfjs.Tensor) => ({
    value: engine.runKernel(DROPOUT_KERNEL, { x: xi }, attrs) as tfjs.Tensor,
    gradFunc: (dy: tfjs.Tensor) => [engine.runKernel(DROPOUT_KERNEL, { x: dy }, attrs) as tfjs.Tensor],
  })) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (a: tfjs.Tensor) => tfjs.Tensor)(x);
}

/**
 * a + b for two float32 tensors of one shape (a residual connection), whose gradient is dy for a and a
 * shared-buffer copy of it for b: tfjs's Add layer clones its first input (Identity) and differentiates
 * Add and Identity through two Reshapes and a Cast. Call only where sequenceOpsHere.
 */
export function residualAdd(tf: Tf, a: tfjs.Tensor, b: tfjs.Tensor): tfjs.Tensor {
  const op = tf.customGrad(((ai: tfjs.Tensor, bi: tfjs.Tensor) => ({
    value: tf.add(ai, bi),
    gradFunc: (dy: tfjs.Tensor) => [dy, tf.clone(dy)],
  })) as unknown as Parameters<Tf['customGrad']>[0]);
  return (op as unknown as (x: tfjs.Tensor, y: tfjs.Tensor) => tfjs.Tensor)(a, b);
}
