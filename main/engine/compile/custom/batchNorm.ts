import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';
import { batchNormTrain, batchNormTrainEnabled } from '../../backends/batchNorm';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
export type BatchNormalizationArgs = NonNullable<Parameters<Tf['layers']['batchNormalization']>[0]>;

/** The fields of tfjs's BatchNormalization that our subclass reads (set by tfjs's constructor and build). */
interface TfjsBatchNormalization {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: tfjs.LayerVariable;
  beta?: tfjs.LayerVariable;
  movingMean: tfjs.LayerVariable;
  movingVariance: tfjs.LayerVariable;
}

/**
 * tfjs's BatchNormalization with the same class name, config and weights (gamma, beta, moving_mean,
 * moving_variance: saved models and every export are unchanged), whose call() in training over the
 * last (channel) axis is one op with a closed-form gradient (backends/batchNorm.ts: on wasm our
 * one-pass statistics and fused backward) instead of tfjs's moments + batchNorm and a dozen gradient
 * kernels. The moving averages are updated with tfjs's own formula, moving −= (moving − batch)·(1 −
 * momentum), from the same biased batch variance. In inference (training false, a frozen layer:
 * compile's freeze() passes training: false), on another axis, for another dtype, or with the path
 * turned off (setBatchNormTrainEnabled(false), LAYERFORGE_BATCHNORM=0) it is tfjs's call unchanged.
 * Registered in place of tfjs's class on this tf instance, so loaded models use it too.
 */
export function defineBatchNormClass(tf: Tf): new (args: BatchNormalizationArgs) => tfjs.layers.Layer {
  const TfjsBatchNorm = (tf.layers.batchNormalization({}) as object).constructor as new (args: BatchNormalizationArgs) => tfjs.layers.Layer;
  class BatchNormalization extends TfjsBatchNorm {
    static className = 'BatchNormalization';

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const self = this as unknown as TfjsBatchNormalization;
      // tfjs: `kwargs.training == null ? false : kwargs.training`, then `if (!training)`.
      const training = kwargs.training == null ? false : Boolean(kwargs.training);
      const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
      if (!training || !lastAxis || x.rank < 2 || x.dtype !== 'float32' || !batchNormTrainEnabled() || (Array.isArray(inputs) && inputs.length !== 1)) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const gamma = self.scale && self.gamma ? self.gamma.read() : null;
        const beta = self.center && self.beta ? self.beta.read() : null;
        const { y, mean, variance } = batchNormTrain(tf, x, gamma, beta, self.epsilon);
        // tfjs's doMovingAverage, operation for operation.
        const update = (variable: tfjs.LayerVariable, value: Tensor) => {
          tf.tidy(() => {
            const decay = 1 - self.momentum;
            const orig = variable.read();
            const delta = tf.mul(tf.sub(orig, value), decay);
            variable.write(tf.sub(orig, delta));
          });
        };
        update(self.movingMean, mean);
        update(self.movingVariance, variance);
        return y;
      });
    }
  }
  return BatchNormalization;
}
