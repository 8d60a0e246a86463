/**
 * The data side of a PyTorch training bundle: `data.json`, naming the files train.py reads, and for the
 * datasets whose preprocessing lives in the engine (tables, labelled text, corpora) the arrays themselves.
 *
 * Where the engine keeps each kind (and so what train.py reads):
 * - CIFAR-10 given as its official binary folder (data_batch_1..5.bin + test_batch.bin, the `dataDir` of a
 *   run may be one): those files (`cifar10-binary`).
 * - Every prepared image dataset (CIFAR-10, MNIST, Fashion-MNIST, imported image folders): the decoded cache
 *   `<dataDir>/datasets/<id>/` (meta.json + data.bin: uint8 HWC pixels and labels at the offsets meta.json
 *   records), memory-mapped by train.py (`layerforge-cache`): the very pixels the tfjs trainer reads.
 * - Fashion-MNIST from Debian's `dataset-fashion-mnist` package (no cache): its four IDX files (`idx`).
 * - Tables, labelled text and corpora: .npy arrays written here from the decoded dataset (`arrays`):
 *   standardised float32 features, int32 token ids, int32 labels, standardised float32 regression targets,
 *   corpus token streams cut into windows by train.py as the engine does (windows.ts).
 * Pixels are divided by 255 and nothing else, as main/engine/training/data.ts does.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelTask } from '../../../shared/tasks';
import { readCacheMeta, type CacheMeta } from '../datasets/cache';
import { CIFAR10_MD5, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, CIFAR10_URL, cifar10Info, findCifarBinaryDir } from '../datasets/cifar10';
import { createDatasetRegistry } from '../datasets';
import { findIdxFiles, MNIST_SPECS } from '../datasets/mnist';
import type { LoadedDataset } from '../datasets/types';
import { taskOfDataset } from '../training/trainer';

/** Where train.py finds the samples (paths relative to data.json's folder, or absolute). */
export type BundleDataSource =
  | { type: 'layerforge-cache'; dir: string }
  | { type: 'cifar10-binary'; dir: string; train: string[]; test: string }
  | { type: 'idx'; files: { trainImages: string; trainLabels: string; testImages: string; testLabels: string } }
  | {
      type: 'arrays';
      /** train_x, train_y, train_t (regression), test_*; corpora: train_stream, test_stream. */
      files: Record<string, string>;
      seqLen?: number;
      stride?: number;
    };

/** data.json: what train.py reads (see the module comment). */
export interface BundleDataset {
  format: 'layerforge-data';
  version: 1;
  id: string;
  name: string;
  kind: 'image' | 'table' | 'text' | 'corpus';
  classNames: string[];
  /** One stored sample: [H, W, C] for images, [1, 1, F] for table rows, [1, 1, T] for texts. */
  shape: [number, number, number];
  trainSize: number;
  testSize: number;
  source: BundleDataSource;
  /** How to get the files on another machine when they are not in the bundle, in words (README repeats it). */
  fetch?: string;
  /**
   * The official files, for `python3 train.py --fetch-data` (downloads into data/, checks each MD5, points
   * `source` at them): CIFAR-10's binary archive or the four IDX files.
   */
  download?: { source: 'cifar10-binary' | 'idx'; files: { url: string; md5: string; name: string; key?: string }[] };
}

const IDX_NAMES = { trainImages: 'train-images-idx3-ubyte.gz', trainLabels: 'train-labels-idx1-ubyte.gz', testImages: 't10k-images-idx3-ubyte.gz', testLabels: 't10k-labels-idx1-ubyte.gz' } as const;

/** The official downloads of the built-in datasets (the engine's own URLs and checksums). */
export function officialDownload(id: string): BundleDataset['download'] {
  if (id === 'cifar10') return { source: 'cifar10-binary', files: [{ url: CIFAR10_URL, md5: CIFAR10_MD5, name: 'cifar-10-binary.tar.gz' }] };
  if (id === 'mnist' || id === 'fashion-mnist') {
    const spec = MNIST_SPECS[id];
    return { source: 'idx', files: (Object.keys(IDX_NAMES) as (keyof typeof IDX_NAMES)[]).map((key) => ({ url: spec.mirrors[0]! + IDX_NAMES[key], md5: spec.md5[key], name: IDX_NAMES[key], key })) };
  }
  return undefined;
}

