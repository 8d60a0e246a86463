/**
 * The dataset registry: the built-in sources (CIFAR-10, MNIST, Fashion-MNIST) plus every imported image
 * folder, table (CSV), labelled text and corpus found in the cache (IMPORTED_KINDS), each behind the same DatasetSource interface. `createDatasetRegistry()` takes
 * the data folder and environment (tests pass their own); the module-level functions use `dataDir()`.
 */
import { readdir } from 'node:fs/promises';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetInfo, DatasetPreview, DatasetProgress, TableImportOptions, TableImportReport, TextImportOptions, TextImportReport } from '../../../shared/api/datasets';
import { cacheDamage, dataDir, readCacheMeta } from './cache';
import { createCifar10Source, findCifarBinaryDir } from './cifar10';
import { createFolderSource, folderDatasetName, importImageFolder, type FolderImportOptions, type SkippedImage } from './folder';
import { createMnistSource, findIdxFiles } from './mnist';
import { classCounts, previewDataset } from './preview';
import type { ImportOptions, PrepareOptions, SourceContext } from './source';
import { createTableSource, importTable, readTableMeta, sniffDelimiter, TABLE_FILE, tableDatasetName } from './table';
import type { DatasetSource, LoadedDataset } from './types';
// Text and corpus datasets.
import { createCorpusSource, createTextSource, importCorpus, importText, previewText, readCorpusMeta, readTextMeta, textDatasetName } from './text';

export { dataDir } from './cache';
export { BatchPipeline, splitValidation, channelStats, type Batch, type PipelineOptions, type Normalization, type Augmentation } from './pipeline';
export type { DatasetSource, LoadedDataset, Split } from './types';
export type { PrepareOptions, ImportOptions, SourceContext } from './source';
export type { SkippedImage } from './folder';
export { previewTable, TableError, isTableError, type TableImportRequest, type TableImportResult } from './table';
export type { TableData } from './types';
export type { TextData } from './types';
export { previewText, windows, windowCount, TextError, isTextError, type TextImportRequest, type TextImportResult } from './text';

export const BUILTIN_IDS = ['cifar10', 'mnist', 'fashion-mnist'] as const;
export type ImportKind = 'cifar10' | 'mnist' | 'fashion-mnist' | 'folder' | 'table' | 'text' | 'corpus';

export interface ImportRequest
  extends ImportOptions, Omit<FolderImportOptions, keyof ImportOptions>, Omit<Partial<TableImportOptions>, 'testFraction' | 'seed'>, Omit<TextImportOptions, 'testFraction' | 'seed'> {
  /** What the path holds; guessed from its contents when absent. */
  as?: ImportKind;
}

