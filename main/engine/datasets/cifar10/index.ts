/**
 * CIFAR-10: the official binary release (cifar-10-binary.tar.gz), downloaded or imported from disk (the archive
 * or its extracted `cifar-10-batches-bin` folder). Records are 1 label byte + 3,072 bytes of R, G, B planes
 * (32x32, row-major); we store them channels-last (HWC).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DatasetInfo } from '../../../../shared/api/datasets';
import { cacheDamage, cacheDir, damagedInfo, readCache, readCacheMeta, writeCache, type CacheMeta } from '../cache';
import { download } from '../download';
import type { ImportOptions, PrepareOptions, SourceContext } from '../source';
import { extractTar } from '../tar';
import type { DatasetSource, Split } from '../types';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_SIZE = 170_052_171;
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_SHA256 = 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILE = 'test_batch.bin';

const RECORD = 1 + 3072;

export const cifar10Info: CacheMeta['info'] = {
  id: 'cifar10',
  name: 'CIFAR-10',
  inputShape: [32, 32, 3],
  classNames: CIFAR10_CLASSES,
  trainSize: 50_000,
  testSize: 10_000,
  license: 'Free for research and teaching (A. Krizhevsky, 2009: "Learning Multiple Layers of Features from Tiny Images")',
  homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
  downloadable: true,
};

function checkRecordBytes(name: string, bytes: number): number {
  if (bytes === 0 || bytes % RECORD !== 0) throw new Error(`${name}: ${bytes} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each).`);
  return bytes / RECORD;
}

/**
 * Decodes whole records of one file (`d`, starting at the file's record `first`) into `images` / `labels`
 * from sample `n` on; returns the next sample index.
 */
function decodeInto(name: string, d: Uint8Array, images: Uint8Array, labels: Uint8Array, n: number, first = 0): number {
  for (let r = 0; r < d.length; r += RECORD, n++) {
    const label = d[r]!;
    if (label > 9) throw new Error(`${name}: record ${first + r / RECORD} has label ${label}; CIFAR-10 labels are 0-9.`);
    labels[n] = label;
    const base = n * 3072;
    const R = r + 1;
    for (let p = 0; p < 1024; p++) {
      const o = base + p * 3;
      images[o] = d[R + p]!;
      images[o + 1] = d[R + 1024 + p]!;
      images[o + 2] = d[R + 2048 + p]!;
    }
  }
  return n;
}

/** Converts concatenated CIFAR records (label + R,G,B planes) into a channels-last split. */
export function decodeCifarRecords(buffers: { name: string; data: Uint8Array }[]): Split {
  let count = 0;
  for (const b of buffers) count += checkRecordBytes(b.name, b.data.length);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const b of buffers) n = decodeInto(b.name, b.data, images, labels, n);
  return { count, images, labels };
}

/** Finds the folder holding data_batch_*.bin: the folder itself or its `cifar-10-batches-bin` child. */
export function findCifarBinaryDir(dir: string): string | undefined {
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')]) {
    if (existsSync(join(d, CIFAR10_TRAIN_FILES[0]!)) && existsSync(join(d, CIFAR10_TEST_FILE))) return d;
  }
  return undefined;
}

/** Largest CIFAR-10 batch file read (the official ones are 30,730,000 bytes). */
export const MAX_CIFAR_BATCH_BYTES = 64 * 2 ** 20;

/** Records read per chunk by readCifarBinaryDir (786,688 bytes). */
export const CIFAR_READ_RECORDS = 256;

/**
 * Reads the six official batch files from a folder. Memory: the decoded splits (184 MB for the official
 * files) plus one read buffer of 256 records (0.8 MB), reused from chunk to chunk and file to file. A
 * whole-file buffer (30.7 MB) lived until a major GC, well into training; and once freed, glibc raised
 * its mmap threshold to 30.7 MB (trim threshold 61 MB) for the whole process, so every later allocation
 * below that size came from the per-thread malloc arenas, which kept tens of MB of freed memory resident.
 */
