/**
 * Text datasets, two kinds:
 * - `text:<name>` (labelled text, task classification): examples from class folders, a CSV or fortune files
 *   (./collect), split by a seeded shuffle, tokenized by a tokenizer trained on the training split
 *   (shared/text), padded or cut to T tokens. Cache folder `text-<name>`: data.bin (int32 token rows and
 *   labels of both splits), tokenizer.json, texts.json (a few training texts per class, the test texts), and
 *   meta.json last, the ready marker.
 * - `corpus:<name>` (task language-modelling): the text of one or more files, the last part (10% by default,
 *   by position) held out as the test split; the token stream of each split is stored once (uint16 when the
 *   vocabulary allows, else int32) and examples are windows of T+1 tokens cut at batch time (./windows).
 *   Cache folder `corpus-<name>`: data.bin, tokenizer.json, meta.json.
 * Everything is read, checked and tokenized before anything is written; the folder is then written atomically
 * (commitCacheFolder), so a failed or cancelled import leaves nothing behind.
 */
import { readFile, writeFile, open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DatasetInfo, DatasetPreview, TextImportOptions, TextImportReport, TextSample } from '../../../../shared/api/datasets';
import { fmtCount } from '../../../../shared/tables/errors';
import { TextError } from '../../../../shared/text/errors';
import { decode, encode, parseTokenizer, tokenString, trainTokenizer, vocabSize } from '../../../../shared/text/tokenizer';
import { OOV_ID, TOKENIZER_KINDS, type Tokenizer, type TokenizerKind } from '../../../../shared/text/types';
import { cacheDamage, cacheDir, commitCacheFolder, CACHE_VERSION, damagedInfo, readCacheMeta } from '../cache';
import { folderDatasetName } from '../folder';
import type { ImportOptions, SourceContext } from '../source';
import { splitIndices } from '../table/fit';
import type { DatasetSource, LoadedDataset, Split, TextData } from '../types';
import { collectCorpus, collectLabelled, type CollectedLabelled } from './collect';
import { TEXT_LIMITS, type TextLimits } from './read';
import { windowCount } from './windows';

export { windows, windowCount, type WindowOptions } from './windows';
export { TEXT_LIMITS, decodeText, readTextFile, splitFortunes, firstInvalidUtf8, type TextLimits } from './read';
export { collectLabelled, collectCorpus } from './collect';
export { TextError, isTextError } from '../../../../shared/text/errors';

/** Tokens per example when not given, by tokenizer. */
export const DEFAULT_SEQ_LEN: Readonly<Record<TokenizerKind, number>> = { word: 64, char: 256, bpe: 128 };
export const DEFAULT_TEXT_SEED = 42;
export const DEFAULT_TEXT_TEST_FRACTION = 0.2;
export const DEFAULT_CORPUS_TEST_FRACTION = 0.1;
/** Longest text kept in texts.json (previews, result views). */
const SHOWN_CHARS = 2_000;
/** Training texts kept per class for previews, and test texts kept in all. */
const SAMPLES_PER_CLASS = 10;
const MAX_TEST_TEXTS = 20_000;
/** Largest T (the Input node's token length allows 100,000). */
const MAX_SEQ_LEN = 100_000;

export interface TextImportRequest extends ImportOptions, TextImportOptions {
  /** Dataset name; the id becomes `text:<name>` or `corpus:<name>`. Default: the file or folder's base name. */
  name?: string;
  /** Tests lower the limits. */
  limits?: Partial<TextLimits>;
}

export interface TextImportResult {
  info: DatasetInfo;
  report: TextImportReport;
}

interface TextSplitLayout {
  count: number;
  tokensOffset: number;
  labelsOffset: number;
}

/** What meta.json of a labelled-text cache records. */
export interface TextCacheMeta {
  version: number;
  kind: 'text';
  info: Omit<DatasetInfo, 'status' | 'cachePath' | 'message'>;
  seqLen: number;
  labelBytes: 1 | 2;
  train: TextSplitLayout;
  test: TextSplitLayout;
  /** Total size of data.bin. */
  bytes: number;
  createdAt: string;
  origin: string;
  report: TextImportReport;
}

interface CorpusSplitLayout {
  /** Tokens in the split's stream. */
  tokens: number;
  offset: number;
}

