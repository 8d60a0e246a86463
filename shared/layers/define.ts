import type * as tfjs from '@tensorflow/tfjs';
import type { ActivationName, ParamSpecs, ParamValues } from './params';

/** A per-sample tensor shape (no batch dimension), e.g. [32, 32, 3] or [T, F]. */
export type Shape = readonly number[];

export const CATEGORIES = [
  'Input',
  'Convolution',
  'Pooling',
  'Core',
  'Activation',
  'Normalization',
  'Regularization',
  'Reshaping',
  'Recurrent',
  'Attention',
  'Embedding',
  'Merge',
] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * Thrown by `outputShape` (and friends) when params and input shapes do not fit together.
 * The message says what is wrong without the node name, e.g. "kernelSize 7 is larger than its 5x5 input";
 * graph validation prefixes the node name.
 */
export class ShapeError extends Error {
  constructor(
    message: string,
    /** The param at fault, if one is. */
    readonly field?: string,
    /** The input port at fault, if one is (for marking the edge). */
    readonly port?: number,
  ) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** The tfjs namespace, injected by the engine so shared/ has no runtime import of tfjs. */
export type Tf = typeof tfjs;
export type TfLayer = tfjs.layers.Layer;
/** What tfjs's layer configs accept as `activation`. */
export type TfActivation = NonNullable<Parameters<Tf['layers']['dense']>[0]['activation']>;

/**
 * An activation name as tfjs's layer configs type it. Every name in ACTIVATIONS is tfjs's own except
 * 'hardSwish', which the engine registers with tfjs's serialization before any layer is built
 * (main/engine/compile/custom), so tfjs resolves it by name like the others.
 */
export const tfActivation = (name: ActivationName): TfActivation => name as TfActivation;

/** Factories for our own custom tfjs layers (implemented in main/engine/compile). */
export interface CustomLayerFactories {
  multiHeadAttention(config: {
    name: string;
    numHeads: number;
    keyDim: number;
    valueDim?: number;
    dropout: number;
    causal: boolean;
    useBias: boolean;
  }): TfLayer;
  positionalEmbedding(config: { name: string; sequenceLength: number; outputDim: number }): TfLayer;
  /** tfjs's LayerNormalization (same class name, config and weights) with a fused op for its call. */
  layerNormalization(config: { name: string; epsilon: number; center: boolean; scale: boolean }): TfLayer;
  /** tfjs's BatchNormalization (same class name, config and weights) with a fused op for its training call. */
  batchNormalization(config: { name: string; momentum: number; epsilon: number; center: boolean; scale: boolean }): TfLayer;
  /** Keras's ReLU (tfjs's class name and maxValue, plus Keras's negativeSlope and threshold). */
  relu(config: { name: string; maxValue: number | null; negativeSlope: number; threshold: number }): TfLayer;
  /** tfjs's ELU with Keras's alpha (tfjs's refuses any but 1). */
  elu(config: { name: string; alpha: number }): TfLayer;
  /** tfjs's Softmax on any axis (tfjs's op only takes the last). */
  softmax(config: { name: string; axis: number }): TfLayer;
  /** Keras's ZeroPadding1D, Cropping1D and UpSampling1D (not in tfjs): [start, end] steps; repeats per step. */
  zeroPadding1d(config: { name: string; padding: [number, number] }): TfLayer;
  cropping1d(config: { name: string; cropping: [number, number] }): TfLayer;
  upSampling1d(config: { name: string; size: number }): TfLayer;
  /** tfjs's SeparableConv2D with depthMultiplier kept in its saved config (tfjs's getConfig drops it). */
  separableConv2d(config: Parameters<Tf['layers']['separableConv2d']>[0] & { name: string }): TfLayer;
  /** Keras's SpatialDropout2D (not in tfjs): drops whole channels while training. */
  spatialDropout2d(config: { name: string; rate: number }): TfLayer;
  /** Keras's Subtract (not in tfjs): input 1 − input 2. */
  subtract(config: { name: string }): TfLayer;
  /** Keras's Normalization (not in tfjs): non-trainable weights mean and variance per channel (last axis), starting at these values. */
  normalization(config: { name: string; mean: number; variance: number }): TfLayer;
  /** tfjs's GRU plus Keras's resetAfter (tfjs's refuses it): the reset gate after the recurrent product, bias [2, 3u]. */
  gru(config: Parameters<Tf['layers']['gru']>[0] & { name: string; resetAfter: boolean }): TfLayer;
  /** tfjs's LSTM (same class name, config and weights) whose call runs the sequence as one fused op where it can. */
  lstm(config: Parameters<Tf['layers']['lstm']>[0] & { name: string }): TfLayer;
  /** tfjs's Conv1D that also runs Keras's padding 'causal' (tfjs's throws when run). */
  conv1d(config: Parameters<Tf['layers']['conv1d']>[0] & { name: string }): TfLayer;
}

export interface BuildContext {
  readonly tf: Tf;
  readonly custom: CustomLayerFactories;
  /** Per-sample input shapes, in port order. */
  readonly inputShapes: readonly Shape[];
}

export interface InputPorts {
  readonly min: number;
  /** Use Infinity for "any number" (Add, Concatenate, …). */
  readonly max: number;
  /** Port labels for the canvas, e.g. ['query', 'key/value']. Ports past the list are numbered. */
  readonly names?: readonly string[];
}

export interface LayerDef<P extends ParamSpecs = ParamSpecs> {
  /** Stable type id stored in project files, e.g. 'Conv2D'. */
  readonly type: string;
  readonly category: Category;
  /** Human label for the palette, e.g. 'Conv 2D'. */
  readonly label: string;
  /** One line for the palette's hover. */
  readonly description: string;
  readonly params: P;
  readonly inputs: InputPorts;
  /** Prefix for generated node names, e.g. 'conv2d' -> conv2d_1. */
  readonly namePrefix: string;
  /** Output shape from input shapes; throws ShapeError when they do not fit. Params are already range-checked. */
  outputShape(inputs: readonly Shape[], p: ParamValues<P>): Shape;
  /** Number of weights (trainable and not), as tfjs's countParams() reports. */
  paramCount(inputs: readonly Shape[], p: ParamValues<P>, output: Shape): number;
  /** Approximate multiply-adds x2 (FLOPs) for one sample's forward pass. */
  flops(inputs: readonly Shape[], p: ParamValues<P>, output: Shape): number;
  /** Makes the tfjs layer. For Input this is never called: the engine makes tf.input from the output shape. */
  build(ctx: BuildContext, p: ParamValues<P>, name: string): TfLayer;
  /** Key params for the node face, e.g. '32 · 3x3 · relu'. */
  summary(p: ParamValues<P>): string;
  /** Cross-field checks beyond each param's range; returns [field, message] pairs. */
  checkParams?(p: ParamValues<P>): Array<[field: string, message: string]>;
}

/** A layer def with its params erased: what the registry holds and the rest of the app uses. */
export type AnyLayerDef = LayerDef<ParamSpecs>;

/** Declares a layer type. Keeps the param types precise inside the file, erased in the registry. */
export function defineLayer<const P extends ParamSpecs>(def: LayerDef<P>): AnyLayerDef {
  return def as unknown as AnyLayerDef;
}
