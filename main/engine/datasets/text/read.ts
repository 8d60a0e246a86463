/**
 * Reading text files for text datasets: whole files as UTF-8 (a BOM is dropped, CRLF and CR become LF), with
 * every problem a TextError naming the file and where in it: invalid UTF-8 (byte offset, line, column), binary
 * data (a NUL byte), UTF-16, an empty file, a line or a file over the limits. Also the fortune format: entries
 * separated by lines holding a single '%'.
 */
import { readFile, stat } from 'node:fs/promises';
import { fmtCount } from '../../../../shared/tables/errors';
import { TextError } from '../../../../shared/text/errors';

/** What an import may read at most; larger inputs get a TextError instead of exhausting memory or time. */
export interface TextLimits {
  /** One file, in bytes (256 MiB). */
  maxFileBytes: number;
  /** All files together, in bytes (1 GiB). */
  maxTotalBytes: number;
  /** Files read in one import (200,000). */
  maxFiles: number;
  /** One line, in characters (1 Mi): a binary file or one without line breaks is refused early. */
  maxLineChars: number;
  /** One labelled example, in characters (1 Mi). */
  maxExampleChars: number;
  /** Labelled examples in one import (2,000,000). */
  maxExamples: number;
  /** Classes (10,000). */
  maxClasses: number;
  /** Tokens of a corpus (2^28: 1 GiB as int32). */
  maxTokens: number;
}

export const TEXT_LIMITS: Readonly<TextLimits> = {
  maxFileBytes: 256 * 2 ** 20,
  maxTotalBytes: 2 ** 30,
  maxFiles: 200_000,
  maxLineChars: 2 ** 20,
  maxExampleChars: 2 ** 20,
  maxExamples: 2_000_000,
  maxClasses: 10_000,
  maxTokens: 2 ** 28,
};

const size = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${fmtCount(n)} bytes`);

/**
 * The offset of the first byte where a UTF-8 sequence goes wrong (strictly: no overlong forms, surrogates or
 * code points above U+10FFFF), or -1 when all of `b` is valid UTF-8.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined) return i;
      if (k === 1 ? x < lo || x > hi : x < 0x80 || x > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Line (1-based) and column (1-based, in bytes) of a byte offset. */
export function lineAndColumn(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < b.length; i++) {
    if (b[i] === 0x0a || (b[i] === 0x0d && b[i + 1] !== 0x0a)) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const where = (b: Uint8Array, offset: number) => {
  const { line, column } = lineAndColumn(b, offset);
  return { text: `at byte offset ${fmtCount(offset)} (line ${fmtCount(line)}, column ${fmtCount(column)})`, line, column, offset };
};

const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of a file as text (see the module comment). `file` is the name in messages. Only-whitespace text is
 * refused as empty; the longest line is checked against `maxLineChars`.
 */
export function decodeText(b: Uint8Array, file: string, limits: Pick<TextLimits, 'maxLineChars'> = TEXT_LIMITS): string {
  if (b.length === 0) throw new TextError('empty-file', `${file} is empty (0 bytes).`, { file });
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) {
    throw new TextError('not-text', `${file} is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8 and import it again.`, { file, line: 1, column: 1, offset: 0 });
  }
  const nul = b.indexOf(0);
  if (nul >= 0) {
    const w = where(b, nul);
    throw new TextError('not-text', `${file} is not a text file: a NUL byte ${w.text}.`, { file, line: w.line, column: w.column, offset: nul });
  }
  let text: string;
  try {
    text = strict.decode(b);
  } catch {
    const bad = firstInvalidUtf8(b);
    const at = bad < 0 ? b.length - 1 : bad;
    const w = where(b, at);
    const byte = b[at]!.toString(16).toUpperCase().padStart(2, '0');
    throw new TextError('not-utf8', `${file} is not UTF-8 text: byte 0x${byte} ${w.text} does not start or continue a UTF-8 character (Latin-1 or Windows-1252 text?). Save it as UTF-8 and import it again.`, { file, line: w.line, column: w.column, offset: at });
  }
  if (text.indexOf('\r') >= 0) text = text.replace(/\r\n?/g, '\n');
  let line = 1;
  for (let start = 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > limits.maxLineChars) {
      throw new TextError('line-too-long', `${file}, line ${fmtCount(line)}: the line has more than ${fmtCount(limits.maxLineChars)} characters (a binary file, or text without line breaks?).`, { file, line });
    }
    start = end + 1;
  }
  if (!text.trim()) throw new TextError('empty-file', `${file} holds no text (only whitespace).`, { file });
  return text;
}

/** Reads a whole file as text (see decodeText); `file` is its name in messages. */
export async function readTextFile(path: string, file: string, limits: Pick<TextLimits, 'maxLineChars' | 'maxFileBytes'> = TEXT_LIMITS): Promise<string> {
  let bytes: Uint8Array;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new TextError('unreadable', `${file} is not a file.`, { file });
    if (st.size > limits.maxFileBytes) throw new TextError('file-too-large', `${file} has ${size(st.size)}; at most ${size(limits.maxFileBytes)} can be read from one file.`, { file });
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof TextError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TextError('unreadable', `Cannot read ${file}: ${code === 'ENOENT' ? 'it does not exist' : (code ?? String(error))}.`, { file });
  }
  return decodeText(bytes, file, limits);
}

/** One entry of a fortune file: its text and the line it starts on. */
export interface FortuneEntry {
  text: string;
  line: number;
}

/**
 * The entries of a fortune-format text (lines holding a single '%' separate them): each without its leading
 * blank lines and trailing whitespace. `empty` counts entries with no text (two '%' lines in a row).
 */
export function splitFortunes(text: string): { entries: FortuneEntry[]; empty: number } {
  const entries: FortuneEntry[] = [];
  let empty = 0;
  let cur: string[] = [];
  let startLine = 1;
  const lines = text.split('\n');
  const flush = (last: boolean) => {
    let first = 0;
    while (first < cur.length && !cur[first]!.trim()) first++;
    const t = cur.slice(first).join('\n').trimEnd();
    if (t) entries.push({ text: t, line: startLine + first });
    else if (!last) empty++;
  };
  lines.forEach((l, i) => {
    if (l === '%') {
      flush(false);
      cur = [];
      startLine = i + 2;
    } else cur.push(l);
  });
  flush(true);
  // A file starting with '%' has no entry before it: not an empty entry.
  if (lines[0] === '%') empty = Math.max(0, empty - 1);
  return { entries, empty };
}