export interface ImportResult {
  info: DatasetInfo;
  /** Images that could not be decoded (folder imports). */
  skipped: SkippedImage[];
  /** Table imports: column types, what was filled and dropped. */
  table?: TableImportReport;
  /** Text and corpus imports: tokenizer, sizes, cut examples, skipped files. */
  text?: TextImportReport;
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

/** True when a .txt file's first lines look like a delimited table (a delimiter on the first line, as often on the next). */
function looksDelimited(path: string): boolean {
  const buf = Buffer.alloc(8192);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = buf.subarray(0, n).toString('utf8');
  if (!text.trim() || text.includes('\0')) return false;
  const d = sniffDelimiter(text, n < buf.length);
  const all = text.split(/\r\n|\n|\r/);
  if (n === buf.length) all.pop(); // possibly cut
  const lines = all.filter((l) => l.trim()).slice(0, 20);
  const count = (l: string) => l.split(d).length - 1;
  return lines.length >= 2 && count(lines[0]!) > 0 && lines.slice(1).filter((l) => count(l) === count(lines[0]!)).length >= (lines.length - 1) / 2;
}

/** True when a folder's class sub-folders hold .txt files and nothing else (Keras' text layout; train/ and test/ too). */
function looksLikeTextFolders(path: string): boolean {
  const visible = (d: string) => readdirSync(d, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  let txt = 0;
  const scan = (d: string, depth: number): boolean => {
    for (const e of visible(d)) {
      if (e.isDirectory()) {
        if (depth < 2 && !scan(join(d, e.name), depth + 1)) return false;
      } else if (depth === 0) continue;
      else if (/\.txt$/i.test(e.name)) txt++;
      else return false;
    }
    return true;
  };
  try {
    return scan(path, 0) && txt > 0;
  } catch {
    return false;
  }
}

/**
 * The dataset kinds imported from disk into the cache, one entry each: the id prefix (`table:houses` lives
 * in `<data>/datasets/table-houses`), how a name is made safe, the source behind an id, what a complete
 * cache says of itself, and the import. list(), get() and import() iterate this table; adding a kind is one
 * entry (and its folder), not a branch in each of them.
 */
interface ImportedKind {
  prefix: 'folder' | 'table' | 'text' | 'corpus';
  /** Id prefix in words, for the unknown-id message. */
  what: string;
  safeName(name: string): string;
  source(id: string, ctx: SourceContext): DatasetSource;
  /** A complete cache's dataset info (without status); undefined when the cache is incomplete or damaged. */
  readInfo(dir: string): Promise<Omit<DatasetInfo, 'status' | 'cachePath' | 'message'> | undefined>;
  /** Imports `path` as dataset `name`; the import's report goes into the result beside the info. */
  importFrom(path: string, root: string, name: string, opts: ImportRequest): Promise<{ info: DatasetInfo; extra: Omit<ImportResult, 'info'> }>;
}

/** The options of the request that are not the registry's own. */
function importOptions(opts: ImportRequest): Omit<ImportRequest, 'as' | 'name'> {
  const { as: _as, name: _name, ...rest } = opts;
  return rest;
}

const IMPORTED_KINDS: readonly ImportedKind[] = [
  {
    prefix: 'folder',
    what: 'an imported image folder',
    safeName: folderDatasetName,
    source: createFolderSource,
    readInfo: async (dir) => (await readCacheMeta(dir))?.info,
    async importFrom(path, root, name, opts) {
      const r = await importImageFolder(path, root, { ...importOptions(opts), name });
      return { info: r.info, extra: { skipped: r.skipped } };
    },
  },
  {
    prefix: 'table',
    what: 'an imported CSV table',
    safeName: tableDatasetName,
    source: createTableSource,
    readInfo: async (dir) => (await readTableMeta(dir))?.info,
    async importFrom(path, root, name, opts) {
      const { target, task, testFraction, seed, columnTypes, onProgress, signal } = opts;
      const r = await importTable(path, root, {
        name: opts.name ?? name,
        ...(target !== undefined ? { target } : {}),
        ...(task ? { task } : {}),
        ...(testFraction !== undefined ? { testFraction } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(columnTypes ? { columnTypes } : {}),
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      });
      return { info: r.info, extra: { skipped: [], table: r.report } };
    },
  },
  {
    prefix: 'text',
    what: 'imported labelled text',
    safeName: textDatasetName,
    source: createTextSource,
    readInfo: async (dir) => (await readTextMeta(dir))?.info,
    async importFrom(path, root, name, opts) {
      const { size: _size, channels: _channels, concurrency: _concurrency, target: _target, task: _task, columnTypes: _columnTypes, ...textOpts } = importOptions(opts);
      const r = await importText(path, root, { ...textOpts, name: opts.name ?? name });
      return { info: r.info, extra: { skipped: [], text: r.report } };
    },
  },
  {
    prefix: 'corpus',
    what: 'an imported corpus',
    safeName: textDatasetName,
    source: createCorpusSource,
    readInfo: async (dir) => (await readCorpusMeta(dir))?.info,
    async importFrom(path, root, name, opts) {
      const { size: _size, channels: _channels, concurrency: _concurrency, target: _target, task: _task, columnTypes: _columnTypes, ...textOpts } = importOptions(opts);
      const r = await importCorpus(path, root, { ...textOpts, name: opts.name ?? name });
      return { info: r.info, extra: { skipped: [], text: r.report } };
    },
  },
];

const importedKind = (prefix: string) => IMPORTED_KINDS.find((k) => k.prefix === prefix);

/** Guesses what a path holds: a CIFAR-10 archive/folder, MNIST-style IDX files, an image folder, a folder of text classes, or a table (CSV). */
export function detectImportKind(path: string): ImportKind {
  const st = statSync(path);
  if (st.isDirectory()) {
    if (findCifarBinaryDir(path)) return 'cifar10';
    if (findIdxFiles(path)) return /fashion/i.test(path) ? 'fashion-mnist' : 'mnist';
    if (looksLikeTextFolders(path)) return 'text';
    return 'folder';
  }
  if (/cifar-10-binary\.tar\.gz$|cifar-10-binary\.tgz$/i.test(path)) return 'cifar10';
  if (/\.(tar|tgz|tar\.gz)$/i.test(path)) return 'folder';
  if (TABLE_FILE.test(path)) return 'table';
  if (/\.txt$/i.test(path) && looksDelimited(path)) return 'table';
  throw new Error(`Cannot tell what ${path} is; pass --as cifar10|mnist|fashion-mnist|folder|table|text|corpus.`);
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
    const colon = id.indexOf(':');
    const kind = colon > 0 ? importedKind(id.slice(0, colon)) : undefined;
    if (kind) return kind.source(`${kind.prefix}:${kind.safeName(id.slice(colon + 1))}`, ctx);
    throw new Error(`Unknown dataset '${id}'. Known: ${[...builtins.keys()].join(', ')}, ${IMPORTED_KINDS.map((k) => `${k.prefix}:<name> for ${k.what}`).join(', ')}.`);
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
        const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && !n.includes('.extract-')).sort();
        for (const n of names) {
          const kind = importedKind(n.slice(0, n.indexOf('-')));
          if (!kind) continue;
          const meta = await kind.readInfo(join(dir, n));
          if (meta) {
            out.push({ ...meta, status: 'ready', cachePath: join(dir, n) });
            continue;
          }
          // A dataset whose data file was deleted or truncated stays listed, as an error naming the file.
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
      const imported = importedKind(kind);
      if (imported) {
        const name = imported.safeName(opts.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? kind);
        let extra: Omit<ImportResult, 'info'> = { skipped: [] };
        const result = await track(`${imported.prefix}:${name}`, async () => {
          const r = await imported.importFrom(path, ctx.root, name, opts);
          extra = r.extra;
          return r.info;
        });
        return { ...extra, info: result };
      }
      if (opts.name) throw new Error(`--name applies to folder and table imports only, and to text and corpus imports; a ${kind} import fills the '${kind}' dataset.`);
      const source = get(kind);
      const result = await track(kind, () => source.importFrom!(path, { onProgress: opts.onProgress, signal: opts.signal }));
      return { info: result, skipped: [] };
    },
    async preview(id, perClass) {
      const ds = await get(id).load();
      if (ds.table) {
        // Tables have no images: class counts (classification) and no samples.
        const classes = ds.info.classNames;
        const counts = (split: typeof ds.train) => (classes.length ? classCounts(split, classes.length) : []);
        return { id: ds.info.id, classNames: [...classes], trainCounts: counts(ds.train), testCounts: counts(ds.test), samples: [] };
      }
      if (ds.text) return previewText(ds, perClass);
      return previewDataset(ds, perClass);
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
