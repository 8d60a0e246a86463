/**
 * Image-folder datasets: one sub-folder per class of JPEG/PNG images (Keras `image_dataset_from_directory`
 * layout), with optional `train/` and `test/` splits (else a seeded, per-class split). Images are decoded
 * (jpeg-js, pngjs), converted to RGB or grey, resized (bilinear) and cached as uint8. Unreadable images are
 * reported and skipped. A .tar/.tar.gz of such a folder is accepted too (only image members are extracted).
 */
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DatasetInfo } from '../../../../shared/api/datasets';
import { cacheDamage, cacheDir, damagedInfo, readCache, readCacheMeta, writeCache, type CacheMeta } from '../cache';
import { mulberry32 } from '../pipeline';
import type { ImportOptions, SourceContext } from '../source';
import { extractTar } from '../tar';
import type { DatasetSource, Split } from '../types';
import { decodeImage, resizeInto } from './image';

const IMAGE_EXT = /\.(jpe?g|png)$/i;

export interface FolderImportOptions extends ImportOptions {
  /** Dataset name; the id becomes `folder:<name>`. Default: the folder's name. */
  name?: string;
  /** Output [height, width]; default: the size of the first readable image. */
  size?: [number, number];
  /** 3 (RGB, default) or 1 (grey). */
  channels?: 1 | 3;
  /** Fraction of each class held out as test when there is no test/ folder (default 0.2). */
  testFraction?: number;
  /** Seed of that split (default 1). */
  seed?: number;
  /** Parallel file reads (default 16). */
  concurrency?: number;
}

export interface SkippedImage {
  file: string;
  reason: string;
}

export interface FolderImportResult {
  info: DatasetInfo;
  skipped: SkippedImage[];
  /** Seconds spent decoding and resizing (file reads included). */
  decodeSeconds: number;
}

interface Item {
  file: string;
  label: number;
}

/** A safe dataset name from a user's name or a folder name. */
export function folderDatasetName(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.(tar\.gz|tgz|tar)$/, '').replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 60);
  if (!n) throw new Error(`'${name}' does not make a usable dataset name: use letters, digits, '.', '_' or '-'.`);
  return n;
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function imagesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && IMAGE_EXT.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

function findChild(names: string[], wanted: string[]): string | undefined {
  return names.find((n) => wanted.includes(n.toLowerCase()));
}

/** Works out the layout: classes and the files of each split. */
export async function scanImageFolder(root: string, testFraction = 0.2, seed = 1): Promise<{ classNames: string[]; train: Item[]; test: Item[] }> {
  const top = await subdirs(root);
  const trainDir = findChild(top, ['train', 'training']);
  const testDir = findChild(top, ['test', 'testing', 'val', 'validation']);
  const collect = async (dir: string, classNames: string[]) => {
    const items: Item[] = [];
    for (const [label, c] of classNames.entries()) {
      const d = join(dir, c);
      let files: string[] = [];
      try {
        files = await imagesIn(d);
      } catch {
        files = [];
      }
      for (const file of files) items.push({ file, label });
    }
    return items;
  };
  if (trainDir) {
    const trainClasses = await subdirs(join(root, trainDir));
    const testClasses = testDir ? await subdirs(join(root, testDir)) : [];
    const extra = testClasses.filter((c) => !trainClasses.includes(c));
    if (extra.length) throw new Error(`${join(root, testDir!)} has classes that ${join(root, trainDir)} lacks: ${extra.join(', ')}.`);
    if (!trainClasses.length) throw new Error(`${join(root, trainDir)} has no class sub-folders.`);
    const train = await collect(join(root, trainDir), trainClasses);
    if (testDir) return { classNames: trainClasses, train, test: await collect(join(root, testDir), trainClasses) };
    return { classNames: trainClasses, ...splitByFraction(train, trainClasses.length, testFraction, seed) };
  }
  if (!top.length) throw new Error(`${root} has no class sub-folders (expected one folder of images per class, optionally under train/ and test/).`);
  const all = await collect(root, top);
  return { classNames: top, ...splitByFraction(all, top.length, testFraction, seed) };
}

