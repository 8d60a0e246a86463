/**
 * Training, using and checking tokenizers (format: types.ts). Pure TypeScript, so the engine, the renderer and
 * exports all encode text the same way. Tokenizer objects are plain JSON and treated as immutable: the lookup
 * tables built from one are cached beside it (WeakMap) on first use.
 */
import { bpeRanks, byteIds, encodeChunk, FIRST_MERGE, trainBpe, BYTE_OFFSET, type BpeRanks } from './bpe';
import { TextError } from './errors';
import { forEachChunk, splitWords } from './split';
import {
  DEFAULT_VOCAB_SIZE,
  MAX_VOCAB_SIZE,
  OOV_ID,
  OOV_TOKEN,
  PAD_ID,
  PAD_TOKEN,
  TOKENIZER_KINDS,
  type BpeTokenizer,
  type CharTokenizer,
  type Tokenizer,
  type TokenizerKind,
  type TokenizerOptions,
  type WordTokenizer,
} from './types';

const fmt = (n: number) => String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** Most frequent first; ties in code-unit order (deterministic). */
function byFrequency(counts: Map<string, number>): string[] {
  return [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([t]) => t);
}

function checkVocabSize(kind: TokenizerKind, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const min = kind === 'bpe' ? FIRST_MERGE : 3;
  if (!Number.isInteger(v) || v < min || v > MAX_VOCAB_SIZE) {
    throw new TextError('bad-option', `The vocabulary size of a ${kind} tokenizer must be a whole number from ${fmt(min)} to ${fmt(MAX_VOCAB_SIZE)}${kind === 'bpe' ? ' (PAD and the 256 bytes take 257 ids)' : ' (PAD and OOV take 2 ids)'}, got ${v}.`);
  }
  return v;
}

/**
 * Trains a tokenizer of `kind` on `texts` (the training split): characters, words or byte-pair merges, most
 * frequent first, capped by `opts.vocabSize` (see types.ts for the defaults).
 */
export function trainTokenizer(kind: TokenizerKind, texts: readonly string[], opts: TokenizerOptions = {}): Tokenizer {
  if (!TOKENIZER_KINDS.includes(kind)) throw new TextError('bad-option', `Unknown tokenizer '${String(kind)}': use ${TOKENIZER_KINDS.join(', ')}.`);
  const cap = checkVocabSize(kind, opts.vocabSize ?? DEFAULT_VOCAB_SIZE[kind]);
  let chars = 0;
  for (const t of texts) chars += t.length;
  const trainedOn = { texts: texts.length, chars };
  if (kind === 'char') {
    const counts = new Map<string, number>();
    for (const t of texts) for (const ch of t) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    const sorted = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0].codePointAt(0)! - y[0].codePointAt(0)!).map(([c]) => c);
    const tokens = [PAD_TOKEN, OOV_TOKEN, ...(cap ? sorted.slice(0, cap - 2) : sorted)];
    const tok: CharTokenizer = { format: 'layerforge-tokenizer', version: 1, kind: 'char', pad: 0, oov: 1, tokens, trainedOn };
    return tok;
  }
  if (kind === 'word') {
    const lowercase = opts.lowercase ?? false;
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of splitWords(lowercase ? t.toLowerCase() : t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const sorted = byFrequency(counts);
    const tokens = [PAD_TOKEN, OOV_TOKEN, ...sorted.slice(0, (cap ?? MAX_VOCAB_SIZE) - 2)];
    const tok: WordTokenizer = { format: 'layerforge-tokenizer', version: 1, kind: 'word', pad: 0, oov: 1, lowercase, split: 'words-v1', tokens, trainedOn };
    return tok;
  }
  const merges = trainBpe(texts, { vocabSize: cap ?? DEFAULT_VOCAB_SIZE.bpe!, ...(opts.minFrequency !== undefined ? { minFrequency: opts.minFrequency } : {}) });
  const tok: BpeTokenizer = { format: 'layerforge-tokenizer', version: 1, kind: 'bpe', pad: 0, pretokenizer: 'chunks-v1', byteOffset: 1, merges, trainedOn };
  return tok;
}

/** The number of ids (an Embedding's inputDim, a language model's output units). */
export function vocabSize(tok: Tokenizer): number {
  return tok.kind === 'bpe' ? FIRST_MERGE + tok.merges.length : tok.tokens.length;
}

interface Lookup {
  ids?: Map<string, number>;
  bpe?: BpeRanks;
  /** BPE: the bytes of every id. */
  bytes?: Uint8Array[];
}
const lookups = new WeakMap<Tokenizer, Lookup>();

function lookup(tok: Tokenizer): Lookup {
  let l = lookups.get(tok);
  if (!l) {
    l = tok.kind === 'bpe' ? { bpe: bpeRanks(tok.merges) } : { ids: new Map(tok.tokens.map((t, i) => [t, i] as const).filter(([, i]) => i > OOV_ID)) };
    lookups.set(tok, l);
  }
  return l;
}

function bpeBytes(tok: BpeTokenizer): Uint8Array[] {
  const l = lookup(tok);
  if (!l.bytes) {
    const bytes: Uint8Array[] = [new Uint8Array(0)];
    for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
    for (const [a, b] of tok.merges) {
      const x = bytes[a]!;
      const y = bytes[b]!;
      const m = new Uint8Array(x.length + y.length);
      m.set(x);
      m.set(y, x.length);
      bytes.push(m);
    }
    l.bytes = bytes;
  }
  return l.bytes;
}