export interface DataManifestOptions {
  /** The bundle folder; data.json (and data/ when arrays or copies are written) go there. */
  dir: string;
  datasetId: string;
  /** LAYERFORGE_DATA_DIR of the engine, or (cifar10) a folder with the official binary files. */
  dataDir: string;
  /** Copy image data files into DIR/data/ too (a self-contained bundle); default: name them where they are. */
  copyData?: boolean;
}

export interface DataManifest {
  /** data.json's path. */
  file: string;
  /** Every file written (data.json first). */
  files: string[];
  manifest: BundleDataset;
  /** The task and target the dataset declares (as taskOfDataset says for the tfjs trainer). */
  task: ModelTask;
}

/** A .npy file (format 1.0) of a typed array with the given shape. */
export function encodeNpy(data: Float32Array | Int32Array | Uint8Array | Uint16Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : data instanceof Uint16Array ? '<u2' : '|u1';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

const labelsInt32 = (labels: ArrayLike<number>) => Int32Array.from(labels);

async function writeArrays(dir: string, ds: LoadedDataset): Promise<{ source: BundleDataSource; files: string[] }> {
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const files: Record<string, string> = {};
  const written: string[] = [];
  const put = async (name: string, data: Float32Array | Int32Array | Uint16Array, shape: number[]) => {
    const rel = `data/${name}.npy`;
    await writeFile(join(dir, rel), encodeNpy(data, shape));
    files[name] = rel;
    written.push(join(dir, rel));
  };
  const size = ds.shape[0] * ds.shape[1] * ds.shape[2];
  for (const [prefix, split] of [['train', ds.train], ['test', ds.test]] as const) {
    if (split.stream) {
      await put(`${prefix}_stream`, split.stream instanceof Uint16Array ? split.stream : Int32Array.from(split.stream), [split.stream.length]);
      continue;
    }
    if (split.features) await put(`${prefix}_x`, split.features, [split.count, size]);
    else if (split.tokens) await put(`${prefix}_x`, split.tokens, [split.count, size]);
    else throw new Error(`dataset '${ds.info.id}': a ${prefix} split has neither features, tokens nor a token stream`);
    await put(`${prefix}_y`, labelsInt32(split.labels), [split.count]);
    if (split.targets) await put(`${prefix}_t`, split.targets, [split.count]);
  }
  const corpus = ds.text?.kind === 'corpus';
  return {
    source: { type: 'arrays', files, ...(corpus ? { seqLen: ds.text!.seqLen, stride: ds.train.stride ?? ds.text!.stride ?? ds.text!.seqLen } : {}) },
    files: written,
  };
}

async function copyInto(dir: string, from: string, names: string[]): Promise<string[]> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const out: string[] = [];
  for (const n of names) {
    await copyFile(join(from, n), join(dir, 'data', n));
    out.push(join(dir, 'data', n));
  }
  return out;
}

const FETCH: Record<string, string> = {
  cifar10: `download ${CIFAR10_URL} (170 MB), unpack it and point data.json's source at its cifar-10-batches-bin folder: {"type": "cifar10-binary", "dir": "/path/cifar-10-batches-bin", "train": ["data_batch_1.bin", …, "data_batch_5.bin"], "test": "test_batch.bin"}`,
  mnist: `download the four IDX files (${MNIST_SPECS.mnist.mirrors[0]}train-images-idx3-ubyte.gz and the other three) and point data.json's source at them: {"type": "idx", "files": {"trainImages": …, "trainLabels": …, "testImages": …, "testLabels": …}}`,
  'fashion-mnist': `download the four IDX files (${MNIST_SPECS['fashion-mnist'].mirrors[0]}train-images-idx3-ubyte.gz and the other three) and point data.json's source at them: {"type": "idx", "files": {…}}`,
};

/**
 * Writes DIR/data.json (and DIR/data/ where needed) for a dataset of the engine's data folder. Throws, naming
 * the dataset and what to do, when it is unknown or not ready.
 */
