/**
 * The one error type of text datasets and tokenizers, from reading a file to loading a tokenizer. `code` says
 * what went wrong (stable, for programs and tests); `file` (as shown to the user: a path relative to what was
 * imported), `line` (1-based), `column` (1-based, in bytes for encoding problems) and `offset` (0-based byte
 * offset in the file) say where, when known. The message is a full sentence that already names them, e.g.
 * "computers: not UTF-8 text: bytes that are not UTF-8 at byte offset 1,234 (line 17, column 3)".
 */

export type TextErrorCode =
  /** A file or folder could not be opened or read. */
  | 'unreadable'
  /** Bytes that are not UTF-8 text (the offset says where). */
  | 'not-utf8'
  /** Binary data (a NUL byte) or UTF-16 text. */
  | 'not-text'
  /** A file with no text (empty, or only whitespace). */
  | 'empty-file'
  /** A class folder without a single text file, or a class left without examples. */
  | 'empty-class'
  /** Nothing to import: no text files, no classes, no examples. */
  | 'no-data'
  /** A CSV row whose text cell is empty. */
  | 'missing-text'
  /** A CSV row whose label cell is empty. */
  | 'missing-label'
  /** A CSV column named (text or label) that the header lacks. */
  | 'no-such-column'
  /** Any other CSV problem (ragged rows, quotes, …), with the line. */
  | 'bad-csv'
  /** One file larger than the per-file limit. */
  | 'file-too-large'
  /** All files together larger than the limit, or too many files, examples or tokens. */
  | 'too-large'
  /** One line longer than the limit (a binary file, or a file without line breaks). */
  | 'line-too-long'
  /** One example longer than the limit. */
  | 'example-too-long'
  /** More classes than the limit. */
  | 'too-many-classes'
  /** A labelled dataset with a single class. */
  | 'single-class'
  /** A corpus split too short for one window of T+1 tokens. */
  | 'too-few-tokens'
  /** An option out of range (sequence length, vocabulary size, test fraction, …). */
  | 'bad-option'
  /** A tokenizer JSON that is not a valid `layerforge-tokenizer`. */
  | 'bad-tokenizer'
  /** The import was cancelled (AbortSignal). */
  | 'cancelled';

export interface TextErrorWhere {
  /** The file as shown to the user (relative to the imported folder, or its base name). */
  file?: string;
  /** 1-based line in the file. */
  line?: number;
  /** 1-based column (bytes for encoding problems, characters otherwise). */
  column?: number;
  /** 0-based byte offset in the file. */
  offset?: number;
}

export class TextError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly offset?: number;

  constructor(
    readonly code: TextErrorCode,
    message: string,
    where: TextErrorWhere = {},
  ) {
    super(message);
    this.name = 'TextError';
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
    if (where.offset !== undefined) this.offset = where.offset;
  }
}

/** True for a TextError (also one that crossed a realm, by its name and code). */
export function isTextError(error: unknown): error is TextError {
  return error instanceof TextError || (error instanceof Error && error.name === 'TextError' && typeof (error as { code?: unknown }).code === 'string');
}