/** Seeded, per-class (stratified) split. */
export function splitByFraction(items: Item[], classes: number, fraction: number, seed: number): { train: Item[]; test: Item[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`testFraction must be in [0, 1), got ${fraction}.`);
  const rand = mulberry32(seed);
  const train: Item[] = [];
  const test: Item[] = [];
  for (let c = 0; c < classes; c++) {
    const of = items.filter((i) => i.label === c);
    for (let i = of.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [of[i], of[j]] = [of[j]!, of[i]!];
    }
    const nTest = Math.round(of.length * fraction);
    test.push(...of.slice(0, nTest));
    train.push(...of.slice(nTest));
  }
  const byFile = (a: Item, b: Item) => a.label - b.label || (a.file < b.file ? -1 : 1);
  return { train: train.sort(byFile), test: test.sort(byFile) };
}

/** Decodes items into a split; unreadable files go to `skipped`. */
async function decodeItems(
  items: Item[],
  shape: { h: number; w: number; c: 1 | 3 },
  skipped: SkippedImage[],
  opts: FolderImportOptions & { id: string; progressBase: number; progressTotal: number },
): Promise<Split> {
  const per = shape.h * shape.w * shape.c;
  const images = new Uint8Array(items.length * per);
  const labels = new Uint16Array(items.length);
  const ok = new Uint8Array(items.length);
  let next = 0;
  let done = 0;
  let lastReport = 0;
  const worker = async () => {
    while (next < items.length) {
      if (opts.signal?.aborted) throw new Error('Import cancelled.');
      const i = next++;
      const item = items[i]!;
      try {
        const buf = await readFile(item.file);
        const img = decodeImage(buf);
        if (!img.width || !img.height) throw new Error('empty image');
        resizeInto(img, shape.h, shape.w, shape.c, images, i * per);
        labels[i] = item.label;
        ok[i] = 1;
      } catch (error) {
        skipped.push({ file: item.file, reason: error instanceof Error ? error.message : String(error) });
      }
      done++;
      const now = Date.now();
      if (now - lastReport > 200) {
        lastReport = now;
        opts.onProgress?.({ id: opts.id, phase: 'decode', done: opts.progressBase + done, count: opts.progressTotal });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 16) }, worker));
  // Compact away skipped images, keeping order.
  let n = 0;
  for (let i = 0; i < items.length; i++) {
    if (!ok[i]) continue;
    if (n !== i) {
      images.copyWithin(n * per, i * per, (i + 1) * per);
      labels[n] = labels[i]!;
    }
    n++;
  }
  return { count: n, images: images.subarray(0, n * per), labels: labels.subarray(0, n) };
}

