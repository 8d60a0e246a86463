import { describe, expect, it } from 'vitest';
import { BatchPipeline, channelStats, permutation, splitValidation } from './pipeline';
import type { Split } from './types';

/** n images of h x w x c where every byte of image i is i (so a batch shows which images it holds). */
function split(n: number, h = 2, w = 3, c = 1, classes = 4): Split {
  const per = h * w * c;
  const images = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) images.fill(i, i * per, (i + 1) * per);
  return { count: n, images, labels: Uint8Array.from({ length: n }, (_, i) => i % classes) };
}

async function collect(p: BatchPipeline, epoch: number) {
  const out = [];
  for await (const b of p.epoch(epoch)) out.push({ ...b, x: b.x.slice(), y: b.y.slice() });
  return out;
}

describe('permutation and validation split', () => {
  it('is a seeded permutation', () => {
    const a = permutation(100, 1);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...permutation(100, 1)]).toEqual([...a]);
    expect([...permutation(100, 2)]).not.toEqual([...a]);
  });

  it('splits off a seeded fraction without overlap', () => {
    const s = split(50);
    const { train, validation } = splitValidation(s, [2, 3, 1], 0.2, 9);
    expect([train.count, validation.count]).toEqual([40, 10]);
    const ids = (x: Split) => Array.from({ length: x.count }, (_, i) => x.images[i * 6]!);
    const all = [...ids(train), ...ids(validation)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(validation.labels[0]).toBe(ids(validation)[0]! % 4);
    expect(ids(splitValidation(s, [2, 3, 1], 0.2, 9).validation)).toEqual(ids(validation));
    expect(ids(splitValidation(s, [2, 3, 1], 0.2, 10).validation)).not.toEqual(ids(validation));
    expect(() => splitValidation(s, [2, 3, 1], 1, 0)).toThrow(/validationSplit/);
  });
});

