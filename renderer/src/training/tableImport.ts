/** The CSV import dialog's pure parts: its form, checks, the request it sends and how a column reads. */
import type { ImportDatasetRequest, TableColumnPreview, TablePreview } from '../../../shared/api';
import type { ColumnType, TableTask } from '../../../shared/tables/types';
import { isAbsolutePath } from '../export/formats';

export const COLUMN_TYPES: readonly ColumnType[] = ['numeric', 'categorical', 'ignored'];

/** The tasks a table can be imported for (their labels come from the task registry). */
export const TABLE_TASKS = ['classification', 'regression'] as const satisfies readonly TableTask[];
// Compile-time: every TableTask is offered.
const _allTableTasks: Exclude<TableTask, (typeof TABLE_TASKS)[number]> extends never ? true : never = true;
void _allTableTasks;

export interface TableImportForm {
  path: string;
  /** Dataset name (default: the file's name). */
  name: string;
  /** '' until the first preview picks the file's default (its last column). */
  target: string;
  /** 'auto' follows the target column (what the preview says it implies). */
  task: 'auto' | TableTask;
  testFraction: string;
  seed: string;
  /** Column types the user changed, by column name. */
  columnTypes: Record<string, ColumnType>;
}

export const emptyTableForm = (path = ''): TableImportForm => ({ path, name: '', target: '', task: 'auto', testFraction: '0.2', seed: '42', columnTypes: {} });

export type TableFormErrors = Partial<Record<'path' | 'testFraction' | 'seed' | 'name', string>>;

export function validatePath(path: string): string | null {
  const p = path.trim();
  if (!p) return 'Give the path of a CSV file on the engine’s machine.';
  if (!isAbsolutePath(p)) return 'Give an absolute path on the engine’s machine (for example /home/me/data/houses.csv).';
  return null;
}

export function validateTableForm(form: TableImportForm): TableFormErrors {
  const errors: TableFormErrors = {};
  const path = validatePath(form.path);
  if (path) errors.path = path;
  const f = Number(form.testFraction);
  if (form.testFraction.trim() === '' || !Number.isFinite(f) || f <= 0 || f > 0.9) errors.testFraction = 'The test fraction is a number above 0 and at most 0.9 (0.2 keeps a fifth of the rows for testing).';
  const seed = Number(form.seed);
  if (form.seed.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) errors.seed = 'The seed is a whole number from 0 to 4294967295.';
  if (form.name.trim().length > 100) errors.name = 'The name has at most 100 characters.';
  return errors;
}

/** The file's name without folders and extension: '/data/diabetes.csv' -> 'diabetes'. */
export function fileStem(path: string): string {
  const base = path.trim().split(/[\\/]/).pop() ?? '';
  return base.replace(/\.[^.]+$/, '') || base;
}

/** The importDataset request of a checked form. */
export function tableImportRequest(form: TableImportForm, preview: Pick<TablePreview, 'target'>): ImportDatasetRequest {
  const name = form.name.trim() || fileStem(form.path);
  return {
    path: form.path.trim(),
    as: 'table',
    ...(name ? { name } : {}),
    target: form.target || preview.target,
    ...(form.task === 'auto' ? {} : { task: form.task }),
    testFraction: Number(form.testFraction),
    seed: Number(form.seed),
    ...(Object.keys(form.columnTypes).length ? { columnTypes: { ...form.columnTypes } } : {}),
  };
}

/** A column's badge: its type (as the user set it, else inferred) and, in words, why and what is missing. */
export function columnBadge(col: TableColumnPreview, override?: ColumnType): { type: ColumnType; note: string } {
  const type = override ?? col.type;
  const parts: string[] = [];
  if (override && override !== col.type) parts.push(`set by you (inferred: ${col.type})`);
  else if (col.reason) parts.push(col.reason);
  else if (type === 'numeric' && col.min !== undefined && col.max !== undefined) parts.push(`${fmt(col.min)} – ${fmt(col.max)}`);
  else if (type === 'categorical' && col.distinct) parts.push(`${col.distinct} values`);
  if (col.missing) parts.push(`${col.missing} missing`);
  return { type, note: parts.join(' · ') };
}

const fmt = (x: number) => (Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x * 100) / 100) : String(Number(x.toPrecision(4))));

/** The task actually imported: the user's choice, else what the preview says the target implies. */
export function effectiveTask(form: Pick<TableImportForm, 'task'>, preview: Pick<TablePreview, 'task'>): TableTask {
  return form.task === 'auto' ? preview.task : form.task;
}
