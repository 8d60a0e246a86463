import { defineLayer, ShapeError } from './define';
import { bool, float, int } from './params';
import { expectRank, formatShape } from './shapeUtils';

/**
 * Keras-style multi-head attention (our custom tfjs layer, main/engine/compile/custom). One input:
 * self-attention; two: the first is the query, the second the key/value sequence (cross-attention).
 * Output has the query's shape [Tq, D].
 */
export const multiHeadAttention = defineLayer({
  type: 'MultiHeadAttention',
  category: 'Attention',
  label: 'Multi-Head Attention',
  description: 'Each position attends to every position of the key/value sequence (itself when there is one input).',
  namePrefix: 'multi_head_attention',
  params: {
    numHeads: int(4, { min: 1, max: 256, description: 'Number of attention heads.' }),
    keyDim: int(16, { min: 1, max: 4096, description: 'Size of each head for query and key.' }),
    valueDim: int(0, { min: 0, max: 4096, description: 'Size of each head for value; 0 means "same as keyDim".' }),
    dropout: float(0, { min: 0, max: 0.99, description: 'Dropout on the attention weights while training.' }),
    causal: bool(false, { description: 'Each position sees only itself and earlier positions (for decoders).' }),
    useBias: bool(true),
  },
  inputs: { min: 1, max: 2, names: ['query', 'key/value'] },
  outputShape: (inputs) => {
    expectRank(inputs[0]!, 2, 'a query sequence (T×D)', 0);
    if (inputs.length > 1) {
      const kv = inputs[1]!;
      if (kv.length !== 2) {
        throw new ShapeError(`expects a key/value sequence (T×D), got ${kv.length === 0 ? 'a scalar' : formatShape(kv)}`, undefined, 1);
      }
    }
    return inputs[0]!;
  },
  paramCount: (inputs, p) => {
    const d = inputs[0]![1]!;
    const dk = (inputs[1] ?? inputs[0])![1]!;
    const vd = p.valueDim || p.keyDim;
    const h = p.numHeads;
    const b = p.useBias ? 1 : 0;
    return (d * h * p.keyDim + b * h * p.keyDim) + (dk * h * p.keyDim + b * h * p.keyDim) + (dk * h * vd + b * h * vd) + (h * vd * d + b * d);
  },
  flops: (inputs, p) => {
    const [tq, d] = inputs[0]!;
    const [tk, dk] = (inputs[1] ?? inputs[0])!;
    const vd = p.valueDim || p.keyDim;
    const h = p.numHeads;
    const proj = 2 * (tq! * d! * h * p.keyDim + tk! * dk! * h * (p.keyDim + vd) + tq! * h * vd * d!);
    const attn = 2 * h * tq! * tk! * (p.keyDim + vd);
    return proj + attn;
  },
  build: ({ custom }, p, name) =>
    custom.multiHeadAttention({
      name,
      numHeads: p.numHeads,
      keyDim: p.keyDim,
      valueDim: p.valueDim || p.keyDim,
      dropout: p.dropout,
      causal: p.causal,
      useBias: p.useBias,
    }),
  summary: (p) => `${p.numHeads}×${p.keyDim}${p.causal ? ' · causal' : ''}`,
});

/** A learned vector per position, added to the input sequence (which must have sequenceLength steps). */
export const positionalEmbedding = defineLayer({
  type: 'PositionalEmbedding',
  category: 'Embedding',
  label: 'Positional Embedding',
  description: 'Adds a learned vector per position to a T×D sequence, so attention layers know the order of tokens.',
  namePrefix: 'positional_embedding',
  params: {
    sequenceLength: int(64, { min: 1, max: 100_000, description: 'Number of positions T; must equal the input length.' }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    expectRank(inp!, 2, 'a sequence (T×D)');
    if (inp![0] !== p.sequenceLength) {
      throw new ShapeError(`sequenceLength ${p.sequenceLength} does not match the input's ${inp![0]} steps (${formatShape(inp!)})`, 'sequenceLength');
    }
    return inp!;
  },
  paramCount: ([inp]) => inp![0]! * inp![1]!,
  flops: ([inp]) => inp![0]! * inp![1]!,
  build: ({ custom, inputShapes }, p, name) =>
    custom.positionalEmbedding({ name, sequenceLength: p.sequenceLength, outputDim: inputShapes[0]![1]! }),
  summary: (p) => `${p.sequenceLength}`,
});
