import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatasetRegistry } from '../index';
import { createTar } from '../tar';
import { decodeImage, resizeInto } from './image';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-folder-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A solid-colour w x h PNG. */
function png(w: number, h: number, rgb: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], i * 4);
  return PNG.sync.write(p);
}
function jpg(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}
const COLORS: Record<string, [number, number, number]> = { cat: [200, 30, 30], dog: [30, 200, 30], fish: [30, 30, 200] };

function makeTree(base: string, perClass: number, opts: { bad?: boolean } = {}) {
  for (const [c, rgb] of Object.entries(COLORS)) {
    mkdirSync(join(base, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      writeFileSync(join(base, c, `${i}.${i % 2 ? 'jpg' : 'png'}`), i % 2 ? jpg(8, 6, rgb) : png(8, 6, rgb));
    }
  }
  if (opts.bad) {
    writeFileSync(join(base, 'cat', 'broken.jpg'), Buffer.from('this is not a jpeg'));
    writeFileSync(join(base, 'dog', 'notes.txt'), 'ignored: not an image name');
  }
}

describe('image decode and resize', () => {
  it('bilinear resize keeps solid colours and interpolates a gradient', () => {
    const img = decodeImage(png(8, 6, [10, 20, 30]));
    expect([img.width, img.height, img.channels]).toEqual([8, 6, 4]);
    const out = new Uint8Array(4 * 4 * 3);
    resizeInto(img, 4, 4, 3, out, 0);
    expect([...out.subarray(0, 6)]).toEqual([10, 20, 30, 10, 20, 30]);
    // 2x1 grey image [0, 255] -> 4 wide: half-pixel centres give 0, 64, 191, 255
    const g = { width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 255) };
    const o = new Uint8Array(4);
    resizeInto(g, 1, 4, 1, o, 0);
    expect([...o]).toEqual([0, 64, 191, 255]);
    // RGB -> grey uses luma weights
    const one = new Uint8Array(1);
    resizeInto({ width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) }, 1, 1, 1, one, 0);
    expect(one[0]).toBe(76);
    expect(() => decodeImage(Buffer.from('GIF89a....'))).toThrow(/not a JPEG or PNG/);
  });
});

describe('image folder import', () => {
  it('uses train/ and test/ folders, resizes, and reports unreadable files without failing', async () => {
    const src = join(root, 'pets');
    makeTree(join(src, 'train'), 4, { bad: true });
    makeTree(join(src, 'test'), 2);
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    const { info, skipped } = await reg.import(src, { size: [4, 5] });
    expect(info).toMatchObject({ id: 'folder:pets', status: 'ready', trainSize: 12, testSize: 6, inputShape: [4, 5, 3], classNames: ['cat', 'dog', 'fish'] });
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.file).toMatch(/train[\\/]cat[\\/]broken\.jpg$/);
    expect(skipped[0]!.reason).toMatch(/not a JPEG or PNG/);
    const ds = await reg.load('folder:pets');
    const per = 4 * 5 * 3;
    for (let i = 0; i < ds.train.count; i++) {
      const rgb = Object.values(COLORS)[ds.train.labels[i]!]!;
      const px = ds.train.images.subarray(i * per, i * per + 3);
      for (let k = 0; k < 3; k++) expect(Math.abs(px[k]! - rgb[k]!)).toBeLessThanOrEqual(3); // JPEG is lossy
    }
    expect((await reg.list()).map((d) => d.id)).toContain('folder:pets');
    const preview = await reg.preview('folder:pets', 2);
    expect(preview.trainCounts).toEqual([4, 4, 4]);
    expect(preview.testCounts).toEqual([2, 2, 2]);
    expect(preview.samples.map((s) => s.images.length)).toEqual([2, 2, 2]);
    const pngBytes = Buffer.from(preview.samples[1]!.images[0]!.replace('data:image/png;base64,', ''), 'base64');
    const back = PNG.sync.read(pngBytes);
    expect([back.width, back.height]).toEqual([5, 4]);
    expect(Math.abs(back.data[1]! - 200)).toBeLessThanOrEqual(3); // a dog is green
  });

  it('splits a flat class folder by a seeded, stratified fraction, and grey output works', async () => {
    const src = join(root, 'flat');
    makeTree(src, 10);
    const a = createDatasetRegistry({ root: join(root, 'a'), env: {} });
    const b = createDatasetRegistry({ root: join(root, 'b'), env: {} });
    const ra = await a.import(src, { name: 'Flat Set', testFraction: 0.3, seed: 5, channels: 1 });
    await b.import(src, { name: 'Flat Set', testFraction: 0.3, seed: 5, channels: 1 });
    expect(ra.info).toMatchObject({ id: 'folder:flat-set', trainSize: 21, testSize: 9, inputShape: [6, 8, 1] });
    const da = await a.load('folder:flat-set');
    const db = await b.load('folder:flat-set');
    expect(Buffer.from(da.test.images).equals(Buffer.from(db.test.images))).toBe(true);
    const counts = [0, 0, 0];
    for (let i = 0; i < da.test.count; i++) counts[da.test.labels[i]!]!++;
    expect(counts).toEqual([3, 3, 3]);
  });

  it('imports a .tar.gz of a folder tree (only images are extracted)', async () => {
    const entries = Object.entries(COLORS).flatMap(([c, rgb]) => [0, 1].map((i) => ({ name: `shapes/train/${c}/${i}.png`, data: png(4, 4, rgb) })));
    entries.push({ name: 'shapes/test/cat/0.png', data: png(4, 4, COLORS.cat!) });
    const file = join(root, 'shapes.tar.gz');
    writeFileSync(file, createTar(entries, true));
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    const { info } = await reg.import(file);
    expect(info).toMatchObject({ id: 'folder:shapes', trainSize: 6, testSize: 1, classNames: ['cat', 'dog', 'fish'] });
  });

  it('gives clear errors for empty or missing folders', async () => {
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    mkdirSync(join(root, 'empty'));
    await expect(reg.import(join(root, 'empty'), { as: 'folder' })).rejects.toThrow(/no class sub-folders/);
    await expect(reg.import(join(root, 'nope'))).rejects.toThrow(/does not exist/);
    await expect(reg.load('folder:never')).rejects.toThrow(/not ready/);
  });
});