/** What meta.json of a corpus cache records. */
export interface CorpusCacheMeta {
  version: number;
  kind: 'corpus';
  info: Omit<DatasetInfo, 'status' | 'cachePath' | 'message'>;
  seqLen: number;
  stride: number;
  /** 2: uint16 ids, 4: int32. */
  tokenBytes: 2 | 4;
  train: CorpusSplitLayout;
  test: CorpusSplitLayout;
  bytes: number;
  createdAt: string;
  origin: string;
  report: TextImportReport;
}

interface TextsFile {
  samples: { label: number; row: number; text: string; source: string; length: number }[];
  test: { text: string; source: string }[];
}

/** A safe dataset name from a user's name or a path ('My Reviews.csv' -> 'my-reviews'). */
export function textDatasetName(name: string): string {
  return folderDatasetName(basename(name.trim()).replace(/\.(csv|tsv|tab|psv|txt)$/i, ''));
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;
const cut = (t: string) => (t.length > SHOWN_CHARS ? `${t.slice(0, SHOWN_CHARS)}…` : t);

interface Settings {
  kind: TokenizerKind;
  T: number;
  testFraction: number;
  seed: number;
  stride: number;
}

function settingsOf(opts: TextImportRequest, corpus: boolean): Settings {
  const kind = opts.tokenizer ?? (corpus ? 'char' : 'word');
  if (!TOKENIZER_KINDS.includes(kind)) throw new TextError('bad-option', `Unknown tokenizer '${String(kind)}': use ${TOKENIZER_KINDS.join(', ')}.`);
  const T = opts.seqLen ?? DEFAULT_SEQ_LEN[kind];
  if (!Number.isInteger(T) || T < 1 || T > MAX_SEQ_LEN) throw new TextError('bad-option', `The sequence length must be a whole number from 1 to ${fmtCount(MAX_SEQ_LEN)}, got ${T}.`);
  const testFraction = opts.testFraction ?? (corpus ? DEFAULT_CORPUS_TEST_FRACTION : DEFAULT_TEXT_TEST_FRACTION);
  if (!(typeof testFraction === 'number' && testFraction >= 0 && testFraction < 1)) throw new TextError('bad-option', `The test fraction must be at least 0 and below 1, got ${testFraction}.`);
  const seed = opts.seed ?? DEFAULT_TEXT_SEED;
  if (!(typeof seed === 'number' && Number.isFinite(seed))) throw new TextError('bad-option', `The seed must be a number, got ${seed}.`);
  const stride = opts.stride ?? T;
  if (!Number.isInteger(stride) || stride < 1 || stride > MAX_SEQ_LEN) throw new TextError('bad-option', `The window stride must be a whole number from 1 to ${fmtCount(MAX_SEQ_LEN)}, got ${stride}.`);
  if (opts.lowercase !== undefined && kind !== 'word') throw new TextError('bad-option', `--lowercase applies to the word tokenizer only (this import uses ${kind}).`);
  return { kind, T, testFraction, seed, stride };
}

async function writeBytes(file: string, buf: Uint8Array): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.write(buf, 0, buf.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Classes left without examples: dropped and reported with skipBad, else an error naming them. */
function dropEmptyClasses(c: CollectedLabelled, skipBad: boolean): CollectedLabelled {
  const counts = new Array<number>(c.classNames.length).fill(0);
  for (const e of c.examples) counts[e.label]!++;
  const empty = c.classNames.filter((_, i) => counts[i] === 0);
  if (!empty.length) return c;
  if (!skipBad) throw new TextError('empty-class', `The class${empty.length === 1 ? '' : 'es'} ${empty.map((x) => `'${x}'`).join(', ')} ha${empty.length === 1 ? 's' : 've'} no example.`);
  const keep = c.classNames.map((_, i) => counts[i]! > 0);
  const remap = new Map<number, number>();
  keep.forEach((k, i) => k && remap.set(i, remap.size));
  for (const x of empty) c.skipped.push({ file: x, reason: `The class '${x}' has no example left; left out.`, kind: 'problem' });
  return { ...c, classNames: c.classNames.filter((_, i) => keep[i]), examples: c.examples.map((e) => ({ ...e, label: remap.get(e.label)! })) };
}

/** Imports labelled text as the dataset `text:<name>` under `root` (see the module comment). */
export async function importText(path: string, root: string, opts: TextImportRequest = {}): Promise<TextImportResult> {
  const name = textDatasetName(opts.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? 'text');
  const id = `text:${name}`;
  const dir = cacheDir(root, id);
  const s = settingsOf(opts, false);
  opts.onProgress?.({ id, phase: 'decode', message: `Reading ${basename(path)}` });
  let collected = await collectLabelled(path, {
    ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.signal ? { signal: opts.signal } : {}), skipBad: Boolean(opts.skipBad),
    splitOnPercent: Boolean(opts.splitOnPercent), ...(opts.classes ? { classes: opts.classes } : {}),
    ...(opts.textColumn !== undefined ? { textColumn: opts.textColumn } : {}), ...(opts.labelColumn !== undefined ? { labelColumn: opts.labelColumn } : {}),
    onFile: (done, count) => opts.onProgress?.({ id, phase: 'decode', done, count, message: 'Reading files' }),
  });
  collected = dropEmptyClasses(collected, Boolean(opts.skipBad));
  const { examples, classNames } = collected;
  if (!examples.length) throw new TextError('no-data', `No example to import from ${basename(path)}.`);
  if (classNames.length < 2) throw new TextError('single-class', `${basename(path)} gives a single class ('${classNames[0]}'); classification needs at least two.`);
  const split = collected.given ?? splitIndices(examples.length, s.testFraction, s.seed);
  if (!split.train.length) throw new TextError('no-data', `No training example: ${basename(path)}/train is empty.`);
  if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');

  opts.onProgress?.({ id, phase: 'decode', message: `Training the ${s.kind} tokenizer` });
  const tok = trainTokenizer(s.kind, split.train.map((i) => examples[i]!.text), {
    ...(opts.vocabSize !== undefined ? { vocabSize: opts.vocabSize } : {}), ...(opts.lowercase !== undefined ? { lowercase: opts.lowercase } : {}),
  });
  const V = vocabSize(tok);
  const T = s.T;
  const labelBytes: 1 | 2 = classNames.length > 256 ? 2 : 1;
  let truncated = 0;
  let tokenSum = 0;
  let maxTokens = 0;
  let oov = 0;
  let testTokens = 0;
  const lengths = new Int32Array(examples.length);
  const encodeSplit = (idx: number[], test: boolean): { tokens: Int32Array; labels: Uint8Array | Uint16Array } => {
    const tokens = new Int32Array(idx.length * T);
    const labels = labelBytes === 1 ? new Uint8Array(idx.length) : new Uint16Array(idx.length);
    idx.forEach((i, k) => {
      const ex = examples[i]!;
      const ids = encode(tok, ex.text);
      const n = Math.min(ids.length, T);
      for (let t = 0; t < n; t++) tokens[k * T + t] = ids[t]!;
      if (ids.length > T) truncated++;
      lengths[i] = ids.length;
      tokenSum += ids.length;
      if (ids.length > maxTokens) maxTokens = ids.length;
      if (test) {
        testTokens += n;
        for (let t = 0; t < n; t++) if (ids[t] === OOV_ID && tok.kind !== 'bpe') oov++;
      }
      labels[k] = ex.label;
    });
    return { tokens, labels };
  };
  opts.onProgress?.({ id, phase: 'decode', message: 'Tokenizing' });
  const train = encodeSplit(split.train, false);
  const test = encodeSplit(split.test, true);
  if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');

  const classCounts = new Array<number>(classNames.length).fill(0);
  for (const e of examples) classCounts[e.label]!++;
  const warnings: string[] = [];
  if (truncated > examples.length / 2) warnings.push(`${fmtCount(truncated)} of ${fmtCount(examples.length)} examples are longer than ${T} tokens and were cut; a longer --seq-len keeps more of each.`);
  const tooFew = classNames.filter((_, c) => !split.train.some((i) => examples[i]!.label === c));
  if (tooFew.length) warnings.push(`The class${tooFew.length === 1 ? '' : 'es'} ${tooFew.join(', ')} ha${tooFew.length === 1 ? 's' : 've'} no training example.`);
  const report: TextImportReport = {
    kind: 'text',
    layout: collected.layout,
    files: collected.files,
    bytes: collected.bytes,
    tokenizer: { kind: tok.kind, vocabSize: V, ...(tok.kind === 'word' ? { lowercase: tok.lowercase } : {}) },
    seqLen: T,
    split: { train: split.train.length, test: split.test.length, testFraction: s.testFraction, ...(collected.given ? { given: true } : { seed: s.seed }) },
    examples: examples.length,
    classCounts,
    truncated,
    meanTokens: examples.length ? tokenSum / examples.length : 0,
    maxTokens,
    emptyEntries: collected.emptyEntries,
    oovRate: testTokens ? oov / testTokens : 0,
    skipped: collected.skipped,
    warnings,
  };
  const info: TextCacheMeta['info'] = {
    id, name: opts.name ?? name, inputShape: [T], classNames, trainSize: split.train.length, testSize: split.test.length,
    license: 'User data', homepage: '', downloadable: false, kind: 'text', task: 'classification', vocabSize: V, tokenizer: tok.kind,
  };
  // A few training texts per class, and the test texts, for previews and result views.
  const perClass = new Array<number>(classNames.length).fill(0);
  const samples: TextsFile['samples'] = [];
  split.train.forEach((i, row) => {
    const e = examples[i]!;
    if (perClass[e.label]! >= SAMPLES_PER_CLASS) return;
    perClass[e.label]!++;
    samples.push({ label: e.label, row, text: cut(e.text), source: e.source, length: lengths[i]! });
  });
  const texts: TextsFile = { samples, test: split.test.slice(0, MAX_TEST_TEXTS).map((i) => ({ text: cut(examples[i]!.text), source: examples[i]!.source })) };

  opts.onProgress?.({ id, phase: 'write', message: 'Writing cache' });
  await commitCacheFolder(dir, async (tmp) => {
    let at = 0;
    const place = (n: number) => {
      const p = align8(at);
      at = p + n;
      return p;
    };
    const layout = (x: { tokens: Int32Array; labels: Uint8Array | Uint16Array }, count: number): TextSplitLayout => ({
      count, tokensOffset: place(x.tokens.byteLength), labelsOffset: place(x.labels.byteLength),
    });
    const trainL = layout(train, split.train.length);
    const testL = layout(test, split.test.length);
    const bytes = align8(at);
    const buf = new Uint8Array(bytes);
    buf.set(bytesOf(train.tokens), trainL.tokensOffset);
    buf.set(bytesOf(train.labels), trainL.labelsOffset);
    buf.set(bytesOf(test.tokens), testL.tokensOffset);
    buf.set(bytesOf(test.labels), testL.labelsOffset);
    await writeBytes(join(tmp, 'data.bin'), buf);
    await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tok));
    await writeFile(join(tmp, 'texts.json'), JSON.stringify(texts));
    if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');
    const meta: TextCacheMeta = { version: CACHE_VERSION, kind: 'text', info, seqLen: T, labelBytes, train: trainL, test: testL, bytes, createdAt: new Date().toISOString(), origin: path, report };
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  });
  return { info: { ...info, status: 'ready', cachePath: dir }, report };
}

