/**
 * Finding the texts of an import: labelled examples from class folders (Keras' text_dataset_from_directory
 * layout, optionally with train/ and test/), from a CSV (a text and a label column) or from fortune files
 * (one class per file, entries split on '%' lines); or the parts of a corpus (text files, fortune files with
 * the '%' lines removed). Every problem is a TextError naming the file (and line); with `skipBad` the
 * per-file problems (not UTF-8, empty, an empty class folder, a row without text or label) skip that input
 * and are reported instead. Hidden files (names starting with '.') are ignored.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { fmtCount, isTableError } from '../../../../shared/tables/errors';
import { isTextError, TextError, type TextErrorCode } from '../../../../shared/text/errors';
import { readCsvFile } from '../table/csv';
import { readTextFile, splitFortunes, TEXT_LIMITS, type TextLimits } from './read';

export interface LabelledExample {
  text: string;
  label: number;
  /** 'pos/01.txt', 'computers:17' (file:line), 'reviews.csv:5'. */
  source: string;
}

export interface SkippedInput {
  file: string;
  line?: number;
  reason: string;
  /** 'problem': a file or row that could not be used (skipBad); 'duplicate': a link to a file read already; 'index': a strfile index; 'other': not a text file by name, or outside the layout. */
  kind: 'problem' | 'duplicate' | 'index' | 'other';
}

export interface CollectOptions {
  limits?: Partial<TextLimits>;
  signal?: AbortSignal;
  skipBad?: boolean;
  /** Fortune files (split on '%' lines). */
  splitOnPercent?: boolean;
  /** Labelled: only these classes. */
  classes?: string[];
  textColumn?: string;
  labelColumn?: string;
  /** Called after each file read. */
  onFile?: (done: number, total: number) => void;
}

export interface CollectedLabelled {
  layout: 'folders' | 'csv' | 'fortunes';
  classNames: string[];
  examples: LabelledExample[];
  /** The input's own split (train/ and test/ folders): indices into examples. */
  given?: { train: number[]; test: number[] };
  files: number;
  bytes: number;
  emptyEntries: number;
  skipped: SkippedInput[];
}

export interface CorpusPart {
  file: string;
  text: string;
}

export interface CollectedCorpus {
  layout: 'files' | 'fortunes';
  parts: CorpusPart[];
  files: number;
  bytes: number;
  emptyEntries: number;
  skipped: SkippedInput[];
}

/** Problems that `skipBad` turns into a skipped input (the rest always stop the import). */
const SKIPPABLE = new Set<TextErrorCode>(['not-utf8', 'not-text', 'empty-file', 'empty-class', 'missing-text', 'missing-label', 'example-too-long', 'unreadable']);

class Reader {
  readonly limits: TextLimits;
  files = 0;
  bytes = 0;
  readonly skipped: SkippedInput[] = [];

  constructor(readonly opts: CollectOptions) {
    this.limits = { ...TEXT_LIMITS, ...opts.limits };
  }

  checkCancel(): void {
    if (this.opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');
  }

  /** Runs `f`; a skippable TextError becomes a skipped input when `skipBad`, else it is thrown. */
  async guard<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (error) {
      if (this.opts.skipBad && isTextError(error) && SKIPPABLE.has(error.code)) {
        this.skipped.push({ file: error.file ?? '?', ...(error.line !== undefined ? { line: error.line } : {}), reason: error.message, kind: 'problem' });
        return undefined;
      }
      throw error;
    }
  }

  async read(path: string, shown: string): Promise<string> {
    this.checkCancel();
    if (++this.files > this.limits.maxFiles) throw new TextError('too-large', `More than ${fmtCount(this.limits.maxFiles)} files to read; import fewer at once.`);
    const st = await stat(path).catch(() => undefined);
    if (st) {
      this.bytes += st.size;
      if (this.bytes > this.limits.maxTotalBytes) {
        throw new TextError('too-large', `The files hold more than ${(this.limits.maxTotalBytes / 2 ** 20).toFixed(0)} MiB of text (at ${shown}); import less at once.`, { file: shown });
      }
    }
    return readTextFile(path, shown, this.limits);
  }
}

interface Listed {
  /** Absolute path. */
  path: string;
  /** Relative to the listed root, with '/' separators. */
  rel: string;
}

