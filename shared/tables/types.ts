/**
 * A table dataset's preprocessing: everything needed to turn a raw CSV row into the model's feature
 * vector and a prediction back into the target's units. Fitted on the training split at import, stored
 * with the dataset (`preprocessing.json` in its cache folder) and copied into every model folder and
 * export, so a prediction never depends on the cache. Plain JSON data: it crosses the engine API.
 */

/** What a column is used as. */
export type ColumnType = 'numeric' | 'categorical' | 'ignored';

export interface NumericColumn {
  name: string;
  type: 'numeric';
  /** Mean and (population) standard deviation over the training split; std is 1 where it was 0. */
  mean: number;
  std: number;
  /** Missing values in the whole file (filled with the training mean). */
  missing: number;
}

export interface CategoricalColumn {
  name: string;
  type: 'categorical';
  /** The vocabulary of the training split, in one-hot order; includes MISSING_CATEGORY when values were missing. Unknown values encode as all zeros. */
  categories: string[];
  missing: number;
}

export interface IgnoredColumn {
  name: string;
  type: 'ignored';
  /** Why, in words: "an id (every value distinct)", "free text", "chosen by the user". */
  reason: string;
}

export type TableColumn = NumericColumn | CategoricalColumn | IgnoredColumn;

/** The category a missing categorical value becomes. */
export const MISSING_CATEGORY = '(missing)';

export type TableTask = 'classification' | 'regression';

export interface TableTarget {
  name: string;
  task: TableTask;
  /** Classification: class names, index = label. */
  classes?: string[];
  /** Regression: training-split mean and std; the model is trained on (y - mean) / std. */
  mean?: number;
  std?: number;
  /** Rows dropped because the target was missing. */
  droppedRows: number;
}

export interface TablePreprocessing {
  format: 'layerforge-table-preprocessing';
  version: 1;
  /** Every column of the file except the target, in file order (ignored ones included, so a CSV row maps by header name). */
  columns: TableColumn[];
  target: TableTarget;
  /**
   * The encoded feature vector, one entry per model input feature, in order: a numeric column gives one
   * feature named like the column, a categorical column one feature per category named `column=category`.
   */
  featureNames: string[];
  /** Per encoded feature: x' = (x - featureMean) / featureStd (one-hot features have mean 0, std 1). */
  featureMean: number[];
  featureStd: number[];
  /** How the rows were split (seeded, so the import is reproducible). */
  split: { seed: number; testFraction: number; trainRows: number; testRows: number };
  /** The source file's layout, as sniffed. */
  source: { file: string; delimiter: string; rows: number; header: string[] };
}