/** Where the corpus is cut into train and test: after a line break followed by text, near `fraction` from the end. */
function cutPoint(parts: string[], testFraction: number): { part: number; at: number } {
  const total = parts.reduce((a, p) => a + p.length, 0);
  let goal = Math.floor(total * (1 - testFraction));
  for (let p = 0; p < parts.length; p++) {
    const t = parts[p]!;
    if (goal > t.length) {
      goal -= t.length;
      continue;
    }
    if (testFraction === 0) return { part: parts.length - 1, at: parts[parts.length - 1]!.length };
    for (let i = t.indexOf('\n', Math.max(0, goal - 1)); i >= 0 && i + 1 < t.length; i = t.indexOf('\n', i + 1)) {
      if (/\S/.test(t[i + 1]!)) return { part: p, at: i + 1 };
    }
    if (p + 1 < parts.length) return { part: p + 1, at: 0 };
    // No line break left: cut at the goal, not inside a surrogate pair.
    let at = goal;
    const c = t.charCodeAt(at);
    if (c >= 0xdc00 && c < 0xe000) at++;
    return { part: p, at };
  }
  return { part: parts.length - 1, at: parts[parts.length - 1]!.length };
}

/** Encodes texts (joined by blank lines) into one token stream, in pieces, refusing more than `max` tokens. */
function encodeStream(tok: Tokenizer, texts: string[], max: number, what: string): Int32Array {
  let out = new Int32Array(1 << 16);
  let n = 0;
  const push = (ids: number[]) => {
    if (n + ids.length > max) throw new TextError('too-large', `The ${what} has more than ${fmtCount(max)} tokens; import less text at once (or a tokenizer with longer tokens, bpe or word).`);
    if (n + ids.length > out.length) {
      const bigger = new Int32Array(Math.max(out.length * 2, n + ids.length));
      bigger.set(out.subarray(0, n));
      out = bigger;
    }
    for (let i = 0; i < ids.length; i++) out[n + i] = ids[i]!;
    n += ids.length;
  };
  const PIECE = 1 << 20;
  texts.forEach((t, k) => {
    if (k > 0) push(encode(tok, '\n\n'));
    // Pieces end after a line break followed by text, where no token (chunk or word) can span the cut.
    for (let start = 0; start < t.length;) {
      let end = t.length;
      if (t.length - start > PIECE) {
        const m = /\n(?=\S)/g;
        m.lastIndex = start + PIECE;
        const found = m.exec(t);
        if (found) end = found.index + 1;
      }
      push(encode(tok, t.slice(start, end)));
      start = end;
    }
  });
  return out.slice(0, n);
}

