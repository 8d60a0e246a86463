import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatasetRegistry } from '../index';
import { tinyIdx } from '../testData';
import { DEBIAN_FASHION_MNIST_DIRS, findIdxFiles } from '.';
import { MAX_IDX_BYTES, parseIdx, writeIdx } from './idx';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-mnist-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function writeFiles(dir: string, files: Record<string, Uint8Array>) {
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
}

describe('IDX reader', () => {
  it('reads plain and gzipped files and checks the header', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const idx = writeIdx([2, 3], data);
    for (const raw of [idx, new Uint8Array(gzipSync(idx))]) {
      const out = parseIdx(raw);
      expect(out.dims).toEqual([2, 3]);
      expect([...out.data]).toEqual([...data]);
    }
    expect(() => parseIdx(Uint8Array.from([1, 2, 8, 1]), 'x.idx')).toThrow(/x\.idx: not an IDX file/);
    const float = writeIdx([1], Uint8Array.of(0));
    float[2] = 0x0d;
    expect(() => parseIdx(float, 'f')).toThrow(/0xd is not supported/);
    expect(() => parseIdx(idx.subarray(0, idx.length - 1), 't')).toThrow(/5 data bytes, expected 6/);
  });
});

/** A gzip bomb in IDX clothing: a valid header claiming `dims`, then `extra` zero bytes more than it claims. */
function idxBomb(dims: number[], extra: number): Uint8Array {
  const head = writeIdx(dims, new Uint8Array(0));
  const claimed = dims.reduce((a, b) => a * b, 1);
  const body = Buffer.alloc(head.length + claimed + extra);
  body.set(head);
  return new Uint8Array(gzipSync(body, { level: 9 }));
}

describe('IDX reader: gzip bombs are capped', () => {
  it('a small gzip that inflates far beyond what its header claims is refused, naming the file', () => {
    const bomb = idxBomb([10, 28, 28], 64 * 2 ** 20); // 64 MiB of zeros behind a 7,840-byte claim
    expect(bomb.length).toBeLessThan(100_000);
    expect(() => parseIdx(bomb, 'train-images-idx3-ubyte.gz')).toThrow(
      /^train-images-idx3-ubyte\.gz: decompresses to more than 11952 bytes \(its header claims 7856 bytes\): a damaged file or a gzip bomb; refused\.$/,
    );
    // The same file without the excess still reads (the cap is header + slack, not a fixed small size).
    expect(parseIdx(idxBomb([10, 28, 28], 0), 'ok.gz').dims).toEqual([10, 28, 28]);
    // A little excess (within the slack) is inflated and then reported as a length mismatch.
    expect(() => parseIdx(idxBomb([10, 28, 28], 100), 'slack.gz')).toThrow(/^slack\.gz: 7940 data bytes, expected 7840 for dims 10x28x28\.$/);
  });

  it('a header claiming more than the absolute limit is refused before inflating', () => {
    const huge = new Uint8Array(gzipSync(writeIdx([60000, 1000, 1000], new Uint8Array(0))));
    expect(() => parseIdx(huge, 't10k-images-idx3-ubyte.gz')).toThrow(
      new RegExp(`^t10k-images-idx3-ubyte\\.gz: its header claims 60000000016 bytes \\(dims 60000x1000x1000\\), more than the limit of ${MAX_IDX_BYTES} bytes`),
    );
  });

  it('a gzip without a readable IDX header is capped at the absolute limit', () => {
    const noHeader = new Uint8Array(gzipSync(Buffer.alloc(3 * 2 ** 20, 0xff)));
    expect(() => parseIdx(noHeader, 'labels.gz', { maxBytes: 2 ** 20 })).toThrow(/^labels\.gz: decompresses to more than 1048576 bytes \(the limit for an IDX file\)/);
    const plainTooBig = new Uint8Array(2 ** 20 + 1);
    expect(() => parseIdx(plainTooBig, 'big.idx', { maxBytes: 2 ** 20 })).toThrow(/^big\.idx: 1048577 bytes, more than the limit/);
  });

  it('importing a folder with a bomb fails naming the file and leaves no ready dataset', async () => {
    const t = tinyIdx(12, 5);
    const src = join(root, 'bomb');
    writeFiles(src, { ...t.files, 'train-labels-idx1-ubyte.gz': idxBomb([12], 32 * 2 ** 20) });
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {}, systemDirs: { fashionMnist: [] } });
    await expect(reg.import(src, { as: 'mnist' })).rejects.toThrow(/train-labels-idx1-ubyte\.gz: decompresses to more than 4116 bytes \(its header claims 20 bytes\).*gzip bomb/);
    expect((await reg.info('mnist')).status).not.toBe('ready');
    // A good import afterwards works.
    writeFiles(src, t.files);
    expect((await reg.import(src, { as: 'mnist' })).info.status).toBe('ready');
  });
});