export async function readCifarBinaryDir(dir: string): Promise<{ train: Split; test: Split }> {
  const missing = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new Error(`${dir} is not a CIFAR-10 binary folder: missing ${missing.join(', ')}.`);
  const sized = (f: string) => {
    const name = join(dir, f);
    // Official batches are 30,730,000 bytes; a far bigger file is not one.
    const size = statSync(name).size;
    if (size > MAX_CIFAR_BATCH_BYTES) throw new Error(`${name}: ${size} bytes; a CIFAR-10 batch file is 30730000 bytes (10,000 records of 3,073), at most ${MAX_CIFAR_BATCH_BYTES} accepted.`);
    return { name, size };
  };
  const trainFiles = CIFAR10_TRAIN_FILES.map(sized);
  const testFiles = [sized(CIFAR10_TEST_FILE)];
  const buffer = new Uint8Array(CIFAR_READ_RECORDS * RECORD);
  const decode = async (files: { name: string; size: number }[]): Promise<Split> => {
    let count = 0;
    for (const f of files) count += checkRecordBytes(f.name, f.size);
    const images = new Uint8Array(count * 3072);
    const labels = new Uint8Array(count);
    let n = 0;
    for (const f of files) {
      const fh = await open(f.name, 'r');
      try {
        // Whole records per chunk: each chunk is decoded as read, the buffer reused.
        let pos = 0;
        while (pos < f.size) {
          const want = Math.min(buffer.length, f.size - pos);
          let got = 0;
          while (got < want) {
            const { bytesRead } = await fh.read(buffer, got, want - got, pos + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          if (got !== want) throw new Error(`${f.name}: read ${pos + got} of its ${f.size} bytes (did it change while being read?).`);
          n = decodeInto(f.name, buffer.subarray(0, want), images, labels, n, pos / RECORD);
          pos += want;
        }
      } finally {
        await fh.close();
      }
    }
    return { count, images, labels };
  };
  const train = await decode(trainFiles);
  const test = await decode(testFiles);
  return { train, test };
}

const MEMBER = /^(?:[^/]+\/)?(data_batch_[1-5]\.bin|test_batch\.bin|batches\.meta\.txt)$/;

/** Imports CIFAR-10 from an archive (.tar.gz/.tgz/.tar) or a folder into the cache at `dir`. */
export async function importCifar10(path: string, dir: string, opts: ImportOptions = {}): Promise<DatasetInfo> {
  if (!existsSync(path)) throw new Error(`CIFAR-10 import: ${path} does not exist.`);
  let tmp: string | undefined;
  try {
    let binDir: string | undefined;
    if (statSync(path).isDirectory()) {
      binDir = findCifarBinaryDir(path);
      if (!binDir) throw new Error(`CIFAR-10 import: ${path} holds neither data_batch_1.bin..test_batch.bin nor a cifar-10-batches-bin folder.`);
    } else {
      opts.onProgress?.({ id: 'cifar10', phase: 'extract', message: `Extracting ${basename(path)}` });
      await mkdir(dirname(dir), { recursive: true });
      tmp = await mkdtemp(`${dir}.extract-`);
      await extractTar(path, tmp, (m) => {
        const match = m.type === '0' ? MEMBER.exec(m.name) : null;
        return match ? match[1] : undefined;
      }, { signal: opts.signal, maxMemberBytes: 64 * 2 ** 20, maxTotalBytes: 512 * 2 ** 20 }); // batches are 30,730,000 bytes each
      binDir = findCifarBinaryDir(tmp);
      if (!binDir) throw new Error(`CIFAR-10 import: ${path} does not contain the CIFAR-10 binary batches (data_batch_1.bin … test_batch.bin).`);
    }
    opts.onProgress?.({ id: 'cifar10', phase: 'decode', message: 'Decoding batches' });
    const { train, test } = await readCifarBinaryDir(binDir);
    opts.onProgress?.({ id: 'cifar10', phase: 'write', message: 'Writing cache' });
    const info = { ...cifar10Info, trainSize: train.count, testSize: test.count };
    await writeCache(dir, { info, shape: [32, 32, 3], train, test, origin: path });
    return { ...info, status: 'ready', cachePath: dir };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

export function createCifar10Source(ctx: SourceContext): DatasetSource {
  const dir = cacheDir(ctx.root, 'cifar10');
  return {
    id: 'cifar10',
    async info() {
      const meta = await readCacheMeta(dir);
      if (meta) return { ...meta.info, status: 'ready', cachePath: dir };
      const damage = await cacheDamage(dir);
      return damage ? damagedInfo(cifar10Info, damage.problem, 'Prepare (download) or import CIFAR-10 again.') : { ...cifar10Info, status: 'missing' };
    },
    load: () => readCache(dir, 'cifar10'),
    async prepare(opts: PrepareOptions = {}) {
      const override = opts.url ?? ctx.env.LAYERFORGE_CIFAR10_URL;
      const url = override || CIFAR10_URL;
      const sha256 = opts.sha256 ?? ctx.env.LAYERFORGE_CIFAR10_SHA256;
      const md5 = opts.md5 ?? ctx.env.LAYERFORGE_CIFAR10_MD5;
      // A mirror serves the official archive, so the official checksum still applies unless overridden too.
      const sums = sha256 || md5 ? { sha256: sha256 || undefined, md5: md5 || undefined } : { sha256: CIFAR10_SHA256, size: CIFAR10_SIZE };
      const archive = join(ctx.root, 'downloads', 'cifar-10-binary.tar.gz');
      await download(url, archive, {
        ...sums,
        signal: opts.signal,
        retries: opts.retries,
        onProgress: (p) => opts.onProgress?.({ id: 'cifar10', phase: 'download', bytes: p.bytes, total: p.total, speed: p.speed, etaSeconds: p.etaSeconds }),
      });
      const info = await importCifar10(archive, dir, opts);
      await rm(archive, { force: true });
      return info;
    },
    importFrom: (path: string, opts?: ImportOptions) => importCifar10(path, dir, opts),
  };
}
