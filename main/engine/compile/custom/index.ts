import type { CustomLayerFactories, Tf } from '../../../../shared/layers';

/**
 * Our own tfjs layers (MultiHeadAttention, PositionalEmbedding), registered with tfjs's serialization
 * so saved models load back. Filled in by the registry work; until then using one throws.
 */
export function customLayerFactories(_tf: Tf): CustomLayerFactories {
  const missing = (what: string) => () => {
    throw new Error(`${what} is not implemented yet`);
  };
  return { multiHeadAttention: missing('MultiHeadAttention'), positionalEmbedding: missing('PositionalEmbedding') };
}
