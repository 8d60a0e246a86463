/**
 * Fitting a table's preprocessing on its training split only, then encoding both splits with it:
 * - rows without a target are dropped (and counted); the rest are split by a seeded shuffle (mulberry32);
 * - numeric columns: mean and population std of the training rows (std 1 where 0), missing -> the mean;
 * - categorical columns: the training rows' values (plus MISSING_CATEGORY when the file has a missing
 *   value), one-hot; a value the training rows lack encodes as all zeros;
 * - every encoded feature standardised (one-hot features keep 0/1: mean 0, std 1);
 * - regression targets standardised with the training mean/std, classification targets as class indices.
 * Encoding goes through shared/tables/encode, the very code predictions use.
 */
import { mulberry32 } from '../../../../shared/random';
import { classOf, categoryOf, encodeRows, isMissing, parseNumber } from '../../../../shared/tables/encode';
import { fmtCount, TableError } from '../../../../shared/tables/errors';
import { MISSING_CATEGORY, type TableColumn, type TablePreprocessing, type TableTarget } from '../../../../shared/tables/types';
import type { CsvTable } from './csv';
import { sortValues, type InferredTable } from './infer';

export const DEFAULT_TEST_FRACTION = 0.2;
export const DEFAULT_SEED = 42;

export interface FitOptions {
  /** Fraction of the rows held out as the test split, in [0, 1) (default 0.2). */
  testFraction?: number;
  /** Seed of the split (default 42). */
  seed?: number;
  /** The file's name, recorded in the preprocessing. */
  file: string;
}

/** One encoded split. */
export interface EncodedSplit {
  count: number;
  /** count x F standardised features. */
  features: Float32Array;
  /** Class indices (classification) or zeros (regression). */
  labels: Uint8Array | Uint16Array;
  /** Regression: standardised targets. */
  targets?: Float32Array;
}

export interface FittedTable {
  preprocessing: TablePreprocessing;
  train: EncodedSplit;
  test: EncodedSplit;
  /** The test rows as in the file (every column, target included). */
  testRows: string[][];
  /** The file lines of the test rows. */
  testLines: number[];
  /** Missing values filled per column (over the imported rows). */
  filled: Record<string, number>;
  droppedRows: number;
}

/** Seeded split of `n` items: a mulberry32 Fisher-Yates shuffle, the first round(n * fraction) are test. Both lists sorted. */
export function splitIndices(n: number, testFraction: number, seed: number): { train: number[]; test: number[] } {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nTest = Math.min(Math.round(n * testFraction), n - 1);
  const byIndex = (a: number, b: number) => a - b;
  return { test: order.slice(0, Math.max(0, nTest)).sort(byIndex), train: order.slice(Math.max(0, nTest)).sort(byIndex) };
}

function meanStd(values: number[]): { mean: number; std: number } {
  if (!values.length) return { mean: 0, std: 1 };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / values.length);
  return { mean, std: std > 1e-12 * Math.max(1, Math.abs(mean)) && Number.isFinite(std) ? std : 1 };
}

