/**
 * Sparse softmax cross-entropy as one op with its own gradient: logits [n, v] and int32 labels [n] in,
 * outputs [the mean loss (a scalar), lse [n]] out, where lse[r] = log Σ_j exp(logits[r, j]) is saved
 * for the gradient dlogits = (exp(logits − lse) − onehot(labels))·dy/n.
 *
 * It is the loss the classification and language-modelling tasks ask for by name
 * (shared/tasks/crossEntropy.ts): shared/ imports no engine code, so a task looks the kernel up on the
 * current backend (`tf.getKernel`) and runs it with `tf.engine().runKernel`, or runs today's
 * `tf.losses.softmaxCrossEntropy(tf.oneHot(labels, v), logits)` where it is not registered (cpu, webgpu,
 * tensorflow, or turned off). Same values as that formula: a label outside [0, v) is an all-zero one-hot
 * row (loss 0, gradient the softmax alone), the mean is over all n rows.
 *
 * On wasm with our module (native/loss.c sce_forward, sce_backward; SIMD exp): one pass forward (row
 * max, Σexp, log, the label's logit) and one backward, the rows split over two threads for large
 * inputs. That replaces oneHot, Max, Sub, Exp, Sum, Log, Add, Multiply, Neg, Sum, Div and, in the
 * gradient, Exp, Sub, Multiply and the reductions' broadcasts (~16 ms of a loaded mini-GPT step over
 * [32·128, 96] logits). Without our module the wasm kernel composes the same formulas from tfjs ops.
 * LAYERFORGE_SPARSE_CE=0 leaves the kernel unregistered (the tasks then run tfjs's formula).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';
import { WASM } from './kernels';
import { heapOffset, nativeKernels, type NativeKernels } from './native';
import { nativeKernelHere, registerNativeKernel, type HeapBackend } from './native/heap';

/** The kernel name the tasks look up (shared/tasks/crossEntropy.ts spells it too). */
export const SPARSE_CE_KERNEL = 'LayerforgeSparseSoftmaxCrossEntropy';
export const SPARSE_CE_GRAD_KERNEL = 'LayerforgeSparseSoftmaxCrossEntropyGrad';

type TensorInfo = tfjs.TensorInfo;

/** Rows × vocabulary from which the helper thread takes half the rows. */
const SPLIT_ELEMENTS = 1 << 15;

function asTensor(tf: Tf, info: TensorInfo): tfjs.Tensor {
  return (info as tfjs.Tensor).rank != null ? (info as tfjs.Tensor) : tf.engine().makeTensorFromTensorInfo(info);
}

/** fn over rows [0, rows): the helper thread runs the second half when it is up and the input is large. */
function splitRows(native: NativeKernels, fn: string, args: readonly number[], rows: number, v: number, here: (begin: number, end: number) => void, helperArgs?: readonly number[]): boolean {
  const half = rows >> 1;
  if (native.helper?.ready && rows * v >= SPLIT_ELEMENTS && half > 0) {
    native.helper.alongside(fn, [...(helperArgs ?? args), half, rows], () => here(0, half));
    return true;
  }
  here(0, rows);
  return false;
}

/** The forward pass as tfjs ops (backends without our module): [mean loss, lse]. */
function forwardOps(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor): [tfjs.Tensor, tfjs.Tensor] {
  const [rows, v] = logits.shape as [number, number];
  const lse = tf.logSumExp(logits, -1);
  const picked = tf.sum(tf.mul(logits, tf.oneHot(labels as tfjs.Tensor1D, v)), -1);
  // oneHot of an out-of-range label is all zeros: that row's loss is 0, as in tfjs's formula.
  const valid = tf.cast(tf.logicalAnd(tf.greaterEqual(labels, 0), tf.less(labels, v)), 'float32');
  return [tf.div(tf.sum(tf.mul(tf.sub(lse, picked), valid)), rows), lse];
}

function gradOps(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor, lse: tfjs.Tensor, dy: tfjs.Tensor): tfjs.Tensor {
  const [rows, v] = logits.shape as [number, number];
  return tf.mul(tf.sub(tf.exp(tf.sub(logits, tf.expandDims(lse, 1))), tf.oneHot(labels as tfjs.Tensor1D, v)), tf.div(dy, rows));
}

const registeredOn = new WeakSet<object>();
let enabled = process.env.LAYERFORGE_SPARSE_CE !== '0';

