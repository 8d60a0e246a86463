/** The pure parts of the Attention panel (AttentionPanel.tsx): which runs have one, the map a choice shows, its layout. */
import type { AttentionLayerMap, RunDetail } from '../../../shared/api';

/** Why a run's dashboard shows the panel without a heatmap: 'not-text' hides it, the others are said inline. */
export type AttentionAvailability = 'ok' | 'not-text' | 'no-attention' | 'no-model';

/** A run reading token ids has the panel; it works when its model has attention layers and is trained. */
export function attentionAvailability(run: Pick<RunDetail, 'graph' | 'hasModel'>): AttentionAvailability {
  const input = run.graph.nodes.find((n) => n.type === 'Input');
  if (input?.params.kind !== 'tokens') return 'not-text';
  if (!run.graph.nodes.some((n) => n.type === 'MultiHeadAttention')) return 'no-attention';
  return run.hasModel ? 'ok' : 'no-model';
}

/** The text the panel starts with: a misclassified test text (classifiers) or the newest epoch sample (language models), cut to ~240 characters. */
export function exampleText(run: Pick<RunDetail, 'evaluation' | 'epochPoints'>): string {
  const cut = (t: string) => {
    if (t.length <= 240) return t;
    const at = t.lastIndexOf(' ', 240);
    return t.slice(0, at > 120 ? at : 240);
  };
  const wrong = run.evaluation?.texts?.items[0]?.text;
  if (wrong) return cut(wrong);
  for (let i = run.epochPoints.length - 1; i >= 0; i--) {
    const s = run.epochPoints[i]!.sample;
    if (s) return cut(s.prompt + s.text);
  }
  return '';
}

/** One head's weights, or the mean of the heads ('mean'); with the padding's share per query row. */
export function chosenMap(layer: AttentionLayerMap, head: number | 'mean'): { weights: number[][]; padding: number[] } {
  if (head !== 'mean') return { weights: layer.weights[head] ?? [], padding: layer.paddingWeight[head] ?? [] };
  const h = layer.weights.length || 1;
  const n = layer.weights[0]?.length ?? 0;
  return {
    weights: Array.from({ length: n }, (_, q) => Array.from({ length: n }, (_, k) => layer.weights.reduce((a, w) => a + (w[q]?.[k] ?? 0), 0) / h)),
    padding: Array.from({ length: n }, (_, q) => layer.paddingWeight.reduce((a, p) => a + (p[q] ?? 0), 0) / h),
  };
}

/** Cell size (px) and label font size for n tokens: large cells for short texts, shrinking to stay within ~1,200px at 128 tokens. */
export function heatmapScale(n: number): { cell: number; font: number; maxChars: number } {
  const cell = n <= 12 ? 28 : n <= 24 ? 22 : n <= 48 ? 18 : n <= 80 ? 13 : 9;
  return { cell, font: Math.max(8, Math.min(13, Math.round(cell * 0.7))), maxChars: n <= 48 ? 12 : 8 };
}

/** A token label no longer than maxChars characters (code points), with '…' when cut. */
export function shortLabel(token: string, maxChars: number): string {
  const chars = [...token];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : token;
}

/** A weight as the panel writes it: 3 decimals, or '<0.001' for a tiny but non-zero one. */
export function formatWeight(v: number): string {
  if (v > 0 && v < 0.0005) return '<0.001';
  return v.toFixed(3);
}
