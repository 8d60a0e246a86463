import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random';
import { TextError } from './errors';
import { splitChunks, splitWords } from './split';
import { decode, encode, encodePadded, parseTokenizer, tokenString, trainTokenizer, vocabSize } from './tokenizer';
import type { BpeTokenizer, CharTokenizer, WordTokenizer } from './types';

const MESSY = [
  'Hello, World! \u00e9t\u00e9 na\u00efve caf\u00e9 \u2014 "quoted" and \'single\'.',
  'Emoji \ud83d\ude00\ud83d\udc4d\ud83c\udffd family \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67, CJK \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8, Greek \u03b1\u03b2\u03b3, Arabic \u0645\u0631\u062d\u0628\u0627',
  'combining e\u0301 a\u0308, tabs\tand\r\nCRLF, NUL-free control \u0007 chars, zero-width\u200bspace',
  '    leading spaces, trailing   \n\n\n  blank lines   ',
  '1234567890 3.14159 x=y+z; a_b_c don\u2019t l\u2019homme',
  '',
];

/** A deterministic English-like corpus of about `bytes` bytes: Zipf-distributed pseudo-words in sentences. */
export function syntheticCorpus(bytes: number, seed = 7): string {
  const rand = mulberry32(seed);
  const syll = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'qu', 'ex', 'th', 'an', 'er', 'in', 'on', 'st', 'ing', 'ed', 'ly', 'pre'];
  const words: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    let w = '';
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) w += syll[Math.floor(rand() * syll.length)];
    words.push(w);
  }
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const len = 5 + Math.floor(rand() * 15);
    const s: string[] = [];
    for (let k = 0; k < len; k++) s.push(words[Math.floor(words.length * rand() ** 3)]!);
    const sentence = `${s.join(' ')}${rand() < 0.8 ? '.' : '?'} `;
    out.push(sentence);
    size += sentence.length;
  }
  return out.join('');
}

describe('splitting', () => {
  it('words: Unicode letters, marks, digits, inner apostrophes; punctuation and emoji one by one', () => {
    expect(splitWords("Don't panic, l\u2019homme! caf\u00e9 e\u0301t\u00e9 42km \u65e5\u672c \ud83d\ude00.")).toEqual([
      "Don't", 'panic', ',', 'l\u2019homme', '!', 'caf\u00e9', 'e\u0301t\u00e9', '42km', '\u65e5\u672c', '\ud83d\ude00', '.',
    ]);
    expect(splitWords('  \n\t ')).toEqual([]);
  });

  it('chunks concatenate back to the text, runs are capped at 64 characters', () => {
    for (const t of [...MESSY, 'x'.repeat(1000), ' '.repeat(300) + 'a', '!!!!'.repeat(50)]) {
      const chunks = splitChunks(t);
      expect(chunks.join('')).toBe(t);
      for (const c of chunks) expect([...c].length).toBeLessThanOrEqual(65);
    }
    expect(splitChunks("Hello world  it's 2024!")).toEqual(['Hello', ' world', ' ', ' it', "'s", ' 2024', '!']);
  });
});

describe('char tokenizer', () => {
  it('has PAD=0, OOV=1, then every character of the training texts by frequency; round-trips them', () => {
    const tok = trainTokenizer('char', ['abca', 'b\ud83d\ude00']) as CharTokenizer;
    expect(tok).toMatchObject({ format: 'layerforge-tokenizer', version: 1, kind: 'char', pad: 0, oov: 1 });
    expect(tok.tokens).toEqual(['<pad>', '<unk>', 'a', 'b', 'c', '\ud83d\ude00']);
    expect(vocabSize(tok)).toBe(6);
    expect(encode(tok, 'cab\ud83d\ude00')).toEqual([4, 2, 3, 5]);
    expect(encode(tok, 'axz')).toEqual([2, 1, 1]);
    expect(decode(tok, [4, 2, 0, 0])).toBe('ca');
    expect(decode(tok, [2, 1])).toBe('a\ufffd');
    const all = trainTokenizer('char', MESSY);
    for (const t of MESSY) expect(decode(all, encode(all, t))).toBe(t);
    expect(tokenString(all, 0)).toBe('<pad>');
    expect(tokenString(all, 1)).toBe('<unk>');
  });

  it('caps the vocabulary by frequency when asked', () => {
    const tok = trainTokenizer('char', ['aaaabbbccd'], { vocabSize: 4 }) as CharTokenizer;
    expect(tok.tokens).toEqual(['<pad>', '<unk>', 'a', 'b']);
    expect(encode(tok, 'abcd')).toEqual([2, 3, 1, 1]);
  });
});

