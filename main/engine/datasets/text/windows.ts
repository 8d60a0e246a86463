/**
 * Corpus examples cut at batch time: window w of a split starts at token w × stride and holds T+1 tokens;
 * its input is the first T, its target the last T (the same tokens shifted by one). Nothing is copied into
 * the cache but the token stream itself.
 */
import type { Split } from '../types';

/** Windows of T+1 tokens, `stride` apart, that fit in `tokens` tokens. */
export function windowCount(tokens: number, T: number, stride = T): number {
  if (!(T >= 1) || !(stride >= 1) || tokens < T + 1) return 0;
  return Math.floor((tokens - T - 1) / stride) + 1;
}

export interface WindowOptions {
  /** Tokens between window starts (default: the split's stride, else T). */
  stride?: number;
  /** Window numbers to take (e.g. a shuffled order): windows indices[from … from+n-1]; default: from … from+n-1. */
  indices?: ArrayLike<number>;
  /** Buffers to fill (at least n × T each), reused across batches; new ones otherwise. */
  x?: Int32Array;
  y?: Int32Array;
}

/**
 * Inputs and targets of n windows of a corpus split, row after row: x[k × T + t] = stream[s + t] and
 * y[k × T + t] = stream[s + t + 1], s the start of the k-th window taken. Throws a RangeError for a window
 * outside the split.
 */
export function windows(split: Split, from: number, n: number, T: number, opts: WindowOptions = {}): { x: Int32Array; y: Int32Array } {
  const stream = split.stream;
  if (!stream) throw new RangeError('windows: the split has no token stream (not a corpus)');
  const stride = opts.stride ?? split.stride ?? T;
  const count = windowCount(stream.length, T, stride);
  const x = opts.x ?? new Int32Array(n * T);
  const y = opts.y ?? new Int32Array(n * T);
  if (x.length < n * T || y.length < n * T) throw new RangeError(`windows: buffers of ${x.length} and ${y.length} values cannot hold ${n} windows of ${T}`);
  for (let k = 0; k < n; k++) {
    const w = opts.indices ? opts.indices[from + k]! : from + k;
    if (!(w >= 0 && w < count)) throw new RangeError(`windows: window ${w} is outside the split's ${count} windows of ${T + 1} tokens`);
    const s = w * stride;
    const row = k * T;
    for (let t = 0; t < T; t++) {
      x[row + t] = stream[s + t]!;
      y[row + t] = stream[s + t + 1]!;
    }
  }
  return { x, y };
}
