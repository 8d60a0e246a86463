/**
 * MNIST and Fashion-MNIST: four IDX files each (train/t10k images/labels, gzipped or not), downloaded from
 * their official locations (overridable), imported from a folder, or — for Fashion-MNIST — read straight
 * from Debian's `dataset-fashion-mnist` package when it is installed (then the dataset is ready without any
 * download or import).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetInfo } from '../../../../shared/api/datasets';
import { cacheDamage, cacheDir, damagedInfo, readCache, readCacheMeta, writeCache, type CacheMeta } from '../cache';
import { download } from '../download';
import type { ImportOptions, PrepareOptions, SourceContext } from '../source';
import type { DatasetSource, LoadedDataset, Split } from '../types';
import { parseIdx } from './idx';

export type MnistKind = 'mnist' | 'fashion-mnist';
type FileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';

const FILE_NAMES: Record<FileKey, string> = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};
/** Accepts the usual spellings: `train-images-idx3-ubyte`, `train-images.idx3-ubyte`, with or without `.gz`. */
const FILE_PATTERNS: Record<FileKey, RegExp> = {
  trainImages: /^train-images[.-]idx3-ubyte(\.gz)?$/i,
  trainLabels: /^train-labels[.-]idx1-ubyte(\.gz)?$/i,
  testImages: /^t10k-images[.-]idx3-ubyte(\.gz)?$/i,
  testLabels: /^t10k-labels[.-]idx1-ubyte(\.gz)?$/i,
};

interface KindSpec {
  info: CacheMeta['info'];
  mirrors: string[];
  md5: Record<FileKey, string>;
  envUrl: string;
}

export const MNIST_SPECS: Record<MnistKind, KindSpec> = {
  mnist: {
    info: {
      id: 'mnist',
      name: 'MNIST',
      inputShape: [28, 28, 1],
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      trainSize: 60_000,
      testSize: 10_000,
      license: 'CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)',
      homepage: 'http://yann.lecun.com/exdb/mnist/',
      downloadable: true,
    },
    // yann.lecun.com often refuses downloads now; torchvision's mirror of the same files comes first.
    mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
    md5: {
      trainImages: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      trainLabels: 'd53e105ee54ea40749a09fcbcd1e9432',
      testImages: '9fb629c4189551a2d022fa330f9573f3',
      testLabels: 'ec29112dd5afa0611ce80d1b7f02629c',
    },
    envUrl: 'LAYERFORGE_MNIST_URL',
  },
  'fashion-mnist': {
    info: {
      id: 'fashion-mnist',
      name: 'Fashion-MNIST',
      inputShape: [28, 28, 1],
      classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
      trainSize: 60_000,
      testSize: 10_000,
      license: 'MIT (Zalando Research)',
      homepage: 'https://github.com/zalandoresearch/fashion-mnist',
      downloadable: true,
    },
    mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
    md5: {
      trainImages: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      trainLabels: '25c81989df183df01b3e8a0aad5dffbe',
      testImages: 'bef4ecab320f06d8554ea6380940ec79',
      testLabels: 'bb300cfdad3c16e7a12a480ee83cd310',
    },
    envUrl: 'LAYERFORGE_FASHION_MNIST_URL',
  },
};

/** Where Debian's dataset-fashion-mnist puts its files (`dpkg -L dataset-fashion-mnist`). */
export const DEBIAN_FASHION_MNIST_DIRS = ['/usr/share/datasets/fashion-mnist'];

/** Finds the four IDX files in a folder; undefined when any is missing. */
export function findIdxFiles(dir: string): Record<FileKey, string> | undefined {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return undefined;
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const found: Partial<Record<FileKey, string>> = {};
  for (const key of Object.keys(FILE_PATTERNS) as FileKey[]) {
    // Prefer the uncompressed file when both exist (faster to read).
    const matches = names.filter((n) => FILE_PATTERNS[key].test(n)).sort((a, b) => Number(a.endsWith('.gz')) - Number(b.endsWith('.gz')));
    if (matches[0]) found[key] = join(dir, matches[0]);
  }
  return found.trainImages && found.trainLabels && found.testImages && found.testLabels ? (found as Record<FileKey, string>) : undefined;
}

async function readSplit(images: string, labels: string, classes: number): Promise<{ split: Split; shape: [number, number, number] }> {
  const im = parseIdx(await readFile(images), images);
  const lb = parseIdx(await readFile(labels), labels);
  if (im.dims.length !== 3) throw new Error(`${images}: expected 3 dimensions (count x rows x cols), got ${im.dims.join('x')}.`);
  if (lb.dims.length !== 1) throw new Error(`${labels}: expected 1 dimension (count), got ${lb.dims.join('x')}.`);
  if (im.dims[0] !== lb.dims[0]) throw new Error(`${images} has ${im.dims[0]} images but ${labels} has ${lb.dims[0]} labels.`);
  for (let i = 0; i < lb.data.length; i++) {
    if (lb.data[i]! >= classes) throw new Error(`${labels}: label ${lb.data[i]} at index ${i} is out of range 0-${classes - 1}.`);
  }
  return { split: { count: im.dims[0]!, images: im.data, labels: lb.data }, shape: [im.dims[1]!, im.dims[2]!, 1] };
}

