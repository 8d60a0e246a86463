/**
 * Table (CSV) datasets: `table:<name>`, imported from a CSV file into the cache folder `table-<name>`.
 * Reading (./csv), column types and task (./infer), fitting on the training split and encoding (./fit)
 * happen before anything is written; the folder is then written atomically (commitCacheFolder): data.bin
 * (Float32 features, labels and targets of both splits), preprocessing.json, test-rows.json, and meta.json
 * last, the ready marker. A failed import leaves nothing behind.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DatasetInfo, TableImportOptions, TableImportReport, TablePreview } from '../../../../shared/api/datasets';
import { fmtCount, TableError } from '../../../../shared/tables/errors';
import type { ColumnType, TablePreprocessing, TableTask } from '../../../../shared/tables/types';
import { cacheDamage, cacheDir, commitCacheFolder, CACHE_VERSION, damagedInfo, readCacheMeta } from '../cache';
import { folderDatasetName } from '../folder';
import type { ImportOptions, SourceContext } from '../source';
import type { DatasetSource, LoadedDataset, Split } from '../types';
import { readCsvFile, type TableLimits } from './csv';
import { DEFAULT_SEED, DEFAULT_TEST_FRACTION, fitTable, type EncodedSplit } from './fit';
import { inferTable } from './infer';

export { TableError, isTableError } from '../../../../shared/tables/errors';
export { parseCsv, readCsvFile, sniffDelimiter, TABLE_LIMITS, type CsvTable, type TableLimits } from './csv';
export { inferTable } from './infer';
export { fitTable, splitIndices } from './fit';

/** Files a table import takes by its name. */
export const TABLE_FILE = /\.(csv|tsv|tab|psv)$/i;

export interface TableImportRequest extends ImportOptions, Partial<TableImportOptions> {
  /** Dataset name; the id becomes `table:<name>`. Default: the file's base name. */
  name?: string;
  /** Overrides the sniffed delimiter. */
  delimiter?: string;
  /** Tests lower the limits. */
  limits?: Partial<TableLimits>;
}

export interface TableImportResult {
  info: DatasetInfo;
  report: TableImportReport;
}

/** What meta.json of a table cache records. */
export interface TableCacheMeta {
  version: number;
  kind: 'table';
  info: Omit<DatasetInfo, 'status' | 'cachePath' | 'message'>;
  /** Encoded features per row. */
  features: number;
  /** 1 for Uint8 labels, 2 for Uint16. */
  labelBytes: 1 | 2;
  train: SplitLayout;
  test: SplitLayout;
  /** Total size of data.bin. */
  bytes: number;
  createdAt: string;
  origin: string;
  /** What the import filled and dropped. */
  filled: Record<string, number>;
  droppedRows: number;
}

interface SplitLayout {
  count: number;
  featuresOffset: number;
  labelsOffset: number;
  /** Regression only. */
  targetsOffset?: number;
}

/** The test rows as read, for result tables. */
interface TestRowsFile {
  header: string[];
  rows: string[][];
  lines: number[];
}

/** A safe dataset name from a user's name or a file name ('Iris Data.csv' -> 'iris-data'). */
export function tableDatasetName(name: string): string {
  return folderDatasetName(basename(name.trim()).replace(/\.(csv|tsv|tab|psv|txt)$/i, ''));
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Reads a table cache's meta when the cache is complete (meta.json, data.bin of the recorded size, the two JSON files). */
export async function readTableMeta(dir: string): Promise<TableCacheMeta | undefined> {
  const meta = await readCacheMeta<TableCacheMeta>(dir);
  if (!meta || meta.kind !== 'table' || !meta.train || !meta.test || !(meta.features > 0)) return undefined;
  return meta;
}

function tableInfo(meta: TableCacheMeta, dir: string): DatasetInfo {
  return { ...meta.info, status: 'ready', cachePath: dir };
}

/** Reads, infers and previews a CSV file: its layout, first rows and what every column would be used as. */
export async function previewTable(
  path: string,
  opts: { target?: string; rows?: number; columnTypes?: Record<string, ColumnType>; task?: TableTask; limits?: Partial<TableLimits>; delimiter?: string } = {},
): Promise<TablePreview> {
  const table = await readCsvFile(path, { ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.delimiter ? { delimiter: opts.delimiter } : {}) });
  const inferred = inferTable(table, { ...(opts.target !== undefined ? { target: opts.target } : {}), ...(opts.task ? { task: opts.task } : {}), ...(opts.columnTypes ? { columnTypes: opts.columnTypes } : {}) });
  const n = Math.max(0, Math.min(opts.rows ?? 20, 1000));
  return {
    path,
    delimiter: table.delimiter,
    header: table.header,
    rows: table.rows.slice(0, n),
    rowCount: table.rows.length,
    columns: inferred.previews,
    target: inferred.target.name,
    task: inferred.target.task,
    ...(inferred.target.classes ? { classes: inferred.target.classes } : {}),
    warnings: [
      ...(inferred.target.missing ? [`${fmtCount(inferred.target.missing)} row${inferred.target.missing === 1 ? ' has' : 's have'} no value for the target '${inferred.target.name}' and will be dropped.`] : []),
      ...inferred.warnings,
    ],
  };
}

