import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';

type Tensor = tfjs.Tensor;
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];
type LayerArgs = NonNullable<ConstructorParameters<typeof tfjs.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];

export interface ReLUArgs extends LayerArgs {
  /** Cap of the output; null or undefined: none. */
  maxValue?: number | null;
  negativeSlope?: number;
  threshold?: number;
}

export interface ELUArgs extends LayerArgs {
  alpha?: number;
}

export interface SoftmaxArgs extends LayerArgs {
  axis?: number;
}

export interface KerasClasses {
  ReLU: new (args: ReLUArgs) => tfjs.layers.Layer;
  ELU: new (args: ELUArgs) => tfjs.layers.Layer;
  Softmax: new (args: SoftmaxArgs) => tfjs.layers.Layer;
}

const one = (inputs: Tensor | Tensor[]): Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

/**
 * Keras behaviour that TensorFlow.js lacks, as tfjs classes under Keras's own names (so a saved
 * model.json names them as Keras does, and the Keras export writes the same class): the 'hardSwish'
 * activation; ReLU with Keras's negativeSlope and threshold; ELU with any alpha; Softmax on any axis. Registered with this tf instance's
 * serialization; called once per tf instance by registerCustomLayers.
 */
export function defineKerasClasses(tf: Tf): KerasClasses {
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

  /**
   * Keras's ReLU: x above the threshold (capped at maxValue), negativeSlope · (x − threshold) at or below it.
   * Keeps tfjs's class name and maxValue (it is registered in place of tfjs's ReLU, so a model.json from
   * plain tfjs loads the same), adding Keras's negativeSlope and threshold (0 by default: tfjs's ReLU).
   */
  const TfjsReLU = (tf.layers.reLU({}) as object).constructor as new (args: ReLUArgs) => tfjs.layers.Layer;
  class ReLU extends TfjsReLU {
    static className = 'ReLU';
    readonly negativeSlope: number;
    readonly threshold: number;
    constructor(args: ReLUArgs) {
      super({ ...args, maxValue: args.maxValue ?? undefined });
      this.negativeSlope = args.negativeSlope ?? 0;
      this.threshold = args.threshold ?? 0;
      for (const [k, v] of [['negativeSlope', this.negativeSlope], ['threshold', this.threshold], ['maxValue', args.maxValue ?? 0]] as const) {
        if (!Number.isFinite(v) || v < 0) throw new Error(`ReLU: ${k} must be a number >= 0, got ${v}`);
      }
    }
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      if (this.negativeSlope === 0 && this.threshold === 0) return super.call(inputs, kwargs);
      const maxValue = (this as unknown as { maxValue?: number | null }).maxValue;
      return tf.tidy(() => {
        const x = one(inputs);
        // Keras's order: keep x above the threshold, cap, then subtract the slope times the part below
        let y = this.threshold === 0 ? tf.relu(x) : tf.where(tf.greater(x, this.threshold), x, tf.zerosLike(x));
        if (maxValue != null) y = tf.clipByValue(y, 0, maxValue);
        if (this.negativeSlope !== 0) y = tf.sub(y, tf.mul(this.negativeSlope, tf.relu(tf.sub(this.threshold, x))));
        return y;
      });
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
      return inputShape;
    }
    override getConfig() {
      return { ...super.getConfig(), negativeSlope: this.negativeSlope, threshold: this.threshold };
    }
  }

  /** tfjs's ELU, which refuses any alpha but 1, with Keras's alpha: x above 0, alpha · (eˣ − 1) below. */
  const TfjsELU = (tf.layers.elu({}) as object).constructor as new (args: ELUArgs) => tfjs.layers.Layer;
  class ELU extends TfjsELU {
    static className = 'ELU';
    constructor(args: ELUArgs) {
      super({ ...args, alpha: undefined });
      const alpha = args.alpha ?? 1;
      if (!Number.isFinite(alpha)) throw new Error(`ELU: alpha must be a finite number, got ${alpha}`);
      (this as unknown as { alpha: number }).alpha = alpha;
    }
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const alpha = (this as unknown as { alpha: number }).alpha;
      if (alpha === 1) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const x = one(inputs);
        const r = tf.relu(x);
        return tf.add(r, tf.mul(alpha, tf.sub(tf.elu(x), r)));
      });
    }
  }

  /** tfjs's Softmax, whose op only works on the last axis, on any axis as Keras's: exp(x − logsumexp(x)) along it. */
  const TfjsSoftmax = (tf.layers.softmax({}) as object).constructor as new (args: SoftmaxArgs) => tfjs.layers.Layer;
  class Softmax extends TfjsSoftmax {
    static className = 'Softmax';
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const x = one(inputs);
      const axis = (this as unknown as { axis: number }).axis;
      if (axis === -1 || axis === x.rank - 1) return super.call(inputs, kwargs);
      return tf.tidy(() => tf.exp(tf.sub(x, tf.logSumExp(x, axis, true))));
    }
  }

  tf.serialization.registerClass(HardSwish as unknown as Serializable);
  tf.serialization.registerClass(ReLU as unknown as Serializable);
  tf.serialization.registerClass(ELU as unknown as Serializable);
  tf.serialization.registerClass(Softmax as unknown as Serializable);
  return { ReLU, ELU, Softmax };
}
