/**
 * Column types and the task, inferred from a parsed CSV (all its rows), each with its reason in words:
 * - numeric: every non-missing value is a finite number;
 * - categorical: text with few distinct values, or integers with few distinct values (<= 10 and fewer
 *   than half the rows);
 * - ignored: ids (every text value different, or increasing / all-different integers in a column named
 *   like an id), free text (more than 20 distinct values and more than half the rows, or more than 100),
 *   constant columns and empty ones.
 * Missing values (empty, blank, NA, N/A, NaN, null, ?) do not count against a type. The user overrides
 * any column with `columnTypes` and the task with `task`. The target: text or few distinct integers ->
 * classification (classes sorted numerically when numbers, else alphabetically), other numbers -> regression.
 */
import type { TableColumnPreview } from '../../../../shared/api/datasets';
import { isMissing, parseNumber } from '../../../../shared/tables/encode';
import { fmtCount, quoteValue, TableError } from '../../../../shared/tables/errors';
import type { ColumnType, TableTask } from '../../../../shared/tables/types';
import type { CsvTable } from './csv';

/** Integer columns with at most this many distinct values (and fewer than half the rows) are categories. */
export const FEW_INTEGERS = 10;
/** Text columns with more distinct values than this are not made categories unless the user says so. */
export const MAX_AUTO_CATEGORIES = 100;
/** The most categories of one column, and the most classes of a target. */
export const MAX_CATEGORIES = 1000;

const COLUMN_TYPES: readonly ColumnType[] = ['numeric', 'categorical', 'ignored'];
const TASKS: readonly TableTask[] = ['classification', 'regression'];

/** What one pass over a column finds. */
export interface ColumnStats {
  name: string;
  /** Index in the header. */
  index: number;
  missing: number;
  present: number;
  /** Every present value is a finite number. */
  numeric: boolean;
  /** Present values that are numbers. */
  numbers: number;
  /** The first present value that is not a number, and its line. */
  firstText?: { value: string; line: number };
  integers: boolean;
  /** Strictly increasing numbers in file order, with no value missing. */
  increasing: boolean;
  /** Distinct values (numbers canonical while numeric), counted up to MAX_CATEGORIES + 1. */
  distinct: number;
  /** The distinct values when not capped. */
  values: Set<string>;
  capped: boolean;
  min?: number;
  max?: number;
}

export function columnStats(table: CsvTable, index: number): ColumnStats {
  const name = table.header[index]!;
  let missing = 0;
  let present = 0;
  let numeric = true;
  let numbers = 0;
  let integers = true;
  let increasing = true;
  let prev = -Infinity;
  let min = Infinity;
  let max = -Infinity;
  let firstText: ColumnStats['firstText'];
  let texts = new Set<string>();
  let nums = new Set<string>();
  let capped = false;
  const cap = MAX_CATEGORIES + 1;
  for (let r = 0; r < table.rows.length; r++) {
    const raw = table.rows[r]![index]!;
    if (isMissing(raw)) {
      missing++;
      increasing = false;
      continue;
    }
    present++;
    const text = raw.trim();
    if (!capped) {
      texts.add(text);
      if (texts.size > cap) capped = true;
    }
    if (!numeric) {
      if (parseNumber(text) !== undefined) numbers++;
    } else {
      const n = parseNumber(text);
      if (n === undefined) {
        numeric = false;
        integers = false;
        increasing = false;
        firstText = { value: text, line: table.lines[r]! };
        nums = new Set();
      } else {
        numbers++;
        if (!Number.isInteger(n)) integers = false;
        if (!(n > prev)) increasing = false;
        prev = n;
        if (n < min) min = n;
        if (n > max) max = n;
        if (nums.size <= cap) nums.add(String(n));
      }
    }
  }
  let values = numeric ? nums : texts;
  if (values.size > cap) capped = true;
  const distinct = Math.min(values.size, cap);
  if (capped) values = new Set();
  if (numeric) texts = new Set();
  return {
    name, index, missing, present, numeric, numbers, integers: numeric && present > 0 && integers, increasing: numeric && present > 1 && increasing,
    distinct, values, capped, ...(firstText ? { firstText } : {}),
    ...(numeric && present ? { min, max } : {}),
  };
}

