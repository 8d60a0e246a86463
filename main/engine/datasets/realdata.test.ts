/**
 * Real-data checks, run only when the files exist (they are skipped, with the reason in the test name,
 * elsewhere). Prepare them with:
 *   mkdir -p /tmp/cifar && tar xzf ../shared/datasets/cifar10-jpg.tar.gz -C /tmp/cifar
 *   /usr/bin/python3 ../shared/datasets/to-cifar-binary.py /tmp/cifar /tmp/cifar/cifar-10-batches-bin
 * (LAYERFORGE_CIFAR_JPG_DIR overrides /tmp/cifar.)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatasetRegistry } from './index';
import type { LoadedDataset, Split } from './types';

const SRC = process.env.LAYERFORGE_CIFAR_JPG_DIR ?? '/tmp/cifar';
const BIN = join(SRC, 'cifar-10-batches-bin');
const PY = '/usr/bin/python3';
const haveJpg = existsSync(join(SRC, 'train', 'airplane')) && existsSync(join(SRC, 'test', 'truck'));
const haveBin = existsSync(join(BIN, 'data_batch_5.bin')) && existsSync(join(BIN, 'test_batch.bin'));
const havePil = existsSync(PY) && (() => {
  try {
    execFileSync(PY, ['-c', 'import PIL'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const why = !haveJpg ? `skipped: no extracted JPEG tree in ${SRC}` : !haveBin ? `skipped: no ${BIN} (run to-cifar-binary.py)` : !havePil ? 'skipped: no /usr/bin/python3 with PIL' : `using ${SRC}`;

const root = mkdtempSync(join(tmpdir(), 'lf-real-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function classCounts(s: Split): number[] {
  const c = new Array(10).fill(0);
  for (let i = 0; i < s.count; i++) c[s.labels[i]!]++;
  return c;
}

function hashImages(s: Split): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (let i = 0; i < s.count; i++) {
    const h = createHash('sha1').update(s.images.subarray(i * 3072, (i + 1) * 3072)).digest('hex');
    m.set(h, [...(m.get(h) ?? []), i]);
  }
  return m;
}

describe.skipIf(!(haveJpg && haveBin && havePil))(`real CIFAR-10 (${why})`, () => {
  let folder: LoadedDataset;
  let binary: LoadedDataset;
  const reg = createDatasetRegistry({ root, env: {} });

  it('the JPEG tree imports as a folder dataset: 50,000 / 10,000, 10 balanced classes', async () => {
    const t0 = performance.now();
    const r = await reg.import(SRC, { as: 'folder', name: 'cifar10-jpg' });
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[realdata] folder import of 60,000 JPEGs: ${seconds.toFixed(1)} s total, ${r.skipped.length} skipped`);
    expect(r.skipped).toEqual([]);
    folder = await reg.load('folder:cifar10-jpg');
    expect(folder.info.classNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(folder.shape).toEqual([32, 32, 3]);
    expect([folder.train.count, folder.test.count]).toEqual([50_000, 10_000]);
    expect(classCounts(folder.train)).toEqual(new Array(10).fill(5000));
    expect(classCounts(folder.test)).toEqual(new Array(10).fill(1000));
  }, 300_000);

  it('the official binary layout made from it imports as cifar10 with the same counts', async () => {
    const t0 = performance.now();
    await reg.import(BIN, { as: 'cifar10' });
    console.log(`[realdata] cifar10 binary import: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    binary = await reg.load('cifar10');
    expect([binary.train.count, binary.test.count]).toEqual([50_000, 10_000]);
    expect(classCounts(binary.train)).toEqual(new Array(10).fill(5000));
    expect(classCounts(binary.test)).toEqual(new Array(10).fill(1000));
  }, 120_000);

  it('binary records hold exactly the pixels the JPEGs decode to (matched by content and label)', () => {
    // Sample 60 train + 30 test files, decode them with the reference decoder (Pillow/libjpeg, which
    // to-cifar-binary.py used), and find each one, byte for byte and with its label, in the binary splits.
    const classes = binary.info.classNames;
    const sample: { split: 'train' | 'test'; label: number; file: string }[] = [];
    for (const [split, n] of [['train', 6], ['test', 3]] as const) {
      classes.forEach((c, label) => {
        const files = readdirSync(join(SRC, split, c)).sort();
        for (let k = 0; k < n; k++) sample.push({ split, label, file: join(SRC, split, c, files[Math.floor((k * files.length) / n) + label]!) });
      });
    }
    const code = 'import sys\nfrom PIL import Image\nfor p in sys.argv[1:]:\n    sys.stdout.buffer.write(Image.open(p).convert("RGB").tobytes())\n';
    const raw = execFileSync(PY, ['-c', code, ...sample.map((s) => s.file)], { maxBuffer: 64 << 20 });
    expect(raw.length).toBe(sample.length * 3072);
    const index = { train: hashImages(binary.train), test: hashImages(binary.test) };
    let exact = 0;
    let folderMeanDiff = 0;
    let folderMax = 0;
    sample.forEach((s, k) => {
      const pil = raw.subarray(k * 3072, (k + 1) * 3072);
      const hits = index[s.split].get(createHash('sha1').update(pil).digest('hex')) ?? [];
      const split = binary[s.split];
      if (hits.some((i) => split.labels[i] === s.label)) exact++;
      // Our own JPEG decoder (jpeg-js, used for folder imports): same image, near-identical pixels.
      const rel = s.file.slice(join(SRC, s.split).length + 1);
      const idx = folderPosition(s.split, rel);
      const mine = folder[s.split].images.subarray(idx * 3072, (idx + 1) * 3072);
      let d = 0;
      for (let p = 0; p < 3072; p++) {
        const x = Math.abs(mine[p]! - pil[p]!);
        d += x;
        if (x > folderMax) folderMax = x;
      }
      folderMeanDiff += d / 3072 / sample.length;
      expect(folder[s.split].labels[idx]).toBe(s.label);
    });
    console.log(`[realdata] ${exact}/${sample.length} sampled JPEGs found byte-exact with their label in the cifar10 binary import; jpeg-js vs Pillow decode: mean |diff| ${folderMeanDiff.toFixed(2)}, max ${folderMax} (of 255)`);
    expect(exact).toBe(sample.length);
    expect(folderMeanDiff).toBeLessThan(3);
  });

  /** Index of a file in the folder import's split: classes in order, files sorted within a class. */
  const listing = new Map<string, string[]>();
  function folderPosition(split: 'train' | 'test', rel: string): number {
    const [cls, name] = rel.split('/') as [string, string];
    let offset = 0;
    for (const c of binary.info.classNames) {
      const key = `${split}/${c}`;
      if (!listing.has(key)) listing.set(key, readdirSync(join(SRC, split, c)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort());
      const files = listing.get(key)!;
      if (c === cls) return offset + files.indexOf(name);
      offset += files.length;
    }
    throw new Error(`${rel} not found`);
  }
});
