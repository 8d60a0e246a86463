/** Labelled text datasets: the three layouts, tokenizing and padding, the split, every reported problem, the atomic cache, the registry. */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isTextError, type TextError } from '../../../../shared/text/errors';
import { decode, encode, parseTokenizer } from '../../../../shared/text/tokenizer';
import { createDatasetRegistry, detectImportKind } from '../index';
import { importText, previewText, readTextCache } from './index';

const fixture = (name: string) => new URL(`../../../../resources/fixtures/text/${name}`, import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'lf-text-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let n = 0;
beforeEach(() => {
  root = join(tmp, `data-${++n}`);
});
const entries = () => (existsSync(join(root, 'datasets')) ? readdirSync(join(root, 'datasets')) : []);

async function failure(p: Promise<unknown>): Promise<TextError> {
  const e = await p.then(() => undefined, (error: unknown) => error);
  if (!isTextError(e)) throw new Error(`expected a TextError, got ${String(e)}`);
  return e;
}

/** A folder under tmp built from { 'a/b.txt': 'text' | Buffer }. */
function tree(files: Record<string, string | Buffer>): string {
  const dir = join(tmp, `tree-${++n}`);
  for (const [f, t] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    if (!f.endsWith('/')) writeFileSync(join(dir, f), t);
  }
  return dir;
}

describe('labelled text: fortune files (--split-on-percent)', () => {
  it('one class per file, one example per entry; word tokens padded or cut to T; seeded split; report', async () => {
    const r = await importText(fixture('fortunes'), root, { name: 'Fortunes', splitOnPercent: true, seqLen: 32, lowercase: true });
    expect(r.info).toMatchObject({
      id: 'text:fortunes', kind: 'text', task: 'classification', inputShape: [32], classNames: ['computers', 'food', 'love', 'sports'],
      trainSize: 384, testSize: 96, tokenizer: 'word', status: 'ready',
    });
    expect(r.report).toMatchObject({ kind: 'text', layout: 'fortunes', files: 4, examples: 480, classCounts: [120, 120, 120, 120], seqLen: 32, emptyEntries: 0, skipped: [] });
    expect(r.report.tokenizer).toEqual({ kind: 'word', vocabSize: r.info.vocabSize, lowercase: true });
    expect(r.report.truncated).toBeGreaterThan(50);
    expect(r.report.maxTokens).toBeGreaterThan(32);
    expect(r.report.oovRate).toBeGreaterThan(0);
    expect(r.report.oovRate).toBeLessThan(0.5);

    const ds = await readTextCache(r.info.cachePath!, r.info.id);
    expect(ds.shape).toEqual([1, 1, 32]);
    expect(ds.train.tokens).toHaveLength(384 * 32);
    expect(ds.test.tokens).toHaveLength(96 * 32);
    expect(ds.train.images).toHaveLength(0);
    expect(Math.max(...ds.train.labels)).toBe(3);
    const tok = ds.text!.tokenizer;
    expect(parseTokenizer(JSON.parse(readFileSync(join(r.info.cachePath!, 'tokenizer.json'), 'utf8')))).toEqual(tok);
    // Every row is the example's first T ids, padded with 0.
    const s = ds.text!.samples![0]!;
    const want = encode(tok, readFileSync(fixture('fortunes/computers'), 'utf8').split('\n%\n')[0]!.trim()).slice(0, 32);
    expect(Array.from(ds.train.tokens!.subarray(s.row * 32, s.row * 32 + want.length))).toEqual(want);
    expect(ds.train.tokens!.subarray(s.row * 32 + want.length, (s.row + 1) * 32).every((x) => x === 0)).toBe(true);
    expect(s).toMatchObject({ label: 0, source: 'fortunes/computers:1' });
    expect(ds.text!.testTexts).toHaveLength(96);

    // Same seed, same split and tokens; another seed, another split.
    const again = await importText(fixture('fortunes'), root, { name: 'again', splitOnPercent: true, seqLen: 32, lowercase: true });
    const ds2 = await readTextCache(again.info.cachePath!, again.info.id);
    expect(Buffer.from(ds2.train.tokens!.buffer, ds2.train.tokens!.byteOffset, ds2.train.tokens!.byteLength).equals(Buffer.from(ds.train.tokens!.buffer, ds.train.tokens!.byteOffset, ds.train.tokens!.byteLength))).toBe(true);
    const other = await importText(fixture('fortunes'), root, { name: 'other', splitOnPercent: true, seqLen: 32, seed: 7, lowercase: true });
    const ds3 = await readTextCache(other.info.cachePath!, other.info.id);
    expect(Array.from(ds3.test.labels)).not.toEqual(Array.from(ds.test.labels));
  });

  it('--classes picks files; char and bpe tokenizers; the default T follows the tokenizer', async () => {
    const c = await importText(fixture('fortunes'), root, { name: 'c', splitOnPercent: true, classes: ['food', 'love'], tokenizer: 'char' });
    expect(c.info).toMatchObject({ classNames: ['food', 'love'], inputShape: [256], tokenizer: 'char', trainSize: 192, testSize: 48 });
    expect(c.report.oovRate).toBeLessThan(0.01);
    const b = await importText(fixture('fortunes'), root, { name: 'b', splitOnPercent: true, tokenizer: 'bpe', vocabSize: 400 });
    expect(b.info).toMatchObject({ inputShape: [128], tokenizer: 'bpe', vocabSize: 400 });
    expect(b.report.oovRate).toBe(0);
    const ds = await readTextCache(b.info.cachePath!, b.info.id);
    const smp = ds.text!.samples!.find((x) => x.length <= 128)!;
    expect(decode(ds.text!.tokenizer, ds.train.tokens!.subarray(smp.row * 128, (smp.row + 1) * 128))).toBe(smp.text);
    await expect(importText(fixture('fortunes'), root, { splitOnPercent: true, classes: ['food', 'nope'] })).rejects.toThrow(/No class 'nope' in fortunes; it has computers, food, love, sports\./);
  });

  it('skips strfile indexes and links to a file already read, and says so', async () => {
    const dir = join(tmp, 'fortune-links');
    mkdirSync(dir);
    cpSync(fixture('fortunes/food'), join(dir, 'food'));
    cpSync(fixture('fortunes/love'), join(dir, 'love'));
    writeFileSync(join(dir, 'food.dat'), Buffer.from([0, 0, 0, 2, 0xff, 0xfe]));
    symlinkSync('love', join(dir, 'love.u8'));
    const r = await importText(dir, root, { splitOnPercent: true });
    expect(r.info.classNames).toEqual(['food', 'love']);
    expect(r.report.skipped.map((x) => x.reason)).toEqual([
      'fortune-links/love.u8 is the same file as fortune-links/love (a link); read once.',
      'fortune-links/food.dat is the strfile index of fortune-links/food, not text.',
    ]);
  });
});

describe('labelled text: class folders (Keras layout) and CSV', () => {
  it('one .txt per example, classes by folder name; train/ and test/ folders give the split', async () => {
    const r = await importText(fixture('reviews'), root, {});
    expect(r.info).toMatchObject({ id: 'text:reviews', classNames: ['neg', 'pos'], trainSize: 13, testSize: 3, inputShape: [64] });
    expect(r.report).toMatchObject({ layout: 'folders', files: 16, examples: 16, truncated: 0 });
    const given = tree({ 'train/a/1.txt': 'alpha one', 'train/a/2.txt': 'alpha two', 'train/b/1.txt': 'beta one', 'test/a/9.txt': 'alpha nine', 'test/b/9.txt': 'beta nine', 'README.md': 'about' });
    const g = await importText(given, root, { name: 'given' });
    expect(g.info).toMatchObject({ classNames: ['a', 'b'], trainSize: 3, testSize: 2 });
    expect(g.report.split).toMatchObject({ given: true, train: 3, test: 2 });
    expect(g.report.skipped).toEqual([{ file: expect.stringMatching(/README\.md$/), reason: expect.stringMatching(/README\.md is not inside a class folder\./), kind: 'other' }]);
    const ds = await readTextCache(g.info.cachePath!, g.info.id);
    expect(ds.text!.testTexts!.map((t) => t.source)).toEqual([expect.stringMatching(/test\/a\/9\.txt$/), expect.stringMatching(/test\/b\/9\.txt$/)]);
  });

  it('a CSV with a text and a label column (quoted commas and line breaks); labels sorted', async () => {
    const r = await importText(fixture('reviews.csv'), root, { textColumn: 'review', labelColumn: 'sentiment', name: 'csv' });
    expect(r.info).toMatchObject({ classNames: ['negative', 'positive'], trainSize: 13, testSize: 3 });
    expect(r.report).toMatchObject({ layout: 'csv', examples: 16 });
    const ds = await readTextCache(r.info.cachePath!, r.info.id);
    const all = [...ds.text!.samples!.map((s) => s.text), ...ds.text!.testTexts!.map((t) => t.text)];
    expect(all).toContain('Terrible dialogue, "awful" pacing,\nand an ending that ruins what little was good.');
    expect(await failure(importText(fixture('reviews.csv'), root, {}))).toMatchObject({
      code: 'no-such-column', message: "reviews.csv has no column 'text' (the default text column); its columns are id, review, sentiment. Name the text column with --text-column.",
    });
  });
});

describe('problems are reported by file, never dropped silently', () => {
  it('invalid UTF-8 names the file and byte offset; --skip-bad skips it and reports it', async () => {
    const dir = tree({ 'a/1.txt': 'one', 'a/2.txt': 'two', 'b/1.txt': 'three', 'b/latin1.txt': readFileSync(fixture('messy/latin1.txt')) });
    const name = dir.split('/').pop()!;
    const e = await failure(importText(dir, root, {}));
    expect(e).toMatchObject({ code: 'not-utf8', file: `${name}/b/latin1.txt`, offset: 25, line: 2, column: 4 });
    expect(e.message).toMatch(new RegExp(`^${name}/b/latin1\\.txt is not UTF-8 text: byte 0xE9 at byte offset 25 \\(line 2, column 4\\)`));
    expect(entries()).toEqual([]);
    const r = await importText(dir, root, { skipBad: true });
    expect(r.report.examples).toBe(3);
    expect(r.report.skipped).toEqual([{ file: `${name}/b/latin1.txt`, line: 2, reason: e.message, kind: 'problem' }]);
  });

  it('an empty file, an empty class folder, a CSV row without text: each refused with its name (and line)', async () => {
    const empty = tree({ 'a/1.txt': 'one', 'b/1.txt': 'two', 'b/2.txt': '' });
    expect((await failure(importText(empty, root, {}))).message).toMatch(/\/b\/2\.txt is empty \(0 bytes\)\.$/);
    const e = await failure(importText(fixture('messy/classes'), root, {}));
    expect(e).toMatchObject({ code: 'empty-class', file: 'classes/hollow/', message: 'The class folder classes/hollow/ holds no .txt file.' });
    const skipped = await importText(fixture('messy/classes'), root, { skipBad: true });
    expect(skipped.info.classNames).toEqual(['bad', 'good']);
    expect(skipped.report.skipped.map((x) => x.reason)).toEqual(['The class folder classes/hollow/ holds no .txt file.', "The class 'hollow' has no example left; left out."]);
    const csv = await failure(importText(fixture('messy/missing-text.csv'), root, {}));
    expect(csv).toMatchObject({ code: 'missing-text', file: 'missing-text.csv', line: 4, message: "missing-text.csv, line 4: the text (column 'text') is empty." });
    const fort = tree({ a: 'x\n%\ny\n', b: '%\n%\n' });
    expect((await failure(importText(fort, root, { splitOnPercent: true }))).message).toMatch(/\/b has no entry with text \(only '%' lines\), so the class 'b' would have no example\.$/);
    expect(entries()).toEqual(['text-classes']); // the --skip-bad import only
  });

  it('a single class, no class folders, lines and examples over the limits, bad options', async () => {
    expect(await failure(importText(tree({ 'only/1.txt': 'a', 'only/2.txt': 'b' }), root, {}))).toMatchObject({ code: 'single-class' });
    expect(await failure(importText(tree({ 'loose.txt': 'a' }), root, {}))).toMatchObject({ code: 'no-data' });
    const long = tree({ 'a/1.txt': 'fine', 'b/1.txt': `ok\n${'z'.repeat(300)}\n` });
    expect(await failure(importText(long, root, { limits: { maxLineChars: 200 } }))).toMatchObject({ code: 'line-too-long', line: 2, message: expect.stringMatching(/\/b\/1\.txt, line 2: the line has more than 200 characters/) });
    expect(await failure(importText(long, root, { limits: { maxExampleChars: 100 } }))).toMatchObject({ code: 'example-too-long' });
    expect(await failure(importText(long, root, { limits: { maxTotalBytes: 100 } }))).toMatchObject({ code: 'too-large' });
    expect(await failure(importText(long, root, { seqLen: 0 }))).toMatchObject({ code: 'bad-option', message: 'The sequence length must be a whole number from 1 to 100,000, got 0.' });
    expect(await failure(importText(long, root, { tokenizer: 'bpe', vocabSize: 100 }))).toMatchObject({ code: 'bad-option' });
    expect(await failure(importText(long, root, { tokenizer: 'char', lowercase: true }))).toMatchObject({ code: 'bad-option' });
    expect(entries()).toEqual([]);
  });
});

describe('the cache is atomic', () => {
  it('a failed re-import keeps the dataset as it was; a cancel while writing leaves nothing', async () => {
    const ok = await importText(fixture('reviews'), root, { name: 'keep' });
    const before = readFileSync(join(ok.info.cachePath!, 'data.bin'));
    await failure(importText(fixture('messy/classes'), root, { name: 'keep' }));
    expect(readFileSync(join(ok.info.cachePath!, 'data.bin')).equals(before)).toBe(true);
    expect(entries()).toEqual(['text-keep']);
    const ctl = new AbortController();
    const e = await failure(importText(fixture('reviews'), root, { name: 'cancelled', signal: ctl.signal, onProgress: (p) => p.phase === 'write' && ctl.abort() }));
    expect(e.code).toBe('cancelled');
    expect(entries()).toEqual(['text-keep']);
    expect(readdirSync(join(root, 'datasets')).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

describe('through the registry', () => {
  it('imports (--as text, or detected), lists, loads and previews text datasets', async () => {
    expect(detectImportKind(fixture('reviews'))).toBe('text');
    expect(detectImportKind(fixture('messy/classes'))).toBe('text');
    const reg = createDatasetRegistry({ root, env: {} });
    const r = await reg.import(fixture('fortunes'), { as: 'text', splitOnPercent: true, name: 'jokes', seqLen: 48 });
    expect(r.text).toMatchObject({ examples: 480 });
    await reg.import(fixture('reviews'), {});
    const list = await reg.list();
    expect(list.filter((d) => d.kind === 'text').map((d) => [d.id, d.status, d.trainSize])).toEqual([['text:jokes', 'ready', 384], ['text:reviews', 'ready', 13]]);
    expect(await reg.info('text:jokes')).toMatchObject({ status: 'ready', vocabSize: r.info.vocabSize });
    expect(await reg.info('text:nothing')).toMatchObject({ status: 'missing', kind: 'text' });
    const ds = await reg.load('text:jokes');
    expect(ds.train.tokens).toHaveLength(384 * 48);
    const p = await reg.preview('text:jokes', 2);
    expect(p.tokenizer).toEqual({ kind: 'word', vocabSize: r.info.vocabSize, seqLen: 48, lowercase: false });
    expect(p.trainCounts.reduce((a, b) => a + b)).toBe(384);
    expect(p.texts).toHaveLength(8);
    const first = p.texts![0]!;
    expect(first).toMatchObject({ label: 0, className: 'computers', source: 'fortunes/computers:1' });
    expect(first.tokens.slice(0, 5)).toEqual(['!', '07', '/', '11', 'PDP']);
    expect(first.ids).toEqual(encode(ds.text!.tokenizer, first.text).slice(0, 24));
    expect(previewText(ds, 1, 5).texts!.every((t) => t.ids.length <= 5)).toBe(true);
    // A damaged cache is listed as an error naming the file.
    rmSync(join(ds.info.cachePath!, 'data.bin'));
    expect((await reg.list()).find((d) => d.id === 'text:jokes')).toMatchObject({ status: 'error', message: expect.stringMatching(/data\.bin is missing/) });
    await expect(reg.load('text:jokes')).rejects.toThrow(/data\.bin is missing/);
  });
});
