import type { Category } from '../../../shared/layers';

/** One hue per registry category, used on nodes, the palette and the minimap. */
export const CATEGORY_COLORS: Record<Category, string> = {
  Input: '#0284c7',
  Convolution: '#4f46e5',
  Pooling: '#7c3aed',
  Core: '#059669',
  Activation: '#ca8a04',
  Normalization: '#d97706',
  Regularization: '#64748b',
  Reshaping: '#0d9488',
  Recurrent: '#db2777',
  Attention: '#ea580c',
  Embedding: '#65a30d',
  Merge: '#c026d3',
};

export function categoryColor(category: string | undefined): string {
  return (category && CATEGORY_COLORS[category as Category]) || '#64748b';
}
