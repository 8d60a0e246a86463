import type { ParamValue } from '../../../shared/layers';
import { ACTIVATIONS } from '../../../shared/layers';

/**
 * Keras / TensorFlow.js layer configs (snake_case, as in model.json) -> registry type + params.
 * One entry per Keras class we understand; a class not here is named in the import error.
 */
export type KerasConfig = Record<string, unknown>;

export class LayerImportError extends Error {}

export interface Mapped {
  type: string;
  params: Record<string, ParamValue>;
  /** Things that change behaviour slightly (e.g. a recurrent_activation other than (hard) sigmoid becomes sigmoid). */
  warnings?: string[];
}

/**
 * What the file says about the Keras that wrote it, where a config reads differently by version: Keras 3
 * redefined 'hard_sigmoid' as relu6(x + 3) / 6 (Keras 2's and tfjs's is clip(0.2x + 0.5, 0, 1)).
 */
export interface KerasSource {
  /** 3 for Keras 3; 2 for Keras 1 / 2 and TensorFlow.js (tfjs computes hard_sigmoid as Keras 2 does). */
  major: 2 | 3;
  /** Where that comes from, for messages: "keras_version 2.1.6", "Keras 3's config form (batch_shape)". */
  from: string;
  /** False when the file says nothing of its version (read as Keras 2). */
  known: boolean;
}

/** The reading of a file that says nothing of its Keras version: Keras 2's. */
export const UNKNOWN_KERAS: KerasSource = { major: 2, from: 'the file does not say its Keras version', known: false };

/** A Keras importer: a layer config (and what the file says of its Keras version) -> registry type + params. */
export type KerasImporter = (c: KerasConfig, source?: KerasSource) => Mapped;

const square = (v: unknown, what: string): number => {
  const [a, b] = Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
  if (a !== b) throw new LayerImportError(`${what} ${JSON.stringify(v)} is not square (Layerforge uses one size for height and width)`);
  return a;
};

/**
 * Keras / serialised-tfjs activation names that differ from ours (tfjs's toJSON writes 'hard_sigmoid' for
 * its hardSigmoid, clip(0.2x + 0.5, 0, 1), as Keras 2 computes it; Keras 3's is relu6(x + 3) / 6).
 */
const ACTIVATION_ALIASES: Record<string, string> = { hard_sigmoid: 'hardSigmoid', hard_swish: 'hardSwish', hard_silu: 'hardSwish', silu: 'swish' };

function activation(c: KerasConfig, key = 'activation'): string {
  const a = c[key] ?? 'linear';
  const raw = typeof a === 'object' && a !== null && 'class_name' in a ? String((a as { class_name: unknown }).class_name) : String(a);
  const name = Object.hasOwn(ACTIVATION_ALIASES, raw) ? ACTIVATION_ALIASES[raw]! : raw;
  if (!(ACTIVATIONS as readonly string[]).includes(name)) throw new LayerImportError(`${key} '${name}' is not supported (Layerforge has ${ACTIVATIONS.join(', ')})`);
  return name;
}

function channelsLast(c: KerasConfig): void {
  if (c.data_format && c.data_format !== 'channels_last') throw new LayerImportError(`data_format '${String(c.data_format)}' is not supported (only channels_last)`);
}

function lastAxis(c: KerasConfig): void {
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1 || (Number(axis[0]) !== -1 && Number(axis[0]) !== 3 && Number(axis[0]) !== 2 && Number(axis[0]) !== 1)) {
    throw new LayerImportError(`axis ${JSON.stringify(c.axis)} is not supported (only the last axis)`);
  }
}

const poolStrides = (c: KerasConfig, pool: number) => {
  const s = c.strides === null || c.strides === undefined ? pool : square(c.strides, 'strides');
  return s === pool ? 0 : s;
};

/** An activation config value's name: a string, or an object naming it (Keras 3 may serialise a function so). */
function activationName(a: unknown): string {
  if (typeof a === 'object' && a !== null) {
    const o = a as { class_name?: unknown; config?: unknown };
    if (o.class_name === 'function' && typeof o.config === 'string') return o.config;
    if ('class_name' in o) return String(o.class_name);
  }
  return String(a);
}