async function writeData(file: string, train: EncodedSplit, test: EncodedSplit, features: number, labelBytes: 1 | 2, regression: boolean): Promise<{ bytes: number; train: SplitLayout; test: SplitLayout }> {
  let at = 0;
  const place = (n: number) => {
    const p = align8(at);
    at = p + n;
    return p;
  };
  const layout = (s: EncodedSplit): SplitLayout => ({
    count: s.count,
    featuresOffset: place(s.count * features * 4),
    labelsOffset: place(s.count * labelBytes),
    ...(regression ? { targetsOffset: place(s.count * 4) } : {}),
  });
  const trainLayout = layout(train);
  const testLayout = layout(test);
  const bytes = align8(at);
  const buf = new Uint8Array(bytes);
  const put = (src: ArrayBufferView, offset: number) => buf.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), offset);
  for (const [s, l] of [[train, trainLayout], [test, testLayout]] as const) {
    put(s.features, l.featuresOffset);
    put(labelBytes === 1 ? Uint8Array.from(s.labels) : Uint16Array.from(s.labels), l.labelsOffset);
    if (l.targetsOffset !== undefined && s.targets) put(s.targets, l.targetsOffset);
  }
  const fh = await open(file, 'w');
  try {
    await fh.write(buf, 0, buf.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes, train: trainLayout, test: testLayout };
}

