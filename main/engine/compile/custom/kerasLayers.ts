import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';

type Tensor = tfjs.Tensor;
type Serializable = Parameters<Tf['serialization']['registerClass']>[0];
type LayerArgs = NonNullable<ConstructorParameters<typeof tfjs.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];
type SeparableConvArgs = Parameters<Tf['layers']['separableConv2d']>[0];

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

export interface Pad1dArgs extends LayerArgs {
  /** [start, end] steps. */
  padding: [number, number];
}
export interface Crop1dArgs extends LayerArgs {
  /** [start, end] steps. */
  cropping: [number, number];
}
export interface UpSampling1dArgs extends LayerArgs {
  size: number;
}

export interface KerasClasses {
  ReLU: new (args: ReLUArgs) => tfjs.layers.Layer;
  ELU: new (args: ELUArgs) => tfjs.layers.Layer;
  Softmax: new (args: SoftmaxArgs) => tfjs.layers.Layer;
  ZeroPadding1D: new (args: Pad1dArgs) => tfjs.layers.Layer;
  Cropping1D: new (args: Crop1dArgs) => tfjs.layers.Layer;
  UpSampling1D: new (args: UpSampling1dArgs) => tfjs.layers.Layer;
  SeparableConv2D: new (args: SeparableConvArgs) => tfjs.layers.Layer;
  SpatialDropout2D: new (args: SpatialDropout2dArgs) => tfjs.layers.Layer;
  Subtract: new (args: LayerArgs) => tfjs.layers.Layer;
  Normalization: new (args: NormalizationArgs) => tfjs.layers.Layer;
}

export interface SpatialDropout2dArgs extends LayerArgs {
  rate: number;
}
export interface NormalizationArgs extends LayerArgs {
  /** Starting value of every channel's mean / variance (the weights hold the real ones). */
  mean?: number;
  variance?: number;
  /** Only -1 (the last axis) is supported. */
  axis?: number;
}

const pairOf = (v: unknown, what: string): [number, number] => {
  const [a, b] = Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0) throw new Error(`${what} must be one or two integers >= 0, got ${JSON.stringify(v)}`);
  return [a, b];
};
const sequenceShape = (inputShape: Shape | Shape[], layer: string): Shape => {
  const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  if (s.length !== 3) throw new Error(`${layer} expects a sequence [batch, T, F], got ${JSON.stringify(s)}`);
  return s;
};

const one = (inputs: Tensor | Tensor[]): Tensor => (Array.isArray(inputs) ? inputs[0]! : inputs);