/**
 * An LSTM / GRU recurrent_activation as our recurrentActivation: 'sigmoid'; 'hard_sigmoid' as the file's Keras
 * computes it (Keras 1 / 2 and tfjs: clip(0.2x + 0.5, 0, 1), our 'hardSigmoid'; Keras 3: relu6(x + 3) / 6, our
 * 'hardSigmoidKeras3'); our own tfjs model.json names ('hard_sigmoid_keras3' as tfjs writes it). Anything
 * else becomes sigmoid with a warning.
 */
function recurrentActivation(type: string, c: KerasConfig, source: KerasSource, warnings: string[]): string {
  const raw = activationName(c.recurrent_activation ?? 'sigmoid');
  switch (raw) {
    case 'sigmoid':
      return 'sigmoid';
    case 'hard_sigmoid':
    case 'hardSigmoid':
      if (!source.known) warnings.push(`recurrent_activation 'hard_sigmoid' is read as Keras 2's and TensorFlow.js's clip(0.2x + 0.5, 0, 1) (${source.from}); a Keras 3 file's would be relu6(x + 3) / 6 (set the GRU / LSTM gate activation to hardSigmoidKeras3)`);
      return source.major === 3 ? 'hardSigmoidKeras3' : 'hardSigmoid';
    case 'hard_sigmoid_keras3':
    case 'hardSigmoidKeras3':
      return 'hardSigmoidKeras3';
    default:
      warnings.push(`recurrent_activation '${raw}' becomes 'sigmoid' (Layerforge's ${type} gates are sigmoid or a hard sigmoid)`);
      return 'sigmoid';
  }
}

function recurrent(type: string, c: KerasConfig, source: KerasSource, extra: Record<string, ParamValue> = {}): Mapped {
  if (c.go_backwards) throw new LayerImportError('go_backwards is not supported');
  if (c.stateful) throw new LayerImportError('stateful is not supported');
  if (c.return_state) throw new LayerImportError('return_state is not supported');
  const warnings: string[] = [];
  const gates: Record<string, ParamValue> = type === 'SimpleRNN' ? {} : { recurrentActivation: recurrentActivation(type, c, source, warnings) };
  return {
    type,
    // GRU reset_after (Keras 2+'s default; absent in Keras 1 and older tfjs files: reset before) is our resetAfter
    params: { units: Number(c.units), activation: activation(c), ...gates, returnSequences: Boolean(c.return_sequences), bidirectional: false, ...(type === 'GRU' ? { resetAfter: c.reset_after === true } : {}), ...extra },
    warnings,
  };
}

const RNN_CLASSES: Record<string, string> = { SimpleRNN: 'SimpleRNN', LSTM: 'LSTM', GRU: 'GRU' };

