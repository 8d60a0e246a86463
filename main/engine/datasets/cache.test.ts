import { mkdtempSync, readdirSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheDamage, cacheDir, cacheFolderName, dataDir, readCache, readCacheMeta, writeCache } from './cache';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-cache-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const info = { id: 'x', name: 'X', inputShape: [1, 2, 1], classNames: ['a', 'b', 'c'], trainSize: 3, testSize: 1, license: '', homepage: '', downloadable: false };
const data = () => ({
  info,
  shape: [1, 2, 1] as [number, number, number],
  train: { count: 3, images: Uint8Array.of(1, 2, 3, 4, 5, 6), labels: Uint8Array.of(0, 2, 1) },
  test: { count: 1, images: Uint8Array.of(7, 8), labels: Uint16Array.of(2) },
});

describe('cache', () => {
  it('dataDir honours LAYERFORGE_DATA_DIR, else a per-user folder', () => {
    expect(dataDir({ LAYERFORGE_DATA_DIR: '/data/lf' })).toBe('/data/lf');
    expect(dataDir({})).toContain(homedir());
    expect(dataDir({})).toMatch(/layerforge/i);
  });

  it('round-trips a dataset and leaves no temporary files', async () => {
    const dir = cacheDir(root, 'x');
    await writeCache(dir, data());
    const ds = await readCache(dir, 'x');
    expect([...ds.train.images]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...ds.train.labels]).toEqual([0, 2, 1]);
    expect([...ds.test.labels]).toEqual([2]);
    expect(ds.info.status).toBe('ready');
    expect(readdirSync(dir).sort()).toEqual(['data.bin', 'meta.json']);
  });

  it('is not ready when meta.json is missing or data.bin is incomplete', async () => {
    const dir = cacheDir(root, 'x');
    await writeCache(dir, data());
    truncateSync(join(dir, 'data.bin'), 5);
    expect(await readCacheMeta(dir)).toBeUndefined();
    await expect(readCache(dir, 'x')).rejects.toThrow(/'x' is not ready/);
    await writeCache(dir, data());
    unlinkSync(join(dir, 'meta.json'));
    expect(await readCacheMeta(dir)).toBeUndefined();
  });

  it('a data file deleted or truncated after preparing is reported as damage naming the file, never read as an empty dataset', async () => {
    const dir = cacheDir(root, 'x');
    const file = join(dir, 'data.bin');
    await writeCache(dir, data());
    expect(await cacheDamage(dir)).toBeUndefined();
    unlinkSync(file);
    expect(await cacheDamage(dir)).toEqual({ info: expect.objectContaining({ id: 'x' }), problem: `${file} is missing (deleted since the dataset was prepared)` });
    await expect(readCache(dir, 'x')).rejects.toThrow(`Dataset 'x' is not ready: ${file} is missing (deleted since the dataset was prepared). Prepare (download) or import it again.`);
    await writeCache(dir, data());
    truncateSync(file, 0);
    expect((await cacheDamage(dir))?.problem).toMatch(/data\.bin has 0 bytes but \d+ were written \(truncated or changed since the dataset was prepared\)$/);
    await expect(readCache(dir, 'x')).rejects.toThrow(/'x' is not ready: .*data\.bin has 0 bytes/);
    // Never written (no meta.json): not damage, just not prepared.
    expect(await cacheDamage(cacheDir(root, 'never'))).toBeUndefined();
  });

  it('a failed write un-readies the old cache and cleans up', async () => {
    const dir = cacheDir(root, 'x');
    await writeCache(dir, data());
    const bad = data();
    bad.train.labels = Uint8Array.of(0, 9, 1); // label out of range
    await expect(writeCache(dir, bad)).rejects.toThrow(/Label 9 is out of range/);
    expect(await readCacheMeta(dir)).toBeUndefined();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const short = data();
    short.train.images = Uint8Array.of(1);
    await expect(writeCache(dir, short)).rejects.toThrow(/train split: 1 image bytes, expected 3 x 1x2x1/);
  });

  it('rejects unsafe ids', () => {
    expect(cacheFolderName('folder:pets')).toBe('folder-pets');
    expect(() => cacheFolderName('../x')).toThrow(/Invalid dataset id/);
    expect(() => cacheFolderName('a/b')).toThrow(/Invalid dataset id/);
  });
});
