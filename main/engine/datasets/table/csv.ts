/**
 * Reading CSV as people write it: a header row; the delimiter sniffed among comma, semicolon, tab and
 * pipe; RFC 4180 quoting (delimiters, doubled quotes and line breaks inside quotes); a UTF-8 BOM; CRLF, LF
 * or CR line ends (mixed too); blank lines (a trailing one included) skipped. Every problem is a TableError
 * naming the 1-based file line (the header is line 1) and, where it applies, the column; absurd inputs
 * (too big, too many columns or values, endless fields, binary data) are refused before they hang or
 * exhaust memory. The file is streamed, so the engine's event loop keeps turning on a large file.
 *
 * Library choice (compared in 2026 on npm's current releases):
 * - csv-parse 7 (node-csv, MIT, 0 deps, 1.7 MB with docs/cjs+esm builds, steady releases): strict RFC 4180,
 *   BOM option, CRLF/LF/CR (and a list of them), typed CsvError codes with line numbers, record size
 *   guard (max_record_size), streaming Transform, Node without DOM. Its delimiter_auto chokes on quoted
 *   fields (throws "Invalid Closing Quote" for `"x,y",2`), so we sniff ourselves.
 * - papaparse 5 (MIT, 0 deps, ~260 KB, slower releases): good delimiter guessing and BOM, but lenient (an
 *   unclosed quote is a warning and parsing goes on), errors name the row index not the file line, no size
 *   guard. - d3-dsv 3 (ISC, small): no error reporting at all, no sniffing, no BOM, and a CLI's deps.
 * Chosen: csv-parse, for exact errors and the size guard; sniffing (~40 lines) and line numbers are ours.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { fmtCount, TableError } from '../../../../shared/tables/errors';

/** What a file may hold at most; larger inputs get a TableError instead of hanging or exhausting memory. */
export interface TableLimits {
  /** File size in bytes (1 GiB). */
  maxFileBytes: number;
  /** Columns in the header (10,000). */
  maxColumns: number;
  /** Characters in one field (1 Mi). */
  maxFieldChars: number;
  /** Characters in one row, all fields together (16 Mi): stops a runaway quote or a missing line end early. */
  maxRecordChars: number;
  /** Values in the file, rows x columns (10 million: about 1 GB of memory as strings, ~100 bytes a value). */
  maxValues: number;
}

export const TABLE_LIMITS: Readonly<TableLimits> = {
  maxFileBytes: 2 ** 30,
  maxColumns: 10_000,
  maxFieldChars: 2 ** 20,
  maxRecordChars: 16 * 2 ** 20,
  maxValues: 10_000_000,
};

/** The delimiters sniffed, most preferred first. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

export interface CsvTable {
  /** The delimiter used (sniffed or given). */
  delimiter: string;
  /** Column names, trimmed; unique and non-empty. */
  header: string[];
  /** Data rows, each exactly header.length raw strings (not trimmed). */
  rows: string[][];
  /** The 1-based file line each row starts on (the header is line 1). */
  lines: number[];
  /** The file started with a UTF-8 byte order mark. */
  bom: boolean;
}

export interface CsvOptions {
  /** Skip sniffing. */
  delimiter?: string;
  limits?: Partial<TableLimits>;
  signal?: AbortSignal;
  /** The file's name in messages (default: the path's base name, or 'the input'). */
  name?: string;
}

const HEAD_BYTES = 64 * 1024;

/** A name for a delimiter in messages. */
export function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : d === ',' ? 'comma' : d === ';' ? 'semicolon' : d === '|' ? 'pipe' : `'${d}'`;
}

/**
 * Picks the delimiter of a sample (the first lines of a file): for each candidate, its count outside
 * quotes on the header line and on each following line; the candidate that appears on the header and has
 * the same count on most lines wins (ties: more columns, then the order of DELIMITERS). Comma when none
 * appears (a one-column file).
 */