/** Imports text files as the corpus `corpus:<name>` under `root` (see the module comment). */
export async function importCorpus(path: string, root: string, opts: TextImportRequest = {}): Promise<TextImportResult> {
  const name = textDatasetName(opts.name ?? path.split(/[\\/]/).filter(Boolean).pop() ?? 'corpus');
  const id = `corpus:${name}`;
  const dir = cacheDir(root, id);
  const s = settingsOf(opts, true);
  if (opts.textColumn !== undefined || opts.labelColumn !== undefined || opts.classes) throw new TextError('bad-option', 'A corpus has no columns or classes: --text-column, --label-column and --classes apply to labelled text (--as text).');
  const limits: TextLimits = { ...TEXT_LIMITS, ...opts.limits };
  opts.onProgress?.({ id, phase: 'decode', message: `Reading ${basename(path)}` });
  const collected = await collectCorpus(path, {
    limits, ...(opts.signal ? { signal: opts.signal } : {}), skipBad: Boolean(opts.skipBad), splitOnPercent: Boolean(opts.splitOnPercent),
    onFile: (done, count) => opts.onProgress?.({ id, phase: 'decode', done, count, message: 'Reading files' }),
  });
  const parts = collected.parts.map((p) => p.text);
  const { part, at } = cutPoint(parts, s.testFraction);
  const trainParts = [...parts.slice(0, part), parts[part]!.slice(0, at)].filter((t) => t.length);
  const testParts = [parts[part]!.slice(at), ...parts.slice(part + 1)].filter((t) => t.length);
  if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');
  opts.onProgress?.({ id, phase: 'decode', message: `Training the ${s.kind} tokenizer` });
  const tokTexts: string[] = [];
  trainParts.forEach((t, k) => (k ? tokTexts.push('\n\n', t) : tokTexts.push(t)));
  const tok = trainTokenizer(s.kind, tokTexts, {
    ...(opts.vocabSize !== undefined ? { vocabSize: opts.vocabSize } : {}), ...(opts.lowercase !== undefined ? { lowercase: opts.lowercase } : {}),
  });
  const V = vocabSize(tok);
  opts.onProgress?.({ id, phase: 'decode', message: 'Tokenizing' });
  const trainIds = encodeStream(tok, trainParts, limits.maxTokens, 'corpus');
  const testIds = encodeStream(tok, testParts, limits.maxTokens - trainIds.length, 'corpus');
  const T = s.T;
  const trainWindows = windowCount(trainIds.length, T, s.stride);
  const testWindows = windowCount(testIds.length, T, s.stride);
  const file = basename(path);
  if (!trainWindows) throw new TextError('too-few-tokens', `${file}: the training part has ${fmtCount(trainIds.length)} tokens; one window needs T+1 = ${fmtCount(T + 1)}. Lower --seq-len or add text.`, { file });
  if (s.testFraction > 0 && !testWindows) {
    throw new TextError('too-few-tokens', `${file}: the test part (the last ${Math.round(s.testFraction * 100)}% of the text) has ${fmtCount(testIds.length)} tokens; one window needs T+1 = ${fmtCount(T + 1)}. Lower --seq-len, raise --test-fraction or add text.`, { file });
  }
  let oov = 0;
  if (tok.kind !== 'bpe') for (const t of testIds) if (t === OOV_ID) oov++;
  const tokenBytes: 2 | 4 = V <= 65_536 ? 2 : 4;
  const stream = (ids: Int32Array) => (tokenBytes === 2 ? Uint16Array.from(ids) : ids);
  const trainStream = stream(trainIds);
  const testStream = stream(testIds);
  if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');
  const report: TextImportReport = {
    kind: 'corpus',
    layout: collected.layout,
    files: collected.files,
    bytes: collected.bytes,
    tokenizer: { kind: tok.kind, vocabSize: V, ...(tok.kind === 'word' ? { lowercase: tok.lowercase } : {}) },
    seqLen: T,
    split: { train: trainWindows, test: testWindows, testFraction: s.testFraction },
    tokens: { train: trainIds.length, test: testIds.length },
    stride: s.stride,
    emptyEntries: collected.emptyEntries,
    oovRate: testIds.length ? oov / testIds.length : 0,
    skipped: collected.skipped,
    warnings: [],
  };
  const info: CorpusCacheMeta['info'] = {
    id, name: opts.name ?? name, inputShape: [T], classNames: [], trainSize: trainWindows, testSize: testWindows,
    license: 'User data', homepage: '', downloadable: false, kind: 'corpus', task: 'language-modelling', vocabSize: V, tokenizer: tok.kind,
  };
  opts.onProgress?.({ id, phase: 'write', message: 'Writing cache' });
  await commitCacheFolder(dir, async (tmp) => {
    const trainL: CorpusSplitLayout = { tokens: trainIds.length, offset: 0 };
    const testL: CorpusSplitLayout = { tokens: testIds.length, offset: align8(trainStream.byteLength) };
    const bytes = align8(testL.offset + testStream.byteLength);
    const buf = new Uint8Array(bytes);
    buf.set(bytesOf(trainStream), trainL.offset);
    buf.set(bytesOf(testStream), testL.offset);
    await writeBytes(join(tmp, 'data.bin'), buf);
    await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tok));
    if (opts.signal?.aborted) throw new TextError('cancelled', 'Import cancelled.');
    const meta: CorpusCacheMeta = {
      version: CACHE_VERSION, kind: 'corpus', info, seqLen: T, stride: s.stride, tokenBytes, train: trainL, test: testL, bytes,
      createdAt: new Date().toISOString(), origin: path, report,
    };
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2));
  });
  return { info: { ...info, status: 'ready', cachePath: dir }, report };
}