describe('MNIST / Fashion-MNIST sources', () => {
  it('imports a folder of gzipped or plain IDX files', async () => {
    for (const gzip of [true, false]) {
      const t = tinyIdx(12, 5, 28, 28, gzip);
      const src = join(root, gzip ? 'gz' : 'plain');
      writeFiles(src, t.files);
      const reg = createDatasetRegistry({ root: join(root, 'data'), env: {}, systemDirs: { fashionMnist: [] } });
      const { info } = await reg.import(src, { as: 'mnist' });
      expect(info).toMatchObject({ id: 'mnist', status: 'ready', trainSize: 12, testSize: 5, inputShape: [28, 28, 1] });
      const ds = await reg.load('mnist');
      expect(ds.shape).toEqual([28, 28, 1]);
      expect(Buffer.from(ds.train.images).equals(Buffer.from(t.trainImages))).toBe(true);
      expect([...ds.test.labels]).toEqual([...t.testLabels]);
    }
  });

  it('reports a folder without the four files', async () => {
    const src = join(root, 'half');
    const t = tinyIdx();
    writeFiles(src, { 'train-images-idx3-ubyte.gz': t.files['train-images-idx3-ubyte.gz']! });
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    await expect(reg.import(src, { as: 'fashion-mnist' })).rejects.toThrow(/does not hold the four Fashion-MNIST IDX files/);
  });

  it('Fashion-MNIST is ready from system package files, without download or import', async () => {
    const sys = join(root, 'usr-share');
    writeFiles(sys, tinyIdx(7, 3).files);
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {}, systemDirs: { fashionMnist: [sys] } });
    const info = await reg.info('fashion-mnist');
    expect(info).toMatchObject({ status: 'ready', cachePath: sys });
    expect((await reg.load('fashion-mnist')).train.count).toBe(7);
    const none = createDatasetRegistry({ root: join(root, 'data2'), env: {}, systemDirs: { fashionMnist: [] } });
    expect((await none.info('fashion-mnist')).status).toBe('missing');
  });

  it('downloads the four files from an overridden URL (checksums off for a test mirror)', async () => {
    const t = tinyIdx(9, 4);
    const srv = join(root, 'srv');
    writeFiles(srv, t.files);
    // One server per file is overkill; serve the four names from one folder.
    const http = await import('node:http');
    const { readFileSync } = await import('node:fs');
    const s = http.createServer((req, res) => {
      const f = join(srv, (req.url ?? '/').slice(1));
      if (!existsSync(f)) return void res.writeHead(404).end();
      res.end(readFileSync(f));
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    try {
      const reg = createDatasetRegistry({ root: join(root, 'data'), env: { LAYERFORGE_MNIST_URL: `http://127.0.0.1:${port}/`, LAYERFORGE_MNIST_MD5: 'none' } });
      const info = await reg.prepare('mnist');
      expect(info).toMatchObject({ status: 'ready', trainSize: 9, testSize: 4 });
      // With the official MD5s (no override), the same mirror is rejected.
      const strict = createDatasetRegistry({ root: join(root, 'data3'), env: { LAYERFORGE_MNIST_URL: `http://127.0.0.1:${port}/` } });
      await expect(strict.prepare('mnist')).rejects.toThrow(/MD5 mismatch/);
      expect((await strict.info('mnist')).status).toBe('error');
    } finally {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  const debian = DEBIAN_FASHION_MNIST_DIRS.find((d) => findIdxFiles(d));
  it.skipIf(!debian)(`loads the real Fashion-MNIST from Debian's dataset-fashion-mnist (${debian ?? 'not installed: skipped'})`, async () => {
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    const info = await reg.info('fashion-mnist');
    expect(info.status).toBe('ready');
    const ds = await reg.load('fashion-mnist');
    expect(ds.shape).toEqual([28, 28, 1]);
    expect([ds.train.count, ds.test.count]).toEqual([60_000, 10_000]);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < ds.train.count; i++) counts[ds.train.labels[i]!]++;
    expect(counts).toEqual(new Array(10).fill(6000));
  });
});