export function sniffDelimiter(sample: string, complete = true): string {
  let text = sample.charCodeAt(0) === 0xfeff ? sample.slice(1) : sample;
  if (!complete) {
    // Drop the last, possibly cut, line.
    const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    if (cut > 0) text = text.slice(0, cut);
  }
  const counts: number[][] = [];
  let current = DELIMITERS.map(() => 0);
  let inQuotes = false;
  let blank = true;
  for (let i = 0; i < text.length && counts.length < 100; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      inQuotes = !inQuotes;
      blank = false;
    } else if (!inQuotes && (ch === '\n' || ch === '\r')) {
      if (!blank) counts.push(current);
      current = DELIMITERS.map(() => 0);
      blank = true;
    } else {
      if (ch !== ' ') blank = false;
      const k = (DELIMITERS as readonly string[]).indexOf(ch);
      if (k >= 0 && !inQuotes) current[k]!++;
    }
  }
  if (!blank) counts.push(current);
  if (!counts.length) return ',';
  let best = -1;
  let bestScore = -1;
  let bestCols = -1;
  DELIMITERS.forEach((_, k) => {
    const head = counts[0]![k]!;
    if (head === 0) return;
    const rest = counts.slice(1);
    const score = rest.length ? rest.filter((c) => c[k] === head).length / rest.length : 1;
    if (score > bestScore || (score === bestScore && head > bestCols)) {
      best = k;
      bestScore = score;
      bestCols = head;
    }
  });
  return best < 0 ? ',' : DELIMITERS[best]!;
}

/** Finds the first byte where a UTF-8 sequence goes wrong (or -1), starting after `skip` continuation bytes. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  // A chunk may start inside a character begun in the previous one.
  while (i < 3 && i < b.length && (b[i]! & 0xc0) === 0x80) i++;
  while (i < b.length) {
    const c = b[i]!;
    let n: number;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) n = 2;
    else if (c >= 0xf0 && c <= 0xf4) n = 3;
    else return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length) return -1; // continues in the next chunk
      if ((b[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return -1;
}

function countLineBreaks(b: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    if (b[i] === 10) n++;
    else if (b[i] === 13 && b[i + 1] !== 10) n++;
  }
  return n;
}

function lineBreaksIn(s: string): number {
  if (s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13 && s.charCodeAt(i + 1) !== 10) n++;
  }
  return n;
}

/** Checks that bytes are text (no NUL, valid UTF-8, not UTF-16) as they stream by. */
class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private offset = 0;
  /** Line breaks seen, counted while cheap (the first MiB), for messages. */
  private lines = 0;

  constructor(private readonly name: string) {}

  private fail(at: number, chunk: Uint8Array, what: string): never {
    const where = this.offset + at;
    const line = where < 2 ** 20 ? this.lines + countLineBreaks(chunk, at) + 1 : undefined;
    const hint = 'Save it as UTF-8 text (CSV) and import it again.';
    throw new TableError('not-text', `${this.name} is not a text file: ${what} at byte ${fmtCount(where + 1)}${line ? ` (line ${line})` : ''}. ${hint}`, line ? { line } : {});
  }

  check(chunk: Uint8Array): void {
    if (this.offset === 0 && chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
      throw new TableError('not-text', `${this.name} is UTF-16 text (a UTF-16 byte order mark); save it as UTF-8 CSV and import it again.`, { line: 1 });
    }
    const nul = chunk.indexOf(0);
    if (nul >= 0) this.fail(nul, chunk, 'a NUL byte');
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      const bad = firstInvalidUtf8(chunk);
      this.fail(bad < 0 ? 0 : bad, chunk, 'bytes that are not UTF-8');
    }
    if (this.offset < 2 ** 20) this.lines += countLineBreaks(chunk, chunk.length);
    this.offset += chunk.length;
  }

  end(): void {
    try {
      this.decoder.decode();
    } catch {
      throw new TableError('not-text', `${this.name} is not a text file: it ends inside a UTF-8 character (byte ${fmtCount(this.offset)}). Save it as UTF-8 text (CSV) and import it again.`);
    }
  }
}

/**
 * Counts the header's columns on the raw bytes, ahead of the parser, so a header of a million columns is
 * refused before a million strings are made. Quote-aware; ends at the first line break outside quotes.
 */
class HeaderGuard {
  done = false;
  private inQuotes = false;
  private fields = 1;
  private content = false;
  private scanned = 0;

  constructor(
    private readonly delimiter: number,
    private readonly limits: TableLimits,
  ) {}

  private refuse(more: boolean): never {
    throw new TableError('too-many-columns', `line 1: the header has ${more ? 'more than ' : ''}${fmtCount(this.fields)} columns; at most ${fmtCount(this.limits.maxColumns)} are supported.`, { line: 1 });
  }

