import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetProgress } from '../../../../shared/api/datasets';
import { createDatasetRegistry } from '../index';
import { tinyCifar, tinyCifarArchive } from '../testData';
import { startServer, type TestServer } from '../testServer';
import type { Split } from '../types';
import { CIFAR_READ_RECORDS, decodeCifarRecords, MAX_CIFAR_BATCH_BYTES, readCifarBinaryDir } from '.';

let root: string;
let server: TestServer | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-cifar-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(root, { recursive: true, force: true });
});

function expectSplit(split: Split, recs: { label: number; hwc: Uint8Array }[]) {
  expect(split.count).toBe(recs.length);
  recs.forEach((r, i) => {
    expect(split.labels[i]).toBe(r.label);
    expect(Buffer.from(split.images.subarray(i * 3072, (i + 1) * 3072)).equals(Buffer.from(r.hwc))).toBe(true);
  });
}

const t = tinyCifar(3);
const trainRecs = [1, 2, 3, 4, 5].flatMap((k) => t.files[`data_batch_${k}.bin`]!);
const testRecs = t.files['test_batch.bin']!;

describe('CIFAR-10 binary reader', () => {
  it('turns R,G,B planes into channels-last pixels', () => {
    const rec = new Uint8Array(3073);
    rec[0] = 4;
    rec[1] = 10; // R of pixel 0
    rec[1 + 1024] = 20; // G of pixel 0
    rec[1 + 2048 + 1023] = 30; // B of the last pixel
    const s = decodeCifarRecords([{ name: 'x', data: rec }]);
    expect(s.labels[0]).toBe(4);
    expect([s.images[0], s.images[1], s.images[2]]).toEqual([10, 20, 0]);
    expect(s.images[3071]).toBe(30);
  });

  it('rejects partial records and bad labels with the file name', () => {
    expect(() => decodeCifarRecords([{ name: 'f.bin', data: new Uint8Array(3000) }])).toThrow(/f\.bin: 3000 bytes/);
    const bad = new Uint8Array(3073);
    bad[0] = 11;
    expect(() => decodeCifarRecords([{ name: 'g.bin', data: bad }])).toThrow(/g\.bin: record 0 has label 11/);
  });

  it('reads a folder of files of different sizes through one buffer as decodeCifarRecords decodes them', async () => {
    const src = join(root, 'sizes');
    mkdirSync(src, { recursive: true });
    const files: Record<string, Uint8Array> = {};
    ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].forEach((name, k) => {
      const records = [4, 1, 3, 2, 1, 5][k]!; // a larger file after smaller ones, and the test file largest
      const data = new Uint8Array(records * 3073).map((_, i) => (i % 3073 === 0 ? (i / 3073 + k) % 10 : (i * 7 + k) % 251));
      files[name] = data;
      writeFileSync(join(src, name), data);
    });
    const { train, test } = await readCifarBinaryDir(src);
    const want = decodeCifarRecords([1, 2, 3, 4, 5].map((i) => ({ name: `data_batch_${i}.bin`, data: files[`data_batch_${i}.bin`]! })));
    expect(train.count).toBe(11);
    expect(Buffer.from(train.images).equals(Buffer.from(want.images))).toBe(true);
    expect(Array.from(train.labels)).toEqual(Array.from(want.labels));
    expect(test.count).toBe(5);
    expect(Buffer.from(test.images).equals(Buffer.from(decodeCifarRecords([{ name: 't', data: files['test_batch.bin']! }]).images))).toBe(true);
    writeFileSync(join(src, 'data_batch_2.bin'), new Uint8Array(3073 + 10));
    await expect(readCifarBinaryDir(src)).rejects.toThrow(`${join(src, 'data_batch_2.bin')}: 3083 bytes is not a whole number of CIFAR-10 records`);
  });

  it('reads files of several read chunks (and a partial last one) as decodeCifarRecords decodes them, naming a bad record by its index in the file', async () => {
    const src = join(root, 'chunks');
    mkdirSync(src, { recursive: true });
    const files: Record<string, Uint8Array> = {};
    const sizes = [2 * CIFAR_READ_RECORDS + 7, CIFAR_READ_RECORDS, 1, CIFAR_READ_RECORDS + 1, 3, CIFAR_READ_RECORDS - 1];
    ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].forEach((name, k) => {
      const data = new Uint8Array(sizes[k]! * 3073).map((_, i) => (i % 3073 === 0 ? (Math.floor(i / 3073) + k) % 10 : (i * 13 + k) % 253));
      files[name] = data;
      writeFileSync(join(src, name), data);
    });
    const { train, test } = await readCifarBinaryDir(src);
    const want = decodeCifarRecords([1, 2, 3, 4, 5].map((i) => ({ name: `data_batch_${i}.bin`, data: files[`data_batch_${i}.bin`]! })));
    expect(train.count).toBe(sizes.slice(0, 5).reduce((a, b) => a + b, 0));
    expect(Buffer.from(train.images).equals(Buffer.from(want.images))).toBe(true);
    expect(Array.from(train.labels)).toEqual(Array.from(want.labels));
    expect(test.count).toBe(CIFAR_READ_RECORDS - 1);
    expect(Buffer.from(test.images).equals(Buffer.from(decodeCifarRecords([{ name: 't', data: files['test_batch.bin']! }]).images))).toBe(true);
    const bad = files['data_batch_1.bin']!;
    bad[(CIFAR_READ_RECORDS + 5) * 3073] = 12; // in the second chunk
    writeFileSync(join(src, 'data_batch_1.bin'), bad);
    await expect(readCifarBinaryDir(src)).rejects.toThrow(`${join(src, 'data_batch_1.bin')}: record ${CIFAR_READ_RECORDS + 5} has label 12`);
  });
});