/** A labelled-text cache's meta when the cache is complete (meta.json, data.bin of the recorded size). */
export async function readTextMeta(dir: string): Promise<TextCacheMeta | undefined> {
  const meta = await readCacheMeta<TextCacheMeta>(dir);
  if (!meta || meta.kind !== 'text' || !meta.train || !meta.test || !(meta.seqLen > 0)) return undefined;
  return meta;
}

/** A corpus cache's meta when the cache is complete. */
export async function readCorpusMeta(dir: string): Promise<CorpusCacheMeta | undefined> {
  const meta = await readCacheMeta<CorpusCacheMeta>(dir);
  if (!meta || meta.kind !== 'corpus' || !meta.train || !meta.test || !(meta.seqLen > 0)) return undefined;
  return meta;
}

async function readParts(dir: string, id: string, again: string, withTexts: boolean): Promise<{ bytes: Uint8Array; tokenizer: Tokenizer; texts?: TextsFile }> {
  let buf: Buffer;
  let tokJson: unknown;
  let texts: TextsFile | undefined;
  try {
    [buf, tokJson, texts] = await Promise.all([
      readFile(join(dir, 'data.bin')),
      readFile(join(dir, 'tokenizer.json'), 'utf8').then((t) => JSON.parse(t) as unknown),
      withTexts ? readFile(join(dir, 'texts.json'), 'utf8').then((t) => JSON.parse(t) as TextsFile) : Promise.resolve(undefined),
    ]);
  } catch (error) {
    throw new Error(`Dataset '${id}': cannot read its cache in ${dir} (${error instanceof Error ? error.message : String(error)}). ${again}`);
  }
  const tokenizer = parseTokenizer(tokJson, join(dir, 'tokenizer.json'));
  // Views need an aligned buffer.
  const bytes = buf.byteOffset % 8 === 0 ? buf : new Uint8Array(buf);
  return { bytes, tokenizer, ...(texts ? { texts } : {}) };
}