describe('word tokenizer', () => {
  it('lower-cases when asked, keeps the most frequent words, OOV for the rest', () => {
    const tok = trainTokenizer('word', ['The cat sat. The dog sat!', 'the END'], { vocabSize: 6, lowercase: true }) as WordTokenizer;
    expect(tok).toMatchObject({ kind: 'word', lowercase: true, split: 'words-v1', pad: 0, oov: 1 });
    expect(tok.tokens).toEqual(['<pad>', '<unk>', 'the', 'sat', '!', '.']);
    expect(encode(tok, 'THE cat sat.')).toEqual([2, 1, 3, 5]);
    expect(decode(tok, [2, 1, 3, 5, 0, 0])).toBe('the <unk> sat.');
    expect(vocabSize(tok)).toBe(6);
    const cased = trainTokenizer('word', ['The the']) as WordTokenizer;
    expect(cased).toMatchObject({ lowercase: false, tokens: ['<pad>', '<unk>', 'The', 'the'] });
  });

  it('the default cap is 20,000 ids', () => {
    const text = Array.from({ length: 25_000 }, (_, i) => `w${i}`).join(' ');
    expect(vocabSize(trainTokenizer('word', [text]))).toBe(20_000);
  });
});

describe('byte-level BPE', () => {
  it('learns the textbook merges of "aaabdaaabac" (ties: the smaller pair) and encodes with them', () => {
    const tok = trainTokenizer('bpe', ['aaabdaaabac'], { vocabSize: 300 }) as BpeTokenizer;
    // bytes are ids byte+1: a=98, b=99, c=100, d=101; merges get 257, 258, …
    expect(tok.merges).toEqual([[98, 98], [98, 99], [257, 258]]);
    expect(vocabSize(tok)).toBe(260);
    expect(encode(tok, 'aaabdaaabac')).toEqual([259, 101, 259, 98, 100]);
    expect(tokenString(tok, 259)).toBe('aaab');
    expect(tokenString(tok, 98)).toBe('a');
    expect(decode(tok, [259, 101, 0, 259])).toBe('aaabdaaab');
  });

  it('never merges across chunks (words and spaces)', () => {
    const tok = trainTokenizer('bpe', ['ab ab ab ab'], { vocabSize: 400 }) as BpeTokenizer;
    for (const [a, b] of tok.merges) expect(tokenString(tok, a) + tokenString(tok, b)).not.toMatch(/b /);
    expect(tokenString(tok, 257 + tok.merges.length - 1)).toBe(' ab');
  });

  it('round-trips any text exactly, including characters never seen in training', () => {
    const tok = trainTokenizer('bpe', [syntheticCorpus(50_000)], { vocabSize: 500 });
    expect(vocabSize(tok)).toBe(500);
    for (const t of MESSY) expect(decode(tok, encode(tok, t))).toBe(t);
    const rand = mulberry32(3);
    for (let k = 0; k < 200; k++) {
      let s = '';
      const n = Math.floor(rand() * 40);
      for (let i = 0; i < n; i++) {
        const r = rand();
        const cp = r < 0.5 ? 32 + Math.floor(rand() * 95) : r < 0.8 ? 0x80 + Math.floor(rand() * 0x780) : r < 0.95 ? 0x800 + Math.floor(rand() * 0xd000) : 0x10000 + Math.floor(rand() * 0x10000);
        if (cp >= 0xd800 && cp < 0xe000) continue;
        s += String.fromCodePoint(cp);
      }
      expect(decode(tok, encode(tok, s))).toBe(s);
    }
    // Merged tokens make the text shorter than its bytes.
    const sample = syntheticCorpus(2_000, 99);
    expect(encode(tok, sample).length).toBeLessThan(new TextEncoder().encode(sample).length / 2);
  });

  it('a token that is part of a character shows its bytes', () => {
    const tok = trainTokenizer('bpe', ['\u00e9\u00e9\u00e9\u00e9 \u00e9\u00e9'], { vocabSize: 260 });
    expect(tokenString(tok, 0xc3 + 1)).toBe('<0xC3>');
  });

  it('is deterministic: the same texts give the same JSON, in any run', () => {
    const texts = [syntheticCorpus(20_000, 5), ...MESSY];
    for (const kind of ['char', 'word', 'bpe'] as const) {
      const a = JSON.stringify(trainTokenizer(kind, texts, kind === 'bpe' ? { vocabSize: 400 } : {}));
      const b = JSON.stringify(trainTokenizer(kind, texts.slice(), kind === 'bpe' ? { vocabSize: 400 } : {}));
      expect(a).toBe(b);
    }
  });

  it('trains a 2,000-token vocabulary on 1 MB in a few seconds and encodes 1 MB fast', () => {
    const corpus = syntheticCorpus(1_000_000);
    const t0 = performance.now();
    const tok = trainTokenizer('bpe', [corpus], { vocabSize: 2_000 });
    const trainMs = performance.now() - t0;
    expect(vocabSize(tok)).toBe(2_000);
    const t1 = performance.now();
    const ids = encode(tok, corpus);
    const encodeMs = performance.now() - t1;
    expect(decode(tok, ids)).toBe(corpus);
    console.log(`BPE on 1 MB: train 2,000 tokens ${trainMs.toFixed(0)} ms, encode ${encodeMs.toFixed(0)} ms (${ids.length} ids)`);
    expect(trainMs).toBeLessThan(5_000);
    expect(encodeMs).toBeLessThan(3_000);
  }, 30_000);

  it('refuses vocabulary sizes below its 257 base ids', () => {
    expect(() => trainTokenizer('bpe', ['x'], { vocabSize: 100 })).toThrow(/from 257 to/);
    expect(() => trainTokenizer('word', ['x'], { vocabSize: 1.5 })).toThrow(TextError);
  });
});

