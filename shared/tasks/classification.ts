import type { OutputInfo, TaskDef, TaskPlan, TargetInfo } from './define';
import { sparseSoftmaxCrossEntropy } from './crossEntropy';

const shapeText = (s: readonly number[]) => (s.length ? s.join('×') : 'a scalar');

function fits(out: OutputInfo, target: TargetInfo): string | null {
  const { shape, activation, name } = out;
  const k = target.classes;
  if (shape.length === 1 && shape[0] === 1 && k === 2) {
    if (activation === 'sigmoid' || activation === 'linear') return null;
    return `${name}: a single-unit output for 2 classes needs a sigmoid (or linear) activation, not ${activation}`;
  }
  if (shape.length !== 1) {
    return `${name}: classification needs a vector of ${k || 'class'} scores per sample, this output is ${shapeText(shape)}: add Flatten (or global pooling) and a Dense layer with ${k || 'one unit per class'} units`;
  }
  if (k > 0 && shape[0]! < k) {
    return `${name}: has ${shape[0]} unit${shape[0] === 1 ? '' : 's'} but the dataset has ${k} classes: set units to ${k}${k === 2 ? ' (or 1 with a sigmoid activation)' : ''}`;
  }
  if (activation !== 'softmax' && activation !== 'linear') {
    return `${name}: a classification output needs a softmax (or linear) activation, not ${activation}: set activation to softmax`;
  }
  return null;
}

export const classification: TaskDef = {
  id: 'classification',
  label: 'Classification',
  description: 'Predict one class per sample: softmax over the classes, cross-entropy loss, accuracy.',
  losses: ['cross-entropy', 'binary-cross-entropy'],
  metrics: [{ id: 'accuracy', label: 'accuracy', format: 'percent', higherIsBetter: true }],
  views: ['confusion', 'per-class', 'gallery', 'misclassified-rows', 'misclassified-texts'],
  checkOutput: fits,
  plan(out, target, loss): TaskPlan {
    const problem = fits(out, target);
    if (problem) throw new Error(problem);
    const binary = out.shape[0] === 1;
    if (binary) {
      if (loss !== 'auto' && loss !== 'binary-cross-entropy') throw new Error(`${out.name}: a single-unit binary output trains with binary-cross-entropy, not ${loss}`);
      return { loss: 'binary-cross-entropy', head: out.activation === 'sigmoid' ? 'sigmoid' : 'none', describe: 'binary cross-entropy (on the logit of a single output)' };
    }
    if (loss !== 'auto' && loss !== 'cross-entropy') throw new Error(`loss ${loss} does not fit classification with ${out.shape[0]} outputs: use cross-entropy`);
    return {
      loss: 'cross-entropy',
      head: out.activation === 'softmax' ? 'softmax' : 'none',
      describe: out.activation === 'softmax' ? "softmax-cross-entropy (from the softmax layer's logits)" : 'softmax-cross-entropy (output used as logits)',
    };
  },
  loss(tf, plan, raw, y) {
    if (plan.loss === 'binary-cross-entropy') {
      return tf.losses.sigmoidCrossEntropy(tf.reshape(tf.cast(y, 'float32'), [-1, 1]), raw) as import('@tensorflow/tfjs').Scalar;
    }
    // The engine's fused kernel where it has one (crossEntropy.ts), else tfjs's softmaxCrossEntropy of oneHot(y).
    return sparseSoftmaxCrossEntropy(tf, raw, y);
  },
  stats(tf, plan, raw, y) {
    const pred = plan.loss === 'binary-cross-entropy' ? tf.cast(tf.greater(tf.reshape(raw, [-1]), 0), 'int32') : tf.argMax(raw, -1);
    return tf.reshape(tf.sum(tf.cast(tf.equal(pred, y), 'float32')), [1]) as import('@tensorflow/tfjs').Tensor1D;
  },
  metricsFrom(sums, count) {
    return { accuracy: count ? sums[0]! / count : NaN };
  },
  predict(tf, plan, raw) {
    if (plan.loss === 'binary-cross-entropy') {
      const p = tf.sigmoid(tf.reshape(raw, [-1, 1]));
      return tf.concat([tf.sub(1, p), p], 1);
    }
    return tf.softmax(raw);
  },
};