/** A name that says "identifier": id, ID, index, row, #, customer_id, PassengerId, "Unnamed: 0". */
export function idLikeName(name: string): boolean {
  return /^(id|ids|idx|index|row|rownum|row_?(id|num|number|index)|no|nr|#|key|unnamed: ?\d+)$/i.test(name.trim())
    || /(^|[_\s.-])(id|idx|index)$/i.test(name.trim())
    || /[a-z0-9]I[dD]$/.test(name.trim());
}

/** How a column will be used, with its reason. */
export interface ColumnPlan {
  name: string;
  index: number;
  type: ColumnType;
  reason: string;
  stats: ColumnStats;
}

export interface TargetPlan {
  name: string;
  index: number;
  task: TableTask;
  /** Classification: every class in the file, sorted. */
  classes?: string[];
  reason: string;
  /** Rows without a target value (dropped at import). */
  missing: number;
  stats: ColumnStats;
}

export interface InferredTable {
  target: TargetPlan;
  /** Every column but the target, in file order. */
  columns: ColumnPlan[];
  /** Every column, the target included, in file order (what a preview shows). */
  previews: TableColumnPreview[];
  /** About feature columns (rows without a target are counted in target.missing). */
  warnings: string[];
}

export interface InferOptions {
  /** Default: the last column. */
  target?: string;
  task?: TableTask;
  columnTypes?: Record<string, ColumnType>;
}

function listColumns(header: string[]): string {
  const shown = header.slice(0, 30).map((h) => `'${h}'`).join(', ');
  return header.length > 30 ? `${shown} and ${fmtCount(header.length - 30)} more` : shown;
}

/** For a column of mostly numbers with some text: which text made it a text column. */
function textNote(s: ColumnStats): string {
  return s.firstText && s.numbers >= s.present / 2 ? ` (${quoteValue(s.firstText.value, 24)} on line ${s.firstText.line} is not a number)` : '';
}

/** Sorts class or category names: numerically when all are numbers, else by code point. */
export function sortValues(values: Iterable<string>): string[] {
  const list = [...values];
  if (list.length && list.every((v) => parseNumber(v) !== undefined)) return list.sort((a, b) => parseNumber(a)! - parseNumber(b)!);
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function decide(stats: ColumnStats, rows: number, forced: ColumnType | undefined): { type: ColumnType; reason: string } {
  const { name } = stats;
  if (forced === 'ignored') return { type: 'ignored', reason: 'chosen by the user' };
  if (forced === 'numeric') {
    if (!stats.numeric) {
      const t = stats.firstText!;
      throw new TableError('not-a-number', `line ${t.line}, column '${name}': ${quoteValue(t.value)} is not a number (the column was set to numeric).`, { line: t.line, column: name });
    }
    return { type: 'numeric', reason: 'chosen by the user' };
  }
  if (forced === 'categorical') {
    if (stats.capped || stats.distinct > MAX_CATEGORIES) {
      throw new TableError('too-many-categories', `column '${name}' has more than ${fmtCount(MAX_CATEGORIES)} distinct values; at most ${fmtCount(MAX_CATEGORIES)} categories are supported.`, { column: name });
    }
    return { type: 'categorical', reason: `chosen by the user (${fmtCount(stats.distinct)} distinct values)` };
  }
  if (stats.present === 0) return { type: 'ignored', reason: 'every value is missing' };
  if (stats.distinct === 1) return { type: 'ignored', reason: `the same value (${quoteValue([...stats.values][0] ?? '', 24)}) in every row` };
  if (stats.numeric) {
    const allDifferent = !stats.capped && stats.distinct === stats.present;
    if (stats.integers && idLikeName(name) && (stats.increasing || allDifferent)) {
      return { type: 'ignored', reason: `an id: ${stats.increasing ? 'increasing integers' : 'a different integer in every row'} in a column named like one` };
    }
    if (stats.integers && stats.distinct <= FEW_INTEGERS && stats.distinct < rows / 2) {
      return { type: 'categorical', reason: `${stats.distinct} distinct integers` };
    }
    return { type: 'numeric', reason: `numbers from ${stats.min} to ${stats.max}` };
  }
  const note = textNote(stats);
  if (note && !(stats.distinct <= 20 && stats.distinct < stats.present / 2)) {
    // Mostly numbers, some text, too many values for categories: a typo or an odd missing-value marker.
    return { type: 'ignored', reason: `numbers mixed with text${note}; fix the values, or set the column to numeric to see each bad line` };
  }
  if (!stats.capped && stats.distinct === stats.present && stats.present >= 2) {
    return { type: 'ignored', reason: `an id or name: a different text in every row${note}` };
  }
  if (stats.distinct > 20 && (stats.capped || stats.distinct > stats.present / 2 || stats.distinct > MAX_AUTO_CATEGORIES)) {
    const many = stats.capped ? `more than ${fmtCount(MAX_CATEGORIES)}` : fmtCount(stats.distinct);
    return { type: 'ignored', reason: `free text: ${many} distinct values in ${fmtCount(stats.present)} rows${note}; set it to categorical to use it` };
  }
  return { type: 'categorical', reason: `text with ${stats.distinct} distinct values${note}` };
}

function preview(p: { name: string; type: ColumnType; reason: string; stats: ColumnStats }): TableColumnPreview {
  const s = p.stats;
  return {
    name: p.name, type: p.type, reason: p.reason, missing: s.missing, distinct: s.distinct,
    ...(s.min !== undefined && s.max !== undefined ? { min: s.min, max: s.max } : {}),
  };
}

/** Infers every column's use and the task (see the module comment). Throws TableErrors for bad options. */
export function inferTable(table: CsvTable, opts: InferOptions = {}): InferredTable {
  const { header } = table;
  const targetName = opts.target ?? header[header.length - 1]!;
  const targetIndex = header.indexOf(targetName);
  if (targetIndex < 0) {
    throw new TableError('no-such-column', `There is no column '${targetName}' to predict; the columns are ${listColumns(header)}.`, { column: targetName });
  }
  if (opts.task !== undefined && !TASKS.includes(opts.task)) {
    throw new TableError('bad-option', `The task must be classification or regression, got '${String(opts.task)}'.`);
  }
  const forced = opts.columnTypes ?? {};
  for (const [name, type] of Object.entries(forced)) {
    if (!header.includes(name)) throw new TableError('no-such-column', `A column type is set for '${name}', but there is no such column; the columns are ${listColumns(header)}.`, { column: name });
    if (!COLUMN_TYPES.includes(type)) throw new TableError('bad-option', `The type of column '${name}' must be numeric, categorical or ignored, got '${String(type)}'.`, { column: name });
    if (name === targetName) throw new TableError('bad-option', `'${name}' is the target column: its use follows the task (set task to classification or regression instead of a column type).`, { column: name });
  }
  const rows = table.rows.length;
  const warnings: string[] = [];

  // The target.
  const ts = columnStats(table, targetIndex);
  if (ts.present === 0) throw new TableError('no-data-rows', `The target column '${targetName}' has no values: every row's value is missing.`, { column: targetName });
  let task: TableTask;
  let reason: string;
  if (opts.task) {
    task = opts.task;
    reason = 'chosen by the user';
  } else if (!ts.numeric) {
    task = 'classification';
    reason = `${ts.capped ? `more than ${fmtCount(MAX_CATEGORIES)}` : ts.distinct} text classes`;
  } else if (ts.integers && ts.distinct <= FEW_INTEGERS) {
    task = 'classification';
    reason = `${ts.distinct} distinct integers`;
  } else {
    task = 'regression';
    reason = `numbers from ${ts.min} to ${ts.max}`;
  }
  let classes: string[] | undefined;
  if (task === 'regression' && !ts.numeric) {
    const t = ts.firstText!;
    throw new TableError('not-a-number', `line ${t.line}, column '${targetName}': ${quoteValue(t.value)} is not a number, so '${targetName}' cannot be a regression target.`, { line: t.line, column: targetName });
  }
  if (task === 'classification') {
    if (ts.capped) {
      throw new TableError('too-many-categories', `The target '${targetName}' has more than ${fmtCount(MAX_CATEGORIES)} distinct values; a classifier supports at most ${fmtCount(MAX_CATEGORIES)} classes${ts.numeric ? ' (use the regression task for numbers)' : ''}.`, { column: targetName });
    }
    // Numbers are canonical ('1.0' -> '1') in a numeric column's values, as classOf makes them at encoding.
    classes = sortValues(ts.values);
    if (classes.length < 2) {
      throw new TableError('single-class', `The target '${targetName}' has only one class (${quoteValue(classes[0] ?? '')}); a classifier needs at least two.`, { column: targetName });
    }
  }

  const columns: ColumnPlan[] = [];
  for (let i = 0; i < header.length; i++) {
    if (i === targetIndex) continue;
    const stats = columnStats(table, i);
    const d = decide(stats, rows, forced[header[i]!]);
    columns.push({ name: header[i]!, index: i, type: d.type, reason: d.reason, stats });
    if (!forced[header[i]!] && !stats.numeric && stats.firstText && stats.present > 2 && stats.present - stats.numbers <= stats.present * 0.05) {
      // Almost all numbers with a few stray texts: probably a typo or an unusual missing-value marker.
      const t = stats.firstText;
      warnings.push(`Column '${header[i]}' is almost all numbers, but ${quoteValue(t.value, 24)} on line ${t.line} is not a number${stats.present - stats.numbers > 1 ? ` (nor ${fmtCount(stats.present - stats.numbers - 1)} more values)` : ''}: it is used as ${d.type === 'ignored' ? 'nothing (ignored)' : 'text categories'}. Fix the values, or set the column to numeric to see each bad line.`);
    }
  }
  if (!columns.some((c) => c.type !== 'ignored')) {
    const why = columns.map((c) => `'${c.name}' (${c.reason})`).join('; ');
    throw new TableError('no-features', `No column can be used as an input: ${why || `the file has only the target column '${targetName}'`}.`);
  }
  const target: TargetPlan = { name: targetName, index: targetIndex, task, reason, missing: ts.missing, stats: ts, ...(classes ? { classes } : {}) };
  const previews = header.map((h, i) => {
    if (i === targetIndex) {
      return preview({ name: h, type: task === 'classification' ? 'categorical' : 'numeric', reason: `the target: ${task}, ${reason}`, stats: ts });
    }
    return preview(columns.find((c) => c.index === i)!);
  });
  return { target, columns, previews, warnings };
}