/** The ids of a text (no padding, no cut). */
export function encode(tok: Tokenizer, text: string): number[] {
  const l = lookup(tok);
  if (tok.kind === 'char') {
    const out: number[] = [];
    for (const ch of text) out.push(l.ids!.get(ch) ?? OOV_ID);
    return out;
  }
  if (tok.kind === 'word') {
    return splitWords(tok.lowercase ? text.toLowerCase() : text).map((w) => l.ids!.get(w) ?? OOV_ID);
  }
  const out: number[] = [];
  forEachChunk(text, (c) => {
    for (const id of encodeChunk(l.bpe!, c)) out.push(id);
  });
  return out;
}

/** Closing punctuation decode() writes without a space before it. */
const NO_SPACE_BEFORE = new Set(['.', ',', '!', '?', ';', ':', ')', ']', '}', '%', '\u2026']);
const NO_SPACE_AFTER = new Set(['(', '[', '{']);

/** The text of ids; PAD is skipped. Char and BPE give back the text exactly; word joins words by spaces (lossy). */
export function decode(tok: Tokenizer, ids: ArrayLike<number>): string {
  if (tok.kind === 'char') {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === PAD_ID) continue;
      s += id === OOV_ID ? '\uFFFD' : (tok.tokens[id] ?? '\uFFFD');
    }
    return s;
  }
  if (tok.kind === 'word') {
    let s = '';
    let prev = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === PAD_ID) continue;
      const w = id === OOV_ID ? OOV_TOKEN : (tok.tokens[id] ?? OOV_TOKEN);
      if (s && !NO_SPACE_BEFORE.has(w) && !NO_SPACE_AFTER.has(prev)) s += ' ';
      s += w;
      prev = w;
    }
    return s;
  }
  const table = bpeBytes(tok);
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += table[ids[i]!]?.length ?? 0;
  const bytes = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = table[ids[i]!];
    if (!b) continue;
    bytes.set(b, at);
    at += b.length;
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** One id as text, for previews: the character or word, a BPE token's text (or its bytes as <0xAB> when not whole UTF-8), <pad>, <unk>. */
export function tokenString(tok: Tokenizer, id: number): string {
  if (id === PAD_ID) return PAD_TOKEN;
  if (tok.kind !== 'bpe') return id === OOV_ID ? OOV_TOKEN : (tok.tokens[id] ?? OOV_TOKEN);
  const b = bpeBytes(tok)[id];
  if (!b) return OOV_TOKEN;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return Array.from(b, (x) => `<0x${x.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
  }
}

/** A text as exactly `length` ids: cut after `length` ids, or padded with PAD (0) at the end. */
export function encodePadded(tok: Tokenizer, text: string, length: number): { ids: Int32Array; length: number; truncated: boolean } {
  const all = encode(tok, text);
  const ids = new Int32Array(length);
  const n = Math.min(all.length, length);
  for (let i = 0; i < n; i++) ids[i] = all[i]!;
  return { ids, length: all.length, truncated: all.length > length };
}

/** The ids of a BPE chunk's bytes before merges (tests, exports). */
export { byteIds, BYTE_OFFSET, FIRST_MERGE };

/**
 * Checks that a value is a `layerforge-tokenizer` version 1 (from a model folder, an export, a cache) and
 * returns it typed; a TextError 'bad-tokenizer' naming the problem otherwise.
 */
export function parseTokenizer(value: unknown, where = 'the tokenizer'): Tokenizer {
  const bad = (why: string): never => {
    throw new TextError('bad-tokenizer', `${where} is not a usable tokenizer: ${why}.`);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v.format !== 'layerforge-tokenizer') bad(`format is ${JSON.stringify(v.format)}, expected "layerforge-tokenizer"`);
  if (v.version !== 1) bad(`version ${JSON.stringify(v.version)} is not supported (this Layerforge reads version 1)`);
  if (v.pad !== 0) bad('pad must be 0');
  if (v.kind === 'char' || v.kind === 'word') {
    if (v.oov !== 1) bad('oov must be 1');
    const tokens = v.tokens;
    if (!Array.isArray(tokens) || tokens.length < 2 || tokens.length > MAX_VOCAB_SIZE || !tokens.every((t) => typeof t === 'string')) bad(`tokens must be a list of 2 to ${fmt(MAX_VOCAB_SIZE)} strings`);
    const list = tokens as string[];
    if (list[0] !== PAD_TOKEN || list[1] !== OOV_TOKEN) bad(`tokens must start with "${PAD_TOKEN}" and "${OOV_TOKEN}"`);
    if (new Set(list).size !== list.length) bad('tokens has a repeated entry');
    if (v.kind === 'char' && list.slice(2).some((t) => [...t].length !== 1)) bad('a char tokenizer token must be one character');
    if (v.kind === 'word' && (typeof v.lowercase !== 'boolean' || v.split !== 'words-v1')) bad('a word tokenizer needs lowercase (true/false) and split "words-v1"');
    return value as Tokenizer;
  }
  if (v.kind === 'bpe') {
    if (v.pretokenizer !== 'chunks-v1' || v.byteOffset !== 1) bad('a bpe tokenizer needs pretokenizer "chunks-v1" and byteOffset 1');
    const merges = v.merges;
    if (!Array.isArray(merges) || merges.length > MAX_VOCAB_SIZE) bad('merges must be a list');
    (merges as unknown[]).forEach((m, i) => {
      const ok = Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && (x as number) >= BYTE_OFFSET && (x as number) < FIRST_MERGE + i);
      if (!ok) bad(`merge ${i} must be a pair of ids from 1 to ${FIRST_MERGE + i - 1} (bytes or earlier merges)`);
    });
    return value as Tokenizer;
  }
  return bad(`kind ${JSON.stringify(v.kind)} is not one of ${TOKENIZER_KINDS.join(', ')}`);
}