/** Imports an image folder (or a tar/tar.gz of one) into the cache under `root`. */
export async function importImageFolder(path: string, root: string, opts: FolderImportOptions = {}): Promise<FolderImportResult> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`Image folder import: ${path} does not exist.`);
  }
  const name = folderDatasetName(opts.name ?? basename(path));
  const id = `folder:${name}`;
  const dir = cacheDir(root, id);
  let tmp: string | undefined;
  try {
    let folder = path;
    if (!st.isDirectory()) {
      if (!/\.(tar|tgz|tar\.gz)$/i.test(path)) throw new Error(`Image folder import: ${path} is neither a folder nor a .tar/.tar.gz archive.`);
      await mkdir(dirname(dir), { recursive: true });
      tmp = await mkdtemp(`${dir}.extract-`);
      opts.onProgress?.({ id, phase: 'extract', message: `Extracting ${basename(path)}` });
      // One image over 256 MB would be refused at decoding anyway (see image.ts): refuse it before writing it.
      await extractTar(path, tmp, (m) => (m.type === '0' && IMAGE_EXT.test(m.name) ? m.name : undefined), { signal: opts.signal, maxMemberBytes: 256 * 2 ** 20 });
      folder = tmp;
      // An archive often wraps everything in one top folder.
      const top = await subdirs(tmp);
      if (top.length === 1 && !['train', 'test'].includes(top[0]!.toLowerCase())) {
        const inner = await subdirs(join(tmp, top[0]!));
        if (inner.length) folder = join(tmp, top[0]!);
      }
    }
    const { classNames, train, test } = await scanImageFolder(folder, opts.testFraction ?? 0.2, opts.seed ?? 1);
    if (!train.length) throw new Error(`Image folder import: no JPEG or PNG images found under ${path}.`);
    const skipped: SkippedImage[] = [];
    let size = opts.size;
    if (!size) {
      for (const item of [...train, ...test]) {
        try {
          const img = decodeImage(await readFile(item.file));
          size = [img.height, img.width];
          break;
        } catch {
          // reported when decoded below
        }
      }
      if (!size) throw new Error(`Image folder import: none of the ${train.length + test.length} images under ${path} could be decoded.`);
    }
    const [h, w] = size;
    if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 1 && w >= 1 && h <= 1024 && w <= 1024)) {
      throw new Error(`Image size must be whole numbers from 1 to 1024, got ${h}x${w}.`);
    }
    const c = opts.channels ?? 3;
    const started = performance.now();
    const total = train.length + test.length;
    const trainSplit = await decodeItems(train, { h, w, c }, skipped, { ...opts, id, progressBase: 0, progressTotal: total });
    const testSplit = await decodeItems(test, { h, w, c }, skipped, { ...opts, id, progressBase: train.length, progressTotal: total });
    const decodeSeconds = (performance.now() - started) / 1000;
    opts.onProgress?.({ id, phase: 'decode', done: total, count: total });
    if (!trainSplit.count) throw new Error(`Image folder import: none of the ${train.length} training images under ${path} could be decoded (first: ${skipped[0]?.file}: ${skipped[0]?.reason}).`);
    const display = (f: string) => (tmp ? f.replace(tmp, `${path}!`) : f);
    const skippedOut = skipped.map((s) => ({ file: display(s.file), reason: s.reason })).sort((a, b) => (a.file < b.file ? -1 : 1));
    const info: CacheMeta['info'] = {
      id,
      name: opts.name ?? name,
      inputShape: [h, w, c],
      classNames,
      trainSize: trainSplit.count,
      testSize: testSplit.count,
      license: 'User data',
      homepage: '',
      downloadable: false,
    };
    opts.onProgress?.({ id, phase: 'write', message: 'Writing cache' });
    await writeCache(dir, { info, shape: [h, w, c], train: trainSplit, test: testSplit, origin: path });
    return { info: { ...info, status: 'ready', cachePath: dir }, skipped: skippedOut, decodeSeconds };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** The source of an imported folder dataset (id `folder:<name>`). */
export function createFolderSource(id: string, ctx: SourceContext): DatasetSource {
  const dir = cacheDir(ctx.root, id);
  return {
    id,
    async info() {
      const meta = await readCacheMeta(dir);
      if (meta) return { ...meta.info, status: 'ready', cachePath: dir };
      const base = {
        id, name: id.slice('folder:'.length), inputShape: [], classNames: [], trainSize: 0, testSize: 0,
        license: 'User data', homepage: '', downloadable: false,
      };
      const damage = await cacheDamage(dir);
      if (damage) return damagedInfo({ ...base, ...damage.info, id }, damage.problem, 'Import the folder again.');
      return { ...base, status: 'missing', message: `No complete cache in ${dir}; import the folder again.` };
    },
    load: () => readCache(dir, id),
    importFrom: async (path: string, opts?: ImportOptions) => (await importImageFolder(path, ctx.root, { ...opts, name: id.slice('folder:'.length) })).info,
  };
}
