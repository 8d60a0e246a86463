import type * as tfjs from '@tensorflow/tfjs';
import type { TaskDef, TaskPlan } from './define';

const DESCRIBE = { mse: 'mean squared error', mae: 'mean absolute error', huber: 'Huber (delta 1, on the standardised target)' } as const;

export const regression: TaskDef = {
  id: 'regression',
  label: 'Regression',
  description: 'Predict a number per sample: a single linear output, squared (or absolute, Huber) error, MAE, RMSE and R².',
  losses: ['mse', 'mae', 'huber'],
  metrics: [
    { id: 'r2', label: 'R²', format: 'number', higherIsBetter: true },
    { id: 'mae', label: 'MAE', format: 'number', higherIsBetter: false },
    { id: 'rmse', label: 'RMSE', format: 'number', higherIsBetter: false },
  ],
  views: ['scatter', 'residuals', 'worst-rows'],
  checkOutput(out) {
    if (out.shape.length !== 1 || out.shape[0] !== 1) {
      return `${out.name}: a regression target needs an output of size 1, this output is ${out.shape.join('×') || 'a scalar'}: end the model with a Dense layer of 1 unit and a linear activation`;
    }
    if (out.activation !== 'linear') {
      return `${out.name}: a regression output needs a linear activation, not ${out.activation} (it would bound the predicted value): set activation to linear`;
    }
    return null;
  },
  plan(out, target, loss): TaskPlan {
    const problem = this.checkOutput(out, target);
    if (problem) throw new Error(problem);
    if (loss === 'cross-entropy' || loss === 'binary-cross-entropy') throw new Error(`loss ${loss} is for classification; a regression target uses mse, mae or huber`);
    const l = loss === 'auto' ? 'mse' : loss;
    return { loss: l, head: 'none', describe: `${DESCRIBE[l]} on the standardised target` };
  },
  loss(tf, plan, raw, y) {
    const pred = tf.reshape(raw, [-1]);
    if (plan.loss === 'mae') return tf.losses.absoluteDifference(y, pred) as tfjs.Scalar;
    if (plan.loss === 'huber') return tf.losses.huberLoss(y, pred, undefined, 1) as tfjs.Scalar;
    return tf.losses.meanSquaredError(y, pred) as tfjs.Scalar;
  },
  stats(tf, _plan, raw, y) {
    const e = tf.sub(tf.reshape(raw, [-1]), y);
    return tf.stack([tf.sum(tf.abs(e)), tf.sum(tf.square(e)), tf.sum(y), tf.sum(tf.square(y))]) as tfjs.Tensor1D;
  },
  metricsFrom(sums, count, target) {
    if (!count) return { mae: NaN, rmse: NaN, r2: NaN };
    const [abs, sq, sy, syy] = [sums[0]!, sums[1]!, sums[2]!, sums[3]!];
    const sst = syy - (sy * sy) / count;
    return { mae: (abs / count) * target.std, rmse: Math.sqrt(sq / count) * target.std, r2: sst > 0 ? 1 - sq / sst : NaN };
  },
  predict(tf, _plan, raw, target) {
    return tf.add(tf.mul(tf.reshape(raw, [-1, 1]), target.std), target.mean);
  },
};
