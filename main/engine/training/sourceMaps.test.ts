import { describe, expect, it } from 'vitest';
import { withoutSourceMaps } from './sourceMaps';

function fakeProcess(enabled: boolean | undefined, env: Record<string, string | undefined> = {}) {
  const calls: boolean[] = [];
  const proc = {
    sourceMapsEnabled: enabled,
    env,
    setSourceMapsEnabled(on: boolean) {
      calls.push(on);
      proc.sourceMapsEnabled = on;
    },
  };
  return { proc, calls };
}

describe('withoutSourceMaps', () => {
  it('turns source maps off while loading and back on after, also when loading throws', async () => {
    const { proc, calls } = fakeProcess(true);
    let during: boolean | undefined;
    expect(
      await withoutSourceMaps(async () => {
        during = proc.sourceMapsEnabled;
        return 7;
      }, proc),
    ).toBe(7);
    expect(during).toBe(false);
    expect(proc.sourceMapsEnabled).toBe(true);
    await expect(withoutSourceMaps(() => Promise.reject(new Error('no backend')), proc)).rejects.toThrow('no backend');
    expect(proc.sourceMapsEnabled).toBe(true);
    expect(calls).toEqual([false, true, false, true]);
  });

  it('leaves them alone when they are off or unknown, or with LAYERFORGE_TFJS_SOURCE_MAPS=1', async () => {
    for (const [enabled, env] of [[false, {}], [undefined, {}], [true, { LAYERFORGE_TFJS_SOURCE_MAPS: '1' }]] as const) {
      const { proc, calls } = fakeProcess(enabled, env);
      expect(await withoutSourceMaps(async () => proc.sourceMapsEnabled, proc)).toBe(enabled);
      expect(calls).toEqual([]);
    }
  });
});
