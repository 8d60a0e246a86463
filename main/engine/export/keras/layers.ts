import { activationOf, pair, requireWeight, type ExportLayer } from '../exportGraph';
import type { ActivationName } from '../../../../shared/layers';
import type { Coverage } from '../types';

/**
 * How each registry layer type becomes a keras.layers call (functional API). Keras's layout is
 * TensorFlow.js's (NHWC), and the trained weights load in tfjs's order, so the mapping is one to one.
 * Adding a layer type to the registry makes export/coverage.test.ts fail until it has an entry here
 * (or an `unsupported` reason).
 */
export interface KerasCode {
  /** Keras class name, for the layer list (LAYERS in model.py). */
  className: string;
  /** Constructor arguments (without name), Python source. */
  args: string[];
  /** How the layer is called on its inputs when not `layer(x)` / `layer([a, b])`. */
  call?: (layer: string, xs: string[]) => string;
  /** A class defined in model.py (not in keras.layers). */
  custom?: string;
  /** The layer's tfjs weights are written into its arguments (load() does not set them). */
  constantWeights?: boolean;
}

export type KerasLowering = (layer: ExportLayer) => KerasCode;

const py = (v: unknown): string => {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `(${v.map(py).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (v === null || v === undefined) return 'None';
  return JSON.stringify(v);
};

/**
 * Every activation of the palette (shared/layers/params.ts ACTIVATIONS) as the Python value of a Keras
 * `activation=` argument: a quoted Keras name, or a function model.py defines (KERAS_CUSTOM) where
 * Keras 2 and 3 disagree or one lacks the name: Keras 3's 'hard_sigmoid' is relu6(x + 3) / 6, not tfjs's
 * clip(0.2x + 0.5, 0, 1); tf.keras 2 has no 'relu6' nor 'hard_silu'. Keyed by the shared list, so a new
 * activation fails to compile until it is written here.
 */
const KERAS_ACTIVATIONS: Record<ActivationName, string> = {
  linear: py('linear'),
  relu: py('relu'),
  relu6: '_tfjs_relu6',
  sigmoid: py('sigmoid'),
  hardSigmoid: '_tfjs_hard_sigmoid',
  hardSwish: '_tfjs_hard_swish',
  tanh: py('tanh'),
  softmax: py('softmax'),
  elu: py('elu'),
  selu: py('selu'),
  softplus: py('softplus'),
  softsign: py('softsign'),
  swish: py('swish'),
  mish: '_tfjs_mish',
  gelu: py('gelu'),
};
/**
 * tfjs activations outside the palette: logSoftmax, and the LSTM / GRU gate activation 'hardSigmoidKeras3'
 * (Keras 3's 'hard_sigmoid', relu6(x + 3) / 6), written as a model.py function so that Keras 2 computes it too.
 */
const KERAS_OTHER_ACTIVATIONS: Record<string, string> = { logSoftmax: py('log_softmax'), hardSigmoidKeras3: '_tfjs_hard_sigmoid_keras3' };

/** Python for a tfjs activation name as a Keras `activation=` value (a quoted name or a model.py function). */
export function kerasActivation(a: string): string {
  if (Object.hasOwn(KERAS_ACTIVATIONS, a)) return KERAS_ACTIVATIONS[a as ActivationName];
  if (Object.hasOwn(KERAS_OTHER_ACTIVATIONS, a)) return KERAS_OTHER_ACTIVATIONS[a]!;
  throw new Error(`activation '${a}' has no Keras equivalent here`);
}
const act = (c: Record<string, unknown>, key = 'activation') => kerasActivation(activationOf(c, key));
const useBias = (c: Record<string, unknown>) => `use_bias=${py(c.useBias !== false)}`;

const simple = (className: string, args: (c: Record<string, unknown>, l: ExportLayer) => string[] = () => []): Coverage<KerasLowering> => ({
  supported: (l) => ({ className, args: args(l.config, l) }),
});

function recurrent(className: 'SimpleRNN' | 'LSTM' | 'GRU'): Coverage<KerasLowering> {
  return {
    supported: (l) => {
      const bidi = l.className === 'Bidirectional';
      const c = (bidi ? (l.config.layer as { config: Record<string, unknown> }).config : l.config) as Record<string, unknown>;
      const inner = [
        String(c.units),
        `activation=${act(c)}`,
        ...(className === 'SimpleRNN' ? [] : [`recurrent_activation=${act(c, 'recurrentActivation')}`]),
        `return_sequences=${py(Boolean(c.returnSequences))}`,
        // tfjs's GRU is Keras's reset_after=False (bias [3u]); our resetAfter GRU is Keras's default (bias [2, 3u])
        ...(className === 'GRU' ? [`reset_after=${py(c.resetAfter === true)}`] : []),
        useBias(c),
      ];
      if (!bidi) return { className, args: inner };
      return { className: `Bidirectional(${className})`, args: [`layers.${className}(${inner.join(', ')})`, `merge_mode=${py(l.config.mergeMode ?? 'concat')}`] };
    },
  };
}

/** Registry type -> keras.layers code (or why there is none). Input is written as keras.Input by the generator. */
export const KERAS_LAYERS: Record<string, Coverage<KerasLowering>> = {
  Input: simple('InputLayer'),
  Conv2D: simple('Conv2D', (c) => [String(c.filters), `kernel_size=${py(pair(c.kernelSize))}`, `strides=${py(pair(c.strides))}`, `padding=${py(c.padding)}`, `dilation_rate=${py(pair(c.dilationRate))}`, `activation=${act(c)}`, useBias(c)]),
  DepthwiseConv2D: simple('DepthwiseConv2D', (c) => [`kernel_size=${py(pair(c.kernelSize))}`, `strides=${py(pair(c.strides))}`, `padding=${py(c.padding)}`, `depth_multiplier=${py(c.depthMultiplier ?? 1)}`, `activation=${act(c)}`, useBias(c)]),
  Conv2DTranspose: simple('Conv2DTranspose', (c) => [String(c.filters), `kernel_size=${py(pair(c.kernelSize))}`, `strides=${py(pair(c.strides))}`, `padding=${py(c.padding)}`, `activation=${act(c)}`, useBias(c)]),
  MaxPool2D: simple('MaxPooling2D', (c) => [`pool_size=${py(pair(c.poolSize))}`, `strides=${py(pair(c.strides ?? c.poolSize))}`, `padding=${py(c.padding)}`]),
  AvgPool2D: simple('AveragePooling2D', (c) => [`pool_size=${py(pair(c.poolSize))}`, `strides=${py(pair(c.strides ?? c.poolSize))}`, `padding=${py(c.padding)}`]),
  GlobalAvgPool2D: simple('GlobalAveragePooling2D'),
  GlobalMaxPool2D: simple('GlobalMaxPooling2D'),
  GlobalAvgPool1D: simple('GlobalAveragePooling1D'),
  GlobalMaxPool1D: simple('GlobalMaxPooling1D'),
  Flatten: simple('Flatten'),
  Dense: simple('Dense', (c) => [String(c.units), `activation=${act(c)}`, useBias(c)]),
  Dropout: simple('Dropout', (c) => [String(c.rate ?? 0)]),
  BatchNormalization: simple('BatchNormalization', (c) => [`momentum=${py(c.momentum ?? 0.99)}`, `epsilon=${py(c.epsilon ?? 1e-3)}`, `center=${py(c.center !== false)}`, `scale=${py(c.scale !== false)}`]),
  LayerNormalization: simple('LayerNormalization', (c) => [`epsilon=${py(c.epsilon ?? 1e-3)}`, `center=${py(c.center !== false)}`, `scale=${py(c.scale !== false)}`]),
  Activation: simple('Activation', (c) => [act(c)]),
  Reshape: simple('Reshape', (_c, l) => [py([...l.outputShape])]),
  Permute: simple('Permute', (c) => [py(c.dims)]),
  UpSampling2D: simple('UpSampling2D', (c) => [`size=${py(pair(c.size, 2))}`, `interpolation=${py(c.interpolation ?? 'nearest')}`]),
  ZeroPadding2D: simple('ZeroPadding2D', (c) => [`padding=${py(Array.isArray(c.padding) ? c.padding : [[c.padding, c.padding], [c.padding, c.padding]])}`]),
  SimpleRNN: recurrent('SimpleRNN'),
  LSTM: recurrent('LSTM'),
  GRU: recurrent('GRU'),
  Embedding: simple('Embedding', (c) => [String(c.inputDim), String(c.outputDim)]),
  Add: simple('Add'),
  Subtract: simple('Subtract'),
  Multiply: simple('Multiply'),
  Average: simple('Average'),
  Maximum: simple('Maximum'),
  Minimum: simple('Minimum'),
  Concatenate: simple('Concatenate', (c) => [`axis=${py(c.axis ?? -1)}`]),
  MultiHeadAttention: {
    supported: (l) => {
      const c = l.config;
      return {
        className: 'MultiHeadAttention',
        args: [`num_heads=${py(c.numHeads)}`, `key_dim=${py(c.keyDim)}`, `value_dim=${py(Number(c.valueDim ?? c.keyDim) || c.keyDim)}`, `dropout=${py(c.dropout ?? 0)}`, `use_bias=${py(c.useBias !== false)}`],
        // Keras takes (query, value); self-attention passes the query twice
        call: (layer, [q, kv]) => `${layer}(${q}, ${kv ?? q}${c.causal ? ', use_causal_mask=True' : ''})`,
      };
    },
  },
  PositionalEmbedding: { supported: (l) => ({ className: 'PositionalEmbedding', args: [py(l.config.sequenceLength)], custom: 'PositionalEmbedding' }) },
  ReLU: simple('ReLU', (c) => [`max_value=${py(c.maxValue ?? null)}`, `negative_slope=${py(c.negativeSlope ?? 0)}`, `threshold=${py(c.threshold ?? 0)}`]),
  // the slope positionally: Keras 2 names it alpha, Keras 3 negative_slope
  LeakyReLU: simple('LeakyReLU', (c) => [py(c.alpha ?? 0.3)]),
  PReLU: simple('PReLU', (c) => (Array.isArray(c.sharedAxes) && c.sharedAxes.length ? [`shared_axes=${py([...(c.sharedAxes as number[])])}`] : [])),
  ELU: simple('ELU', (c) => [`alpha=${py(c.alpha ?? 1)}`]),
  Softmax: simple('Softmax', (c) => [`axis=${py(c.axis ?? -1)}`]),
  Conv1D: simple('Conv1D', (c) => [String(c.filters), `kernel_size=${py(pair(c.kernelSize)[0])}`, `strides=${py(pair(c.strides)[0])}`, `padding=${py(c.padding)}`, `dilation_rate=${py(pair(c.dilationRate)[0])}`, `activation=${act(c)}`, useBias(c)]),
  SeparableConv2D: simple('SeparableConv2D', (c) => [String(c.filters), `kernel_size=${py(pair(c.kernelSize))}`, `strides=${py(pair(c.strides))}`, `padding=${py(c.padding)}`, `dilation_rate=${py(pair(c.dilationRate))}`, `depth_multiplier=${py(c.depthMultiplier ?? 1)}`, `activation=${act(c)}`, useBias(c)]),
  MaxPool1D: simple('MaxPooling1D', (c) => [`pool_size=${py(pair(c.poolSize)[0])}`, `strides=${py(pair(c.strides ?? c.poolSize)[0])}`, `padding=${py(c.padding)}`]),
  AvgPool1D: simple('AveragePooling1D', (c) => [`pool_size=${py(pair(c.poolSize)[0])}`, `strides=${py(pair(c.strides ?? c.poolSize)[0])}`, `padding=${py(c.padding)}`]),
  ZeroPadding1D: simple('ZeroPadding1D', (c) => [`padding=${py(c.padding)}`]),
  Cropping1D: simple('Cropping1D', (c) => [`cropping=${py(c.cropping)}`]),
  Cropping2D: simple('Cropping2D', (c) => [`cropping=${py(c.cropping)}`]),
  UpSampling1D: simple('UpSampling1D', (c) => [`size=${py(c.size ?? 2)}`]),
  SpatialDropout1D: simple('SpatialDropout1D', (c) => [py(c.rate ?? 0)]),
  SpatialDropout2D: simple('SpatialDropout2D', (c) => [py(c.rate ?? 0)]),
  GaussianNoise: simple('GaussianNoise', (c) => [py(c.stddev ?? 0)]),
  GaussianDropout: simple('GaussianDropout', (c) => [py(c.rate ?? 0)]),
  RepeatVector: simple('RepeatVector', (c) => [py(c.n)]),
  Dot: simple('Dot', (c) => [`axes=${py(c.axes ?? -1)}`, `normalize=${py(Boolean(c.normalize))}`]),
  Rescaling: simple('Rescaling', (c) => [`scale=${py(c.scale ?? 1)}`, `offset=${py(c.offset ?? 0)}`]),
  // the statistics written as constants (Keras's Normalization(mean=…, variance=…) then has no weights to load)
  Normalization: {
    supported: (l) => ({
      className: 'Normalization',
      args: ['axis=-1', `mean=${pyList(requireWeight(l, 'mean').values)}`, `variance=${pyList(requireWeight(l, 'variance').values)}`],
      constantWeights: true,
    }),
  },
};

/** A Python list literal of float32 values (shortest repr that reads back as the same float32). */
function pyList(values: Float32Array): string {
  return `[${Array.from(values, (v) => String(Math.fround(v))).join(', ')}]`;
}

export { py as pyLiteral };

/** Classes and functions model.py defines itself, emitted when used. */
export const KERAS_CUSTOM: Record<string, string> = {
  _tfjs_relu6: `def _tfjs_relu6(x):
    """min(max(x, 0), 6) (tf.keras 2 has no 'relu6' name)."""
    return keras.activations.relu(x, max_value=6.0)`,
  _tfjs_hard_sigmoid: `def _tfjs_hard_sigmoid(x):
    """TensorFlow.js's (and Keras 2's) hard sigmoid, clip(0.2 x + 0.5, 0, 1); Keras 3's 'hard_sigmoid' is relu6(x + 3) / 6."""
    return keras.activations.relu(0.2 * x + 0.5, max_value=1.0)`,
  _tfjs_hard_sigmoid_keras3: `def _tfjs_hard_sigmoid_keras3(x):
    """Keras 3's 'hard_sigmoid', relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1) (Keras 2's 'hard_sigmoid' is clip(0.2 x + 0.5, 0, 1))."""
    return keras.activations.relu(x + 3.0, max_value=6.0) / 6.0`,
  _tfjs_hard_swish: `def _tfjs_hard_swish(x):
    """x * relu6(x + 3) / 6: Keras 3's 'hard_silu' (tf.keras 2 has no such name)."""
    return x * keras.activations.relu(x + 3.0, max_value=6.0) / 6.0`,
  _tfjs_mish: `def _tfjs_mish(x):
    """x * tanh(softplus(x))."""
    return x * keras.activations.tanh(keras.activations.softplus(x))`,
  PositionalEmbedding: `class PositionalEmbedding(layers.Layer):
    """Adds a learned vector per position (weight 'embeddings' [sequence_length, D]) to a [N, T, D] input."""

    def __init__(self, sequence_length, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length

    def build(self, input_shape):
        self.embeddings = self.add_weight(name='embeddings', shape=(self.sequence_length, input_shape[-1]), initializer='glorot_uniform')

    def call(self, x):
        return x + self.embeddings

    def get_config(self):
        return {**super().get_config(), 'sequence_length': self.sequence_length}`,
};