describe('BatchPipeline', () => {
  it('covers every sample once per epoch, shuffles differently per epoch, reproducibly per seed', async () => {
    const s = split(10);
    const p = new BatchPipeline(s, [2, 3, 1], { batchSize: 4, numClasses: 4, seed: 3, normalize: 'none' });
    expect(p.batchesPerEpoch).toBe(3);
    const e0 = await collect(p, 0);
    expect(e0.map((b) => b.size)).toEqual([4, 4, 2]);
    const order0 = e0.flatMap((b) => Array.from({ length: b.size }, (_, i) => b.x[i * 6]!));
    expect([...order0].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // labels follow their images
    for (const b of e0) for (let i = 0; i < b.size; i++) expect(b.y[i]).toBe(b.x[i * 6]! % 4);
    const order1 = (await collect(p, 1)).flatMap((b) => Array.from({ length: b.size }, (_, i) => b.x[i * 6]!));
    expect(order1).not.toEqual(order0);
    const again = new BatchPipeline(s, [2, 3, 1], { batchSize: 4, numClasses: 4, seed: 3, normalize: 'none' });
    expect((await collect(again, 1)).flatMap((b) => Array.from({ length: b.size }, (_, i) => b.x[i * 6]!))).toEqual(order1);
    const fixed = new BatchPipeline(s, [2, 3, 1], { batchSize: 4, numClasses: 4, shuffle: false, dropRemainder: true, limit: 9, normalize: 'none' });
    const fb = await collect(fixed, 0);
    expect(fb.map((b) => b.x[0])).toEqual([0, 4]);
    expect(fb[0]!.xShape).toEqual([4, 2, 3, 1]);
  });

  it('normalises to 0-1 or by per-channel mean/std, and one-hot encodes', async () => {
    const s: Split = { count: 1, images: Uint8Array.of(255, 0, 51, 102), labels: Uint8Array.of(1) };
    const unit = await collect(new BatchPipeline(s, [1, 2, 2], { batchSize: 1, numClasses: 3, oneHot: true }), 0);
    expect(Array.from(unit[0]!.x, (v) => +v.toFixed(5))).toEqual([1, 0, 0.2, 0.4]);
    expect([...unit[0]!.y]).toEqual([0, 1, 0]);
    expect(unit[0]!.yShape).toEqual([1, 3]);
    const ms = await collect(new BatchPipeline(s, [1, 2, 2], { batchSize: 1, numClasses: 3, normalize: { mean: [0.5, 0.25], std: [0.5, 0.25] } }), 0);
    expect(Array.from(ms[0]!.x, (v) => +v.toFixed(5))).toEqual([1, -1, -0.6, 0.6]);
    const st = channelStats({ count: 2, images: Uint8Array.of(0, 255, 255, 255), labels: Uint8Array.of(0, 0) }, 2);
    expect(st.mean.map((v) => +v.toFixed(5))).toEqual([0.5, 1]);
    expect(st.std.map((v) => +v.toFixed(3))).toEqual([0.5, 0]);
  });

  it('flips and crops with zero padding as specified', async () => {
    // one 3x3 grey image with values 1..9
    const s: Split = { count: 1, images: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), labels: Uint8Array.of(0) };
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const p = new BatchPipeline(s, [3, 3, 1], { batchSize: 1, numClasses: 1, normalize: 'none', seed, augment: { flip: true, cropPadding: 1 } });
      const x = Array.from((await collect(p, 0))[0]!.x);
      seen.add(x.join(','));
      // every output is a (possibly flipped) shift of the image by at most 1 pixel, zeros outside
      const ok = [false, true].some((flip) => [-1, 0, 1].some((dy) => [-1, 0, 1].some((dx) => {
        const want = [];
        for (let oy = 0; oy < 3; oy++) for (let ox = 0; ox < 3; ox++) {
          const iy = oy + dy;
          const ix = (flip ? 2 - ox : ox) + dx;
          want.push(iy < 0 || iy > 2 || ix < 0 || ix > 2 ? 0 : iy * 3 + ix + 1);
        }
        return want.join(',') === x.join(',');
      })));
      expect(ok).toBe(true);
    }
    expect(seen.has('3,2,1,6,5,4,9,8,7')).toBe(true); // a pure flip occurs
    expect(seen.size).toBeGreaterThan(8); // and many distinct crops
  });

  it('prefetches: the next batch is built before the consumer asks for it', async () => {
    const p = new BatchPipeline(split(12), [2, 3, 1], { batchSize: 2, numClasses: 4, prefetch: 2 });
    const built: number[] = [];
    const orig = p.makeBatch.bind(p);
    p.makeBatch = (order, index, rand) => {
      built.push(index);
      return orig(order, index, rand);
    };
    const it = p.epoch(0);
    await it.next();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // While the consumer holds batch 0, batches 1..3 have been prepared.
    expect(built).toEqual([0, 1, 2, 3]);
    let n = 1;
    for await (const _ of it) n++;
    expect(n).toBe(6);
  });

  it('reuses a ring of buffers only when asked, never overwriting a batch too early', async () => {
    const p = new BatchPipeline(split(20), [2, 3, 1], { batchSize: 2, numClasses: 4, reuseBuffers: true, prefetch: 1, seed: 1, normalize: 'none' });
    const held: { x: Float32Array; first: number }[] = [];
    for await (const b of p.epoch(0)) {
      held.push({ x: b.x, first: b.x[0]! });
      // the previous batch is still intact while this one is current
      if (held.length >= 2) expect(held.at(-2)!.x[0]).toBe(held.at(-2)!.first);
    }
    const distinct = new Set(held.map((h) => h.x));
    expect(distinct.size).toBe(4); // prefetch + 3 buffers, reused
    const fresh = new BatchPipeline(split(20), [2, 3, 1], { batchSize: 2, numClasses: 4 });
    const xs = new Set<Float32Array>();
    for await (const b of fresh.epoch(0)) xs.add(b.x);
    expect(xs.size).toBe(10);
  });
});
