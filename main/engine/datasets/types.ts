import type { DatasetInfo } from '../../../shared/api/datasets';
import type { TablePreprocessing } from '../../../shared/tables/types';
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
