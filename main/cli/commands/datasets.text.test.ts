import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetInfo, DatasetPreview, TextImportReport } from '../../../shared/api/datasets';
import { io } from '../testing';
import { main } from '../index';

const fixture = (name: string) => new URL(`../../../resources/fixtures/text/${name}`, import.meta.url).pathname;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-cli-text-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('layerforge datasets (text)', () => {
  it('imports fortune files as labelled text and prints classes, tokenizer, cut examples and the split', async () => {
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', fixture('fortunes'), '--as', 'text', '--split-on-percent', '--name', 'Jokes', '--seq-len', '32', '--lowercase', '--data-dir', data], a.x)).toBe(0);
    const text = a.out.join('\n');
    expect(text).toMatch(/^Imported text:jokes from fortune files, split on '%' lines: 480 examples in 4 classes, 4 files \([\d.]+ KB\), in [\d.]+ s\.$/m);
    expect(text).toMatch(/^Classes: computers 120, food 120, love 120, sports 120$/m);
    expect(text).toMatch(/^Tokenizer: word, [\d,]+ ids \(lower-cased\); sequence length 32: \d+ examples \([\d.]+%\) cut, mean [\d.]+ tokens, longest \d+\.$/m);
    expect(text).toMatch(/^Split: 384 train \/ 96 test examples \(seed 42, test fraction 0\.2\); [\d.]+% of the test tokens are unknown to the tokenizer\.$/m);
    expect(text).toMatch(/^Empty entries \(two '%' lines in a row\): 0$/m);
    const b = io();
    expect(await main(['datasets', 'list', '--data-dir', data], b.x)).toBe(0);
    expect(b.out.join('\n')).toMatch(/text:jokes\s+ready\s+384\s+96\s+32/);
    const c = io();
    expect(await main(['datasets', 'preview-text', 'text:jokes', '--per-class', '1', '--tokens', '4', '--data-dir', data], c.x)).toBe(0);
    const p = c.out.join('\n');
    expect(p).toMatch(/^text:jokes: word tokenizer, [\d,]+ ids, 32 tokens per example$/m);
    expect(p).toMatch(/^Classes \(train \/ test\): computers 95\/25, food 93\/27, love 99\/21, sports 97\/23$/m);
    expect(p).toMatch(/^\[computers\] fortunes\/computers:1: !07\/11 PDP a ni deppart m'I !pleH$/m);
    expect(p).toMatch(/^ {2}11 tokens: \d+:"!" \d+:"07" \d+:"\/" \d+:"11" …$/m);
  });

  it('--json gives the dataset and the report; a CSV, bpe, --vocab-size, --test-fraction and --seed apply', async () => {
    const data = join(root, 'data');
    const a = io();
    const args = ['datasets', 'import', fixture('reviews.csv'), '--as', 'text', '--text-column', 'review', '--label-column', 'sentiment', '--tokenizer', 'bpe', '--vocab-size', '300', '--test-fraction', '0.25', '--seed', '3', '--json', '--data-dir', data];
    expect(await main(args, a.x)).toBe(0);
    const r = JSON.parse(a.out.join('\n')) as DatasetInfo & { text: TextImportReport };
    expect(r).toMatchObject({ id: 'text:reviews', kind: 'text', task: 'classification', classNames: ['negative', 'positive'], trainSize: 12, testSize: 4, inputShape: [128], vocabSize: 300, tokenizer: 'bpe' });
    expect(r.text).toMatchObject({ layout: 'csv', split: { seed: 3, testFraction: 0.25 }, tokenizer: { kind: 'bpe', vocabSize: 300 } });
    const b = io();
    expect(await main(['datasets', 'preview-text', 'text:reviews', '--json', '--data-dir', data], b.x)).toBe(0);
    const p = JSON.parse(b.out.join('\n')) as DatasetPreview;
    expect(p.tokenizer).toEqual({ kind: 'bpe', vocabSize: 300, seqLen: 128 });
    expect(p.texts!.length).toBe(6);
  });

  it('imports a corpus and prints tokens and windows', async () => {
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', fixture('fortunes'), '--as', 'corpus', '--split-on-percent', '--seq-len', '128', '--stride', '64', '--data-dir', data], a.x)).toBe(0);
    const text = a.out.join('\n');
    expect(text).toMatch(/^Imported corpus:fortunes from fortune files, '%' lines removed: 4 files \([\d.]+ KB\), in [\d.]+ s\.$/m);
    expect(text).toMatch(/^Tokenizer: char, \d+ ids; windows of 128 tokens \(\+1 target\), stride 64\.$/m);
    expect(text).toMatch(/^Tokens: [\d,]+ train \/ [\d,]+ test \(the last 10\.0% of the text\) -> [\d,]+ train \/ [\d,]+ test windows; /m);
    const b = io();
    expect(await main(['datasets', 'preview-text', 'corpus:fortunes', '--per-class', '2', '--data-dir', data], b.x)).toBe(0);
    expect(b.out.join('\n')).toMatch(/^window 2: tokens 64-192: /m);
  });

  it('reports a bad file with its name and byte offset, leaves no cache, --skip-bad goes on; refuses bad flags', async () => {
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', fixture('messy'), '--as', 'corpus', '--data-dir', data], a.x)).toBe(1);
    expect(a.err.join('\n')).toMatch(/messy\/blank\.txt holds no text \(only whitespace\)\./);
    const b = io();
    expect(await main(['datasets', 'import', fixture('messy'), '--as', 'corpus', '--skip-bad', '--seq-len', '4', '--test-fraction', '0.4', '--data-dir', data], b.x)).toBe(0);
    const out = b.out.join('\n');
    expect(out).toMatch(/^Skipped \d+:$/m);
    expect(out).toMatch(/^ {2}messy\/latin1\.txt is not UTF-8 text: byte 0xE9 at byte offset 25 \(line 2, column 4\)/m);
    expect(out).toMatch(/^Not read: 1 other file \(messy\/missing-text\.csv\); --json lists them\.$/m);
    expect(readdirSync(join(data, 'datasets'))).toEqual(['corpus-messy']);
    const c = io();
    expect(await main(['datasets', 'import', fixture('messy/classes'), '--as', 'text', '--data-dir', data], c.x)).toBe(1);
    expect(c.err.join('\n')).toMatch(/The class folder classes\/hollow\/ holds no \.txt file\./);
    expect(readdirSync(join(data, 'datasets'))).toEqual(['corpus-messy']);
    for (const [flags, msg] of [
      [['--tokenizer', 'sentencepiece'], /--tokenizer must be one of char, word, bpe, got 'sentencepiece'/],
      [['--seq-len', '0'], /--seq-len must be a whole number from 1 to 100,000, got '0'/],
      [['--vocab-size', 'many'], /--vocab-size must be a whole number/],
    ] as const) {
      const d = io();
      expect(await main(['datasets', 'import', fixture('reviews'), '--as', 'text', ...flags, '--data-dir', data], d.x)).toBe(2);
      expect(d.err.join('\n')).toMatch(msg);
    }
    const e = io();
    expect(await main(['datasets', 'import', fixture('reviews'), '--as', 'folder', '--seq-len', '8', '--data-dir', data], e.x)).toBe(2);
    expect(e.err.join('\n')).toMatch(/--seq-len applies to text imports only \(--as text or --as corpus\)/);
    const f = io();
    expect(await main(['datasets', 'preview-text', 'cifar10', '--data-dir', data], f.x)).toBe(2);
    expect(f.err.join('\n')).toMatch(/preview-text shows text datasets/);
  });
});