/** Loads a labelled-text cache: token rows and labels as views into one read of data.bin. */
export async function readTextCache(dir: string, id: string): Promise<LoadedDataset> {
  const again = 'Import the text again.';
  const meta = await readTextMeta(dir);
  if (!meta) {
    const damage = await cacheDamage(dir);
    if (damage) throw new Error(`Dataset '${id}' is not ready: ${damage.problem}. ${again}`);
    throw new Error(`Dataset '${id}' is not ready: no complete cache in ${dir}. Import it first (layerforge datasets import PATH --as text).`);
  }
  const { bytes, tokenizer, texts } = await readParts(dir, id, again, true);
  if (bytes.length !== meta.bytes) throw new Error(`Dataset '${id}': ${join(dir, 'data.bin')} changed while reading. ${again}`);
  const T = meta.seqLen;
  const split = (l: TextSplitLayout): Split => ({
    count: l.count,
    images: new Uint8Array(0),
    labels: meta.labelBytes === 1 ? new Uint8Array(bytes.buffer, bytes.byteOffset + l.labelsOffset, l.count) : new Uint16Array(bytes.buffer, bytes.byteOffset + l.labelsOffset, l.count),
    tokens: new Int32Array(bytes.buffer, bytes.byteOffset + l.tokensOffset, l.count * T),
  });
  const text: TextData = { kind: 'text', tokenizer, seqLen: T, samples: texts?.samples ?? [], testTexts: texts?.test ?? [] };
  return { info: { ...meta.info, status: 'ready', cachePath: dir }, shape: [1, 1, T], train: split(meta.train), test: split(meta.test), text };
}