/**
 * Regular files under `dir` (symbolic links followed), sorted by relative path, hidden names skipped. A file
 * reached twice (a link to another listed file) is listed once and the duplicate reported.
 */
async function listFiles(dir: string, recursive: boolean, skipped: SkippedInput[], shownRoot: string): Promise<Listed[]> {
  const out: Listed[] = [];
  const seenFiles = new Map<string, string>();
  const seenDirs = new Set<string>();
  const shown = (p: string) => [shownRoot, relative(dir, p).split(sep).join('/')].filter(Boolean).join('/');
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    let names: string[];
    try {
      names = (await readdir(d)).filter((n) => !n.startsWith('.')).sort();
    } catch (error) {
      throw new TextError('unreadable', `Cannot read the folder ${shown(d) || d}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, { file: shown(d) });
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await stat(p).catch(() => undefined);
      if (!st) {
        skipped.push({ file: shown(p), reason: `${shown(p)} cannot be read (a broken link?).`, kind: 'problem' });
        continue;
      }
      if (st.isDirectory()) {
        if (recursive) await walk(p);
        continue;
      }
      if (!st.isFile()) continue;
      const r = await realpath(p);
      const before = seenFiles.get(r);
      if (before !== undefined) {
        skipped.push({ file: shown(p), reason: `${shown(p)} is the same file as ${before} (a link); read once.`, kind: 'duplicate' });
        continue;
      }
      seenFiles.set(r, shown(p));
      out.push({ path: p, rel: relative(dir, p).split(sep).join('/') });
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Sub-folders of `dir` (not hidden), sorted. */
async function subfolders(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  const out: string[] = [];
  for (const n of names) if ((await stat(join(dir, n)).catch(() => undefined))?.isDirectory()) out.push(n);
  return out;
}

/** Files of fortune folders: every file except strfile indexes (`X.dat` beside `X`), which are reported. */
function fortuneFiles(files: Listed[], skipped: SkippedInput[], shown: (l: Listed) => string): Listed[] {
  const names = new Set(files.map((f) => f.rel));
  return files.filter((f) => {
    if (/\.dat$/i.test(f.rel) && names.has(f.rel.slice(0, -4))) {
      skipped.push({ file: shown(f), reason: `${shown(f)} is the strfile index of ${shown({ ...f, rel: f.rel.slice(0, -4) })}, not text.`, kind: 'index' });
      return false;
    }
    return true;
  });
}

const className = (file: string) => basename(file).replace(/\.txt$/i, '');

function filterClasses(found: string[], wanted: string[] | undefined, what: string): string[] {
  if (!wanted?.length) return found;
  const missing = wanted.filter((c) => !found.includes(c));
  if (missing.length) {
    throw new TextError('bad-option', `No class ${missing.map((c) => `'${c}'`).join(', ')} in ${what}; it has ${found.slice(0, 30).join(', ')}${found.length > 30 ? ', …' : ''}.`);
  }
  return found.filter((c) => wanted.includes(c));
}

function checkExample(r: Reader, text: string, file: string, line?: number): void {
  if (text.length > r.limits.maxExampleChars) {
    const at = line !== undefined ? `${file}, line ${fmtCount(line)}` : file;
    throw new TextError('example-too-long', `${at}: the example has ${fmtCount(text.length)} characters; at most ${fmtCount(r.limits.maxExampleChars)}.`, { file, ...(line !== undefined ? { line } : {}) });
  }
}

/** Labelled examples from class folders (see the module comment). */
async function fromFolders(root: string, r: Reader, shownRoot: string): Promise<CollectedLabelled> {
  const top = await subfolders(root);
  const splitFolders = top.includes('train') && top.includes('test');
  const parts = splitFolders ? ['train', 'test'] : [''];
  // Loose files next to the class folders are not examples.
  for (const f of await listFiles(root, false, r.skipped, shownRoot)) r.skipped.push({ file: `${shownRoot}/${f.rel}`, reason: `${shownRoot}/${f.rel} is not inside a class folder.`, kind: 'other' });
  const examples: LabelledExample[] = [];
  const given = { train: [] as number[], test: [] as number[] };
  let classNames: string[] = [];
  // First list every class folder's files, so progress knows the total.
  const plan: { part: string; cls: number; shown: string; files: Listed[] }[] = [];
  for (const part of parts) {
    const base = part ? join(root, part) : root;
    const shownBase = part ? `${shownRoot}/${part}` : shownRoot;
    const found = await subfolders(base);
    if (!part || part === 'train') {
      classNames = filterClasses(found, r.opts.classes, shownBase);
      if (!classNames.length) throw new TextError('no-data', `${shownBase} has no class folders: put each class's .txt files in a folder named after the class.`, { file: shownBase });
      if (classNames.length > r.limits.maxClasses) throw new TextError('too-many-classes', `${shownBase} has ${fmtCount(classNames.length)} class folders; at most ${fmtCount(r.limits.maxClasses)}.`, { file: shownBase });
    } else {
      const unknown = found.filter((c) => !classNames.includes(c) && !(r.opts.classes?.length && !r.opts.classes.includes(c)));
      if (unknown.length) throw new TextError('bad-option', `${shownBase}/${unknown[0]} is a class the training folder (${shownRoot}/train) lacks.`, { file: `${shownBase}/${unknown[0]}` });
    }
    for (const c of classNames) {
      const dir = join(base, c);
      const shown = `${shownBase}/${c}`;
      if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
        if (part === 'test') continue; // a class may lack test examples
        throw new TextError('empty-class', `The class folder ${shown} is missing.`, { file: shown });
      }
      const all = await listFiles(dir, true, r.skipped, shown);
      const files = all.filter((f) => {
        if (/\.txt$/i.test(f.rel)) return true;
        r.skipped.push({ file: `${shown}/${f.rel}`, reason: `${shown}/${f.rel} is not a .txt file.`, kind: 'other' });
        return false;
      });
      if (!files.length) {
        // Skipped and reported with skipBad, else the import stops here.
        await r.guard<never>(async () => {
          throw new TextError('empty-class', `The class folder ${shown}/ holds no .txt file${all.length ? ` (only ${all.length} other file${all.length === 1 ? '' : 's'})` : ''}.`, { file: `${shown}/` });
        });
        continue;
      }
      plan.push({ part, cls: classNames.indexOf(c), shown, files });
    }
  }
  const total = plan.reduce((a, p) => a + p.files.length, 0);
  let done = 0;
  for (const p of plan) {
    for (const f of p.files) {
      const file = `${p.shown}/${f.rel}`;
      const text = await r.guard(async () => {
        const t = (await r.read(f.path, file)).trim();
        checkExample(r, t, file);
        return t;
      });
      r.opts.onFile?.(++done, total);
      if (text === undefined) continue;
      if (examples.length >= r.limits.maxExamples) throw new TextError('too-large', `More than ${fmtCount(r.limits.maxExamples)} examples; import fewer at once.`);
      (p.part === 'test' ? given.test : given.train).push(examples.length);
      examples.push({ text, label: p.cls, source: file });
    }
  }
  return { layout: 'folders', classNames, examples, ...(splitFolders ? { given } : {}), files: r.files, bytes: r.bytes, emptyEntries: 0, skipped: r.skipped };
}

