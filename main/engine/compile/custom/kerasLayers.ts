import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';

type Tensor = tfjs.Tensor;
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];

/**
 * Keras behaviour that TensorFlow.js lacks, as tfjs classes under Keras's own names (so a saved
 * model.json names them as Keras does, and the Keras export writes the same class): the 'hardSwish'
 * activation. Registered with this tf instance's serialization; idempotent through registerCustomLayers.
 */
export function defineKerasClasses(tf: Tf): void {
  /**
   * The 'hardSwish' activation, x · relu6(x + 3) / 6 (Keras 3's hard_silu / hard_swish, PyTorch's hardswish,
   * MobileNetV3's h-swish), which tfjs lacks: registered under that name, so `activation: 'hardSwish'`
   * resolves in every layer config like tfjs's own activations (and a saved model.json loads once
   * registerCustomLayers has run).
   */
  const TfjsRelu6 = (tf.layers.activation({ activation: 'relu6' }) as unknown as { activation: object }).activation.constructor as new () => { apply(x: Tensor): Tensor };
  class HardSwish extends TfjsRelu6 {
    static className = 'hardSwish';
    override apply(x: Tensor): Tensor {
      return tf.tidy(() => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6));
    }
  }

  tf.serialization.registerClass(HardSwish as unknown as Serializable);
}
