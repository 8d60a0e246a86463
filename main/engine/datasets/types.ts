import type { DatasetInfo } from '../../../shared/api/datasets';
import type { TablePreprocessing } from '../../../shared/tables/types';
import type { Tokenizer } from '../../../shared/text/types';
import type { ImportOptions, PrepareOptions } from './source';

/**
 * One split of a decoded image-classification dataset, kept compact: uint8 pixels (H×W×C, row-major,
 * channels last, sample after sample) and uint8/uint16 labels. Normalisation happens per batch.
 */
export interface Split {
  readonly count: number;
  /** count × H × W × C bytes. */
  readonly images: Uint8Array;
  /** count class indices (all 0 for regression). */
  readonly labels: Uint8Array | Uint16Array;
  /** Table datasets: count × F encoded, standardised features (`images` is then empty). */
  readonly features?: Float32Array;
  /** Regression: count standardised targets, (y - mean) / std of the training split. */
  readonly targets?: Float32Array;
  /**
   * Labelled text: count × T token ids, row after row, each padded with PAD (0) at the end or cut after T ids
   * (`images` is then empty; `labels` as for images). The trainer copies rows into its int32 batch.
   */
  readonly tokens?: Int32Array;
  /**
   * Corpus: the split's whole token stream. Examples are windows of T+1 tokens cut at batch time (input = the
   * first T, target = the last T) by `windows()` in datasets/text; `count` is the number of windows,
   * `images` and `labels` are empty.
   */
  readonly stream?: Int32Array | Uint16Array;
  /** Corpus: tokens between the starts of consecutive windows (T: windows do not overlap). */
  readonly stride?: number;
}

/** What a text or corpus dataset carries beside its splits. */
export interface TextData {
  readonly kind: 'text' | 'corpus';
  /** The tokenizer (layerforge-tokenizer JSON), to be copied into model folders and exports. */
  readonly tokenizer: Tokenizer;
  /** Tokens per example (T). */
  readonly seqLen: number;
  /** Corpus: the default window stride. */
  readonly stride?: number;
  /** Labelled text: a few training texts per class (`row`: their index in the train split) and the test texts, cut at 2,000 characters. */
  readonly samples?: readonly { label: number; row: number; text: string; source: string; length: number }[];
  readonly testTexts?: readonly { text: string; source: string }[];
}

/** What a table dataset carries beside its splits. */
export interface TableData {
  readonly preprocessing: TablePreprocessing;
  /** The raw test rows as strings, in the file's column order (target included), for result tables. */
  readonly testRows: string[][];
  /** The file's header, in that order. */
  readonly header: string[];
}

export interface LoadedDataset {
  readonly info: DatasetInfo;
  /** [H, W, C] for images; [1, 1, F] for tables (F encoded features). */
  readonly shape: readonly [number, number, number];
  readonly train: Split;
  readonly test: Split;
  /** Table datasets only. */
  readonly table?: TableData;
  /** Text and corpus datasets only ([1, 1, T] is then `shape`). */
  readonly text?: TextData;
}

/** A dataset source: one folder per source under main/engine/datasets (cifar10/, mnist/, folder/, …). */
export interface DatasetSource {
  readonly id: string;
  /** Describes the dataset and whether it is ready, without loading it. */
  info(): Promise<DatasetInfo>;
  /** Loads the decoded cache; throws a clear error when the dataset is not ready. */
  load(): Promise<LoadedDataset>;
  /** Downloads (with progress, resume, checksum) and decodes into the cache; absent when not downloadable. */
  prepare?(opts?: PrepareOptions): Promise<DatasetInfo>;
  /** Imports from a local file or folder into the cache. */
  importFrom?(path: string, opts?: ImportOptions): Promise<DatasetInfo>;
}
