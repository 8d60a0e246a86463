/** Corpora: the token stream of each split, the last part of the text as the test split, windows cut at batch time. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { isTextError } from '../../../../shared/text/errors';
import { decode, encode } from '../../../../shared/text/tokenizer';
import type { Split } from '../types';
import { createDatasetRegistry } from '../index';
import { importCorpus, previewText, readCorpusCache, splitFortunes } from './index';
import { windowCount, windows } from './windows';

const fixture = (name: string) => new URL(`../../../../resources/fixtures/text/${name}`, import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'lf-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let root: string;
let n = 0;
beforeEach(() => {
  root = join(tmp, `data-${++n}`);
});
const entries = () => (existsSync(join(root, 'datasets')) ? readdirSync(join(root, 'datasets')) : []);

/** The fixture fortunes as the corpus text: entries joined by blank lines, files too. */
const fortunesText = () => ['computers', 'food', 'love', 'sports'].map((f) => splitFortunes(readFileSync(fixture(`fortunes/${f}`), 'utf8')).entries.map((e) => e.text).join('\n\n')).join('\n\n');

describe('windows', () => {
  const split: Split = { count: 0, images: new Uint8Array(0), labels: new Uint8Array(0), stream: Uint16Array.from({ length: 20 }, (_, i) => 100 + i) };

  it('counts windows of T+1 tokens, stride apart', () => {
    expect(windowCount(20, 4)).toBe(4); // starts 0, 4, 8, 12 (12+4 = 16 < 20); 16 needs token 20
    expect(windowCount(21, 4)).toBe(5);
    expect(windowCount(20, 4, 1)).toBe(16);
    expect(windowCount(4, 4)).toBe(0);
    expect(windowCount(5, 4)).toBe(1);
  });

  it('inputs are the first T tokens of a window, targets the same shifted by one', () => {
    const { x, y } = windows(split, 1, 2, 4);
    expect(Array.from(x)).toEqual([104, 105, 106, 107, 108, 109, 110, 111]);
    expect(Array.from(y)).toEqual([105, 106, 107, 108, 109, 110, 111, 112]);
    const s = windows(split, 0, 2, 4, { stride: 3, indices: [5, 0] });
    expect(Array.from(s.x)).toEqual([115, 116, 117, 118, 100, 101, 102, 103]);
    expect(Array.from(s.y)).toEqual([116, 117, 118, 119, 101, 102, 103, 104]);
    const bx = new Int32Array(16);
    const by = new Int32Array(16);
    expect(windows(split, 3, 1, 4, { x: bx, y: by }).x).toBe(bx);
    expect(() => windows(split, 3, 2, 4)).toThrow(/window 4 is outside the split's 4 windows of 5 tokens/);
    expect(() => windows({ ...split, stream: undefined }, 0, 1, 4)).toThrow(/no token stream/);
  });
});

describe('corpus import', () => {
  it('fortune files: % lines removed, entries joined by blank lines; the last 10% is the test split; char ids as uint16', async () => {
    const r = await importCorpus(fixture('fortunes'), root, { splitOnPercent: true, seqLen: 64 });
    expect(r.info).toMatchObject({ id: 'corpus:fortunes', kind: 'corpus', task: 'language-modelling', inputShape: [64], classNames: [], tokenizer: 'char' });
    const text = fortunesText();
    const ds = await readCorpusCache(r.info.cachePath!, r.info.id);
    const { train, test } = ds;
    expect(train.stream).toBeInstanceOf(Uint16Array);
    const tok = ds.text!.tokenizer;
    const trainText = decode(tok, train.stream!);
    const testText = decode(tok, test.stream!);
    // Nothing lost, nothing unknown (the test part has characters the training part lacks? then OOV).
    expect((trainText + testText).length).toBe(text.length);
    expect(trainText).toBe(text.slice(0, trainText.length));
    expect(testText.length / text.length).toBeGreaterThan(0.09);
    expect(testText.length / text.length).toBeLessThan(0.11);
    expect(trainText.endsWith('\n')).toBe(true); // cut after a line break
    expect(r.report.tokens).toEqual({ train: train.stream!.length, test: test.stream!.length });
    expect(r.info.trainSize).toBe(windowCount(train.stream!.length, 64));
    expect(train.count).toBe(r.info.trainSize);
    expect(r.report).toMatchObject({ kind: 'corpus', layout: 'fortunes', files: 4, stride: 64 });
    expect(readFileSync(join(r.info.cachePath!, 'data.bin')).length).toBeLessThan(2 * text.length + 16); // the stream once, not windows
    // A window decodes to the text at its place.
    const { x, y } = windows(train, 2, 1, 64);
    expect(decode(tok, x)).toBe(trainText.slice(128, 192));
    expect(decode(tok, y)).toBe(trainText.slice(129, 193));
    const p = previewText(ds, 2, 8);
    expect(p.texts).toHaveLength(2);
    expect(p.texts![1]).toMatchObject({ source: 'window 2: tokens 64-128', text: trainText.slice(64, 129) });
    expect(p.texts![0]!.tokens).toEqual([...trainText.slice(0, 8)]);
  });

  it('a folder of .txt files (recursively) or one file; word and bpe tokenizers; stride; test fraction', async () => {
    const dir = join(tmp, 'books');
    mkdirSync(join(dir, 'part2'), { recursive: true });
    const line = (i: number) => `Line ${i}: the quick brown fox jumps over the lazy dog, again and again.\n`;
    writeFileSync(join(dir, 'a.txt'), Array.from({ length: 200 }, (_, i) => line(i)).join(''));
    writeFileSync(join(dir, 'part2', 'b.txt'), Array.from({ length: 100 }, (_, i) => line(1000 + i)).join(''));
    writeFileSync(join(dir, 'notes.md'), 'not read');
    const w = await importCorpus(dir, root, { tokenizer: 'word', seqLen: 16, stride: 8, testFraction: 0.2 });
    expect(w.report.skipped).toEqual([{ file: 'books/notes.md', reason: 'books/notes.md is not a .txt file (fortune files: --split-on-percent).', kind: 'other' }]);
    expect(w.report.files).toBe(2);
    const ds = await readCorpusCache(w.info.cachePath!, w.info.id);
    expect(ds.train.stride).toBe(8);
    expect(ds.train.count).toBe(windowCount(ds.train.stream!.length, 16, 8));
    const words = encode(ds.text!.tokenizer, `${readFileSync(join(dir, 'a.txt'), 'utf8').trimEnd()}\n\n${readFileSync(join(dir, 'part2', 'b.txt'), 'utf8').trimEnd()}`);
    expect([...ds.train.stream!, ...ds.test.stream!]).toEqual(words);
    expect(decode(ds.text!.tokenizer, ds.test.stream!.subarray(0, 3))).toMatch(/^Line (\d+|<unk>):$/); // numbers first seen in the test part are unknown
    const b = await importCorpus(join(dir, 'a.txt'), root, { tokenizer: 'bpe', vocabSize: 300, seqLen: 32, name: 'bpe' });
    const dsb = await readCorpusCache(b.info.cachePath!, b.info.id);
    expect(decode(dsb.text!.tokenizer, dsb.train.stream!) + decode(dsb.text!.tokenizer, dsb.test.stream!)).toBe(readFileSync(join(dir, 'a.txt'), 'utf8').trimEnd());
  });

  it('int32 streams when the vocabulary passes 65,536 ids', async () => {
    const words = Array.from({ length: 70_000 }, (_, i) => `w${i.toString(36)}`);
    const file = join(tmp, 'many-words.txt');
    writeFileSync(file, Array.from({ length: 140 }, (_, k) => words.slice(k * 500, k * 500 + 500).join(' ')).join('\n') + '\n' + words.slice(0, 8_000).join(' ') + '\n');
    const r = await importCorpus(file, root, { tokenizer: 'word', vocabSize: 100_000, seqLen: 64, testFraction: 0.05 });
    expect(r.info.vocabSize).toBeGreaterThan(65_536);
    const ds = await readCorpusCache(r.info.cachePath!, r.info.id);
    expect(ds.train.stream).toBeInstanceOf(Int32Array);
    expect(Math.max(...ds.train.stream!)).toBeGreaterThan(65_535);
  });

  it('too little text for one window, bad files and options: a TextError naming them, nothing cached', async () => {
    const small = join(tmp, 'small.txt');
    writeFileSync(small, 'just a few characters here\nand a second line\n');
    const e = await importCorpus(small, root, { seqLen: 64 }).catch((x: unknown) => x);
    expect(isTextError(e) && e.code).toBe('too-few-tokens');
    expect((e as Error).message).toMatch(/^small\.txt: the training part has \d+ tokens; one window needs T\+1 = 65\. Lower --seq-len or add text\.$/);
    const test = await importCorpus(small, root, { seqLen: 30 }).catch((x: unknown) => x);
    expect((test as Error).message).toMatch(/the test part \(the last 10% of the text\) has \d+ tokens/);
    await expect(importCorpus(fixture('messy/latin1.txt'), root, {})).rejects.toThrow(/^latin1\.txt is not UTF-8 text: byte 0xE9 at byte offset 25 \(line 2, column 4\)/);
    await expect(importCorpus(fixture('messy'), root, {})).rejects.toThrow(/^messy\/blank\.txt holds no text \(only whitespace\)\.$/);
    await expect(importCorpus(fixture('reviews'), root, { classes: ['pos'] })).rejects.toThrow(/apply to labelled text/);
    await expect(importCorpus(fixture('fortunes'), root, { splitOnPercent: true, limits: { maxTokens: 1000 } })).rejects.toThrow(/more than 1,000 tokens/);
    expect(entries()).toEqual([]);
  });

  it('--skip-bad reads what it can and reports the rest', async () => {
    const r = await importCorpus(fixture('messy'), root, { skipBad: true, seqLen: 4, testFraction: 0.4 });
    expect(r.report.skipped.map((s) => s.file)).toEqual(expect.arrayContaining(['messy/blank.txt', 'messy/empty.txt', 'messy/latin1.txt', 'messy/utf16.txt', 'messy/missing-text.csv']));
    expect(r.report.files).toBeGreaterThanOrEqual(4);
  });

  it('through the registry: listed, loaded, previewed', async () => {
    const reg = createDatasetRegistry({ root, env: {} });
    const r = await reg.import(fixture('fortunes'), { as: 'corpus', splitOnPercent: true, name: 'fc', seqLen: 100, tokenizer: 'bpe', vocabSize: 500 });
    expect(r.text).toMatchObject({ kind: 'corpus', tokenizer: { kind: 'bpe', vocabSize: 500 } });
    expect((await reg.list()).find((d) => d.id === 'corpus:fc')).toMatchObject({ status: 'ready', kind: 'corpus', task: 'language-modelling', vocabSize: 500 });
    const p = await reg.preview('corpus:fc', 3);
    expect(p.texts).toHaveLength(3);
    expect(p.tokenizer).toEqual({ kind: 'bpe', vocabSize: 500, seqLen: 100 });
    expect(await reg.info('corpus:none')).toMatchObject({ status: 'missing', kind: 'corpus', task: 'language-modelling' });
  });
});