describe('CIFAR-10 import and download', () => {
  it('imports an extracted cifar-10-batches-bin folder', async () => {
    const src = join(root, 'src', 'cifar-10-batches-bin');
    mkdirSync(src, { recursive: true });
    for (const [n, b] of Object.entries(t.bytes)) writeFileSync(join(src, n), b);
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    expect((await reg.info('cifar10')).status).toBe('missing');
    const { info } = await reg.import(join(root, 'src'));
    expect(info).toMatchObject({ id: 'cifar10', status: 'ready', trainSize: 15, testSize: 3 });
    const ds = await reg.load('cifar10');
    expectSplit(ds.train, trainRecs);
    expectSplit(ds.test, testRecs);
  });

  it('refuses a batch file far bigger than an official one before reading it, naming it', async () => {
    const src = join(root, 'big');
    mkdirSync(src, { recursive: true });
    for (const [n, b] of Object.entries(t.bytes)) writeFileSync(join(src, n), b);
    truncateSync(join(src, 'data_batch_3.bin'), MAX_CIFAR_BATCH_BYTES + 3073); // sparse: no real disk or memory used
    await expect(readCifarBinaryDir(src)).rejects.toThrow(`${join(src, 'data_batch_3.bin')}: ${MAX_CIFAR_BATCH_BYTES + 3073} bytes; a CIFAR-10 batch file is 30730000 bytes`);
  });

  it('imports the archive, extracting only the expected members', async () => {
    const { archive } = tinyCifarArchive(t, [
      { name: '../escape.bin', data: Buffer.from('x') },
      { name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('hi') },
    ]);
    const file = join(root, 'cifar-10-binary.tar.gz');
    writeFileSync(file, archive);
    const reg = createDatasetRegistry({ root: join(root, 'data'), env: {} });
    const { info } = await reg.import(file, { as: 'cifar10' });
    expect(info.trainSize).toBe(15);
    expectSplit((await reg.load('cifar10')).test, testRecs);
    expect(existsSync(join(root, 'escape.bin'))).toBe(false);
    // The temporary extraction folder is gone.
    expect(readdirSync(join(root, 'data', 'datasets'))).toEqual(['cifar10']);
  });

  it('prepare downloads from LAYERFORGE_CIFAR10_URL (with its checksum), through a redirect, with progress', async () => {
    const { archive, sha256 } = tinyCifarArchive(t);
    server = await startServer(archive);
    const reg = createDatasetRegistry({ root, env: { LAYERFORGE_CIFAR10_URL: `${server.url}/r1`, LAYERFORGE_CIFAR10_SHA256: sha256 } });
    const events: DatasetProgress[] = [];
    const info = await reg.prepare('cifar10', { onProgress: (e) => events.push(e) });
    expect(info.status).toBe('ready');
    expect((await reg.info('cifar10')).status).toBe('ready');
    expect(events.some((e) => e.phase === 'download' && e.bytes === archive.length && e.total === archive.length)).toBe(true);
    expectSplit((await reg.load('cifar10')).train, trainRecs);
    expect(existsSync(join(root, 'downloads', 'cifar-10-binary.tar.gz'))).toBe(false);
  });

  it('a connection dropped half-way is resumed and completes', async () => {
    const { archive, sha256 } = tinyCifarArchive(t);
    server = await startServer(archive, { kind: 'drop', after: Math.floor(archive.length / 2) });
    const reg = createDatasetRegistry({ root, env: { LAYERFORGE_CIFAR10_URL: `${server.url}/file`, LAYERFORGE_CIFAR10_SHA256: sha256 } });
    await expect(reg.prepare('cifar10', { retries: 0 })).rejects.toThrow(/dropped|ended/);
    expect((await reg.info('cifar10')).status).toBe('error');
    await reg.prepare('cifar10', { retries: 0 });
    expect(server.ranges[1]).toMatch(/^bytes=\d+-$/);
    expect((await reg.info('cifar10')).status).toBe('ready');
    expectSplit((await reg.load('cifar10')).test, testRecs);
  });

  it('corrupt bytes give a checksum error and no ready dataset', async () => {
    const { archive, sha256 } = tinyCifarArchive(t);
    server = await startServer(archive, { kind: 'corrupt' });
    const reg = createDatasetRegistry({ root, env: { LAYERFORGE_CIFAR10_URL: `${server.url}/file`, LAYERFORGE_CIFAR10_SHA256: sha256 } });
    await expect(reg.prepare('cifar10')).rejects.toThrow(/SHA-256 mismatch/);
    const info = await reg.info('cifar10');
    expect(info.status).toBe('error');
    expect(info.message).toMatch(/SHA-256 mismatch/);
    await expect(reg.load('cifar10')).rejects.toThrow(/not ready/);
  });

  it('without a checksum override a mirror must match the official checksum', async () => {
    const { archive } = tinyCifarArchive(t);
    server = await startServer(archive);
    const reg = createDatasetRegistry({ root, env: { LAYERFORGE_CIFAR10_URL: `${server.url}/file` } });
    await expect(reg.prepare('cifar10')).rejects.toThrow(/expected 170052171|SHA-256/);
    expect((await reg.info('cifar10')).status).toBe('error');
  });

  it('cancel leaves the dataset not ready, and a later prepare completes', async () => {
    const { archive, sha256 } = tinyCifarArchive(tinyCifar(40));
    server = await startServer(archive, { kind: 'ok', chunkDelayMs: 15 });
    const reg = createDatasetRegistry({ root, env: { LAYERFORGE_CIFAR10_URL: `${server.url}/file`, LAYERFORGE_CIFAR10_SHA256: sha256 } });
    const ctl = new AbortController();
    const p = reg.prepare('cifar10', { signal: ctl.signal, onProgress: (e) => { if ((e.bytes ?? 0) > archive.length / 4) ctl.abort(); } });
    expect((await reg.info('cifar10')).status).toBe('downloading');
    await expect(p).rejects.toThrow(/cancelled/);
    expect((await reg.info('cifar10')).status).not.toBe('ready');
    await reg.prepare('cifar10');
    expect((await reg.load('cifar10')).train.count).toBe(200);
  });
});
