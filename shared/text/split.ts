/** How text is cut before tokens are looked up: words (word tokenizer) and chunks (byte-level BPE). */

/**
 * 'words-v1': a run of letters, combining marks, digits and '_' (with apostrophes inside: "don't", "l'homme"),
 * or any other single character that is not whitespace (punctuation, symbols, emoji). Whitespace separates.
 */
export const WORD_PATTERN = /[\p{L}\p{M}\p{N}_]+(?:['\u2019][\p{L}\p{M}\p{N}_]+)*|[^\s\p{L}\p{M}\p{N}_]/gu;

/**
 * 'chunks-v1': GPT-2's pre-tokenizer (English contractions; a letter run, a digit run or a run of other
 * symbols, each with one optional leading space; whitespace runs, the last space left to the next word),
 * with every run capped at 64 characters so one endless line cannot make a huge chunk. Every character of a
 * text is in exactly one chunk, so the chunks concatenate back to the text.
 */
export const CHUNK_PATTERN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}{1,64}| ?\p{N}{1,64}| ?[^\s\p{L}\p{N}]{1,64}|\s{1,64}(?!\S)|\s{1,64}/gu;

/** The words of a text ('words-v1'). */
export function splitWords(text: string): string[] {
  return text.match(WORD_PATTERN) ?? [];
}

/** Calls `f` for every chunk of a text ('chunks-v1'); characters no alternative matches (none) become chunks of their own. */
export function forEachChunk(text: string, f: (chunk: string) => void): void {
  const re = new RegExp(CHUNK_PATTERN.source, CHUNK_PATTERN.flags);
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > at) f(text.slice(at, m.index));
    f(m[0]);
    at = m.index + m[0].length;
  }
  if (at < text.length) f(text.slice(at));
}

/** The chunks of a text ('chunks-v1'); they concatenate back to the text. */
export function splitChunks(text: string): string[] {
  const out: string[] = [];
  forEachChunk(text, (c) => out.push(c));
  return out;
}
