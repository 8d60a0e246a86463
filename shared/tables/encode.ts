/**
 * Turns raw table rows into the model's feature vectors, with a dataset's TablePreprocessing: the same
 * code at import (engine), for predictions in the app (renderer) and in exported models. Pure TypeScript.
 *
 * Per column (TablePreprocessing.columns, target excluded): numeric -> one feature, a missing value becomes
 * the training mean; categorical -> one feature per category (one-hot), a missing value becomes
 * MISSING_CATEGORY when the vocabulary has it, an unknown value all zeros; ignored -> nothing. Every
 * feature is then standardised: x' = (x - featureMean) / featureStd.
 */
import { fmtCount, quoteValue, TableError } from './errors';
import { MISSING_CATEGORY, type CategoricalColumn, type NumericColumn, type TablePreprocessing, type TableTarget } from './types';

/** A raw cell: text from a file or a form, a number, or null/undefined for "no value". */
export type TableValue = string | number | null | undefined;

/** Text that counts as a missing value (compared trimmed and case-insensitively), besides empty text. */
export const MISSING_TOKENS: readonly string[] = ['na', 'n/a', 'nan', 'null', '?'];

const MISSING = new Set(MISSING_TOKENS);

/** True when a value counts as missing: null/undefined, NaN, empty or blank text, NA, N/A, NaN, null, ?. */
export function isMissing(value: TableValue): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  const t = value.trim();
  return t === '' || (t.length <= 4 && MISSING.has(t.toLowerCase()));
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The number a text holds, or undefined: decimal notation with an optional sign, fraction and exponent
 * ('3', '-0.5', '.5', '1e-3', ' 42 '); not hex, not 'Infinity', not thousands separators, and never a
 * non-finite result ('1e999').
 */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (!t || t.length > 400 || !NUMBER.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** The category a raw value stands for: its trimmed text. */
export function categoryOf(value: string | number): string {
  return typeof value === 'number' ? String(value) : value.trim();
}

type Slot =
  | { kind: 'numeric'; column: NumericColumn; at: number }
  | { kind: 'categorical'; column: CategoricalColumn; at: number; index: Map<string, number>; missingAt: number };

interface Compiled {
  slots: Slot[];
  features: number;
  mean: number[];
  std: number[];
}

const compiledCache = new WeakMap<TablePreprocessing, Compiled>();

function compile(pre: TablePreprocessing): Compiled {
  const hit = compiledCache.get(pre);
  if (hit) return hit;
  const slots: Slot[] = [];
  let at = 0;
  for (const column of pre.columns) {
    if (column.type === 'numeric') {
      slots.push({ kind: 'numeric', column, at });
      at += 1;
    } else if (column.type === 'categorical') {
      const index = new Map<string, number>();
      column.categories.forEach((c, i) => index.set(c, i));
      slots.push({ kind: 'categorical', column, at, index, missingAt: index.get(MISSING_CATEGORY) ?? -1 });
      at += column.categories.length;
    }
  }
  if (at !== pre.featureNames.length || at !== pre.featureMean.length || at !== pre.featureStd.length) {
    throw new TableError('bad-option', `The table preprocessing is inconsistent: its columns make ${at} features but it lists ${pre.featureNames.length} names, ${pre.featureMean.length} means and ${pre.featureStd.length} deviations.`);
  }
  const out = { slots, features: at, mean: pre.featureMean, std: pre.featureStd };
  compiledCache.set(pre, out);
  return out;
}

/** Where a message points: "line 17, column 'price'" or "row 3, column 'price'" or "column 'price'". */
function place(column: string, where: { line?: number; row?: number }): string {
  const at = where.line !== undefined ? `line ${where.line}, ` : where.row !== undefined ? `row ${where.row + 1}, ` : '';
  return `${at}column '${column}'`;
}

/** Encodes one value of a slot into `out` (raw, not standardised); throws a TableError for a non-number in a numeric column. */
function encodeValue(slot: Slot, value: TableValue, out: Float32Array, base: number, where: { line?: number; row?: number }): void {
  if (slot.kind === 'numeric') {
    let x: number;
    if (isMissing(value)) x = slot.column.mean;
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TableError('not-a-number', `${place(slot.column.name, where)}: ${value} is not a finite number.`, { ...where, column: slot.column.name });
      x = value;
    } else {
      const n = parseNumber(value!);
      if (n === undefined) throw new TableError('not-a-number', `${place(slot.column.name, where)}: ${quoteValue(value!)} is not a number.`, { ...where, column: slot.column.name });
      x = n;
    }
    out[base + slot.at] = x;
    return;
  }
  const i = isMissing(value) ? slot.missingAt : (slot.index.get(categoryOf(value!)) ?? -1);
  if (i >= 0) out[base + slot.at + i] = 1;
}

function standardise(c: Compiled, out: Float32Array, base: number): void {
  for (let j = 0; j < c.features; j++) out[base + j] = (out[base + j]! - c.mean[j]!) / c.std[j]!;
}

/** The number of model inputs a preprocessing makes. */
export function featureCount(pre: TablePreprocessing): number {
  return compile(pre).features;
}

/**
 * One row, given by column name, as the model's standardised feature vector. Every used (numeric or
 * categorical) column must be present as a key (null or '' for a missing value); extra keys are ignored.
 * Throws a TableError naming the column for an absent key or a non-number in a numeric column.
 */