/** Imports a CSV file as the dataset `table:<name>` under `root` (see the module comment). */
export async function importTable(path: string, root: string, opts: TableImportRequest = {}): Promise<TableImportResult> {
  const name = tableDatasetName(opts.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? 'table');
  const id = `table:${name}`;
  const dir = cacheDir(root, id);
  const file = basename(path);
  opts.onProgress?.({ id, phase: 'decode', message: `Reading ${file}` });
  const table = await readCsvFile(path, { ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.delimiter ? { delimiter: opts.delimiter } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  const inferred = inferTable(table, { ...(opts.target !== undefined ? { target: opts.target } : {}), ...(opts.task ? { task: opts.task } : {}), ...(opts.columnTypes ? { columnTypes: opts.columnTypes } : {}) });
  const fitted = fitTable(table, inferred, { file, testFraction: opts.testFraction ?? DEFAULT_TEST_FRACTION, seed: opts.seed ?? DEFAULT_SEED });
  if (opts.signal?.aborted) throw new TableError('cancelled', 'Import cancelled.');
  const pre = fitted.preprocessing;
  const F = pre.featureNames.length;
  const classNames = pre.target.task === 'classification' ? (pre.target.classes ?? []) : [];
  const labelBytes: 1 | 2 = classNames.length > 256 ? 2 : 1;
  const info: TableCacheMeta['info'] = {
    id,
    name: opts.name ?? name,
    inputShape: [F],
    classNames,
    trainSize: fitted.train.count,
    testSize: fitted.test.count,
    license: 'User data',
    homepage: '',
    downloadable: false,
    kind: 'table',
    task: pre.target.task,
    target: pre.target.name,
    featureNames: pre.featureNames,
  };
  opts.onProgress?.({ id, phase: 'write', message: 'Writing cache' });
  await commitCacheFolder(dir, async (tmp) => {
    const layout = await writeData(join(tmp, 'data.bin'), fitted.train, fitted.test, F, labelBytes, pre.target.task === 'regression');
    await writeFile(join(tmp, 'preprocessing.json'), JSON.stringify(pre, null, 1));
    const testRows: TestRowsFile = { header: table.header, rows: fitted.testRows, lines: fitted.testLines };
    await writeFile(join(tmp, 'test-rows.json'), JSON.stringify(testRows));
    const meta: TableCacheMeta = {
      version: CACHE_VERSION, kind: 'table', info, features: F, labelBytes, ...layout,
      createdAt: new Date().toISOString(), origin: path, filled: fitted.filled, droppedRows: fitted.droppedRows,
    };
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  });
  const report: TableImportReport = { preprocessing: pre, filled: fitted.filled, droppedRows: fitted.droppedRows, columns: inferred.previews, warnings: inferred.warnings };
  return { info: { ...info, status: 'ready', cachePath: dir }, report };
}

/** Loads a table cache: features, labels and targets as views into one read of data.bin. */
export async function readTableCache(dir: string, id: string): Promise<LoadedDataset> {
  const meta = await readTableMeta(dir);
  const again = 'Import the CSV file again.';
  if (!meta) {
    const damage = await cacheDamage(dir);
    if (damage) throw new Error(`Dataset '${id}' is not ready: ${damage.problem}. ${again}`);
    throw new Error(`Dataset '${id}' is not ready: no complete cache in ${dir}. Import it first (layerforge datasets import FILE.csv --as table).`);
  }
  let buf: Buffer;
  let preprocessing: TablePreprocessing;
  let rowsFile: TestRowsFile;
  try {
    [buf, preprocessing, rowsFile] = await Promise.all([
      readFile(join(dir, 'data.bin')),
      readFile(join(dir, 'preprocessing.json'), 'utf8').then((t) => JSON.parse(t) as TablePreprocessing),
      readFile(join(dir, 'test-rows.json'), 'utf8').then((t) => JSON.parse(t) as TestRowsFile),
    ]);
  } catch (error) {
    throw new Error(`Dataset '${id}': cannot read its cache in ${dir} (${error instanceof Error ? error.message : String(error)}). ${again}`);
  }
  if (buf.length !== meta.bytes) throw new Error(`Dataset '${id}': ${join(dir, 'data.bin')} changed while reading. ${again}`);
  if (preprocessing?.format !== 'layerforge-table-preprocessing' || preprocessing.featureNames?.length !== meta.features) {
    throw new Error(`Dataset '${id}': ${join(dir, 'preprocessing.json')} does not match the data. ${again}`);
  }
  const bytes = buf.byteOffset % 8 === 0 ? buf : new Uint8Array(buf);
  const F = meta.features;
  const split = (s: SplitLayout): Split => ({
    count: s.count,
    images: new Uint8Array(0),
    labels: meta.labelBytes === 1
      ? new Uint8Array(bytes.buffer, bytes.byteOffset + s.labelsOffset, s.count)
      : new Uint16Array(bytes.buffer, bytes.byteOffset + s.labelsOffset, s.count),
    features: new Float32Array(bytes.buffer, bytes.byteOffset + s.featuresOffset, s.count * F),
    ...(s.targetsOffset !== undefined ? { targets: new Float32Array(bytes.buffer, bytes.byteOffset + s.targetsOffset, s.count) } : {}),
  });
  return {
    info: tableInfo(meta, dir),
    shape: [1, 1, F],
    train: split(meta.train),
    test: split(meta.test),
    table: { preprocessing, testRows: rowsFile.rows, header: rowsFile.header },
  };
}

/** The source of an imported table (id `table:<name>`). */
export function createTableSource(id: string, ctx: SourceContext): DatasetSource {
  const dir = cacheDir(ctx.root, id);
  const name = id.slice('table:'.length);
  return {
    id,
    async info() {
      const meta = await readTableMeta(dir);
      if (meta) return tableInfo(meta, dir);
      const base: DatasetInfo = {
        id, name, inputShape: [], classNames: [], trainSize: 0, testSize: 0,
        license: 'User data', homepage: '', downloadable: false, kind: 'table', status: 'missing',
      };
      const damage = await cacheDamage(dir);
      if (damage) return damagedInfo({ ...base, ...damage.info, id }, damage.problem, 'Import the CSV file again.');
      return { ...base, message: `No complete cache in ${dir}; import the CSV file (layerforge datasets import FILE.csv --as table --name ${name}).` };
    },
    load: () => readTableCache(dir, id),
    importFrom: async (path: string, opts?: ImportOptions) => (await importTable(path, ctx.root, { ...opts, name })).info,
  };
}

/** One line per column for people: "sepal_length  numeric  numbers from 4.3 to 7.9". */
export function describeColumns(report: Pick<TableImportReport, 'columns' | 'filled'>): string[] {
  const cols = report.columns ?? [];
  const w = Math.max(4, ...cols.map((c) => c.name.length));
  return cols.map((c) => {
    const filled = report.filled[c.name];
    return `${c.name.padEnd(w)}  ${c.type.padEnd(11)}  ${c.reason ?? ''}${filled ? `; ${fmtCount(filled)} missing filled` : ''}`;
  });
}
