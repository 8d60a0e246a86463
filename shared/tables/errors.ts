/**
 * The one error type of table (CSV) datasets, from parsing a file to encoding a row for a prediction.
 * `code` says what went wrong (stable, for programs and tests); `line` (1-based file line, the header is
 * line 1) and `column` (a column name) say where, when it is known. The message is a full sentence that
 * already names both, e.g. "line 17, column 'price': 'abc' is not a number".
 */

export type TableErrorCode =
  /** The file could not be opened or read. */
  | 'unreadable'
  /** Binary data: NUL bytes, invalid UTF-8, UTF-16. */
  | 'not-text'
  /** Larger than the file size limit. */
  | 'file-too-large'
  /** No header at all (empty, or only blank lines). */
  | 'empty-file'
  /** A header but no data rows (or none left once rows without a target were dropped). */
  | 'no-data-rows'
  /** A header name that is empty. */
  | 'empty-header'
  /** Two columns with the same name. */
  | 'duplicate-header'
  /** More columns than the limit. */
  | 'too-many-columns'
  /** More values (rows x columns) than the limit. */
  | 'too-many-values'
  /** One field (or one row) longer than the limit. */
  | 'field-too-long'
  /** A row whose number of fields differs from the header's. */
  | 'ragged-row'
  /** A quoted field that is never closed. */
  | 'unterminated-quote'
  /** Other quoting problems, e.g. text after a closing quote. */
  | 'bad-quote'
  /** A value that must be a number (a numeric column or a regression target) and is not. */
  | 'not-a-number'
  /** A column named (target, column type, input row) that the file or row does not have. */
  | 'no-such-column'
  /** More categories or classes than the limit. */
  | 'too-many-categories'
  /** Nothing left to learn from: no usable feature column. */
  | 'no-features'
  /** A classification target with a single class. */
  | 'single-class'
  /** An option out of range (test fraction, task, column type, …). */
  | 'bad-option'
  /** The import was cancelled (AbortSignal). */
  | 'cancelled'
  /** Anything else the CSV parser reports. */
  | 'bad-csv';

export interface TableErrorWhere {
  /** 1-based line in the file (the header is line 1). */
  line?: number;
  /** The column's name. */
  column?: string;
  /** 0-based data row (encodeRows). */
  row?: number;
}

export class TableError extends Error {
  readonly line?: number;
  readonly column?: string;
  readonly row?: number;

  constructor(
    readonly code: TableErrorCode,
    message: string,
    where: TableErrorWhere = {},
  ) {
    super(message);
    this.name = 'TableError';
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
    if (where.row !== undefined) this.row = where.row;
  }
}

/** True for a TableError (also one that crossed a realm, by its name and code). */
export function isTableError(error: unknown): error is TableError {
  return error instanceof TableError || (error instanceof Error && error.name === 'TableError' && typeof (error as { code?: unknown }).code === 'string');
}

/** 1234567 -> '1,234,567' (locale-independent, for messages). */
export function fmtCount(n: number): string {
  return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A value quoted for a message, shortened when long. */
export function quoteValue(value: string, max = 40): string {
  const v = value.length > max ? `${value.slice(0, max)}…` : value;
  return `'${v.replace(/[\r\n]+/g, ' ')}'`;
}