describe('encodePadded', () => {
  it('pads with PAD at the end or cuts after T ids, and says which', () => {
    const tok = trainTokenizer('char', ['abc']);
    expect(encodePadded(tok, 'ab', 4)).toEqual({ ids: Int32Array.from([2, 3, 0, 0]), length: 2, truncated: false });
    expect(encodePadded(tok, 'abcabc', 4)).toEqual({ ids: Int32Array.from([2, 3, 4, 2]), length: 6, truncated: true });
  });
});

describe('parseTokenizer', () => {
  it('accepts what trainTokenizer makes (after a JSON round trip) and refuses damaged ones with the reason', () => {
    for (const kind of ['char', 'word', 'bpe'] as const) {
      const tok = trainTokenizer(kind, MESSY, kind === 'bpe' ? { vocabSize: 300 } : {});
      const back = parseTokenizer(JSON.parse(JSON.stringify(tok)));
      expect(back).toEqual(tok);
      for (const t of MESSY.slice(0, 3)) expect(encode(back, t)).toEqual(encode(tok, t));
    }
    expect(() => parseTokenizer({ format: 'x' }, 'model/tokenizer.json')).toThrow(/model\/tokenizer\.json is not a usable tokenizer: format is "x"/);
    expect(() => parseTokenizer({ format: 'layerforge-tokenizer', version: 2, pad: 0, kind: 'char' })).toThrow(/version 2 is not supported/);
    expect(() => parseTokenizer({ format: 'layerforge-tokenizer', version: 1, pad: 0, kind: 'bpe', pretokenizer: 'chunks-v1', byteOffset: 1, merges: [[300, 1]] })).toThrow(/merge 0 must be a pair/);
    expect(() => parseTokenizer({ format: 'layerforge-tokenizer', version: 1, pad: 0, oov: 1, kind: 'char', tokens: ['<pad>', '<unk>', 'ab'] })).toThrow(/one character/);
    expect(() => parseTokenizer([])).toThrow(/not a JSON object/);
  });
});
