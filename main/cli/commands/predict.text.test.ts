/**
 * `layerforge predict MODEL --text …` on a tiny text classifier trained here: class folders of made-up texts
 * (each class has its own words), imported with the word tokenizer, the text-lstm template fitted to them.
 * Also the refusals: a table model, a language model, --csv on a text model, and the usage errors.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../index';
import { io } from '../testing';
import { showTextPrediction, textPrediction, type CliTextPrediction } from './predict';

const WORDS: Record<string, string[]> = {
  birds: ['tweet', 'feather', 'nest', 'wing', 'beak', 'egg'],
  cats: ['meow', 'purr', 'whisker', 'claw', 'mouse', 'nap'],
  dogs: ['woof', 'bark', 'bone', 'fetch', 'leash', 'tail'],
};
const SHARED = ['the', 'a', 'pet', 'sees', 'and', 'then'];

let root = '';
let model = '';
const run = async (args: string[]) => {
  const r = io();
  const code = await main([...args, ...(args[0] === 'predict' ? [] : ['--data-dir', join(root, 'data')])], r.x);
  return { code, out: r.out.join('\n'), err: r.err.join('\n') };
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'lf-predict-text-'));
  const src = join(root, 'animals');
  for (const [c, words] of Object.entries(WORDS)) {
    mkdirSync(join(src, c), { recursive: true });
    for (let i = 0; i < 16; i++) {
      const text = Array.from({ length: 6 }, (_, t) => (t % 2 ? words[(i + t) % words.length]! : SHARED[(i * 3 + t) % SHARED.length]!)).join(' ');
      writeFileSync(join(src, c, `${i}.txt`), `${text}.\n`);
    }
  }
  const imp = await run(['datasets', 'import', src, '--as', 'text', '--name', 'animals', '--tokenizer', 'word', '--seq-len', '8', '--json']);
  expect(imp.code, imp.err).toBe(0);
  model = join(root, 'model');
  const train = await run(['train', 'resources/templates/text-lstm.json', '--dataset', 'text:animals', '--epochs', '25', '--lr', '0.01', '--batch-size', '16', '--backend', 'wasm', '--seed', '1', '--out', model, '--json']);
  expect(train.code, train.err).toBe(0);
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('layerforge predict --text', () => {
  it('prints each text with its class, confidence, top 3 and token counts', { timeout: 60_000 }, async () => {
    const r = await run(['predict', model, '--text', 'meow purr the cat naps on a whisker', '--text', 'woof woof bark at the bone\nand fetch']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('1. "meow purr the cat naps on a whisker"');
    expect(lines[1]).toMatch(/^ {3}cats \(\d+\.\d%\) {3}top 3: cats \d+\.\d%, (birds|dogs) \d+\.\d%, (birds|dogs) \d+\.\d% {3}\[8 tokens, 3 unknown\]$/);
    expect(lines[2]).toBe('2. "woof woof bark at the bone and fetch"'); // on one line
    expect(lines[3]).toMatch(/^ {3}dogs \(\d+\.\d%\)/);
  });

  it('--json: class names and, per text, the probabilities, top 3, tokens, cut and unknown', { timeout: 60_000 }, async () => {
    const long = Array.from({ length: 12 }, () => 'tweet').join(' ');
    const r = await run(['predict', model, '--text', long, '--text', 'zebra', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { classNames: string[]; items: CliTextPrediction[] };
    expect(j.classNames).toEqual(['birds', 'cats', 'dogs']);
    expect(j.items).toHaveLength(2);
    const [a, b] = j.items;
    expect(a).toMatchObject({ text: long, predicted: 'birds', tokens: 12, truncated: true, unknown: 0 });
    expect(a!.probabilities.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    expect(a!.confidence).toBe(Math.max(...a!.probabilities));
    expect(a!.top.map((t) => t.class)[0]).toBe('birds');
    expect(a!.top).toHaveLength(3);
    expect(b).toMatchObject({ text: 'zebra', tokens: 1, truncated: false, unknown: 1 });
  });

  it('refuses a model that is not a text classifier, and --csv on a text model', { timeout: 240_000 }, async () => {
    const tables = await run(['datasets', 'import', resolve('resources/fixtures/tables/iris.csv'), '--as', 'table', '--target', 'species', '--name', 'iris', '--json']);
    expect(tables.code, tables.err).toBe(0);
    const tableModel = join(root, 'iris-model');
    expect((await run(['train', 'resources/templates/tabular-classifier.json', '--dataset', 'table:iris', '--epochs', '1', '--backend', 'wasm', '--out', tableModel, '--json'])).code).toBe(0);
    const t = await run(['predict', tableModel, '--text', 'hello']);
    expect(t.code).toBe(1);
    expect(t.err).toBe(`layerforge predict: ${tableModel} is not a text classifier (it was trained on a table: predict its rows with --csv): predict --text takes a model folder trained on labelled text (\`layerforge datasets import … --as text\`)`);

    const corpus = await run(['datasets', 'import', resolve('resources/fixtures/text/fortunes/love'), '--as', 'corpus', '--name', 'love', '--split-on-percent', '--seq-len', '16']);
    expect(corpus.code, corpus.err).toBe(0);
    const lm = join(root, 'lm');
    const lmTrain = await run(['train', 'resources/templates/mini-gpt.json', '--dataset', 'corpus:love', '--epochs', '1', '--limit', '8', '--backend', 'wasm', '--out', lm, '--json']);
    expect(lmTrain.code, lmTrain.err).toBe(0);
    const g = await run(['predict', lm, '--text', 'hello']);
    expect(g.code).toBe(1);
    expect(g.err).toMatch(/is not a text classifier \(it is a language model, trained on a corpus: continue a prompt with `layerforge generate`\)/);

    const csv = await run(['predict', model, '--csv', resolve('resources/fixtures/tables/iris.csv')]);
    expect(csv.code).toBe(1);
    expect(csv.err).toMatch(/holds no preprocessing\.json: it was not trained on a table dataset \(predict --csv takes table models; this one reads text: use --text TEXT\)/);
  });

  it('usage errors: neither or both of --csv and --text, --out with --text', async () => {
    expect((await run(['predict', model])).err).toMatch(/--csv FILE \(table models\) or --text TEXT \(text classifiers\) is required/);
    expect((await run(['predict', model, '--csv', 'x.csv', '--text', 'a'])).err).toMatch(/give either --csv FILE \(a table model\) or --text TEXT \(a text classifier\), not both/);
    const r = await run(['predict', model, '--text', 'a', '--out', 'x.csv']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out writes CSV rows: it goes with --csv, not --text/);
  });

  it('orders the top 3 by probability (ties by class order) and cuts long texts on one line', () => {
    const p = textPrediction('a\n\nb', [0.2, 0.5, 0.2, 0.1], ['w', 'x', 'y', 'z'], { tokens: 2, truncated: false, unknown: 0 });
    expect(p).toMatchObject({ predicted: 'x', confidence: 0.5, top: [{ class: 'x', probability: 0.5 }, { class: 'w', probability: 0.2 }, { class: 'y', probability: 0.2 }] });
    expect(showTextPrediction(p, 0)).toEqual(['1. "a b"', '   x (50.0%)   top 3: x 50.0%, w 20.0%, y 20.0%   [2 tokens]']);
    const long = textPrediction('x'.repeat(100), [1], ['only'], { tokens: 1, truncated: true, unknown: 1 });
    expect(showTextPrediction(long, 2)).toEqual([`3. "${'x'.repeat(69)}…"`, '   only (100.0%)   top 3: only 100.0%   [1 token, cut to the model\'s length, 1 unknown]']);
  });
});