  feed(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length && !this.done; i++) {
      const b = chunk[i]!;
      if (b === 0x22) this.inQuotes = !this.inQuotes;
      else if (!this.inQuotes) {
        if (b === this.delimiter) this.fields++;
        else if (b === 0x0a || b === 0x0d) {
          if (this.content) this.done = true;
          continue;
        }
      }
      if (b !== 0x20 && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf) this.content = true;
    }
    this.scanned += chunk.length;
    if (this.done && this.fields > this.limits.maxColumns) this.refuse(false);
    if (!this.done && this.fields > this.limits.maxColumns && this.scanned > this.limits.maxRecordChars) this.refuse(true);
  }

  end(): void {
    if (this.fields > this.limits.maxColumns) this.refuse(false);
  }
}

/** Parses CSV from a stream of byte chunks (see the module comment). */
export async function parseCsvStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: CsvOptions = {}): Promise<CsvTable> {
  const limits: TableLimits = { ...TABLE_LIMITS, ...opts.limits };
  const name = opts.name ?? 'the input';
  const check = new TextCheck(name);
  const iterator = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<Uint8Array>)[Symbol.iterator]()) as AsyncIterator<Uint8Array> | Iterator<Uint8Array>;

  // The head: enough for sniffing.
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < HEAD_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = next.value;
    if (!chunk.length) continue;
    check.check(chunk);
    head.push(chunk);
    headBytes += chunk.length;
  }
  if (ended) check.end();
  const headText = new TextDecoder('utf-8', { ignoreBOM: true }).decode(head.length === 1 ? head[0] : Buffer.concat(head));
  const bom = headText.charCodeAt(0) === 0xfeff;
  if (ended && !headText.replace(/^\ufeff/, '').trim()) {
    throw new TableError('empty-file', `${name} is empty: a CSV file needs a header line naming its columns and at least one data row.`);
  }
  const delimiter = opts.delimiter ?? sniffDelimiter(headText, ended);
  if (delimiter.length !== 1 || /["\r\n]/.test(delimiter)) throw new TableError('bad-option', `The delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}.`);

  let header: string[] | undefined;
  const rows: string[][] = [];
  const lines: number[] = [];
  let nextLine = 1;
  let values = 0;

  const onRecord = (record: string[]): null => {
    const line = nextLine;
    let breaks = 0;
    for (const f of record) breaks += lineBreaksIn(f);
    nextLine = line + breaks + 1;
    if (record.length === 1 && !record[0]!.trim()) return null; // a blank line
    const longest = record.findIndex((f) => f.length > limits.maxFieldChars);
    if (!header) {
      if (record.length > limits.maxColumns) {
        throw new TableError('too-many-columns', `line ${line}: the header has ${fmtCount(record.length)} columns; at most ${fmtCount(limits.maxColumns)} are supported.`, { line });
      }
      if (longest >= 0) throw new TableError('field-too-long', `line ${line}: the name of column ${longest + 1} has ${fmtCount(record[longest]!.length)} characters; at most ${fmtCount(limits.maxFieldChars)}.`, { line });
      const names = record.map((n) => n.trim());
      const seen = new Map<string, number>();
      names.forEach((n, i) => {
        if (!n) {
          const why = i === names.length - 1 && names.length > 1 ? ' (a delimiter at the end of the header line?)' : i === 0 ? ' (an unnamed index column, as pandas writes? name it or remove it)' : '';
          throw new TableError('empty-header', `line ${line}: column ${i + 1} of the header has no name${why}.`, { line });
        }
        const before = seen.get(n);
        if (before !== undefined) throw new TableError('duplicate-header', `line ${line}: the column name '${n}' appears twice (columns ${before + 1} and ${i + 1}); column names must be unique.`, { line, column: n });
        seen.set(n, i);
      });
      header = names;
      values += names.length;
      return null;
    }
    if (record.length !== header.length) {
      throw new TableError('ragged-row', `line ${line} has ${fmtCount(record.length)} field${record.length === 1 ? '' : 's'}, the header has ${fmtCount(header.length)} (delimiter: ${delimiterName(delimiter)}).`, { line });
    }
    if (longest >= 0) {
      throw new TableError('field-too-long', `line ${line}, column '${header[longest]}': the value has ${fmtCount(record[longest]!.length)} characters; at most ${fmtCount(limits.maxFieldChars)}.`, { line, column: header[longest]! });
    }
    values += record.length;
    if (values > limits.maxValues) {
      throw new TableError('too-many-values', `line ${line}: the file has more than ${fmtCount(limits.maxValues)} values (rows x columns); split it or drop columns.`, { line });
    }
    rows.push(record);
    lines.push(line);
    return null;
  };

  const parser = parse({
    bom: true,
    delimiter,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: limits.maxRecordChars,
    on_record: onRecord,
  });

  const guard = delimiter.charCodeAt(0) < 0x80 ? new HeaderGuard(delimiter.charCodeAt(0), limits) : undefined;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const c of head) {
      if (guard && !guard.done) guard.feed(c);
      yield c;
    }
    if (!ended) {
      for (;;) {
        if (opts.signal?.aborted) throw new TableError('cancelled', 'Import cancelled.');
        const next = await iterator.next();
        if (next.done) break;
        if (!next.value.length) continue;
        check.check(next.value);
        if (guard && !guard.done) guard.feed(next.value);
        yield next.value;
      }
      check.end();
    }
    if (guard && !guard.done) guard.end();
  }

  try {
    await pipeline(chunks(), parser, async (records: AsyncIterable<unknown>) => {
      for await (const _ of records) void _;
    });
  } catch (error) {
    if (error instanceof TableError) throw error;
    if (error instanceof CsvError) throw csvError(error, nextLine, header, name, limits);
    throw error;
  } finally {
    await (iterator as AsyncIterator<Uint8Array>).return?.();
  }
  if (!header) throw new TableError('empty-file', `${name} has no header line: it holds only blank lines.`);
  if (!rows.length) throw new TableError('no-data-rows', `${name} has a header (${header.length} column${header.length === 1 ? '' : 's'}: ${header.slice(0, 8).join(', ')}${header.length > 8 ? ', …' : ''}) but no data rows.`, { line: 2 });
  return { delimiter, header, rows, lines, bom };
}