/** Labelled examples from fortune files: one class per file, one example per entry. */
async function fromFortunes(root: string, isDir: boolean, r: Reader, shownRoot: string): Promise<CollectedLabelled> {
  const listed = isDir ? fortuneFiles(await listFiles(root, false, r.skipped, shownRoot), r.skipped, (l) => `${shownRoot}/${l.rel}`) : [{ path: root, rel: basename(root) }];
  const byClass = new Map<string, Listed>();
  for (const f of listed) {
    const c = className(f.rel);
    if (byClass.has(c)) {
      r.skipped.push({ file: f.rel, reason: `${f.rel} would make the class '${c}' a second time (${byClass.get(c)!.rel}); skipped.`, kind: 'other' });
      continue;
    }
    byClass.set(c, f);
  }
  const classNames = filterClasses([...byClass.keys()].sort(), r.opts.classes, shownRoot);
  if (classNames.length > r.limits.maxClasses) throw new TextError('too-many-classes', `${shownRoot} has ${fmtCount(classNames.length)} files (classes); at most ${fmtCount(r.limits.maxClasses)}.`, { file: shownRoot });
  const examples: LabelledExample[] = [];
  let emptyEntries = 0;
  const kept: string[] = [];
  let done = 0;
  for (const c of classNames) {
    const f = byClass.get(c)!;
    const file = isDir ? `${shownRoot}/${f.rel}` : f.rel;
    const got = await r.guard(async () => {
      const { entries, empty } = splitFortunes(await r.read(f.path, file));
      if (!entries.length) throw new TextError('empty-class', `${file} has no entry with text (only '%' lines), so the class '${c}' would have no example.`, { file });
      for (const e of entries) checkExample(r, e.text, file, e.line);
      return { entries, empty };
    });
    r.opts.onFile?.(++done, classNames.length);
    if (!got) continue;
    emptyEntries += got.empty;
    const label = kept.length;
    kept.push(c);
    for (const e of got.entries) {
      if (examples.length >= r.limits.maxExamples) throw new TextError('too-large', `More than ${fmtCount(r.limits.maxExamples)} examples; import fewer at once.`);
      examples.push({ text: e.text, label, source: `${file}:${e.line}` });
    }
  }
  return { layout: 'fortunes', classNames: kept, examples, files: r.files, bytes: r.bytes, emptyEntries, skipped: r.skipped };
}

