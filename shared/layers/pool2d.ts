import type { Tf, TfLayer } from './define';
import { defineLayer } from './define';
import { choice, int } from './params';
import { checkWindow, convOutputLength, expectRank } from './shapeUtils';

/** What differs between the 2-D pooling layers; everything else (params, shapes, FLOPs) is shared. */
interface Pool2dKind {
  type: string;
  label: string;
  description: string;
  namePrefix: string;
  make: (tf: Tf) => (config: { name: string; poolSize: number; strides: number; padding: 'valid' | 'same' }) => TfLayer;
}

export function definePool2d(kind: Pool2dKind) {
  return defineLayer({
    type: kind.type,
    category: 'Pooling',
    label: kind.label,
    description: kind.description,
    namePrefix: kind.namePrefix,
    params: {
      poolSize: int(2, { min: 1, max: 255 }),
      strides: int(0, { min: 0, max: 255, description: '0 means "same as poolSize".' }),
      padding: choice(['valid', 'same'], 'valid'),
    },
    inputs: { min: 1, max: 1 },
    outputShape: ([inp], p) => {
      expectRank(inp!, 3, 'an image (H×W×C)');
      checkWindow(inp!, p.poolSize, 'poolSize', p.padding);
      const s = p.strides || p.poolSize;
      return [convOutputLength(inp![0]!, p.poolSize, p.padding, s), convOutputLength(inp![1]!, p.poolSize, p.padding, s), inp![2]!];
    },
    paramCount: () => 0,
    flops: (_i, p, out) => out[0]! * out[1]! * out[2]! * p.poolSize * p.poolSize,
    build: ({ tf }, p, name) => kind.make(tf)({ name, poolSize: p.poolSize, strides: p.strides || p.poolSize, padding: p.padding }),
    summary: (p) => `${p.poolSize}x${p.poolSize}${p.strides && p.strides !== p.poolSize ? ` /${p.strides}` : ''}`,
  });
}