function registerForward(tf: Tf): void {
  if (tf.getKernel(SPARSE_CE_KERNEL, WASM)) return;
  tf.registerKernel({
    kernelName: SPARSE_CE_KERNEL,
    backendName: WASM,
    kernelFunc: ({ inputs, backend }) => {
      const { logits, labels } = inputs as { logits: TensorInfo; labels: TensorInfo };
      if (logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0] || labels.dtype !== 'int32') {
        throw new Error(`${SPARSE_CE_KERNEL}: needs logits [n, v] and int32 labels [n], got [${logits.shape.join(', ')}] and ${labels.dtype} [${labels.shape.join(', ')}]`);
      }
      const native = logits.dtype === 'float32' ? nativeKernels(backend) : null;
      if (!native) return tf.tidy(() => forwardOps(tf, asTensor(tf, logits), asTensor(tf, labels)));
      const heap = backend as unknown as HeapBackend;
      const [rows, v] = logits.shape as [number, number];
      const loss = heap.makeOutput([], 'float32');
      const lse = heap.makeOutput([rows], 'float32');
      const part = heap.makeOutput([2], 'float32');
      try {
        const x = heapOffset(backend, logits.dataId), y = heapOffset(backend, labels.dataId), l = heapOffset(backend, lse.dataId), p = heapOffset(backend, part.dataId);
        const fwd = native.fn('sce_forward');
        const split = splitRows(native, 'sce_forward', [], rows, v, (b, e) => fwd(x, y, l, p, v, b, e), [x, y, l, p + 4, v]);
        const parts = heap.typedArrayFromHeap(part);
        const sum = parts[0]! + (split ? parts[1]! : 0);
        heap.typedArrayFromHeap(loss)[0] = rows > 0 ? sum / rows : NaN;
      } catch (error) {
        heap.disposeData(loss.dataId);
        heap.disposeData(lse.dataId);
        throw error;
      } finally {
        heap.disposeData(part.dataId);
      }
      return [loss, lse];
    },
  });
}

function unregisterForward(tf: Tf): void {
  if (tf.getKernel(SPARSE_CE_KERNEL, WASM)) tf.unregisterKernel(SPARSE_CE_KERNEL, WASM);
}

/**
 * Registers the loss kernel on wasm (unless LAYERFORGE_SPARSE_CE=0), its gradient kernel and the
 * gradient (for every backend the kernel is registered on). Once per tf instance.
 */
export function registerSparseSoftmaxCrossEntropy(tf: Tf): void {
  if (registeredOn.has(tf)) return;
  registeredOn.add(tf);
  if (enabled) registerForward(tf);
  registerNativeKernel(tf, { name: SPARSE_CE_GRAD_KERNEL, inputs: ['logits', 'labels', 'lse', 'dy'] }, ({ native, inputs, at, output }) => {
    const { logits, labels, lse, dy } = inputs;
    const [rows, v] = logits.shape as [number, number];
    const dx = output([rows, v]);
    const x = at(logits), y = at(labels), l = at(lse), d = at(dy), o = at(dx);
    const bwd = native.fn('sce_backward');
    splitRows(native, 'sce_backward', [x, y, l, d, o, v, rows], rows, v, (b, e) => bwd(x, y, l, d, o, v, rows, b, e));
    return dx;
  });
  tf.registerGradient({
    kernelName: SPARSE_CE_KERNEL,
    inputsToSave: ['logits', 'labels'],
    outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [logits, labels, lse] = saved as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tfjs.Tensor;
      const fused = logits.dtype === 'float32' && dy.dtype === 'float32' && nativeKernelHere(tf, SPARSE_CE_GRAD_KERNEL);
      return {
        logits: () => (fused ? (tf.engine().runKernel(SPARSE_CE_GRAD_KERNEL, { logits, labels, lse, dy }) as tfjs.Tensor) : gradOps(tf, logits, labels, lse, dy)),
        labels: () => tf.zeros(labels.shape, 'float32'),
      };
    },
  });
}

/** For tests and benchmarks: register (on) or unregister (off) the wasm loss kernel; the tasks follow. */
export function setSparseSoftmaxCrossEntropyEnabled(tf: Tf, on: boolean): void {
  enabled = on;
  registerSparseSoftmaxCrossEntropy(tf);
  if (on) registerForward(tf);
  else unregisterForward(tf);
}
