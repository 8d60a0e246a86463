/** Tiny generated datasets in the official formats, for tests. Test support only. */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mulberry32 } from './pipeline';
import { createTar, type TarEntryInput } from './tar';
import { writeIdx } from './mnist/idx';

export interface TinyCifar {
  /** Per file: records as [label, HWC pixels] for checking. */
  files: Record<string, { label: number; hwc: Uint8Array }[]>;
  /** The file bytes (label + R, G, B planes). */
  bytes: Record<string, Uint8Array>;
}

/** `perBatch` random records in each of the six CIFAR-10 batch files. */
export function tinyCifar(perBatch = 3, seed = 7): TinyCifar {
  const rand = mulberry32(seed);
  const names = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  const files: TinyCifar['files'] = {};
  const bytes: TinyCifar['bytes'] = {};
  for (const name of names) {
    const recs: { label: number; hwc: Uint8Array }[] = [];
    const buf = new Uint8Array(perBatch * 3073);
    for (let r = 0; r < perBatch; r++) {
      const label = Math.floor(rand() * 10);
      const hwc = new Uint8Array(3072);
      for (let i = 0; i < hwc.length; i++) hwc[i] = Math.floor(rand() * 256);
      recs.push({ label, hwc });
      const o = r * 3073;
      buf[o] = label;
      for (let p = 0; p < 1024; p++) {
        buf[o + 1 + p] = hwc[p * 3]!;
        buf[o + 1 + 1024 + p] = hwc[p * 3 + 1]!;
        buf[o + 1 + 2048 + p] = hwc[p * 3 + 2]!;
      }
    }
    files[name] = recs;
    bytes[name] = buf;
  }
  return { files, bytes };
}

/** The tiny CIFAR-10 as a .tar.gz in the official layout (cifar-10-batches-bin/…), plus extra members. */
export function tinyCifarArchive(t: TinyCifar, extra: TarEntryInput[] = []): { archive: Buffer; sha256: string } {
  const entries: TarEntryInput[] = [{ name: 'cifar-10-batches-bin/', type: '5' }];
  for (const [name, data] of Object.entries(t.bytes)) entries.push({ name: `cifar-10-batches-bin/${name}`, data });
  entries.push({ name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n') });
  entries.push(...extra);
  const archive = createTar(entries, true);
  return { archive, sha256: createHash('sha256').update(archive).digest('hex') };
}

/** Four tiny IDX files (gzipped or not) with `train`/`test` images of `rows`x`cols`. */
export function tinyIdx(train = 12, test = 5, rows = 28, cols = 28, gzip = true, seed = 3): { files: Record<string, Uint8Array>; trainImages: Uint8Array; trainLabels: Uint8Array; testImages: Uint8Array; testLabels: Uint8Array } {
  const rand = mulberry32(seed);
  const mk = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const lab = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 10));
  const trainImages = mk(train * rows * cols);
  const testImages = mk(test * rows * cols);
  const trainLabels = lab(train);
  const testLabels = lab(test);
  const z = (b: Uint8Array) => (gzip ? new Uint8Array(gzipSync(b)) : b);
  const ext = gzip ? '.gz' : '';
  return {
    files: {
      [`train-images-idx3-ubyte${ext}`]: z(writeIdx([train, rows, cols], trainImages)),
      [`train-labels-idx1-ubyte${ext}`]: z(writeIdx([train], trainLabels)),
      [`t10k-images-idx3-ubyte${ext}`]: z(writeIdx([test, rows, cols], testImages)),
      [`t10k-labels-idx1-ubyte${ext}`]: z(writeIdx([test], testLabels)),
    },
    trainImages, trainLabels, testImages, testLabels,
  };
}
