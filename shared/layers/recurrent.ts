import { defineLayer, type AnyLayerDef, type Shape, type TfActivation, tfActivation } from './define';
import { activation, bool, choice, int } from './params';
import { expectRank } from './shapeUtils';

const isBidirectional = (p: Readonly<Record<string, unknown>>) => p.bidirectional === true;

/**
 * The gate activations of LSTM and GRU, by their tfjs names: 'hardSigmoid' is tfjs's and Keras 2's
 * hard_sigmoid, clip(0.2x + 0.5, 0, 1); 'hardSigmoidKeras3' is Keras 3's hard_sigmoid (and PyTorch's
 * Hardsigmoid), relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1), which tfjs lacks: the engine registers it.
 */
export const RECURRENT_ACTIVATIONS = ['sigmoid', 'hardSigmoid', 'hardSigmoidKeras3'] as const;
export type RecurrentActivation = (typeof RECURRENT_ACTIVATIONS)[number];

/**
 * SimpleRNN, LSTM and GRU differ only in their number of gates (1, 4, 3) and tfjs factory. tfjs's GRU
 * is the Keras 1 variant (reset_after = false): 3 × (units × (F + units) + units) weights; the GRU's
 * resetAfter param (Keras 2+'s default, PyTorch's and cuDNN's GRU) adds a recurrent bias (3 × units more)
 * and is our own tfjs layer (main/engine/compile/custom/gru.ts). LSTM and GRU gates use the standard
 * sigmoid by default (Keras 2.3+'s and PyTorch's); recurrentActivation picks a hard sigmoid instead, for
 * models made with it (tfjs's own default, Keras before 2.3): Keras 2's / tfjs's clip(0.2x + 0.5, 0, 1), or
 * Keras 3's relu6(x + 3) / 6 (an activation the engine registers with tfjs, main/engine/compile/custom).
 * The recurrent kernel starts glorot-uniform, not Keras's orthogonal: tfjs computes orthogonal matrices
 * with a pure-JS QR that takes ~3.5 s for 64 LSTM units and ~36 s for 128 on the cpu backend.
 */
function recurrentLayer(opts: {
  type: 'SimpleRNN' | 'LSTM' | 'GRU';
  label: string;
  description: string;
  namePrefix: string;
  gates: number;
  factory: 'simpleRNN' | 'lstm' | 'gru';
}): AnyLayerDef {
  const outWidth = (p: { units: number; bidirectional: boolean; mergeMode: string }) =>
    p.bidirectional && p.mergeMode === 'concat' ? 2 * p.units : p.units;
  const resetAfter = (p: object) => (p as { resetAfter?: unknown }).resetAfter === true;
  const recurrentActivation = (p: object): RecurrentActivation => {
    const a = (p as { recurrentActivation?: unknown }).recurrentActivation;
    return (RECURRENT_ACTIVATIONS as readonly unknown[]).includes(a) ? (a as RecurrentActivation) : 'sigmoid';
  };
  const gateSummary = (p: object) => ({ sigmoid: '', hardSigmoid: ' · hard σ', hardSigmoidKeras3: ' · hard σ (Keras 3)' })[recurrentActivation(p)];
  return defineLayer({
    type: opts.type,
    category: 'Recurrent',
    label: opts.label,
    description: opts.description,
    namePrefix: opts.namePrefix,
    params: {
      units: int(64, { min: 1, max: 65_536, description: 'Size of the hidden state.' }),
      activation: activation('tanh'),
      ...(opts.type === 'SimpleRNN'
        ? {}
        : {
            recurrentActivation: choice(RECURRENT_ACTIVATIONS, 'sigmoid', {
              label: 'gate activation',
              description:
                "The gates' activation. sigmoid: Keras 2.3+'s and PyTorch's. hardSigmoid = clip(0.2x + 0.5, 0, 1): TensorFlow.js's default and Keras 2's hard_sigmoid (Keras's default before 2.3). hardSigmoidKeras3 = relu6(x + 3) / 6: Keras 3's hard_sigmoid.",
            }),
          }),
      returnSequences: bool(false, { description: 'Output every step (T×units) instead of the last step only.' }),
      bidirectional: bool(false, { description: 'Also run the sequence backwards and merge both directions.' }),
      mergeMode: choice(['concat', 'sum', 'mul', 'ave'], 'concat', {
        when: isBidirectional,
        description: 'How the two directions are merged (concat doubles the output width).',
      }),
      ...(opts.type === 'GRU'
        ? {
            resetAfter: bool(false, {
              description: "Apply the reset gate after the recurrent product, with a second bias: Keras 2+'s default (reset_after=True), PyTorch's and cuDNN's GRU. Off: TensorFlow.js's GRU (Keras 1).",
            }),
          }
        : {}),
    },
    inputs: { min: 1, max: 1 },
    outputShape: ([inp], p): Shape => {
      expectRank(inp!, 2, 'a sequence (T×F)');
      const w = outWidth(p);
      return p.returnSequences ? [inp![0]!, w] : [w];
    },
    paramCount: ([inp], p) => (p.bidirectional ? 2 : 1) * (opts.gates * (p.units * (inp![1]! + p.units) + p.units) + (resetAfter(p) ? opts.gates * p.units : 0)),
    flops: ([inp], p) => (p.bidirectional ? 2 : 1) * inp![0]! * 2 * opts.gates * p.units * (inp![1]! + p.units + 1),
    build: ({ tf, custom }, p, name) => {
      const args = {
        units: p.units,
        activation: tfActivation(p.activation),
        returnSequences: p.returnSequences,
        recurrentInitializer: 'glorotUniform' as const,
        ...(opts.type === 'SimpleRNN' ? {} : { recurrentActivation: recurrentActivation(p) as TfActivation }),
      };
      const make = (layerName: string) =>
        resetAfter(p)
          ? custom.gru({ name: layerName, ...args, resetAfter: true })
          : opts.type === 'LSTM'
            ? custom.lstm({ name: layerName, ...args }) // tfjs's LSTM, run fused where it can (main/engine/compile/custom/lstm.ts)
            : opts.type === 'GRU'
              ? custom.gru({ name: layerName, ...args, resetAfter: false }) // tfjs's GRU, run fused where it can (compile/custom/gru.ts)
              : tf.layers[opts.factory]({ name: layerName, ...args });
      if (!p.bidirectional) return make(name);
      const inner = make(`${name}_cell`);
      return tf.layers.bidirectional({ name, layer: inner as never, mergeMode: p.mergeMode });
    },
    summary: (p) =>
      `${p.units}${p.returnSequences ? ' · seq' : ''}${p.bidirectional ? ` · bi-${p.mergeMode}` : ''}${resetAfter(p) ? ' · reset after' : ''}${opts.type === 'SimpleRNN' ? '' : gateSummary(p)}`,
  });
}

export const simpleRnn = recurrentLayer({
  type: 'SimpleRNN',
  label: 'Simple RNN',
  description: 'A plain recurrent layer: reads a sequence step by step, carrying one hidden state.',
  namePrefix: 'simple_rnn',
  gates: 1,
  factory: 'simpleRNN',
});

export const lstm = recurrentLayer({
  type: 'LSTM',
  label: 'LSTM',
  description: 'Long short-term memory: a gated recurrent layer that keeps information over long sequences.',
  namePrefix: 'lstm',
  gates: 4,
  factory: 'lstm',
});

export const gru = recurrentLayer({
  type: 'GRU',
  label: 'GRU',
  description: 'Gated recurrent unit: a lighter gated recurrent layer than LSTM, often as good.',
  namePrefix: 'gru',
  gates: 3,
  factory: 'gru',
});
