import { describe, expect, it } from 'vitest';
import { WORKER_YOUNG_GENERATION_MB, workerHeapLimits } from './workerHeap';

describe('the training worker heap limits', () => {
  it('a 12 MB young generation unless LAYERFORGE_WORKER_YOUNG_MB says otherwise (0: V8 default); a bad value is named', () => {
    expect(WORKER_YOUNG_GENERATION_MB).toBe(12);
    expect(workerHeapLimits({})).toEqual({ maxYoungGenerationSizeMb: 12 });
    expect(workerHeapLimits({ LAYERFORGE_WORKER_YOUNG_MB: '24' })).toEqual({ maxYoungGenerationSizeMb: 24 });
    expect(workerHeapLimits({ LAYERFORGE_WORKER_YOUNG_MB: '0' })).toEqual({});
    expect(() => workerHeapLimits({ LAYERFORGE_WORKER_YOUNG_MB: 'lots' })).toThrow(/LAYERFORGE_WORKER_YOUNG_MB must be a number of MB .* got 'lots'/);
  });
});
