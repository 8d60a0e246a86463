import { describe, expect, it } from 'vitest';
import type { AttentionLayerMap, RunDetail } from '../../../shared/api';
import { attentionAvailability, chosenMap, exampleText, formatWeight, heatmapScale, shortLabel } from './attentionView';

const node = (type: string, params: Record<string, unknown> = {}) => ({ id: type, type, name: type, params, position: { x: 0, y: 0 } }) as RunDetail['graph']['nodes'][number];

describe('attention panel (pure parts)', () => {
  it('is offered to runs reading tokens, said unavailable without attention or a model', () => {
    const graph = (...nodes: RunDetail['graph']['nodes']) => ({ nodes, edges: [] });
    expect(attentionAvailability({ graph: graph(node('Input', { kind: 'image' }), node('MultiHeadAttention')), hasModel: true })).toBe('not-text');
    expect(attentionAvailability({ graph: graph(node('Input', { kind: 'tokens', length: 8 }), node('LSTM')), hasModel: true })).toBe('no-attention');
    expect(attentionAvailability({ graph: graph(node('Input', { kind: 'tokens', length: 8 }), node('MultiHeadAttention')), hasModel: false })).toBe('no-model');
    expect(attentionAvailability({ graph: graph(node('Input', { kind: 'tokens', length: 8 }), node('MultiHeadAttention')), hasModel: true })).toBe('ok');
  });

  it('starts from a misclassified test text, else the newest epoch sample, cut at a word near 240 characters', () => {
    const texts = { total: 1, items: [{ index: 0, truth: 'a', predicted: 'b', confidence: 0.9, text: 'word '.repeat(100) }] };
    const fromTexts = exampleText({ evaluation: { texts } as RunDetail['evaluation'], epochPoints: [] });
    expect(fromTexts.length).toBeLessThanOrEqual(240);
    expect(fromTexts.endsWith('word')).toBe(true);
    const points = [{ epoch: 1, loss: 1, lr: 0, elapsedMs: 0, sample: { prompt: 'The ', text: 'old' } }, { epoch: 2, loss: 1, lr: 0, elapsedMs: 0, sample: { prompt: 'The ', text: 'new' } }, { epoch: 3, loss: 1, lr: 0, elapsedMs: 0 }];
    expect(exampleText({ evaluation: undefined, epochPoints: points })).toBe('The new');
    expect(exampleText({ evaluation: undefined, epochPoints: [] })).toBe('');
  });

  it('picks a head or averages them, with the padding share', () => {
    const layer: AttentionLayerMap = { name: 'att', heads: 2, keyDim: 4, causal: false, weights: [[[1, 0], [0.5, 0.5]], [[0, 1], [0.25, 0.25]]], paddingWeight: [[0, 0], [0, 0.5]] };
    expect(chosenMap(layer, 1)).toEqual({ weights: [[0, 1], [0.25, 0.25]], padding: [0, 0.5] });
    expect(chosenMap(layer, 'mean')).toEqual({ weights: [[0.5, 0.5], [0.375, 0.375]], padding: [0, 0.25] });
  });

  it('shrinks cells and labels as texts grow, staying readable at 128 tokens', () => {
    expect(heatmapScale(8).cell).toBeGreaterThan(heatmapScale(128).cell);
    const big = heatmapScale(128);
    expect(big.cell * 128).toBeLessThanOrEqual(1200);
    expect(big.font).toBeGreaterThanOrEqual(8);
    expect(shortLabel('␣wonderfully', 8)).toBe('␣wonder…');
    expect(shortLabel('cat', 8)).toBe('cat');
    expect(formatWeight(0.12345)).toBe('0.123');
    expect(formatWeight(0.0001)).toBe('<0.001');
    expect(formatWeight(0)).toBe('0.000');
  });
});
