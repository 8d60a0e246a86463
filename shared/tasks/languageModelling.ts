import type * as tfjs from '@tensorflow/tfjs';
import type { Analysis, Graph, Problem } from '../graph/types';
import type { OutputInfo, TaskDef, TaskPlan, TargetInfo } from './define';
import { sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropySum } from './crossEntropy';

/**
 * Language modelling: at every position of a window of T tokens, a softmax over the vocabulary predicts
 * the next token. Loss: mean per-token cross-entropy; metrics: per-token accuracy and perplexity
 * (exp of the mean cross-entropy). A model that lets a position see the tokens after it (a non-causal
 * attention layer) would learn to copy its answer: that is a problem pinned to the layer.
 */
function fits(out: OutputInfo, target: TargetInfo): string | null {
  const { shape, name } = out;
  const v = target.classes;
  const t = target.length;
  if (shape.length !== 2) {
    return `${name}: a language model needs an output of ${t ?? 'T'}×${v || 'vocabulary'} (a softmax over the vocabulary at every position), this output is ${shape.join('×') || 'a scalar'}: end with a Dense layer of ${v || 'vocabulary-size'} units applied to the sequence (no Flatten or pooling)`;
  }
  if (t !== undefined && shape[0] !== t) return `${name}: predicts ${shape[0]} positions but the windows hold ${t} tokens: set the Input length to ${t}`;
  if (v > 0 && shape[1] !== v) return `${name}: has ${shape[1]} units but the vocabulary has ${v} tokens: set units to ${v}`;
  if (out.activation !== 'softmax' && out.activation !== 'linear') return `${name}: a language model's output needs a softmax (or linear) activation, not ${out.activation}`;
  return null;
}

export const languageModelling: TaskDef = {
  id: 'language-modelling',
  label: 'Language modelling',
  description: 'Predict the next token at every position: per-token softmax over the vocabulary, cross-entropy, perplexity.',
  losses: ['cross-entropy'],
  metrics: [
    { id: 'perplexity', label: 'perplexity', format: 'number', higherIsBetter: false, scale: 'log' },
    { id: 'accuracy', label: 'token accuracy', format: 'percent', higherIsBetter: true },
  ],
  views: ['samples', 'perplexity'],
  checkOutput: fits,
  checkGraph(graph: Graph, _analysis: Analysis): Problem[] {
    return graph.nodes
      .filter((n) => n.type === 'MultiHeadAttention' && n.params.causal !== true)
      .map((n) => ({
        code: 'task' as const,
        nodeId: n.id,
        field: 'causal',
        severity: 'error' as const,
        message: `${n.name}: attention in a language model must be causal: without it each position sees the tokens it must predict and learns to copy them; turn on causal`,
      }));
  },
  plan(out, target, loss): TaskPlan {
    const problem = fits(out, target);
    if (problem) throw new Error(problem);
    if (loss !== 'auto' && loss !== 'cross-entropy') throw new Error(`loss ${loss} does not fit language modelling: use cross-entropy`);
    return {
      loss: 'cross-entropy',
      head: out.activation === 'softmax' ? 'softmax' : 'none',
      describe: 'per-token softmax cross-entropy over the vocabulary',
    };
  },
  loss(tf, _plan, raw, y) {
    // The engine's fused kernel where it has one (crossEntropy.ts), else tfjs's softmaxCrossEntropy of oneHot(y).
    return sparseSoftmaxCrossEntropy(tf, raw, y);
  },
  stats(tf, _plan, raw, y) {
    const v = raw.shape[2]!;
    const flat = tf.reshape(raw, [-1, v]);
    const ids = tf.reshape(y, [-1]) as tfjs.Tensor1D;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(flat, -1), ids), 'float32'));
    return tf.stack([correct, tf.scalar(ids.shape[0]), sparseSoftmaxCrossEntropySum(tf, flat, ids)]) as tfjs.Tensor1D;
  },
  metricsFrom(sums) {
    const tokens = sums[1] ?? 0;
    if (!tokens) return { perplexity: NaN, accuracy: NaN };
    return { perplexity: Math.exp(sums[2]! / tokens), accuracy: sums[0]! / tokens };
  },
  predict(tf, _plan, raw) {
    return tf.softmax(raw);
  },
};
