import { defineLayer, type Shape } from './define';
import { choice, int } from './params';
import { formatShape } from './shapeUtils';

const isImage = (p: Readonly<Record<string, unknown>>) => p.kind === 'image';
const isSequence = (p: Readonly<Record<string, unknown>>) => p.kind === 'sequence';
const hasFeatures = (p: Readonly<Record<string, unknown>>) => p.kind === 'sequence' || p.kind === 'features';
const isTokens = (p: Readonly<Record<string, unknown>>) => p.kind === 'tokens';

/** Per-sample shape an Input node declares. */
export function inputShapeOf(p: { kind: string; height: number; width: number; channels: number; timesteps: number; features: number; length: number }): Shape {
  if (p.kind === 'image') return [p.height, p.width, p.channels];
  if (p.kind === 'sequence') return [p.timesteps, p.features];
  if (p.kind === 'features') return [p.features];
  return [p.length];
}

export const input = defineLayer({
  type: 'Input',
  category: 'Input',
  label: 'Input',
  description: 'Where data enters the model: an image (H×W×C), a sequence (T×F), a sequence of token ids (T) or a feature vector (N, a table row).',
  namePrefix: 'input',
  params: {
    kind: choice(['image', 'sequence', 'tokens', 'features'], 'image', { description: 'What one sample is.' }),
    height: int(32, { min: 1, max: 4096, when: isImage }),
    width: int(32, { min: 1, max: 4096, when: isImage }),
    channels: int(3, { min: 1, max: 4096, when: isImage }),
    timesteps: int(28, { min: 1, max: 100_000, when: isSequence, description: 'Sequence length T.' }),
    features: int(28, { min: 1, max: 1_000_000, when: hasFeatures, description: 'Features per step F (sequence) or per sample N (feature vector).' }),
    length: int(64, { min: 1, max: 100_000, when: isTokens, description: 'Tokens per sample T.' }),
  },
  inputs: { min: 0, max: 0 },
  outputShape: (_inputs, p) => inputShapeOf(p),
  paramCount: () => 0,
  flops: () => 0,
  build: () => {
    throw new Error('Input nodes are made by the engine with tf.input, not built as layers.');
  },
  summary: (p) => `${p.kind} · ${formatShape(inputShapeOf(p))}`,
});