/** A stable order for labels: numbers by value when every label is a number, else code-unit order. */
function sortLabels(labels: Iterable<string>): string[] {
  const all = [...labels];
  const numeric = all.every((l) => /^\s*-?\d+(\.\d+)?\s*$/.test(l));
  return numeric ? all.sort((a, b) => Number(a) - Number(b)) : all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Labelled examples from a CSV's text and label columns. */
async function fromCsv(path: string, r: Reader, file: string): Promise<CollectedLabelled> {
  r.checkCancel();
  const st = await stat(path);
  r.files = 1;
  r.bytes = st.size;
  let table;
  try {
    table = await readCsvFile(path, {
      name: file,
      limits: { maxFileBytes: Math.min(r.limits.maxFileBytes, r.limits.maxTotalBytes), maxFieldChars: r.limits.maxExampleChars, maxRecordChars: Math.max(16 * 2 ** 20, r.limits.maxExampleChars * 2) },
      ...(r.opts.signal ? { signal: r.opts.signal } : {}),
    });
  } catch (error) {
    if (!isTableError(error)) throw error;
    const code: TextErrorCode = error.code === 'not-text' ? (/UTF-8/.test(error.message) && !/UTF-16|NUL/.test(error.message) ? 'not-utf8' : 'not-text')
      : error.code === 'empty-file' || error.code === 'no-data-rows' ? 'empty-file'
        : error.code === 'file-too-large' ? 'file-too-large'
          : error.code === 'field-too-long' ? 'example-too-long'
            : error.code === 'cancelled' ? 'cancelled' : 'bad-csv';
    const msg = error.message.startsWith(file) ? error.message : `${file}, ${error.message}`;
    throw new TextError(code, msg, { file, ...(error.line !== undefined ? { line: error.line } : {}) });
  }
  const pick = (wanted: string | undefined, fallback: string, what: string, flag: string): number => {
    const name = wanted ?? fallback;
    const i = table.header.indexOf(name);
    if (i < 0) {
      throw new TextError('no-such-column', `${file} has no column '${name}'${wanted ? '' : ` (the default ${what} column)`}; its columns are ${table.header.slice(0, 20).join(', ')}. Name the ${what} column with ${flag}.`, { file, line: 1 });
    }
    return i;
  };
  const ti = pick(r.opts.textColumn, 'text', 'text', '--text-column');
  const li = pick(r.opts.labelColumn, 'label', 'label', '--label-column');
  if (ti === li) throw new TextError('bad-option', `The text and the label column are both '${table.header[ti]}'.`);
  const rows: { text: string; label: string; line: number }[] = [];
  for (let k = 0; k < table.rows.length; k++) {
    const row = table.rows[k]!;
    const line = table.lines[k]!;
    const got = await r.guard(async () => {
      const text = row[ti]!.trim();
      const label = row[li]!.trim();
      if (!text) throw new TextError('missing-text', `${file}, line ${fmtCount(line)}: the text (column '${table.header[ti]}') is empty.`, { file, line });
      if (!label) throw new TextError('missing-label', `${file}, line ${fmtCount(line)}: the label (column '${table.header[li]}') is empty.`, { file, line });
      checkExample(r, text, file, line);
      return { text, label, line };
    });
    if (got) rows.push(got);
  }
  const found = sortLabels(new Set(rows.map((x) => x.label)));
  const classNames = filterClasses(found, r.opts.classes, `${file} (column '${table.header[li]}')`);
  if (classNames.length > r.limits.maxClasses) throw new TextError('too-many-classes', `${file}: the label column '${table.header[li]}' has ${fmtCount(classNames.length)} distinct values; at most ${fmtCount(r.limits.maxClasses)} classes.`, { file });
  const index = new Map(classNames.map((c, i) => [c, i]));
  const examples: LabelledExample[] = [];
  for (const x of rows) {
    const label = index.get(x.label);
    if (label === undefined) continue;
    if (examples.length >= r.limits.maxExamples) throw new TextError('too-large', `More than ${fmtCount(r.limits.maxExamples)} examples; import fewer at once.`);
    examples.push({ text: x.text, label, source: `${file}:${x.line}` });
  }
  r.opts.onFile?.(1, 1);
  return { layout: 'csv', classNames, examples, files: 1, bytes: r.bytes, emptyEntries: 0, skipped: r.skipped };
}

/** Labelled examples from a folder (class folders, or fortune files with `splitOnPercent`) or a CSV file. */
export async function collectLabelled(path: string, opts: CollectOptions = {}): Promise<CollectedLabelled> {
  const r = new Reader(opts);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new TextError('unreadable', `${path} does not exist.`);
  const shownRoot = basename(path);
  if (st.isDirectory()) {
    if (opts.splitOnPercent) return fromFortunes(path, true, r, shownRoot);
    return fromFolders(path, r, shownRoot);
  }
  if (opts.splitOnPercent) return fromFortunes(path, false, r, shownRoot);
  if (/\.(csv|tsv|tab|psv)$/i.test(path) || opts.textColumn !== undefined || opts.labelColumn !== undefined) return fromCsv(path, r, shownRoot);
  throw new TextError('bad-option', `${shownRoot} is one file: labelled text comes from a folder with one sub-folder per class, a CSV file (--text-column, --label-column), or fortune files (--split-on-percent).`);
}

/** The parts of a corpus: a file, or the text files of a folder (recursively); fortune entries joined by blank lines. */
export async function collectCorpus(path: string, opts: CollectOptions = {}): Promise<CollectedCorpus> {
  const r = new Reader(opts);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new TextError('unreadable', `${path} does not exist.`);
  const shownRoot = basename(path);
  let files: Listed[];
  if (st.isDirectory()) {
    const all = await listFiles(path, true, r.skipped, shownRoot);
    files = opts.splitOnPercent
      ? fortuneFiles(all, r.skipped, (l) => `${shownRoot}/${l.rel}`)
      : all.filter((f) => {
        if (/\.txt$/i.test(f.rel)) return true;
        r.skipped.push({ file: `${shownRoot}/${f.rel}`, reason: `${shownRoot}/${f.rel} is not a .txt file (fortune files: --split-on-percent).`, kind: 'other' });
        return false;
      });
    if (!files.length) throw new TextError('no-data', `${shownRoot} holds no ${opts.splitOnPercent ? 'file' : '.txt file'} to read.`, { file: shownRoot });
  } else files = [{ path, rel: '' }];
  const parts: CorpusPart[] = [];
  let emptyEntries = 0;
  let done = 0;
  for (const f of files) {
    const file = f.rel ? `${shownRoot}/${f.rel}` : shownRoot;
    const text = await r.guard(async () => {
      const t = await r.read(f.path, file);
      if (!opts.splitOnPercent) return t.trimEnd();
      const { entries, empty } = splitFortunes(t);
      emptyEntries += empty;
      if (!entries.length) throw new TextError('empty-file', `${file} has no entry with text (only '%' lines).`, { file });
      return entries.map((e) => e.text).join('\n\n');
    });
    opts.onFile?.(++done, files.length);
    if (text !== undefined) parts.push({ file, text });
  }
  if (!parts.length) throw new TextError('no-data', `No readable text in ${shownRoot}.`, { file: shownRoot });
  return { layout: opts.splitOnPercent ? 'fortunes' : 'files', parts, files: r.files, bytes: r.bytes, emptyEntries, skipped: r.skipped };
}
