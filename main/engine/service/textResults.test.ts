/** toEvaluation for labelled text: the misclassified test texts, most confident first, each cut to about 500 characters. */
import { describe, expect, it } from 'vitest';
import type { TextData } from '../datasets/types';
import { shownText, toEvaluation } from '../service';
import type { EvaluationResult } from '../training/types';

const classNames = ['food', 'love', 'sports'];
const result = (predictions: EvaluationResult['predictions'], task: EvaluationResult['task'] = 'classification'): EvaluationResult => ({
  split: 'test', task, count: predictions!.truth.length, loss: 1, accuracy: 0.5, metrics: { accuracy: 0.5 }, classNames, perClassAccuracy: [1, 0, 0],
  confusion: [[1, 0, 0], [1, 0, 0], [0, 1, 1]], imagesPerSecond: 1, predictions,
});
const long = `${'Eat your greens.\n'.repeat(40)}`;
const text = (texts: string[]): TextData => ({
  kind: 'text', seqLen: 8, tokenizer: { format: 'layerforge-tokenizer', version: 1, kind: 'char', tokens: [] } as never,
  testTexts: texts.map((t, i) => ({ text: t, source: `file:${i + 1}` })),
});

describe('misclassified test texts', () => {
  it('lists only the misclassified ones, most confident first, with true and predicted class names and the text (line breaks kept)', () => {
    const r = result({ truth: [0, 1, 2, 2], predicted: [0, 0, 1, 2], confidence: [0.9, 0.6, 0.8, 0.7] });
    const e = toEvaluation(r, undefined, text(['Pie.', 'Kiss\nme.\n\n', 'Goal!', 'Ball.']));
    expect(e.texts).toEqual({
      total: 2,
      items: [
        { index: 2, text: 'Goal!', source: 'file:3', truth: 'sports', predicted: 'love', confidence: 0.8 },
        { index: 1, text: 'Kiss\nme.', source: 'file:2', truth: 'love', predicted: 'food', confidence: 0.6 },
      ],
    });
  });

  it('cuts long texts at 500 characters (whole code points) and ends them in …; keeps at most 50', () => {
    expect(long.length).toBeGreaterThan(500);
    const cut = shownText(long);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.length).toBeLessThanOrEqual(501);
    expect(long.startsWith(cut.slice(0, -1))).toBe(true);
    const emoji = '😀'.repeat(600);
    expect([...shownText(emoji)]).toHaveLength(501);
    const n = 80;
    const r = result({ truth: new Array<number>(n).fill(0), predicted: new Array<number>(n).fill(1), confidence: Array.from({ length: n }, (_, i) => i / n) });
    const e = toEvaluation(r, undefined, text(Array.from({ length: n }, () => long)));
    expect(e.texts!.total).toBe(n);
    expect(e.texts!.items).toHaveLength(50);
    expect(e.texts!.items[0]!.index).toBe(n - 1);
  });

  it('needs predictions, the test texts and a classification; stops where the test texts end', () => {
    expect(toEvaluation({ ...result({ truth: [0], predicted: [1], confidence: [1] }), predictions: undefined }, undefined, text(['x'])).texts).toBeUndefined();
    expect(toEvaluation(result({ truth: [0], predicted: [1], confidence: [1] }), undefined, undefined).texts).toBeUndefined();
    expect(toEvaluation(result({ truth: [0, 0], predicted: [1, 1], confidence: [1, 1] }), undefined, text(['only one'])).texts?.items).toHaveLength(1);
    expect(toEvaluation(result({ truth: [0], predicted: [1] }, 'regression'), undefined, text(['x'])).texts).toBeUndefined();
  });
});
