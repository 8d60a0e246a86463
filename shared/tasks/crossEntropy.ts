/**
 * Softmax cross-entropy against integer labels, shared by the classification and language-modelling
 * tasks.
 *
 * A task gets the engine's `tf` and imports no engine code, so the fused op is reached by kernel name:
 * where the current backend has `LayerforgeSparseSoftmaxCrossEntropy` (the engine registers it on wasm:
 * main/engine/backends/softmaxCrossEntropy.ts; one pass forward, one backward, its own gradient) the
 * task runs it; elsewhere (cpu, webgpu, tfjs-node, or LAYERFORGE_SPARSE_CE=0) it runs tfjs's
 * `softmaxCrossEntropy(oneHot(labels, v), logits)`, the formula the kernel reproduces (mean over every
 * row; a label outside [0, v) is an all-zero one-hot row).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './define';

/** The engine's fused kernel: inputs { logits [n, v] float32, labels [n] int32 }, outputs [mean loss, logsumexp [n]]. */
export const SPARSE_CE_KERNEL = 'LayerforgeSparseSoftmaxCrossEntropy';

function fusedHere(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor): boolean {
  return logits.dtype === 'float32' && labels.dtype === 'int32' && logits.rank === labels.rank + 1 && tf.getKernel(SPARSE_CE_KERNEL, tf.getBackend()) != null;
}

/** The fused kernel's outputs for logits [..., v] and labels [...]: [mean loss, lse] (flattened rows). */
function fused(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor): tfjs.Tensor[] {
  const v = logits.shape[logits.rank - 1]!;
  return tf.engine().runKernel(SPARSE_CE_KERNEL, { logits: tf.reshape(logits, [-1, v]), labels: tf.reshape(labels, [-1]) }) as tfjs.Tensor[];
}

/** Mean softmax cross-entropy of logits [..., v] against int32 labels [...] (differentiable in logits). */
export function sparseSoftmaxCrossEntropy(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor): tfjs.Scalar {
  if (fusedHere(tf, logits, labels)) return fused(tf, logits, labels)[0] as tfjs.Scalar;
  const v = logits.shape[logits.rank - 1]!;
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tfjs.Tensor1D, v), logits) as tfjs.Scalar;
}

/** Σ over rows of logsumexp minus the label's logit (taken as 0 for a label outside [0, v)): the summed cross-entropy for metrics such as perplexity. */
export function sparseSoftmaxCrossEntropySum(tf: Tf, logits: tfjs.Tensor, labels: tfjs.Tensor): tfjs.Scalar {
  const v = logits.shape[logits.rank - 1]!;
  const flat = tf.reshape(logits, [-1, v]);
  const ids = tf.reshape(labels, [-1]) as tfjs.Tensor1D;
  if (fusedHere(tf, logits, labels)) {
    const [mean, lse] = fused(tf, logits, labels) as [tfjs.Scalar, tfjs.Tensor1D];
    // The loss counts a row whose label is outside [0, v) as 0; this sum, as before, as its logsumexp.
    const outside = tf.cast(tf.logicalOr(tf.less(ids, 0), tf.greaterEqual(ids, v)), 'float32');
    return tf.add(tf.mul(mean, ids.shape[0]), tf.sum(tf.mul(lse, outside)));
  }
  return tf.sum(tf.sub(tf.logSumExp(flat, -1), tf.sum(tf.mul(flat, tf.oneHot(ids, v)), -1)));
}
