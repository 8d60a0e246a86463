/**
 * The decoded-dataset cache: one folder per dataset under `<dataDir>/datasets/`, holding `data.bin` (uint8
 * images and labels of both splits, back to back) and `meta.json`. `meta.json` is the ready marker: it is
 * written last, both files are written to a temporary name and renamed into place, and a dataset counts as
 * ready only when `meta.json` parses and `data.bin` has exactly the size it records. So a crash or a failed
 * import never leaves a half dataset that looks ready.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DatasetInfo } from '../../../shared/api/datasets';
import type { LoadedDataset, Split } from './types';

/** The user-data folder for datasets: `LAYERFORGE_DATA_DIR`, else the platform's user-data location. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LAYERFORGE_DATA_DIR;
  if (override && override.trim()) return override;
  const home = homedir();
  if (process.platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'Layerforge');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'Layerforge');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'layerforge');
}

export const CACHE_VERSION = 1;

/** What `meta.json` records. */
export interface CacheMeta {
  version: number;
  info: Omit<DatasetInfo, 'status' | 'cachePath' | 'message'>;
  shape: [number, number, number];
  /** 1 for Uint8 labels, 2 for Uint16. */
  labelBytes: 1 | 2;
  train: { count: number; imagesOffset: number; labelsOffset: number };
  test: { count: number; imagesOffset: number; labelsOffset: number };
  /** Total size of data.bin. */
  bytes: number;
  createdAt: string;
  /** Where the data came from (file, folder or URL), for the record. */
  origin?: string;
}

/** A folder name for a dataset id ('folder:pets' -> 'folder-pets'); rejects ids that are not safe. */
export function cacheFolderName(id: string): string {
  if (!/^[a-z0-9][a-z0-9._:-]{0,99}$/i.test(id) || id.includes('..')) {
    throw new Error(`Invalid dataset id '${id}': use letters, digits, '.', '_', '-' (and one 'folder:' or 'table:' prefix).`);
  }
  return id.replace(/:/g, '-');
}

export function cacheDir(root: string, id: string): string {
  return join(root, 'datasets', cacheFolderName(id));
}

/**
 * Reads and checks a cache's meta (version, and data.bin of the size it records); undefined when the
 * dataset is not (completely) cached. Other cache layouts (tables) pass their own meta type.
 */
export async function readCacheMeta<M extends { version: number; bytes: number } = CacheMeta>(dir: string): Promise<M | undefined> {
  let meta: M;
  try {
    meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as M;
  } catch {
    return undefined;
  }
  if (meta.version !== CACHE_VERSION || typeof meta.bytes !== 'number') return undefined;
  try {
    const st = await stat(join(dir, 'data.bin'));
    if (st.size !== meta.bytes) return undefined;
  } catch {
    return undefined;
  }
  return meta;
}

/**
 * Why a cache that was once complete can no longer be used: `meta.json` is there but `data.bin` is
 * missing (deleted after the dataset was prepared) or has another size than recorded (truncated or
 * replaced). Undefined when the cache is fine or was never written. The message names the file.
 */
