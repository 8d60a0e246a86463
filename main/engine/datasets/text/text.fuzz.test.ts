/**
 * Property tests of the text importers on hostile input: every outcome is a ready dataset or a TextError,
 * never another exception or a crash; a ready dataset holds ids inside its vocabulary and labels inside its
 * classes; a failure leaves no cache folder and no temporary file. Limits are lowered so each case stays small;
 * the whole file runs in a few seconds.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isTextError } from '../../../../shared/text/errors';
import { vocabSize } from '../../../../shared/text/tokenizer';
import { importCorpus, importText, readCorpusCache, readTextCache, type TextImportRequest } from './index';

const tmp = mkdtempSync(join(tmpdir(), 'lf-text-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'data');
const LIMITS = { maxLineChars: 500, maxExampleChars: 2_000, maxFileBytes: 20_000, maxTotalBytes: 100_000, maxFiles: 50, maxTokens: 50_000 };
const entries = () => (existsSync(join(data, 'datasets')) ? readdirSync(join(data, 'datasets')) : []);

let k = 0;
/** Writes files (relative path -> bytes; a path ending in '/' makes an empty folder) into a fresh folder. */
function folder(files: [string, Uint8Array][]): string {
  const dir = join(tmp, `in-${++k}`);
  mkdirSync(dir);
  for (const [f, b] of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    if (f.endsWith('/')) mkdirSync(join(dir, f), { recursive: true });
    else writeFileSync(join(dir, f), b);
  }
  return dir;
}

/** Imports and checks the outcome; leaves the cache empty again. Returns 'ok' or the error code. */
async function checked(kind: 'text' | 'corpus', path: string, opts: TextImportRequest): Promise<string> {
  try {
    const r = await (kind === 'text' ? importText : importCorpus)(path, data, { name: 'fuzz', limits: LIMITS, ...opts });
    const ds = await (kind === 'text' ? readTextCache : readCorpusCache)(r.info.cachePath!, r.info.id);
    const V = vocabSize(ds.text!.tokenizer);
    expect(r.info.vocabSize).toBe(V);
    for (const s of [ds.train, ds.test]) {
      const ids = s.tokens ?? s.stream!;
      for (const id of ids) expect(id >= 0 && id < V).toBe(true);
      for (const l of s.labels) expect(l < Math.max(1, ds.info.classNames.length)).toBe(true);
    }
    expect(entries()).toEqual([`${kind}-fuzz`]);
    rmSync(join(data, 'datasets'), { recursive: true, force: true });
    return 'ok';
  } catch (error) {
    if (!isTextError(error)) throw error;
    expect(error.message.length).toBeGreaterThan(10);
    expect(entries()).toEqual([]);
    return error.code;
  }
}

const FORTUNE_A = Buffer.from('A first joke about computers.\n%\nAnother one, with caf\u00e9 and \u65e5\u672c.\n%\n\tIndented\n  lines here\n%\n');
const FORTUNE_B = Buffer.from('Food is good.\n%\nPie is better than cake.\n%\nSoup!\n%\nBread and butter.\n');
const SPECIAL = [0x25, 0x0a, 0x0d, 0x00, 0xff, 0xfe, 0xc3, 0xe2, 0x82, 0xed, 0xa0, 0xef, 0xbb, 0xbf, 0x20, 0x09, 0x61, 0x2c, 0x22];
const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'delete'), byte: fc.oneof(fc.constantFrom(...SPECIAL), fc.integer({ min: 0, max: 255 })) });

function mutate(src: Uint8Array, ms: { at: number; op: string; byte: number }[]): Uint8Array {
  const bytes = [...src];
  for (const m of ms) {
    const at = m.at % (bytes.length + 1);
    if (m.op === 'set' && at < bytes.length) bytes[at] = m.byte;
    else if (m.op === 'insert') bytes.splice(at, 0, m.byte);
    else bytes.splice(at, 1);
  }
  return Uint8Array.from(bytes);
}

describe('text import on hostile input', () => {
  it('mutated bytes of fortune files: labelled text and corpus', async () => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.constantFrom('char', 'word', 'bpe' as const), async (ms, corpus, tokenizer) => {
        const dir = folder([['a', mutate(FORTUNE_A, ms)], ['b', FORTUNE_B]]);
        codes.add(await checked(corpus ? 'corpus' : 'text', dir, { splitOnPercent: true, tokenizer, seqLen: 8, testFraction: 0.3, ...(tokenizer === 'bpe' ? { vocabSize: 300 } : {}) }));
      }),
      { numRuns: 200 },
    );
    expect(codes.has('ok')).toBe(true);
    expect(codes.size).toBeGreaterThan(1);
  }, 20_000);

  it('mutated CSV files', async () => {
    const csv = Buffer.from('text,label\n"one, two",a\nthree,b\n"four\nfive",a\nsix,b\nseven,a\n');
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.boolean(), async (ms, skipBad) => {
        const dir = folder([['t.csv', mutate(csv, ms)]]);
        await checked('text', join(dir, 't.csv'), { seqLen: 6, tokenizer: 'char', skipBad });
      }),
      { numRuns: 200 },
    );
  }, 20_000);

  it('huge lines, huge files, many files, empty folders and files, hidden files', async () => {
    const file = fc.oneof(
      fc.constantFrom('short text', '', '   \n', 'line\n'.repeat(50), '%\n%\n', 'x'.repeat(600), 'y\n'.repeat(12_000)).map((t) => Buffer.from(t)),
      fc.uint8Array({ maxLength: 64 }),
    );
    const path = fc.tuple(fc.constantFrom('a', 'b', 'c', 'train', 'test', '.hidden'), fc.constantFrom('', 'sub/'), fc.constantFrom('1.txt', '2.txt', 'x.md', 'y', 'z.dat', '')).map(([d, s, f]) => `${d}/${s}${f}`);
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(path, file), { maxLength: 8 }), fc.constantFrom('text', 'corpus' as const), fc.boolean(), fc.boolean(), async (files, kind, splitOnPercent, skipBad) => {
        const dir = folder(files.map(([p, b]) => [p, b] as [string, Uint8Array]));
        codes.add(await checked(kind, dir, { splitOnPercent, skipBad, tokenizer: 'char', seqLen: 4, testFraction: 0.4 }));
      }),
      { numRuns: 200 },
    );
    expect([...codes]).toEqual(expect.arrayContaining(['ok', 'line-too-long', 'no-data']));
    // More files than the limit, and more bytes than the limit.
    const many = folder(Array.from({ length: 60 }, (_, i) => [`c${i % 2}/${i}.txt`, Buffer.from(`text ${i}`)] as [string, Uint8Array]));
    expect(await checked('text', many, {})).toBe('too-large');
    const big = folder(Array.from({ length: 8 }, (_, i) => [`c${i % 2}/${i}.txt`, Buffer.from(`${'word '.repeat(90)}\n`.repeat(40))] as [string, Uint8Array]));
    expect(await checked('text', big, { limits: { ...LIMITS, maxExampleChars: 100_000 } })).toBe('too-large');
  }, 20_000);
});