export const KERAS_IMPORTERS: Record<string, KerasImporter> = {
  Conv2D: (c) => {
    channelsLast(c);
    return {
      type: 'Conv2D',
      params: {
        filters: Number(c.filters),
        kernelSize: square(c.kernel_size, 'kernel_size'),
        strides: square(c.strides ?? 1, 'strides'),
        padding: String(c.padding ?? 'valid'),
        dilation: square(c.dilation_rate ?? 1, 'dilation_rate'),
        activation: activation(c),
        useBias: c.use_bias !== false,
      },
    };
  },
  Conv2DTranspose: (c) => {
    channelsLast(c);
    if (square(c.dilation_rate ?? 1, 'dilation_rate') !== 1) throw new LayerImportError('dilation_rate > 1 is not supported');
    return {
      type: 'Conv2DTranspose',
      params: { filters: Number(c.filters), kernelSize: square(c.kernel_size, 'kernel_size'), strides: square(c.strides ?? 1, 'strides'), padding: String(c.padding ?? 'valid'), activation: activation(c), useBias: c.use_bias !== false },
    };
  },
  DepthwiseConv2D: (c) => {
    channelsLast(c);
    return {
      type: 'DepthwiseConv2D',
      params: { kernelSize: square(c.kernel_size, 'kernel_size'), strides: square(c.strides ?? 1, 'strides'), padding: String(c.padding ?? 'valid'), depthMultiplier: Number(c.depth_multiplier ?? 1), activation: activation(c), useBias: c.use_bias !== false },
    };
  },
  MaxPooling2D: (c) => {
    channelsLast(c);
    const pool = square(c.pool_size ?? 2, 'pool_size');
    return { type: 'MaxPool2D', params: { poolSize: pool, strides: poolStrides(c, pool), padding: String(c.padding ?? 'valid') } };
  },
  AveragePooling2D: (c) => {
    channelsLast(c);
    const pool = square(c.pool_size ?? 2, 'pool_size');
    return { type: 'AvgPool2D', params: { poolSize: pool, strides: poolStrides(c, pool), padding: String(c.padding ?? 'valid') } };
  },
  GlobalAveragePooling2D: (c) => (channelsLast(c), { type: 'GlobalAvgPool2D', params: {} }),
  GlobalMaxPooling2D: (c) => (channelsLast(c), { type: 'GlobalMaxPool2D', params: {} }),
  GlobalAveragePooling1D: () => ({ type: 'GlobalAvgPool1D', params: {} }),
  GlobalMaxPooling1D: () => ({ type: 'GlobalMaxPool1D', params: {} }),
  Flatten: () => ({ type: 'Flatten', params: {} }),
  Dense: (c) => ({ type: 'Dense', params: { units: Number(c.units), activation: activation(c), useBias: c.use_bias !== false } }),
  Dropout: (c) => ({ type: 'Dropout', params: { rate: Number(c.rate ?? 0) } }),
  Activation: (c) => ({ type: 'Activation', params: { activation: activation(c) } }),
  BatchNormalization: (c) => {
    lastAxis(c);
    return { type: 'BatchNormalization', params: { momentum: Number(c.momentum ?? 0.99), epsilon: Number(c.epsilon ?? 1e-3), center: c.center !== false, scale: c.scale !== false } };
  },
  LayerNormalization: (c) => {
    lastAxis(c);
    return { type: 'LayerNormalization', params: { epsilon: Number(c.epsilon ?? 1e-3), center: c.center !== false, scale: c.scale !== false } };
  },
  Reshape: (c) => ({ type: 'Reshape', params: { targetShape: (c.target_shape as number[]).map(Number) } }),
  Permute: (c) => ({ type: 'Permute', params: { dims: (c.dims as number[]).map(Number) } }),
  UpSampling2D: (c) => {
    channelsLast(c);
    return { type: 'UpSampling2D', params: { size: square(c.size ?? 2, 'size'), interpolation: String(c.interpolation ?? 'nearest') } };
  },
  ZeroPadding2D: (c) => {
    channelsLast(c);
    const p = c.padding ?? 1;
    const [[t, b], [l, r]] = Array.isArray(p)
      ? (p as unknown[]).map((x) => (Array.isArray(x) ? [Number(x[0]), Number(x[1])] : [Number(x), Number(x)]))
      : [[Number(p), Number(p)], [Number(p), Number(p)]];
    if (t !== b || l !== r) throw new LayerImportError(`asymmetric padding ${JSON.stringify(p)} is not supported`);
    return { type: 'ZeroPadding2D', params: { padding: t!, paddingWidth: l === t ? -1 : l! } };
  },
  SimpleRNN: (c, source = UNKNOWN_KERAS) => recurrent('SimpleRNN', c, source),
  LSTM: (c, source = UNKNOWN_KERAS) => recurrent('LSTM', c, source),
  GRU: (c, source = UNKNOWN_KERAS) => recurrent('GRU', c, source),
  // TimeDistributed(Dense) is our Dense, which applies per step on a sequence (the weights are the inner Dense's)
  TimeDistributed: (c) => {
    const inner = c.layer as { class_name?: unknown; config?: KerasConfig } | undefined;
    const cls = String(inner?.class_name ?? 'no layer');
    if (cls !== 'Dense') throw new LayerImportError(`TimeDistributed(${cls}) is not supported (only TimeDistributed(Dense), which is Layerforge's Dense applied to each step)`);
    return KERAS_IMPORTERS.Dense!(inner!.config ?? {});
  },
  Bidirectional: (c, source = UNKNOWN_KERAS) => {
    const inner = c.layer as { class_name: string; config: KerasConfig };
    const type = RNN_CLASSES[inner.class_name];
    if (!type) throw new LayerImportError(`Bidirectional(${inner.class_name}) is not supported`);
    const m = recurrent(type, inner.config, source, { bidirectional: true, mergeMode: String(c.merge_mode ?? 'concat') });
    return m;
  },
  Embedding: (c) => {
    if (c.mask_zero) throw new LayerImportError('mask_zero is not supported');
    // Our 'normal' initializer is N(0, 1) (PyTorch's); anything else keeps the Keras default.
    const init = c.embeddings_initializer as { class_name?: string; config?: { mean?: number; stddev?: number } } | undefined;
    const normal = init?.class_name === 'RandomNormal' && (init.config?.mean ?? 0) === 0 && (init.config?.stddev ?? 0.05) === 1;
    return { type: 'Embedding', params: { inputDim: Number(c.input_dim), outputDim: Number(c.output_dim), ...(normal ? { initializer: 'normal' } : {}) } };
  },
  Add: () => ({ type: 'Add', params: {} }),
  Subtract: () => ({ type: 'Subtract', params: {} }),
  Multiply: () => ({ type: 'Multiply', params: {} }),
  Average: () => ({ type: 'Average', params: {} }),
  Maximum: () => ({ type: 'Maximum', params: {} }),
  Minimum: () => ({ type: 'Minimum', params: {} }),
  Concatenate: (c) => ({ type: 'Concatenate', params: { axis: Number(c.axis ?? -1) } }),
  MultiHeadAttention: (c) => ({
    type: 'MultiHeadAttention',
    params: { numHeads: Number(c.num_heads), keyDim: Number(c.key_dim), valueDim: c.value_dim && c.value_dim !== c.key_dim ? Number(c.value_dim) : 0, dropout: Number(c.dropout ?? 0), causal: Boolean(c.causal ?? c.use_causal_mask), useBias: c.use_bias !== false },
  }),
  PositionalEmbedding: (c) => ({ type: 'PositionalEmbedding', params: { sequenceLength: Number(c.sequence_length) } }),
  // activation layers (Keras 3 renamed LeakyReLU's alpha negative_slope)
  ReLU: (c) => ({ type: 'ReLU', params: { maxValue: c.max_value == null ? 0 : Number(c.max_value), negativeSlope: Number(c.negative_slope ?? 0), threshold: Number(c.threshold ?? 0) } }),
  LeakyReLU: (c) => ({ type: 'LeakyReLU', params: { alpha: Number(c.alpha ?? c.negative_slope ?? 0.3) } }),
  PReLU: (c) => ({ type: 'PReLU', params: { sharedAxes: Array.isArray(c.shared_axes) ? (c.shared_axes as unknown[]).map(Number) : c.shared_axes == null ? [] : [Number(c.shared_axes)] } }),
  ELU: (c) => ({ type: 'ELU', params: { alpha: Number(c.alpha ?? 1) } }),
  Softmax: (c) => ({ type: 'Softmax', params: { axis: Number(Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1)) } }),
  Conv1D: (c) => {
    if (c.data_format && c.data_format !== 'channels_last') throw new LayerImportError(`data_format '${String(c.data_format)}' is not supported (only channels_last)`);
    return { type: 'Conv1D', params: { filters: Number(c.filters), kernelSize: first(c.kernel_size), strides: first(c.strides ?? 1), padding: String(c.padding ?? 'valid'), dilation: first(c.dilation_rate ?? 1), activation: activation(c), useBias: c.use_bias !== false } };
  },
  SeparableConv2D: (c) => {
    channelsLast(c);
    return {
      type: 'SeparableConv2D',
      params: { filters: Number(c.filters), kernelSize: square(c.kernel_size, 'kernel_size'), strides: square(c.strides ?? 1, 'strides'), padding: String(c.padding ?? 'valid'), dilation: square(c.dilation_rate ?? 1, 'dilation_rate'), depthMultiplier: Number(c.depth_multiplier ?? 1), activation: activation(c), useBias: c.use_bias !== false },
    };
  },
  MaxPooling1D: (c) => ({ type: 'MaxPool1D', params: pool1dParams(c) }),
  AveragePooling1D: (c) => ({ type: 'AvgPool1D', params: pool1dParams(c) }),
  ZeroPadding1D: (c) => {
    const [a, b] = sides(c.padding);
    return { type: 'ZeroPadding1D', params: { padding: a, paddingEnd: b === a ? -1 : b } };
  },
  Cropping1D: (c) => {
    const [a, b] = sides(c.cropping);
    return { type: 'Cropping1D', params: { cropping: a, croppingEnd: b === a ? -1 : b } };
  },
  Cropping2D: (c) => {
    channelsLast(c);
    const v = c.cropping;
    const [rows, cols] = Array.isArray(v) && Array.isArray(v[0]) ? [sides(v[0]), sides(v[1])] : Array.isArray(v) ? [sides(v[0]), sides(v[1])] : [sides(v), sides(v)];
    if (rows[0] !== rows[1] || cols[0] !== cols[1]) throw new LayerImportError(`cropping ${JSON.stringify(v)} is not symmetric (Layerforge crops the same at top and bottom, left and right)`);
    return { type: 'Cropping2D', params: { cropping: rows[0], croppingWidth: cols[0] === rows[0] ? -1 : cols[0] } };
  },
  UpSampling1D: (c) => ({ type: 'UpSampling1D', params: { size: Number(c.size ?? 2) } }),
  SpatialDropout1D: (c) => ({ type: 'SpatialDropout1D', params: { rate: Number(c.rate ?? 0) } }),
  SpatialDropout2D: (c) => (channelsLast(c), { type: 'SpatialDropout2D', params: { rate: Number(c.rate ?? 0) } }),
  GaussianNoise: (c) => ({ type: 'GaussianNoise', params: { stddev: Number(c.stddev ?? 0) } }),
  GaussianDropout: (c) => ({ type: 'GaussianDropout', params: { rate: Number(c.rate ?? 0) } }),
  RepeatVector: (c) => ({ type: 'RepeatVector', params: { n: Number(c.n) } }),
  Dot: (c) => {
    const axes = Array.isArray(c.axes) ? (c.axes as unknown[]).map(Number) : [Number(c.axes), Number(c.axes)];
    if (axes[0] !== axes[1]) throw new LayerImportError(`axes ${JSON.stringify(c.axes)} differ between the inputs (Layerforge's Dot contracts the same axis of both)`);
    return { type: 'Dot', params: { axes: axes[0]!, normalize: Boolean(c.normalize) } };
  },
  Rescaling: (c) => ({ type: 'Rescaling', params: { scale: Number(c.scale ?? 1), offset: Number(c.offset ?? 0) } }),
  // mean / variance given as numbers start every channel there; per-channel statistics come with the weights
  Normalization: (c) => {
    lastAxis(c);
    if (c.invert) throw new LayerImportError('invert=True is not supported');
    return { type: 'Normalization', params: { mean: typeof c.mean === 'number' ? c.mean : 0, variance: typeof c.variance === 'number' ? c.variance : 1 } };
  },
};