export async function cacheDamage(dir: string): Promise<{ info?: CacheMeta['info']; problem: string } | undefined> {
  const metaPath = join(dir, 'meta.json');
  let text: string;
  try {
    text = await readFile(metaPath, 'utf8');
  } catch {
    return undefined;
  }
  let meta: Partial<CacheMeta>;
  try {
    meta = JSON.parse(text) as Partial<CacheMeta>;
  } catch {
    return { problem: `${metaPath} is not valid JSON (damaged)` };
  }
  if (meta.version !== CACHE_VERSION || typeof meta.bytes !== 'number') return { problem: `${metaPath} is from another version or incomplete` };
  const info = meta.info;
  const file = join(dir, 'data.bin');
  try {
    const st = await stat(file);
    if (st.size !== meta.bytes) return { info, problem: `${file} has ${st.size} bytes but ${meta.bytes} were written (truncated or changed since the dataset was prepared)` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { info, problem: code === 'ENOENT' ? `${file} is missing (deleted since the dataset was prepared)` : `${file} cannot be read (${code ?? String(error)})` };
  }
  return undefined;
}

/** The info of a dataset whose cache is damaged: status 'error', a message naming the file and what to do. */
export function damagedInfo<T extends { id: string }>(base: T, problem: string, fix: string): T & { status: 'error'; message: string } {
  return { ...base, status: 'error', message: `The cached data of '${base.id}' is damaged: ${problem}. ${fix}` };
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Writes a decoded dataset into `dir` atomically (see the module comment). Returns the meta written. */
export async function writeCache(
  dir: string,
  data: { info: CacheMeta['info']; shape: [number, number, number]; train: Split; test: Split; origin?: string },
): Promise<CacheMeta> {
  const [h, w, c] = data.shape;
  const per = h * w * c;
  for (const [name, split] of [['train', data.train], ['test', data.test]] as const) {
    if (split.images.length !== split.count * per) {
      throw new Error(`${name} split: ${split.images.length} image bytes, expected ${split.count} x ${h}x${w}x${c}.`);
    }
    if (split.labels.length !== split.count) throw new Error(`${name} split: ${split.labels.length} labels for ${split.count} images.`);
  }
  const labelBytes: 1 | 2 = data.info.classNames.length > 256 ? 2 : 1;
  const layout = { offset: 0 };
  const place = (n: number) => {
    const at = align(layout.offset, 8);
    layout.offset = at + n;
    return at;
  };
  const train = { count: data.train.count, imagesOffset: place(data.train.images.length), labelsOffset: place(data.train.count * labelBytes) };
  const test = { count: data.test.count, imagesOffset: place(data.test.images.length), labelsOffset: place(data.test.count * labelBytes) };
  const bytes = layout.offset;
  const meta: CacheMeta = { version: CACHE_VERSION, info: data.info, shape: data.shape, labelBytes, train, test, bytes, createdAt: new Date().toISOString(), origin: data.origin };

  await mkdir(dir, { recursive: true });
  // Un-ready first: a crash from here on leaves no meta.json, so no ready dataset.
  await rm(join(dir, 'meta.json'), { force: true });
  const tmp = join(dir, `data.bin.tmp-${process.pid}-${Date.now()}`);
  try {
    const fh = await open(tmp, 'w');
    try {
      const labelsAs = (labels: Split['labels']) => {
        const out = labelBytes === 1 ? new Uint8Array(labels.length) : new Uint16Array(labels.length);
        for (let i = 0; i < labels.length; i++) {
          const v = labels[i]!;
          if (v >= data.info.classNames.length) throw new Error(`Label ${v} is out of range for ${data.info.classNames.length} classes.`);
          out[i] = v;
        }
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      };
      await fh.write(data.train.images, 0, data.train.images.length, train.imagesOffset);
      const trl = labelsAs(data.train.labels);
      await fh.write(trl, 0, trl.length, train.labelsOffset);
      await fh.write(data.test.images, 0, data.test.images.length, test.imagesOffset);
      const tel = labelsAs(data.test.labels);
      await fh.write(tel, 0, tel.length, test.labelsOffset);
      await fh.truncate(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, 'data.bin'));
    const metaTmp = join(dir, `meta.json.tmp-${process.pid}-${Date.now()}`);
    await writeFile(metaTmp, JSON.stringify(meta, null, 2));
    await rename(metaTmp, join(dir, 'meta.json'));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return meta;
}

/** Loads a cached dataset: one read of data.bin, splits as views into it. */
export async function readCache(dir: string, id: string): Promise<LoadedDataset> {
  const meta = await readCacheMeta(dir);
  if (!meta) {
    const damage = await cacheDamage(dir);
    if (damage) throw new Error(`Dataset '${id}' is not ready: ${damage.problem}. Prepare (download) or import it again.`);
    throw new Error(`Dataset '${id}' is not ready: no complete cache in ${dir}. Prepare (download) or import it first.`);
  }
  const file = join(dir, 'data.bin');
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (error) {
    // Deleted (or made unreadable) between the check above and this read.
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`Dataset '${id}': cannot read ${file} (${code === 'ENOENT' ? 'it was deleted' : (code ?? String(error))}). Prepare (download) or import it again.`);
  }
  if (buf.length !== meta.bytes) throw new Error(`Dataset '${id}': ${file} changed while reading (${buf.length} of ${meta.bytes} bytes). Prepare (download) or import it again.`);
  // readFile's Buffer may sit at an odd offset inside a pooled ArrayBuffer; Uint16 views need an aligned one.
  const bytes = buf.byteOffset % 8 === 0 ? buf : new Uint8Array(buf);
  const [h, w, c] = meta.shape;
  const per = h * w * c;
  const split = (s: CacheMeta['train']): Split => ({
    count: s.count,
    images: new Uint8Array(bytes.buffer, bytes.byteOffset + s.imagesOffset, s.count * per),
    labels: meta.labelBytes === 1
      ? new Uint8Array(bytes.buffer, bytes.byteOffset + s.labelsOffset, s.count)
      : new Uint16Array(bytes.buffer, bytes.byteOffset + s.labelsOffset, s.count),
  });
  return { info: { ...meta.info, status: 'ready', cachePath: dir }, shape: meta.shape, train: split(meta.train), test: split(meta.test) };
}

/** Removes a cached dataset (the folder). */
export async function removeCache(dir: string): Promise<void> {
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
}

/**
 * Writes a whole cache folder atomically: `write` fills a hidden temporary folder beside `dir` (writing
 * meta.json last), which then replaces `dir` by renames. On any failure the temporary folder is removed and
 * an existing `dir` is kept as it was, so a failed import leaves nothing behind.
 */
export async function commitCacheFolder(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${basename(dir)}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(tmp);
  let old: string | undefined;
  try {
    await write(tmp);
    if (existsSync(dir)) {
      old = join(parent, `.old-${basename(dir)}-${process.pid}-${Date.now()}`);
      await rename(dir, old);
    }
    try {
      await rename(tmp, dir);
    } catch (error) {
      if (old) await rename(old, dir).catch(() => {});
      old = undefined;
      throw error;
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  if (old) await rm(old, { recursive: true, force: true });
}