/** Reads the four IDX files of a folder into train/test splits. */
export async function readIdxFolder(dir: string, kind: MnistKind): Promise<{ train: Split; test: Split; shape: [number, number, number] }> {
  const files = findIdxFiles(dir);
  if (!files) {
    throw new Error(`${dir} does not hold the four ${MNIST_SPECS[kind].info.name} IDX files (${Object.values(FILE_NAMES).join(', ')}; .gz optional).`);
  }
  const classes = MNIST_SPECS[kind].info.classNames.length;
  const train = await readSplit(files.trainImages, files.trainLabels, classes);
  const test = await readSplit(files.testImages, files.testLabels, classes);
  if (train.shape.join() !== test.shape.join()) throw new Error(`${dir}: train images are ${train.shape.join('x')} but test images ${test.shape.join('x')}.`);
  return { train: train.split, test: test.split, shape: train.shape };
}

function infoFor(kind: MnistKind, train: Split, test: Split, shape: [number, number, number]): CacheMeta['info'] {
  return { ...MNIST_SPECS[kind].info, inputShape: [...shape], trainSize: train.count, testSize: test.count };
}

export async function importMnist(kind: MnistKind, path: string, dir: string, opts: ImportOptions = {}): Promise<DatasetInfo> {
  opts.onProgress?.({ id: kind, phase: 'decode', message: `Reading IDX files in ${path}` });
  const { train, test, shape } = await readIdxFolder(path, kind);
  opts.onProgress?.({ id: kind, phase: 'write', message: 'Writing cache' });
  const info = infoFor(kind, train, test, shape);
  await writeCache(dir, { info, shape, train, test, origin: path });
  return { ...info, status: 'ready', cachePath: dir };
}

export function createMnistSource(kind: MnistKind, ctx: SourceContext): DatasetSource {
  const spec = MNIST_SPECS[kind];
  const dir = cacheDir(ctx.root, kind);
  const systemDirs = kind === 'fashion-mnist' ? (ctx.systemDirs?.fashionMnist ?? DEBIAN_FASHION_MNIST_DIRS) : [];
  const systemDir = () => systemDirs.find((d) => findIdxFiles(d));
  return {
    id: kind,
    async info() {
      const meta = await readCacheMeta(dir);
      if (meta) return { ...meta.info, status: 'ready', cachePath: dir };
      const sys = systemDir();
      if (sys) return { ...spec.info, status: 'ready', cachePath: sys, message: `Read from the system package files in ${sys}.` };
      const damage = await cacheDamage(dir);
      return damage ? damagedInfo(spec.info, damage.problem, `Prepare (download) or import ${spec.info.name} again.`) : { ...spec.info, status: 'missing' };
    },
    async load(): Promise<LoadedDataset> {
      if (await readCacheMeta(dir)) return readCache(dir, kind);
      const sys = systemDir();
      if (!sys) return readCache(dir, kind); // not ready: its error names a damaged file, or says to prepare it
      const { train, test, shape } = await readIdxFolder(sys, kind);
      return { info: { ...infoFor(kind, train, test, shape), status: 'ready', cachePath: sys }, shape, train, test };
    },
    async prepare(opts: PrepareOptions = {}) {
      const base = opts.url ?? ctx.env[spec.envUrl];
      const mirrors = base ? [base.endsWith('/') ? base : `${base}/`] : spec.mirrors;
      // Per-file checksums only make sense for the official files (or their exact mirrors); an override of
      // the URL keeps them unless LAYERFORGE_<KIND>_MD5=none says the mirror serves other bytes.
      const envMd5 = ctx.env[`${spec.envUrl.replace(/_URL$/, '')}_MD5`];
      const useMd5 = opts.md5 !== 'none' && envMd5 !== 'none';
      const dl = join(ctx.root, 'downloads', kind);
      const keys = Object.keys(FILE_NAMES) as FileKey[];
      for (const [i, key] of keys.entries()) {
        let lastError: unknown;
        for (const mirror of mirrors) {
          try {
            await download(mirror + FILE_NAMES[key], join(dl, FILE_NAMES[key]), {
              md5: useMd5 ? spec.md5[key] : undefined,
              signal: opts.signal,
              retries: opts.retries,
              onProgress: (p) => opts.onProgress?.({ id: kind, phase: 'download', bytes: p.bytes, total: p.total, speed: p.speed, etaSeconds: p.etaSeconds, done: i, count: keys.length, message: FILE_NAMES[key] }),
            });
            lastError = undefined;
            break;
          } catch (error) {
            lastError = error;
            if (opts.signal?.aborted) throw error;
          }
        }
        if (lastError) throw lastError;
      }
      const info = await importMnist(kind, dl, dir, opts);
      await rm(dl, { recursive: true, force: true });
      return info;
    },
    async importFrom(path: string, opts?: ImportOptions) {
      if (!existsSync(path)) throw new Error(`${spec.info.name} import: ${path} does not exist.`);
      return importMnist(kind, path, dir, opts);
    },
  };
}