/** Loads a corpus cache: each split's token stream as a view into one read of data.bin. */
export async function readCorpusCache(dir: string, id: string): Promise<LoadedDataset> {
  const again = 'Import the corpus again.';
  const meta = await readCorpusMeta(dir);
  if (!meta) {
    const damage = await cacheDamage(dir);
    if (damage) throw new Error(`Dataset '${id}' is not ready: ${damage.problem}. ${again}`);
    throw new Error(`Dataset '${id}' is not ready: no complete cache in ${dir}. Import it first (layerforge datasets import PATH --as corpus).`);
  }
  const { bytes, tokenizer } = await readParts(dir, id, again, false);
  if (bytes.length !== meta.bytes) throw new Error(`Dataset '${id}': ${join(dir, 'data.bin')} changed while reading. ${again}`);
  const T = meta.seqLen;
  const split = (l: CorpusSplitLayout): Split => ({
    count: windowCount(l.tokens, T, meta.stride),
    images: new Uint8Array(0),
    labels: new Uint8Array(0),
    stream: meta.tokenBytes === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset + l.offset, l.tokens) : new Int32Array(bytes.buffer, bytes.byteOffset + l.offset, l.tokens),
    stride: meta.stride,
  });
  return {
    info: { ...meta.info, status: 'ready', cachePath: dir },
    shape: [1, 1, T],
    train: split(meta.train),
    test: split(meta.test),
    text: { kind: 'corpus', tokenizer, seqLen: T, stride: meta.stride },
  };
}