export async function writeDataManifest(opts: DataManifestOptions): Promise<DataManifest> {
  const { dir, datasetId: id, dataDir } = opts;
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let manifest: BundleDataset;
  let task: ModelTask;
  const cifarBin = id === 'cifar10' ? findCifarBinaryDir(dataDir) : undefined;
  if (cifarBin) {
    const names = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
    if (opts.copyData) files.push(...(await copyInto(dir, cifarBin, names)));
    manifest = {
      format: 'layerforge-data',
      version: 1,
      id,
      name: cifar10Info.name,
      kind: 'image',
      classNames: cifar10Info.classNames,
      shape: [32, 32, 3],
      trainSize: NaN,
      testSize: NaN,
      source: { type: 'cifar10-binary', dir: opts.copyData ? 'data' : cifarBin, train: [...CIFAR10_TRAIN_FILES], test: CIFAR10_TEST_FILE },
      fetch: FETCH.cifar10,
      ...(opts.copyData ? {} : { download: officialDownload(id)! }),
    };
    const { statSync } = await import('node:fs');
    const records = (f: string) => statSync(join(cifarBin, f)).size / 3073;
    manifest.trainSize = CIFAR10_TRAIN_FILES.reduce((a, f) => a + records(f), 0);
    manifest.testSize = records(CIFAR10_TEST_FILE);
    task = { id: 'classification', target: { classes: 10, mean: 0, std: 1 } };
  } else {
    const registry = createDatasetRegistry({ root: dataDir, env: process.env });
    const info = await registry.info(id).catch((error: unknown) => {
      throw new Error(`dataset '${id}' is unknown in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (info.status !== 'ready') {
      throw new Error(`dataset '${id}' is not ready (${info.status}${info.message ? `: ${info.message}` : ''}): run \`layerforge datasets prepare ${id}\` or import it`);
    }
    const kind = info.kind ?? 'image';
    const base = { format: 'layerforge-data' as const, version: 1 as const, id, name: info.name, classNames: info.classNames, trainSize: info.trainSize, testSize: info.testSize };
    if (kind === 'image') {
      const cache = info.cachePath ? await readCacheMeta<CacheMeta>(info.cachePath) : undefined;
      const idx = info.cachePath && !cache ? findIdxFiles(info.cachePath) : undefined;
      let source: BundleDataSource;
      let shape: [number, number, number];
      if (cache) {
        if (opts.copyData) files.push(...(await copyInto(dir, info.cachePath!, ['meta.json', 'data.bin'])));
        source = { type: 'layerforge-cache', dir: opts.copyData ? 'data' : info.cachePath! };
        shape = cache.shape;
      } else if (idx) {
        if (opts.copyData) {
          const names = Object.values(idx).map((p) => p.slice(info.cachePath!.length + 1));
          files.push(...(await copyInto(dir, info.cachePath!, names)));
          const rel = (p: string) => `data/${p.slice(info.cachePath!.length + 1)}`;
          source = { type: 'idx', files: { trainImages: rel(idx.trainImages), trainLabels: rel(idx.trainLabels), testImages: rel(idx.testImages), testLabels: rel(idx.testLabels) } };
        } else source = { type: 'idx', files: idx };
        const [h, w, c] = info.inputShape;
        shape = [h ?? 28, w ?? 28, c ?? 1];
      } else {
        throw new Error(`dataset '${id}': no decoded cache or IDX files found${info.cachePath ? ` in ${info.cachePath}` : ''}`);
      }
      const download = opts.copyData ? undefined : officialDownload(id);
      manifest = { ...base, kind: 'image', shape, source, ...(FETCH[id] ? { fetch: FETCH[id] } : {}), ...(download ? { download } : {}) };
      task = { id: info.task ?? 'classification', target: { classes: info.classNames.length, mean: 0, std: 1 } };
    } else {
      const ds = await registry.load(id);
      const arrays = await writeArrays(dir, ds);
      files.push(...arrays.files);
      // What the dataset was learned from travels with the bundle, so the run's model folder gets it back (weightsBack.ts).
      if (ds.table) {
        await writeFile(join(dir, 'preprocessing.json'), `${JSON.stringify(ds.table.preprocessing, null, 2)}\n`);
        files.push(join(dir, 'preprocessing.json'));
      }
      if (ds.text) {
        await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(ds.text.tokenizer));
        files.push(join(dir, 'tokenizer.json'));
      }
      manifest = { ...base, kind: ds.text ? ds.text.kind : 'table', shape: [...ds.shape], trainSize: ds.train.count, testSize: ds.test.count, source: arrays.source };
      task = taskOfDataset(ds);
    }
  }
  const file = join(dir, 'data.json');
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return { file, files: [file, ...files], manifest, task };
}
