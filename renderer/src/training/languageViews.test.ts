import { describe, expect, it } from 'vitest';
import type { EpochPoint } from '../../../shared/api';
import { samplesNewestFirst, visibleText } from './LanguageViews';

const point = (epoch: number, sample?: EpochPoint['sample']): EpochPoint => ({ epoch, loss: 1, lr: 0.001, elapsedMs: 0, ...(sample ? { sample } : {}) });

describe('language-model views (pure parts)', () => {
  it('lists the epochs that wrote a sample, newest first, without changing the run', () => {
    const points = [point(1, { prompt: 'The ', text: 'a' }), point(2), point(3, { prompt: 'The ', text: 'c' })];
    expect(samplesNewestFirst(points).map((p) => p.epoch)).toEqual([3, 1]);
    expect(points.map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(samplesNewestFirst([])).toEqual([]);
  });

  it('shows control characters as their symbols and keeps line breaks and tabs', () => {
    expect(visibleText('beep\u0007 and\fpage\u007f')).toBe('beep\u2407 and\u240cpage\u2421');
    expect(visibleText('line one\r\n\tline two\rthree\n')).toBe('line one\n\tline two\u240dthree\n');
    expect(visibleText('plain text, ünïcode')).toBe('plain text, ünïcode');
  });
});