export function encodeRow(pre: TablePreprocessing, row: Record<string, TableValue>): Float32Array {
  const c = compile(pre);
  const out = new Float32Array(c.features);
  for (const slot of c.slots) {
    const name = slot.column.name;
    if (!Object.prototype.hasOwnProperty.call(row, name)) {
      throw new TableError('no-such-column', `The row has no column '${name}' (the model needs ${neededColumns(pre).map((n) => `'${n}'`).join(', ')}).`, { column: name });
    }
    encodeValue(slot, row[name], out, 0, {});
  }
  standardise(c, out, 0);
  return out;
}

/** One problem of encodeRows: `row` is the 0-based index in `rows` (absent for a missing column). */
export interface EncodeProblem {
  row?: number;
  line?: number;
  column?: string;
  message: string;
}

export interface EncodedRows {
  /** rows.length x features, row after row. Rows with a problem hold what could be encoded (not meaningful). */
  values: Float32Array;
  features: number;
  /** The first problems (at most `maxErrors`) … */
  errors: EncodeProblem[];
  /** … and how many there were in all. */
  errorCount: number;
}

/** The columns a row must have: the numeric and categorical ones, in order. */
export function neededColumns(pre: TablePreprocessing): string[] {
  return pre.columns.filter((c) => c.type !== 'ignored').map((c) => c.name);
}

/**
 * Encodes rows of text cells laid out as `header` says, mapping columns by name: a used column absent from
 * the header is a problem naming it (its values then count as missing), extra columns are ignored, a row
 * with fewer cells than the header is a problem. Problems are collected, not thrown. `lines` (optional) are
 * the file lines of the rows, for messages.
 */
export function encodeRows(
  pre: TablePreprocessing,
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: { lines?: ArrayLike<number>; maxErrors?: number } = {},
): EncodedRows {
  const c = compile(pre);
  const maxErrors = opts.maxErrors ?? 100;
  const errors: EncodeProblem[] = [];
  let errorCount = 0;
  const problem = (p: EncodeProblem) => {
    errorCount++;
    if (errors.length < maxErrors) errors.push(p);
  };
  const position = new Map<string, number>();
  header.forEach((h, i) => {
    if (!position.has(h)) position.set(h, i);
  });
  const cols = c.slots.map((slot) => {
    const i = position.get(slot.column.name);
    if (i === undefined) {
      problem({ column: slot.column.name, message: `The input has no column '${slot.column.name}' (it has ${header.map((h) => `'${h}'`).join(', ') || 'none'}).` });
      return -1;
    }
    return i;
  });
  const values = new Float32Array(rows.length * c.features);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const line = opts.lines?.[r];
    const where = line !== undefined ? { line } : { row: r };
    if (row.length < header.length) {
      problem({ ...where, message: `${line !== undefined ? `line ${line}` : `row ${r + 1}`} has ${fmtCount(row.length)} field${row.length === 1 ? '' : 's'}, the header has ${fmtCount(header.length)}.` });
      continue;
    }
    const base = r * c.features;
    for (let s = 0; s < c.slots.length; s++) {
      const slot = c.slots[s]!;
      const i = cols[s]!;
      try {
        encodeValue(slot, i < 0 ? null : row[i], values, base, where);
      } catch (error) {
        if (!(error instanceof TableError)) throw error;
        problem({ ...where, column: slot.column.name, message: error.message });
      }
    }
    standardise(c, values, base);
  }
  return { values, features: c.features, errors, errorCount };
}

/** True when a classification target's classes are all numbers (then '1.0' and '1' are one class). */
function numericClasses(target: TableTarget): boolean {
  return (target.classes ?? []).every((c) => parseNumber(c) !== undefined);
}

/** The class name a raw target value belongs to (numbers canonical: '1.0' -> '1'). */
export function classOf(target: TableTarget, value: string | number): string {
  if (typeof value === 'number') return String(value);
  if (numericClasses(target)) {
    const n = parseNumber(value);
    if (n !== undefined) return String(n);
  }
  return value.trim();
}

/**
 * A raw target value as the model sees it: the class index (classification; -1 for an unknown class) or
 * the standardised value (regression; throws a TableError for a non-number). Missing values throw.
 */
export function encodeTarget(pre: TablePreprocessing, value: TableValue): number {
  const t = pre.target;
  if (isMissing(value)) throw new TableError('no-data-rows', `The target '${t.name}' is missing.`, { column: t.name });
  if (t.task === 'classification') return (t.classes ?? []).indexOf(classOf(t, value!));
  const y = typeof value === 'number' ? value : parseNumber(value!);
  if (y === undefined || !Number.isFinite(y)) throw new TableError('not-a-number', `column '${t.name}': ${quoteValue(String(value))} is not a number.`, { column: t.name });
  return (y - (t.mean ?? 0)) / (t.std ?? 1);
}

/** A model output back in the target's units: regression y * std + mean; classification: y unchanged (a class index). */
export function decodeTarget(pre: TablePreprocessing, y: number): number {
  const t = pre.target;
  if (t.task !== 'regression') return y;
  return y * (t.std ?? 1) + (t.mean ?? 0);
}
