/**
 * Byte-level BPE: training (greedy merges by pair frequency over the training split's chunks) and encoding
 * (see types.ts for the format). Training counts each distinct chunk once with its frequency, keeps the count
 * of every adjacent pair and the chunks it occurs in, and after a merge updates only the chunks that held the
 * merged pair (their pair counts change by the difference); the most frequent pair comes from a lazy max-heap.
 * So a merge costs time in the chunks it touches, not in the corpus.
 */
import { forEachChunk } from './split';

/** Ids of the 256 bytes start here (id 0 is PAD). */
export const BYTE_OFFSET = 1;
/** The first merged id. */
export const FIRST_MERGE = 256 + BYTE_OFFSET;
/** Pair keys: a * KEY + b (ids < 2^21, keys < 2^42: exact in a double). */
const KEY = 2 ** 21;

const utf8 = new TextEncoder();

/** A max-heap of (count, key): larger count first, then smaller key (deterministic ties). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } | undefined {
    const n = this.counts.length;
    if (!n) return undefined;
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (n > 1) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      const m = n - 1;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < m && this.above(l, best)) best = l;
        if (r < m && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** The ids of a chunk's bytes. */
export function byteIds(chunk: string): number[] {
  const bytes = utf8.encode(chunk);
  const ids = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i]! + BYTE_OFFSET;
  return ids;
}

export interface BpeTrainOptions {
  /** Total ids wanted (PAD + 256 bytes + merges); at least 257. */
  vocabSize: number;
  /** Pairs seen fewer times are never merged (default 2). */
  minFrequency?: number;
}

/** Learns merges from texts (see the module comment). Fewer than asked when no pair is frequent enough. */
export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): [number, number][] {
  const want = Math.max(0, opts.vocabSize - FIRST_MERGE);
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const chunkCounts = new Map<string, number>();
  for (const t of texts) forEachChunk(t, (c) => chunkCounts.set(c, (chunkCounts.get(c) ?? 0) + 1));
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [c, n] of chunkCounts) {
    const ids = byteIds(c);
    if (ids.length < 2) continue;
    words.push(ids);
    freq.push(n);
  }
  chunkCounts.clear();

  const counts = new Map<number, number>();
  /** The words a pair occurs (or occurred) in; may hold stale entries and repeats, checked when used. */
  const where = new Map<number, number[]>();
  const lastAdded = new Map<number, number>();
  const heap = new PairHeap();
  const note = (key: number, w: number) => {
    if (lastAdded.get(key) === w) return;
    lastAdded.set(key, w);
    const list = where.get(key);
    if (list) list.push(w);
    else where.set(key, [w]);
  };
  for (let w = 0; w < words.length; w++) {
    const ids = words[w]!;
    const f = freq[w]!;
    for (let j = 0; j + 1 < ids.length; j++) {
      const key = ids[j]! * KEY + ids[j + 1]!;
      counts.set(key, (counts.get(key) ?? 0) + f);
      note(key, w);
    }
  }
  for (const [key, c] of counts) heap.push(c, key);

  const merges: [number, number][] = [];
  const visited = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  while (merges.length < want) {
    // The most frequent pair: skip heap entries whose count changed since they were pushed.
    let best: { count: number; key: number } | undefined;
    for (let e = heap.pop(); e; e = heap.pop()) {
      const now = counts.get(e.key) ?? 0;
      if (now === e.count) {
        best = e;
        break;
      }
      if (now > 0 && now < e.count) heap.push(now, e.key);
    }
    if (!best || best.count < minFrequency) break;
    const a = Math.floor(best.key / KEY);
    const b = best.key - a * KEY;
    const id = FIRST_MERGE + merges.length;
    merges.push([a, b]);
    const stamp = merges.length;
    for (const w of where.get(best.key) ?? []) {
      if (visited[w] === stamp) continue;
      visited[w] = stamp;
      const ids = words[w]!;
      let has = false;
      for (let j = 0; j + 1 < ids.length; j++) {
        if (ids[j] === a && ids[j + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      const f = freq[w]!;
      delta.clear();
      for (let j = 0; j + 1 < ids.length; j++) {
        const k = ids[j]! * KEY + ids[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) - f);
      }
      const merged: number[] = [];
      for (let j = 0; j < ids.length; j++) {
        if (j + 1 < ids.length && ids[j] === a && ids[j + 1] === b) {
          merged.push(id);
          j++;
        } else merged.push(ids[j]!);
      }
      for (let j = 0; j + 1 < merged.length; j++) {
        const k = merged[j]! * KEY + merged[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) + f);
      }
      words[w] = merged;
      for (const [k, d] of delta) {
        if (d === 0) continue;
        const c = (counts.get(k) ?? 0) + d;
        if (c > 0) counts.set(k, c);
        else counts.delete(k);
        if (d > 0) {
          heap.push(c, k);
          note(k, w);
        }
      }
    }
    where.delete(best.key);
    counts.delete(best.key);
  }
  return merges;
}

/** What encoding needs, built once per tokenizer: merge rank by pair key, and a cache of encoded chunks. */
export interface BpeRanks {
  rank: Map<number, number>;
  cache: Map<string, number[]>;
}

const CACHE_LIMIT = 100_000;

export function bpeRanks(merges: readonly (readonly [number, number])[]): BpeRanks {
  const rank = new Map<number, number>();
  merges.forEach(([a, b], i) => {
    const k = a * KEY + b;
    if (!rank.has(k)) rank.set(k, i);
  });
  return { rank, cache: new Map() };
}

/** The ids of one chunk: its bytes, then merges by rank (see types.ts). */
export function encodeChunk(r: BpeRanks, chunk: string): number[] {
  const hit = r.cache.get(chunk);
  if (hit) return hit;
  let ids = byteIds(chunk);
  while (ids.length > 1) {
    let best = Infinity;
    let a = -1;
    let b = -1;
    for (let j = 0; j + 1 < ids.length; j++) {
      const k = r.rank.get(ids[j]! * KEY + ids[j + 1]!);
      if (k !== undefined && k < best) {
        best = k;
        a = ids[j]!;
        b = ids[j + 1]!;
      }
    }
    if (best === Infinity) break;
    const id = FIRST_MERGE + best;
    const merged: number[] = [];
    for (let j = 0; j < ids.length; j++) {
      if (j + 1 < ids.length && ids[j] === a && ids[j + 1] === b) {
        merged.push(id);
        j++;
      } else merged.push(ids[j]!);
    }
    ids = merged;
  }
  if (r.cache.size >= CACHE_LIMIT) r.cache.clear();
  r.cache.set(chunk, ids);
  return ids;
}
