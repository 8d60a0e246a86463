/** What the UI and CLI know about a dataset. Crosses the engine API, so plain data only. */
import type { ColumnType, TablePreprocessing, TableTask } from '../tables/types';
import type { TaskId } from '../tasks/define';

export type DatasetStatus = 'ready' | 'missing' | 'downloading' | 'error';

/** What one sample is. Absent means 'image' (older caches). */
export type DatasetKind = 'image' | 'table';

/** The learning task a dataset declares (a task registry id, shared/tasks). Absent means 'classification'. */

export interface DatasetInfo {
  /** Stable id: 'cifar10', 'mnist', 'fashion-mnist', 'folder:<name>' for imported folders, 'table:<name>' for imported CSV tables. */
  id: string;
  name: string;
  /** Per-sample input shape, e.g. [32, 32, 3]. */
  inputShape: number[];
  classNames: string[];
  trainSize: number;
  testSize: number;
  license: string;
  homepage: string;
  status: DatasetStatus;
  /** Where the decoded cache lives, when ready. */
  cachePath?: string;
  /** Why it is not ready (e.g. the last download error). */
  message?: string;
  /** True when the source can be downloaded (not only imported). */
  downloadable: boolean;
  /** What a sample is (absent: image). */
  kind?: DatasetKind;
  /** The task its labels/targets call for (absent: classification). */
  task?: TaskId;
  /** Table datasets: the target column and the encoded feature names (inputShape is [featureNames.length]). */
  target?: string;
  featureNames?: string[];
}

/** One column as the table importer sees it, before or after import. */
export interface TableColumnPreview {
  name: string;
  type: ColumnType;
  /** Why it is ignored, or how a categorical column was decided ("3 distinct integers"). */
  reason?: string;
  missing: number;
  /** Distinct values seen (capped), for categorical columns. */
  distinct: number;
  /** Numeric columns: range over the file. */
  min?: number;
  max?: number;
}

/** What `previewTable` returns: the sniffed layout, the first rows and the inferred column types. */
export interface TablePreview {
  path: string;
  delimiter: string;
  header: string[];
  /** Rows after the header (at most the requested number), as strings. */
  rows: string[][];
  /** Data rows in the file. */
  rowCount: number;
  columns: TableColumnPreview[];
  /** The target column used (requested, else the last) and the task it implies. */
  target: string;
  task: TableTask;
  /** Classification: the classes of the target; regression: none. */
  classes?: string[];
  warnings: string[];
}

/** Options of a table import (`layerforge datasets import FILE.csv --as table`). */
export interface TableImportOptions {
  /** Target column name (required). */
  target: string;
  /** Overrides the task the target column implies. */
  task?: TableTask;
  /** Fraction of rows held out as the test split (default 0.2). */
  testFraction?: number;
  /** Seed of the split (default 42). */
  seed?: number;
  /** Overrides inferred column types by column name. */
  columnTypes?: Record<string, ColumnType>;
}

/** What a table import reports beside the dataset: counts a user should know of. */
export interface TableImportReport {
  preprocessing: TablePreprocessing;
  /** Missing values filled, per column name (in the imported rows: rows dropped for a missing target do not count). */
  filled: Record<string, number>;
  /** Rows dropped because the target was missing. */
  droppedRows: number;
  /** Every column (target included) with its type and the reason for it. */
  columns?: TableColumnPreview[];
  /** Things a user should check (stray text in a numeric column, dropped rows). */
  warnings?: string[];
}

/** Progress of preparing (downloading) or importing a dataset: the payload of `onDatasetProgress`. */
export interface DatasetProgress {
  id: string;
  phase: 'download' | 'extract' | 'decode' | 'write';
  /** Download: bytes so far and total (when known), bytes/s and seconds left. */
  bytes?: number;
  total?: number;
  speed?: number;
  etaSeconds?: number;
  /** Decode: items done out of count. */
  done?: number;
  count?: number;
  message?: string;
}

/** A few sample images per class, for the UI. */
export interface DatasetPreview {
  id: string;
  classNames: string[];
  /** Images per class in each split. */
  trainCounts: number[];
  testCounts: number[];
  /** One entry per class: PNG data URLs of training samples of that class. */
  samples: { label: number; className: string; images: string[] }[];
}
