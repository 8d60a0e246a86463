/** What the UI and CLI know about a dataset. Crosses the engine API, so plain data only. */
import type { ColumnType, TablePreprocessing, TableTask } from '../tables/types';
import type { TaskId } from '../tasks/define';
import type { TokenizerKind } from '../text/types';

export type DatasetStatus = 'ready' | 'missing' | 'downloading' | 'error';

/** What one sample is. Absent means 'image' (older caches). 'text': a labelled text (T token ids); 'corpus': windows of a token stream. */
export type DatasetKind = 'image' | 'table' | 'text' | 'corpus';

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
  /** Text and corpus datasets: the tokenizer's vocabulary size (ids 0 … vocabSize-1; inputShape is [T]) and kind. */
  vocabSize?: number;
  tokenizer?: TokenizerKind;
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

/** Options of a text import (`layerforge datasets import PATH --as text|corpus`). */
export interface TextImportOptions {
  /** 'word' (labelled text's default), 'char' (a corpus's default) or byte-level 'bpe'. */
  tokenizer?: TokenizerKind;
  /** The most token ids (PAD/OOV included): word 20,000, bpe 2,000, char uncapped by default. */
  vocabSize?: number;
  /** Word tokenizer: lower-case first (default false). */
  lowercase?: boolean;
  /** Tokens per example T (labelled: padded or cut to T; corpus: window length). Default 64 (word), 256 (char), 128 (bpe). */
  seqLen?: number;
  /** Labelled: fraction held out as test (default 0.2); corpus: the last fraction of the text (default 0.1). */
  testFraction?: number;
  /** Seed of a labelled split (default 42). */
  seed?: number;
  /** CSV: the columns holding the text and the label (default 'text' and 'label'). */
  textColumn?: string;
  labelColumn?: string;
  /** Fortune files: entries are separated by lines holding a single '%' (labelled: one class per file). */
  splitOnPercent?: boolean;
  /** Labelled: only these classes (folder names, file names or CSV labels). */
  classes?: string[];
  /** Corpus: tokens between the starts of consecutive windows (default T: windows do not overlap). */
  stride?: number;
  /** Skip unreadable files, empty files and class folders, rows without text (each reported) instead of refusing the import. */
  skipBad?: boolean;
}

/** What a text or corpus import reports beside the dataset. */
export interface TextImportReport {
  kind: 'text' | 'corpus';
  /** How the input was read: class folders, a CSV, fortune files (split on '%' lines), or text files (a corpus). */
  layout: 'folders' | 'csv' | 'fortunes' | 'files';
  /** Files read and their bytes. */
  files: number;
  bytes: number;
  tokenizer: { kind: TokenizerKind; vocabSize: number; lowercase?: boolean };
  /** Tokens per example (T). */
  seqLen: number;
  /** Labelled: examples per split; corpus: windows per split. `given`: the input had train/ and test/ folders. */
  split: { train: number; test: number; testFraction: number; seed?: number; given?: boolean };
  /** Labelled: examples in all, and per class (classNames order). */
  examples?: number;
  classCounts?: number[];
  /** Labelled: examples longer than T tokens (cut at T), and token counts before cutting. */
  truncated?: number;
  meanTokens?: number;
  maxTokens?: number;
  /** Corpus: tokens of each part, and the window stride. */
  tokens?: { train: number; test: number };
  stride?: number;
  /** Fortune files: entries without text (two '%' lines in a row); they make no example. */
  emptyEntries: number;
  /** Share of the test split's tokens the tokenizer does not know (OOV; always 0 for BPE). */
  oovRate: number;
  /**
   * Files, folders or rows left out, each with the reason: 'problem' (not UTF-8, empty, no text: only with
   * skipBad), 'duplicate' (a link to a file read already), 'index' (a strfile .dat index beside a fortune file),
   * 'other' (not a .txt file, or outside the class folders).
   */
  skipped: { file: string; line?: number; reason: string; kind: 'problem' | 'duplicate' | 'index' | 'other' }[];
  warnings: string[];
}

/** One example of a text dataset as the app shows it: the text, its label, and its first tokens. */
export interface TextSample {
  /** Class index and name (labelled text); absent for corpus windows. */
  label?: number;
  className?: string;
  /** The text (cut at 2,000 characters); for a corpus, the decoded window. */
  text: string;
  /** Where it came from: 'pos/01.txt', 'computers:17' (file:line), 'reviews.csv:5'. */
  source?: string;
  /** The first token ids and their text. */
  ids: number[];
  tokens: string[];
  /** Tokens of the whole example before padding or cutting, and whether it was cut at T. */
  length: number;
  truncated: boolean;
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
  /** Text and corpus datasets: example texts (corpus: the first windows) with labels and first tokens. */
  texts?: TextSample[];
  /** Text and corpus datasets: the tokenizer and the tokens per example. */
  tokenizer?: { kind: TokenizerKind; vocabSize: number; seqLen: number; lowercase?: boolean };
}
