/**
 * The dataset registry: the built-in sources (CIFAR-10, MNIST, Fashion-MNIST) plus every imported image
 * folder found in the cache, each behind the same DatasetSource interface. `createDatasetRegistry()` takes
 * the data folder and environment (tests pass their own); the module-level functions use `dataDir()`.
 */
import { readdir } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo, DatasetPreview, DatasetProgress } from '../../../shared/api/datasets';
import { cacheDamage, cacheDir, dataDir, readCacheMeta } from './cache';
import { createCifar10Source, findCifarBinaryDir } from './cifar10';
import { createFolderSource, folderDatasetName, importImageFolder, type FolderImportOptions, type SkippedImage } from './folder';
import { createMnistSource, findIdxFiles } from './mnist';
import { previewDataset } from './preview';
import type { ImportOptions, PrepareOptions, SourceContext } from './source';
import type { DatasetSource, LoadedDataset } from './types';

export { dataDir } from './cache';
export { BatchPipeline, splitValidation, channelStats, type Batch, type PipelineOptions, type Normalization, type Augmentation } from './pipeline';
export type { DatasetSource, LoadedDataset, Split } from './types';
export type { PrepareOptions, ImportOptions, SourceContext } from './source';
export type { SkippedImage } from './folder';

export const BUILTIN_IDS = ['cifar10', 'mnist', 'fashion-mnist'] as const;
export type ImportKind = 'cifar10' | 'mnist' | 'fashion-mnist' | 'folder';

export interface ImportRequest extends ImportOptions, Omit<FolderImportOptions, keyof ImportOptions> {
  /** What the path holds; guessed from its contents when absent. */
  as?: ImportKind;
}

export interface ImportResult {
  info: DatasetInfo;
  /** Images that could not be decoded (folder imports). */
  skipped: SkippedImage[];
}

export interface DatasetRegistry {
  readonly root: string;
  list(): Promise<DatasetInfo[]>;
  get(id: string): DatasetSource;
  info(id: string): Promise<DatasetInfo>;
  load(id: string): Promise<LoadedDataset>;
  prepare(id: string, opts?: PrepareOptions): Promise<DatasetInfo>;
  import(path: string, opts?: ImportRequest): Promise<ImportResult>;
  preview(id: string, perClass?: number): Promise<DatasetPreview>;
}

/** Guesses what a path holds: a CIFAR-10 archive/folder, MNIST-style IDX files, or an image folder. */
export function detectImportKind(path: string): ImportKind {
  const st = statSync(path);
  if (st.isDirectory()) {
    if (findCifarBinaryDir(path)) return 'cifar10';
    if (findIdxFiles(path)) return /fashion/i.test(path) ? 'fashion-mnist' : 'mnist';
    return 'folder';
  }
  if (/cifar-10-binary\.tar\.gz$|cifar-10-binary\.tgz$/i.test(path)) return 'cifar10';
  if (/\.(tar|tgz|tar\.gz)$/i.test(path)) return 'folder';
  throw new Error(`Cannot tell what ${path} is; pass --as cifar10|mnist|fashion-mnist|folder.`);
}

