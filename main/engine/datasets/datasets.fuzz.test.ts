/**
 * Fuzz: the dataset parsers (tar reader, IDX reader, CIFAR-10 binary records, image decoding, image-folder
 * import) on random and mutated bytes. Each either returns a consistent result or throws a clear Error;
 * nothing crashes, hangs, or writes outside the destination folder.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { byteMutation, FuzzTally, mutateBytes } from '../../../scripts/security/fuzz';
import { decodeCifarRecords } from './cifar10';
import { decodeImage, resizeInto } from './folder/image';
import { importImageFolder } from './folder';
import { parseIdx, writeIdx } from './mnist/idx';
import { createTar, extractTar, TarError } from './tar';

const tally = new FuzzTally('dataset files (tar, IDX, CIFAR-10 records, PNG/JPEG, image folders)');
const root = mkdtempSync(join(tmpdir(), 'lf-data-fuzz-'));
afterAll(() => {
  tally.report();
  rmSync(root, { recursive: true, force: true });
});

const mutations = fc.array(byteMutation, { minLength: 1, maxLength: 6 });
let caseNo = 0;

function expectClearError(error: unknown, what: string): void {
  expect(error, what).toBeInstanceOf(Error);
  const e = error as Error;
  expect(['RangeError', 'ReferenceError', 'SyntaxError'], `${what}: ${e.name}: ${e.message}`).not.toContain(e.name);
  expect(e.message.length, what).toBeGreaterThan(3);
  if (e.name === 'TypeError') expect(e.message, `${what}: looks like a bug, not a file error`).not.toMatch(/cannot read|undefined|is not a function/i);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

describe('dataset parsers under fuzzing', () => {
  it('IDX reader: random and mutated (raw and gzipped) files', () => {
    const valid = writeIdx([7, 5, 4], new Uint8Array(140).map((_, i) => i));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutations.map((m) => mutateBytes(valid, m)), mutations.map((m) => mutateBytes(gzipSync(valid), m)), mutations.map((m) => new Uint8Array(gzipSync(mutateBytes(valid, m))))), (bytes) => {
        tally.add('IDX file');
        try {
          const r = parseIdx(bytes, 'train-images-idx3-ubyte');
          expect(r.data.length).toBe(r.dims.reduce((a, b) => a * b, 1));
        } catch (error) {
          expectClearError(error, 'parseIdx');
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('IDX reader: corrupt gzip names the file', () => {
    const bad = mutateBytes(gzipSync(writeIdx([3], new Uint8Array(3))), [{ kind: 'truncate', at: 12, len: 1, byte: 0 }]);
    tally.add('IDX file');
    let message = '';
    try {
      parseIdx(bad, 'train-labels-idx1-ubyte.gz');
    } catch (error) {
      message = (error as Error).message;
    }
    // zlib's message alone does not name the file; ours does.
    expect(message).toMatch(/^train-labels-idx1-ubyte\.gz: not a valid gzip file \(/);
  });

  it('CIFAR-10 binary records: random and mutated batches', () => {
    const record = (label: number) => new Uint8Array(3073).map((_, i) => (i === 0 ? label : i % 251));
    const valid = new Uint8Array([...record(1), ...record(9)]);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 7000 }), mutations.map((m) => mutateBytes(valid, m))), (bytes) => {
        tally.add('CIFAR-10 batch');
        try {
          const s = decodeCifarRecords([{ name: 'data_batch_1.bin', data: bytes }]);
          expect(s.images.length).toBe(s.count * 3072);
          expect([...s.labels].every((l) => l <= 9)).toBe(true);
        } catch (error) {
          expectClearError(error, 'decodeCifarRecords');
          expect((error as Error).message).toContain('data_batch_1.bin');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('tar reader: random and mutated archives (plain and gzipped) never write outside the destination', { timeout: 60_000 }, async () => {
    const members = [
      { name: 'top/', type: '5' as const },
      { name: 'top/a.bin', data: new Uint8Array(700).fill(3) },
      { name: 'top/b.txt', data: new TextEncoder().encode('hello') },
      { name: '../evil.txt', data: new TextEncoder().encode('evil') },
      { name: 'top/link', type: '2' as const, linkName: '/etc/passwd' },
      { name: 'top/empty', data: new Uint8Array() },
    ];
    const plain = createTar(members);
    const gz = createTar(members, true);
    let extracted = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => ({ bytes: b, gzip: false })) },
        { weight: 4, arbitrary: mutations.map((m) => ({ bytes: mutateBytes(plain, m), gzip: false })) },
        { weight: 3, arbitrary: mutations.map((m) => ({ bytes: mutateBytes(gz, m), gzip: true })) },
        { weight: 2, arbitrary: mutations.map((m) => ({ bytes: new Uint8Array(gzipSync(mutateBytes(plain, m))), gzip: true })) },
      ), async ({ bytes, gzip }) => {
        tally.add('tar archive');
        const caseDir = join(root, `tar-${caseNo++}`);
        mkdirSync(caseDir);
        const archive = join(caseDir, gzip ? 'x.tar.gz' : 'x.tar');
        writeFileSync(archive, bytes);
        const dest = join(caseDir, 'dest');
        try {
          const seen = await extractTar(archive, dest, (m) => m.name);
          extracted++;
          for (const m of seen) expect(typeof m.name).toBe('string');
        } catch (error) {
          expect(error, `${(error as Error).name}: ${(error as Error).message}`).toBeInstanceOf(TarError);
        }
        // Nothing but the archive and dest/… exists in the case folder; every file is a plain file or folder.
        for (const f of filesUnder(caseDir)) {
          const rel = relative(caseDir, f);
          expect(rel === 'x.tar' || rel === 'x.tar.gz' || rel === 'dest' || rel.startsWith(`dest/`), rel).toBe(true);
          const st = statSync(f);
          expect(st.isFile() || st.isDirectory(), rel).toBe(true);
        }
        rmSync(caseDir, { recursive: true, force: true });
      }),
      { numRuns: 300 },
    );
    console.log(`[fuzz] tar: ${extracted} of 300 mutated archives still extracted (partly), the rest gave a TarError`);
  });

  const png = (() => {
    const p = new PNG({ width: 6, height: 5 });
    p.data.fill(120);
    return new Uint8Array(PNG.sync.write(p));
  })();
  const jpg = new Uint8Array(jpeg.encode({ width: 8, height: 6, data: Buffer.alloc(8 * 6 * 4, 90) }, 90).data);

  it('image decoding: mutated PNG and JPEG files decode consistently or give an Error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutations.map((m) => mutateBytes(png, m)), mutations.map((m) => mutateBytes(jpg, m))), (bytes) => {
        tally.add('image file');
        try {
          const img = decodeImage(bytes);
          expect(img.data.length).toBeGreaterThanOrEqual(img.width * img.height * img.channels);
          if (img.width > 0 && img.height > 0 && img.width * img.height < 1e6) {
            const out = new Uint8Array(4 * 4 * 3);
            resizeInto(img, 4, 4, 3, out, 0);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1200 },
    );
  });

  it('image decoding: a tiny PNG claiming a huge size is refused before decoding (decompression bomb)', () => {
    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const crc32 = (b: Buffer) => {
      let c = 0xffffffff;
      for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(td));
      return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(20_000, 0);
    ihdr.writeUInt32BE(20_000, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(100))), chunk('IEND', Buffer.alloc(0))]);
    tally.add('image file');
    expect(bomb.length).toBeLessThan(100);
    expect(() => decodeImage(bomb)).toThrow(/megapixel/);
  });

  it('image-folder import: folders of mutated images import (skipping the bad ones) or fail with a clear Error', { timeout: 60_000 }, async () => {
    let imported = 0;
    let skippedTotal = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('cat', 'dog'), fc.boolean(), fc.option(mutations, { nil: undefined })), { minLength: 1, maxLength: 6 }), async (files) => {
        tally.add('image folder');
        const caseDir = join(root, `folder-${caseNo++}`);
        const src = join(caseDir, 'pets');
        files.forEach(([cls, isPng, muts], i) => {
          mkdirSync(join(src, cls), { recursive: true });
          const base = isPng ? png : jpg;
          writeFileSync(join(src, cls, `${i}.${isPng ? 'png' : 'jpg'}`), muts ? mutateBytes(base, muts) : base);
        });
        try {
          const r = await importImageFolder(src, join(caseDir, 'data'), { size: [4, 4], testFraction: 0 });
          imported++;
          skippedTotal += r.skipped.length;
          expect(r.info.trainSize + r.skipped.length).toBe(files.length);
          for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(0);
        } catch (error) {
          expectClearError(error, 'importImageFolder');
          expect((error as Error).message).toMatch(/could be decoded|no JPEG or PNG/);
        }
        rmSync(caseDir, { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
    console.log(`[fuzz] image folders: ${imported} of 40 imported, ${skippedTotal} damaged images skipped and reported`);
  });
});