/** A TableError for what csv-parse reports; `line` is where the record being read started. */
function csvError(error: CsvError, line: number, header: string[] | undefined, name: string, limits: TableLimits): TableError {
  const field = typeof error.column === 'number' ? error.column : undefined;
  const column = header && field !== undefined && field < header.length ? header[field] : undefined;
  const at = column ? `line ${line}, column '${column}'` : `line ${line}`;
  const where = column ? { line, column } : { line };
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new TableError('unterminated-quote', `${at}: a quoted field is never closed (the quote that opens on line ${line} runs to the end of ${name}).`, where);
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new TableError('bad-quote', `${at}: a closing quote is followed by more text; a quoted field must end at a delimiter or the end of the line (write "" for a quote inside quotes).`, where);
    case 'CSV_MAX_RECORD_SIZE':
      return new TableError('field-too-long', `${at}: the row is longer than ${fmtCount(limits.maxRecordChars)} characters (an unclosed quote or a missing line end?).`, where);
    default:
      return new TableError('bad-csv', `${at}: ${error.message}`, where);
  }
}

/** Parses CSV text or bytes held in memory. */
export function parseCsv(input: string | Uint8Array, opts: CsvOptions = {}): Promise<CsvTable> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const chunks: Uint8Array[] = [];
  const size = 256 * 1024;
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return parseCsvStream(chunks, opts);
}

/** Reads and parses a CSV file (streamed; see TABLE_LIMITS for what is refused). */
export async function readCsvFile(path: string, opts: CsvOptions = {}): Promise<CsvTable> {
  const limits: TableLimits = { ...TABLE_LIMITS, ...opts.limits };
  const name = opts.name ?? basename(path);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new TableError('unreadable', `${path} is not a file.`);
    size = st.size;
  } catch (error) {
    if (error instanceof TableError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TableError('unreadable', `Cannot read ${path}: ${code === 'ENOENT' ? 'it does not exist' : (code ?? String(error))}.`);
  }
  if (size > limits.maxFileBytes) {
    const gib = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
    throw new TableError('file-too-large', `${name} has ${gib(size)}; at most ${gib(limits.maxFileBytes)} can be imported as a table.`);
  }
  if (size === 0) throw new TableError('empty-file', `${name} is empty: a CSV file needs a header line naming its columns and at least one data row.`);
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  try {
    return await parseCsvStream(stream, { ...opts, name });
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code && !(error instanceof TableError)) {
      throw new TableError('unreadable', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code}.`);
    }
    throw error;
  } finally {
    stream.destroy();
  }
}