export function createDatasetRegistry(options: Partial<SourceContext> = {}): DatasetRegistry {
  const env = options.env ?? process.env;
  const ctx: SourceContext = { root: options.root ?? dataDir(env), env, systemDirs: options.systemDirs };
  const builtins = new Map<string, DatasetSource>([
    ['cifar10', createCifar10Source(ctx)],
    ['mnist', createMnistSource('mnist', ctx)],
    ['fashion-mnist', createMnistSource('fashion-mnist', ctx)],
  ]);
  const busy = new Map<string, Promise<DatasetInfo>>();
  const errors = new Map<string, string>();

  const get = (id: string): DatasetSource => {
    const b = builtins.get(id);
    if (b) return b;
    if (id.startsWith('folder:')) return createFolderSource(`folder:${folderDatasetName(id.slice(7))}`, ctx);
    throw new Error(`Unknown dataset '${id}'. Known: ${[...builtins.keys()].join(', ')}, or folder:<name> for an imported image folder.`);
  };

  const info = async (id: string): Promise<DatasetInfo> => {
    const i = await get(id).info();
    if (busy.has(id)) return { ...i, status: 'downloading' };
    if (i.status === 'missing' && errors.has(id)) return { ...i, status: 'error', message: errors.get(id) };
    return i;
  };

  const track = async (id: string, work: () => Promise<DatasetInfo>): Promise<DatasetInfo> => {
    const running = busy.get(id);
    if (running) return running;
    const p = (async () => {
      try {
        const out = await work();
        errors.delete(id);
        return out;
      } catch (error) {
        errors.set(id, error instanceof Error ? error.message : String(error));
        throw error;
      } finally {
        busy.delete(id);
      }
    })();
    busy.set(id, p);
    return p;
  };

  return {
    root: ctx.root,
    async list() {
      const out: DatasetInfo[] = [];
      for (const id of builtins.keys()) out.push(await info(id));
      const dir = join(ctx.root, 'datasets');
      if (existsSync(dir)) {
        const names = (await readdir(dir)).filter((n) => n.startsWith('folder-') && !n.includes('.extract-')).sort();
        for (const n of names) {
          const meta = await readCacheMeta(join(dir, n));
          if (meta) {
            out.push({ ...meta.info, status: 'ready', cachePath: cacheDir(ctx.root, meta.info.id) });
            continue;
          }
          // A folder dataset whose data file was deleted or truncated stays listed, as an error naming the file.
          const damage = await cacheDamage(join(dir, n));
          const shown = damage?.info?.id ? await info(damage.info.id).catch(() => undefined) : undefined;
          if (shown) out.push(shown);
        }
      }
      return out;
    },
    get,
    info,
    load: (id) => get(id).load(),
    prepare(id, opts) {
      const source = get(id);
      if (!source.prepare) {
        return Promise.reject(new Error(`Dataset '${id}' cannot be downloaded; import it from disk instead (layerforge datasets import PATH).`));
      }
      return track(id, () => source.prepare!(opts));
    },
    async import(path, opts = {}) {
      if (!existsSync(path)) throw new Error(`Import: ${path} does not exist.`);
      const kind = opts.as ?? detectImportKind(path);
      if (kind === 'folder') {
        const name = folderDatasetName(opts.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? 'images');
        const id = `folder:${name}`;
        let skipped: SkippedImage[] = [];
        const result = await track(id, async () => {
          const r = await importImageFolder(path, ctx.root, { ...opts, name });
          skipped = r.skipped;
          return r.info;
        });
        return { info: result, skipped };
      }
      if (opts.name) throw new Error(`--name applies to folder imports only; a ${kind} import fills the '${kind}' dataset.`);
      const source = get(kind);
      const result = await track(kind, () => source.importFrom!(path, { onProgress: opts.onProgress, signal: opts.signal }));
      return { info: result, skipped: [] };
    },
    async preview(id, perClass) {
      return previewDataset(await get(id).load(), perClass);
    },
  };
}

let defaultRegistry: DatasetRegistry | undefined;
let defaultRoot: string | undefined;
/** The registry over `dataDir()` (re-created when LAYERFORGE_DATA_DIR changes). */
export function datasets(): DatasetRegistry {
  const root = dataDir();
  if (!defaultRegistry || defaultRoot !== root) {
    defaultRegistry = createDatasetRegistry({ root });
    defaultRoot = root;
  }
  return defaultRegistry;
}

export const listDatasets = () => datasets().list();
export const loadDataset = (id: string) => datasets().load(id);
export const prepareDataset = (id: string, opts?: PrepareOptions) => datasets().prepare(id, opts);
export const importDataset = (path: string, opts?: ImportRequest) => datasets().import(path, opts);
export const getDatasetPreview = (id: string, perClass?: number) => datasets().preview(id, perClass);
export type { DatasetProgress };