/**
 * Keras behaviour that TensorFlow.js lacks, as tfjs classes under Keras's own names (so a saved
 * model.json names them as Keras does, and the Keras export writes the same class): the 'hardSwish'
 * activation; ReLU with Keras's negativeSlope and threshold; ELU with any alpha; Softmax on any axis;
 * ZeroPadding1D, Cropping1D, UpSampling1D. Registered with this tf instance's
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
   * The 'hardSigmoidKeras3' activation, relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1): Keras 3's hard_sigmoid
   * (and PyTorch's Hardsigmoid), which tfjs lacks (tfjs's hardSigmoid is Keras 2's clip(0.2x + 0.5, 0, 1)).
   * LSTM / GRU gates use it as recurrentActivation (shared/layers/recurrent.ts); registered by name like hardSwish.
   */
  class HardSigmoidKeras3 extends TfjsRelu6 {
    static className = 'hardSigmoidKeras3';
    override apply(x: Tensor): Tensor {
      return tf.tidy(() => tf.div(tf.relu6(tf.add(x, 3)), 6));
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

  /** Keras's ZeroPadding1D: [start, end] steps of zeros around a [batch, T, F] sequence. */
  class ZeroPadding1D extends tf.layers.Layer {
    static className = 'ZeroPadding1D';
    readonly padding: [number, number];
    constructor(args: Pad1dArgs) {
      super(args);
      this.padding = pairOf(args.padding, 'ZeroPadding1D: padding');
    }
    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => tf.pad(one(inputs), [[0, 0], this.padding, [0, 0]]));
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [n, t, f] = sequenceShape(inputShape, 'ZeroPadding1D');
      return [n!, t == null ? null : t + this.padding[0] + this.padding[1], f!];
    }
    override getConfig() {
      return { ...super.getConfig(), padding: [...this.padding] };
    }
  }

  /** Keras's Cropping1D: removes [start, end] steps of a [batch, T, F] sequence. */
  class Cropping1D extends tf.layers.Layer {
    static className = 'Cropping1D';
    readonly cropping: [number, number];
    constructor(args: Crop1dArgs) {
      super(args);
      this.cropping = pairOf(args.cropping, 'Cropping1D: cropping');
    }
    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const x = one(inputs);
        const t = x.shape[1]!;
        return tf.slice(x, [0, this.cropping[0], 0], [-1, t - this.cropping[0] - this.cropping[1], -1]);
      });
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [n, t, f] = sequenceShape(inputShape, 'Cropping1D');
      return [n!, t == null ? null : t - this.cropping[0] - this.cropping[1], f!];
    }
    override getConfig() {
      return { ...super.getConfig(), cropping: [...this.cropping] };
    }
  }

  /** Keras's UpSampling1D: each step of a [batch, T, F] sequence repeated `size` times. */
  class UpSampling1D extends tf.layers.Layer {
    static className = 'UpSampling1D';
    readonly size: number;
    constructor(args: UpSampling1dArgs) {
      super(args);
      if (!Number.isInteger(args.size) || args.size < 1) throw new Error(`UpSampling1D: size must be an integer >= 1, got ${args.size}`);
      this.size = args.size;
    }
    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const x = one(inputs);
        const [n, t, f] = x.shape as [number, number, number];
        return tf.reshape(tf.tile(tf.expandDims(x, 2), [1, 1, this.size, 1]), [n, t * this.size, f]);
      });
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [n, t, f] = sequenceShape(inputShape, 'UpSampling1D');
      return [n!, t == null ? null : t * this.size, f!];
    }
    override getConfig() {
      return { ...super.getConfig(), size: this.size };
    }
  }

  /**
   * tfjs's SeparableConv2D, whose getConfig() leaves out depthMultiplier (tfjs-layers 4.22): a saved model
   * with depthMultiplier > 1 would load with 1 and fail on its weights. Same class name, the config completed
   * (tfjs's own constructor reads the key, so the written model.json loads in plain tfjs too).
   */
  const TfjsSeparableConv2D = (tf.layers.separableConv2d({ filters: 1, kernelSize: 1 }) as object).constructor as new (args: SeparableConvArgs) => tfjs.layers.Layer;
  class SeparableConv2D extends TfjsSeparableConv2D {
    static className = 'SeparableConv2D';
    override getConfig() {
      return { ...super.getConfig(), depthMultiplier: (this as unknown as { depthMultiplier: number }).depthMultiplier };
    }
  }

  /** Keras's SpatialDropout2D: while training, drops whole channels of an [N, H, W, C] image (noise shape [N, 1, 1, C]). */
  class SpatialDropout2D extends tf.layers.Layer {
    static className = 'SpatialDropout2D';
    readonly rate: number;
    constructor(args: SpatialDropout2dArgs) {
      super(args);
      if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`SpatialDropout2D: rate must be in [0, 1), got ${args.rate}`);
      this.rate = args.rate;
    }
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
      const x = one(inputs);
      if (kwargs.training !== true || this.rate === 0) return x;
      return tf.tidy(() => tf.dropout(x, this.rate, [x.shape[0]!, 1, 1, x.shape[3]!]));
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
      return inputShape;
    }
    override getConfig() {
      return { ...super.getConfig(), rate: this.rate };
    }
  }

  /** Keras's Subtract: its first input minus its second (tfjs's merge base, as Add, with another merge function). */
  const TfjsAdd = (tf.layers.add({}) as object).constructor as new (args: LayerArgs) => tfjs.layers.Layer;
  class Subtract extends TfjsAdd {
    static className = 'Subtract';
    override build(inputShape: Shape | Shape[]): void {
      if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) throw new Error(`Subtract '${this.name}' takes exactly 2 inputs, got ${Array.isArray(inputShape[0]) ? inputShape.length : 1}`);
      super.build(inputShape);
    }
    protected mergeFunction(inputs: Tensor[]): Tensor {
      return tf.tidy(() => tf.sub(inputs[0]!, inputs[1]!));
    }
  }

  /**
   * Keras's Normalization over the last axis: (x − mean) / max(√variance, 1e-7), mean and variance being
   * non-trainable weights [C] (what an imported model brings; starting at the config's mean / variance).
   */
  class Normalization extends tf.layers.Layer {
    static className = 'Normalization';
    readonly initialMean: number;
    readonly initialVariance: number;
    private meanWeight: tfjs.LayerVariable | null = null;
    private varianceWeight: tfjs.LayerVariable | null = null;
    constructor(args: NormalizationArgs) {
      super(args);
      if (args.axis !== undefined && args.axis !== -1) throw new Error(`Normalization: only axis -1 (the last) is supported, got ${args.axis}`);
      this.initialMean = args.mean ?? 0;
      this.initialVariance = args.variance ?? 1;
    }
    override build(inputShape: Shape | Shape[]): void {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      const c = s[s.length - 1];
      if (c == null) throw new Error(`Normalization '${this.name}' needs a known last axis, got ${JSON.stringify(s)}`);
      this.meanWeight = this.addWeight('mean', [c], 'float32', tf.initializers.constant({ value: this.initialMean }), undefined, false);
      this.varianceWeight = this.addWeight('variance', [c], 'float32', tf.initializers.constant({ value: this.initialVariance }), undefined, false);
      this.built = true;
    }
    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => tf.div(tf.sub(one(inputs), this.meanWeight!.read()), tf.maximum(tf.sqrt(this.varianceWeight!.read()), 1e-7)));
    }
    override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
      return inputShape;
    }
    override getConfig() {
      return { ...super.getConfig(), axis: -1, mean: this.initialMean, variance: this.initialVariance };
    }
  }

  tf.serialization.registerClass(HardSwish as unknown as Serializable);
  tf.serialization.registerClass(HardSigmoidKeras3 as unknown as Serializable);
  for (const c of [SpatialDropout2D, Normalization]) tf.serialization.registerClass(c);
  tf.serialization.registerClass(Subtract as unknown as Serializable);
  tf.serialization.registerClass(SeparableConv2D as unknown as Serializable);
  tf.serialization.registerClass(ReLU as unknown as Serializable);
  tf.serialization.registerClass(ELU as unknown as Serializable);
  tf.serialization.registerClass(Softmax as unknown as Serializable);
  for (const c of [ZeroPadding1D, Cropping1D, UpSampling1D]) tf.serialization.registerClass(c);
  return { ReLU, ELU, Softmax, ZeroPadding1D, Cropping1D, UpSampling1D, SeparableConv2D, SpatialDropout2D, Subtract, Normalization };
}