function source(kind: 'text' | 'corpus', id: string, ctx: SourceContext): DatasetSource {
  const dir = cacheDir(ctx.root, id);
  const name = id.slice(kind.length + 1);
  const readMeta = kind === 'text' ? readTextMeta : readCorpusMeta;
  return {
    id,
    async info() {
      const meta = await readMeta(dir);
      if (meta) return { ...meta.info, status: 'ready', cachePath: dir };
      const base: DatasetInfo = {
        id, name, inputShape: [], classNames: [], trainSize: 0, testSize: 0, license: 'User data', homepage: '', downloadable: false, kind, status: 'missing',
        ...(kind === 'corpus' ? { task: 'language-modelling' as const } : { task: 'classification' as const }),
      };
      const damage = await cacheDamage(dir);
      if (damage) return damagedInfo({ ...base, ...damage.info, id }, damage.problem, `Import the ${kind === 'text' ? 'text' : 'corpus'} again.`);
      return { ...base, message: `No complete cache in ${dir}; import it (layerforge datasets import PATH --as ${kind} --name ${name}).` };
    },
    load: () => (kind === 'text' ? readTextCache(dir, id) : readCorpusCache(dir, id)),
    importFrom: async (path: string, opts?: ImportOptions) => (await (kind === 'text' ? importText : importCorpus)(path, ctx.root, { ...opts, name })).info,
  };
}

/** The source of imported labelled text (id `text:<name>`). */
export function createTextSource(id: string, ctx: SourceContext): DatasetSource {
  return source('text', id, ctx);
}

/** The source of an imported corpus (id `corpus:<name>`). */
export function createCorpusSource(id: string, ctx: SourceContext): DatasetSource {
  return source('corpus', id, ctx);
}

/** Length of a padded token row (ids after the last non-PAD id are padding). */
function rowLength(row: Int32Array): number {
  let n = row.length;
  while (n > 0 && row[n - 1] === 0) n--;
  return n;
}

/**
 * What the app shows of a text dataset: class counts, then up to `perClass` training texts per class with their
 * label and first `firstTokens` token ids and strings (labelled text), or the first windows (a corpus).
 */
export function previewText(ds: LoadedDataset, perClass = 3, firstTokens = 24): DatasetPreview {
  const text = ds.text;
  if (!text) throw new Error(`Dataset '${ds.info.id}' is not a text dataset.`);
  const tok = text.tokenizer;
  const T = text.seqLen;
  const show = (ids: ArrayLike<number>) => {
    const first = Array.from({ length: Math.min(firstTokens, ids.length) }, (_, i) => ids[i]!);
    return { ids: first, tokens: first.map((id) => tokenString(tok, id)) };
  };
  const texts: TextSample[] = [];
  const classNames = ds.info.classNames;
  const counts = (s: Split) => {
    const c = new Array<number>(classNames.length).fill(0);
    for (let i = 0; i < s.labels.length; i++) c[s.labels[i]!]!++;
    return c;
  };
  if (text.kind === 'text') {
    const taken = new Array<number>(classNames.length).fill(0);
    for (const smp of text.samples ?? []) {
      if (taken[smp.label]! >= perClass) continue;
      taken[smp.label]!++;
      const row = ds.train.tokens!.subarray(smp.row * T, (smp.row + 1) * T);
      texts.push({ label: smp.label, className: classNames[smp.label]!, text: smp.text, source: smp.source, ...show(row.subarray(0, Math.max(1, rowLength(row)))), length: smp.length, truncated: smp.length > T });
    }
  } else {
    const stream = ds.train.stream!;
    const stride = ds.train.stride ?? T;
    for (let w = 0; w < Math.min(perClass, ds.train.count); w++) {
      const ids = stream.subarray(w * stride, w * stride + T + 1);
      texts.push({ text: cut(decode(tok, ids)), source: `window ${w + 1}: tokens ${fmtCount(w * stride)}-${fmtCount(w * stride + T)}`, ...show(ids), length: ids.length, truncated: false });
    }
  }
  return {
    id: ds.info.id,
    classNames: [...classNames],
    trainCounts: classNames.length ? counts(ds.train) : [],
    testCounts: classNames.length ? counts(ds.test) : [],
    samples: [],
    texts,
    tokenizer: { kind: tok.kind, vocabSize: vocabSize(tok), seqLen: T, ...(tok.kind === 'word' ? { lowercase: tok.lowercase } : {}) },
  };
}