/** Fits the preprocessing on the training rows and encodes both splits (see the module comment). */
export function fitTable(table: CsvTable, inferred: InferredTable, opts: FitOptions): FittedTable {
  const testFraction = opts.testFraction ?? DEFAULT_TEST_FRACTION;
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!(typeof testFraction === 'number' && testFraction >= 0 && testFraction < 1)) {
    throw new TableError('bad-option', `The test fraction must be at least 0 and below 1, got ${testFraction}.`);
  }
  if (!(typeof seed === 'number' && Number.isFinite(seed))) throw new TableError('bad-option', `The seed must be a number, got ${seed}.`);
  const { target: tp } = inferred;

  // Rows with a target.
  const kept: number[] = [];
  for (let r = 0; r < table.rows.length; r++) if (!isMissing(table.rows[r]![tp.index]!)) kept.push(r);
  const droppedRows = table.rows.length - kept.length;
  if (!kept.length) throw new TableError('no-data-rows', `Every row's target '${tp.name}' is missing: nothing to learn from.`, { column: tp.name });
  const split = splitIndices(kept.length, testFraction, seed);
  const trainRows = split.train.map((k) => kept[k]!);
  const testRows = split.test.map((k) => kept[k]!);

  // Columns, fitted on the training rows.
  const columns: TableColumn[] = [];
  const featureNames: string[] = [];
  const featureMean: number[] = [];
  const featureStd: number[] = [];
  const filled: Record<string, number> = {};
  for (const c of inferred.columns) {
    if (c.type === 'ignored') {
      columns.push({ name: c.name, type: 'ignored', reason: c.reason });
      continue;
    }
    let missingKept = 0;
    for (const r of kept) if (isMissing(table.rows[r]![c.index]!)) missingKept++;
    if (missingKept) filled[c.name] = missingKept;
    if (c.type === 'numeric') {
      const xs: number[] = [];
      for (const r of trainRows) {
        const v = table.rows[r]![c.index]!;
        if (isMissing(v)) continue;
        const n = parseNumber(v);
        if (n === undefined) {
          const line = table.lines[r]!;
          throw new TableError('not-a-number', `line ${line}, column '${c.name}': '${v.trim()}' is not a number.`, { line, column: c.name });
        }
        xs.push(n);
      }
      const { mean, std } = meanStd(xs);
      columns.push({ name: c.name, type: 'numeric', mean, std, missing: c.stats.missing });
      featureNames.push(c.name);
      featureMean.push(mean);
      featureStd.push(std);
    } else {
      const seen = new Set<string>();
      for (const r of trainRows) {
        const v = table.rows[r]![c.index]!;
        if (!isMissing(v)) seen.add(categoryOf(v));
      }
      const categories = sortValues(seen);
      if (c.stats.missing > 0) categories.push(MISSING_CATEGORY);
      columns.push({ name: c.name, type: 'categorical', categories, missing: c.stats.missing });
      for (const cat of categories) {
        featureNames.push(`${c.name}=${cat}`);
        featureMean.push(0);
        featureStd.push(1);
      }
    }
  }
  if (!featureNames.length) throw new TableError('no-features', 'No input feature is left once the columns are encoded (every used column is empty in the training rows).');

  // The target.
  const target: TableTarget = { name: tp.name, task: tp.task, droppedRows };
  if (tp.task === 'classification') target.classes = tp.classes ?? [];
  else {
    const ys = trainRows.map((r) => parseNumber(table.rows[r]![tp.index]!)!);
    const { mean, std } = meanStd(ys);
    target.mean = mean;
    target.std = std;
  }

  const preprocessing: TablePreprocessing = {
    format: 'layerforge-table-preprocessing',
    version: 1,
    columns,
    target,
    featureNames,
    featureMean,
    featureStd,
    split: { seed, testFraction, trainRows: trainRows.length, testRows: testRows.length },
    source: { file: opts.file, delimiter: table.delimiter, rows: table.rows.length, header: [...table.header] },
  };

  const classes = target.classes ?? [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const encodeSplit = (rows: number[]): EncodedSplit => {
    const raw = rows.map((r) => table.rows[r]!);
    const enc = encodeRows(preprocessing, table.header, raw, { lines: rows.map((r) => table.lines[r]!), maxErrors: 1 });
    if (enc.errorCount) {
      const e = enc.errors[0]!;
      throw new TableError('not-a-number', e.message, { ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}) });
    }
    const labels = classes.length > 256 ? new Uint16Array(rows.length) : new Uint8Array(rows.length);
    let targets: Float32Array | undefined;
    if (target.task === 'classification') {
      rows.forEach((r, i) => {
        const k = classIndex.get(classOf(target, table.rows[r]![tp.index]!));
        if (k === undefined) {
          const line = table.lines[r]!;
          throw new TableError('bad-csv', `line ${line}, column '${tp.name}': the class '${table.rows[r]![tp.index]!.trim()}' is not one of the ${fmtCount(classes.length)} classes found.`, { line, column: tp.name });
        }
        labels[i] = k;
      });
    } else {
      targets = new Float32Array(rows.length);
      rows.forEach((r, i) => {
        targets![i] = (parseNumber(table.rows[r]![tp.index]!)! - target.mean!) / target.std!;
      });
    }
    return { count: rows.length, features: enc.values, labels, ...(targets ? { targets } : {}) };
  };

  return {
    preprocessing,
    train: encodeSplit(trainRows),
    test: encodeSplit(testRows),
    testRows: testRows.map((r) => table.rows[r]!),
    testLines: testRows.map((r) => table.lines[r]!),
    filled,
    droppedRows,
  };
}
