/**
 * The tokenizer format, `layerforge-tokenizer` version 1: plain JSON, trained on a dataset's training split at
 * import, stored with the dataset (`tokenizer.json` in its cache folder) and meant to be copied into every model
 * folder and export, so that encoding new text never depends on the cache. Every kind shares these rules:
 *
 * - ids are 0 … vocabSize-1; id 0 is PAD (what sequences are padded with, skipped by decode);
 * - `char` and `word` have id 1 = OOV (a character or word the training split did not have);
 * - `tokens[id]` (char, word) is the token's text; `<pad>` and `<unk>` name the two special ids.
 *
 * Kinds:
 * - `char`: one token per Unicode code point (not UTF-16 unit). `tokens` lists PAD, OOV, then the training
 *   split's characters, most frequent first (ties by code point), at most `vocabSize` ids in all when capped.
 *   Decoding renders OOV as U+FFFD.
 * - `word`: the text (lower-cased first when `lowercase`) is split by `split` = 'words-v1' (see WORD_PATTERN:
 *   runs of letters, marks, digits and '_' with inner apostrophes, or any other single non-space character).
 *   `tokens` lists PAD, OOV, then the training words most frequent first (ties: code-unit order), capped at
 *   `vocabSize` ids. Decoding is lossy: tokens joined by spaces (none before closing punctuation), OOV as `<unk>`.
 * - `bpe`: byte-level byte-pair encoding. The text is cut into chunks by `pretokenizer` = 'chunks-v1' (see
 *   CHUNK_PATTERN: GPT-2's pattern with runs capped at 64 characters); each chunk is UTF-8 encoded; byte b is id
 *   b + `byteOffset` (= 1, so bytes are ids 1 … 256); `merges[i] = [a, b]` makes id 257 + i from the adjacent
 *   pair (a, b). Encoding a chunk repeatedly merges, everywhere left to right, the adjacent pair whose merge has
 *   the lowest index, until none applies. Decoding concatenates the bytes and reads them as UTF-8, so
 *   encode/decode round-trips any text exactly. There is no OOV. vocabSize = 257 + merges.length.
 */

export type TokenizerKind = 'char' | 'word' | 'bpe';
export const TOKENIZER_KINDS: readonly TokenizerKind[] = ['char', 'word', 'bpe'];

export const PAD_ID = 0;
export const OOV_ID = 1;
export const PAD_TOKEN = '<pad>';
export const OOV_TOKEN = '<unk>';

interface TokenizerBase {
  format: 'layerforge-tokenizer';
  version: 1;
  /** Id of the padding token: always 0. */
  pad: 0;
  /** What it was trained on, for the record. */
  trainedOn?: { texts: number; chars: number };
}

export interface CharTokenizer extends TokenizerBase {
  kind: 'char';
  /** Id of the out-of-vocabulary token: always 1. */
  oov: 1;
  /** Token text by id: PAD_TOKEN, OOV_TOKEN, then one code point each. */
  tokens: string[];
}

export interface WordTokenizer extends TokenizerBase {
  kind: 'word';
  oov: 1;
  /** Text is lower-cased before splitting. */
  lowercase: boolean;
  /** The word split: 'words-v1' (WORD_PATTERN). */
  split: 'words-v1';
  /** Token text by id: PAD_TOKEN, OOV_TOKEN, then words. */
  tokens: string[];
}

export interface BpeTokenizer extends TokenizerBase {
  kind: 'bpe';
  /** The chunking before byte-pair merges: 'chunks-v1' (CHUNK_PATTERN). */
  pretokenizer: 'chunks-v1';
  /** Byte b has id b + byteOffset: always 1. */
  byteOffset: 1;
  /** merges[i] = [a, b]: id 257 + i is the pair (a, b). */
  merges: [number, number][];
}

export type Tokenizer = CharTokenizer | WordTokenizer | BpeTokenizer;

export interface TokenizerOptions {
  /** The most ids in all (PAD, OOV and bytes included). Word: 20,000 by default; BPE: 2,000; char: uncapped. */
  vocabSize?: number;
  /** Word: lower-case the text first (default false: case kept). */
  lowercase?: boolean;
  /** BPE: a pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
}

export const DEFAULT_VOCAB_SIZE: Readonly<Record<TokenizerKind, number | undefined>> = { char: undefined, word: 20_000, bpe: 2_000 };
/** The largest vocabulary any tokenizer may have. */
export const MAX_VOCAB_SIZE = 1_000_000;
