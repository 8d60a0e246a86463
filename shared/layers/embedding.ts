import { defineLayer, ShapeError } from './define';
import { choice, int } from './params';
import { expectRank, formatShape } from './shapeUtils';

export const embedding = defineLayer({
  type: 'Embedding',
  category: 'Embedding',
  label: 'Embedding',
  description: 'Turns token ids (0 … vocabulary-1) into learned vectors: a sequence of T ids becomes T×outputDim.',
  namePrefix: 'embedding',
  params: {
    inputDim: int(1000, { min: 1, max: 10_000_000, label: 'vocabulary', description: 'Vocabulary size: ids run from 0 to inputDim-1.' }),
    outputDim: int(64, { min: 1, max: 65_536, description: 'Length of each token vector.' }),
    initializer: choice(['uniform', 'normal'], 'uniform', {
      label: 'initial vectors',
      description:
        "uniform: Keras's default, U(−0.05, 0.05). normal: N(0, 1), PyTorch's default: token vectors as large as what the blocks add to them, which a pre-norm Transformer learns from much faster.",
    }),
  },
  inputs: { min: 1, max: 1 },
  outputShape: ([inp], p) => {
    if (inp!.length !== 1) {
      throw new ShapeError(`expects a token sequence (T ids), got ${inp!.length === 0 ? 'a scalar' : formatShape(inp!)}: use an Input of kind 'tokens'`);
    }
    expectRank(inp!, 1, 'a token sequence (T)');
    return [inp![0]!, p.outputDim];
  },
  paramCount: (_i, p) => p.inputDim * p.outputDim,
  flops: () => 0,
  build: ({ tf }, p, name) =>
    tf.layers.embedding({
      name,
      inputDim: p.inputDim,
      outputDim: p.outputDim,
      ...(p.initializer === 'normal' ? { embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1 }) } : {}),
    }),
  summary: (p) => `${p.inputDim} → ${p.outputDim}`,
});