/** A Keras int-or-[int] config value (Conv1D's kernel_size, strides, …). */
function first(v: unknown): number {
  return Number(Array.isArray(v) ? v[0] : v);
}

/** A Keras int-or-[start, end] config value. */
function sides(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];
}

function pool1dParams(c: KerasConfig): Record<string, ParamValue> {
  const pool = first(c.pool_size ?? 2);
  const s = c.strides == null ? pool : first(c.strides);
  return { poolSize: pool, strides: s === pool ? 0 : s, padding: String(c.padding ?? 'valid') };
}
// Keras aliases
KERAS_IMPORTERS.MaxPool2D = KERAS_IMPORTERS.MaxPooling2D!;
KERAS_IMPORTERS.AvgPool2D = KERAS_IMPORTERS.AveragePooling2D!;
KERAS_IMPORTERS.GlobalAvgPool2D = KERAS_IMPORTERS.GlobalAveragePooling2D!;
KERAS_IMPORTERS.GlobalMaxPool2D = KERAS_IMPORTERS.GlobalMaxPooling2D!;
KERAS_IMPORTERS.GlobalAvgPool1D = KERAS_IMPORTERS.GlobalAveragePooling1D!;
KERAS_IMPORTERS.GlobalMaxPool1D = KERAS_IMPORTERS.GlobalMaxPooling1D!;
