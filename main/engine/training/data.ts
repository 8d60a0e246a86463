/**
 * A minimal, private data pipeline for training: seeded shuffling, validation split, uint8 -> float
 * batches normalised on the fly, and image augmentation (random horizontal flip, random crop with
 * padding). It stands in until main/engine/datasets/pipeline.ts exists; swap it there when it does.
 */
import type { Split } from '../datasets/types';
import { mulberry32 } from '../../../shared/random';

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed >>> 0 || 0x9e3779b9);
}

export function shuffleInPlace(a: Int32Array, rand: () => number): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

export function range(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

export interface SplitPlan {
  train: Int32Array;
  /** Held-out indices into the training split (empty when validation uses the test split). */
  val: Int32Array;
}

/** Takes the first `limit` training samples, then holds out a seeded `validationSplit` fraction of them. */
export function planSplit(count: number, limit: number | undefined, validationSplit: number, seed: number): SplitPlan {
  const n = Math.min(count, limit && limit > 0 ? limit : count);
  const idx = range(n);
  if (validationSplit <= 0) return { train: idx, val: new Int32Array(0) };
  shuffleInPlace(idx, seededRandom(seed ^ 0x5bd1e995));
  const nVal = Math.min(n - 1, Math.max(1, Math.round(n * validationSplit)));
  return { train: idx.slice(nVal), val: idx.slice(0, nVal) };
}

export interface Augment {
  flip: boolean;
  crop: boolean;
  /** Pixels of zero padding for the random crop. */
  pad?: number;
}

/**
 * Fills `out` (Float32Array of n × sampleSize) or an Int32Array (token inputs, no normalisation) with
 * samples `indices[from..from+n)` of `split`, scaling by 1/255 for float output, augmenting when asked.
 * `shape` is the stored [H, W, C] layout (augmentation needs it).
 */
export function fillBatch(
  split: Split,
  shape: readonly [number, number, number],
  indices: Int32Array,
  from: number,
  n: number,
  out: Float32Array | Int32Array,
  labels: Int32Array,
  augment: Augment | null,
  rand: () => number,
): void {
  const [h, w, c] = shape;
  const size = h * w * c;
  const scale = out instanceof Float32Array ? 1 / 255 : 1;
  const images = split.images;
  const pad = augment?.pad ?? 4;
  for (let k = 0; k < n; k++) {
    const i = indices[from + k]!;
    labels[k] = split.labels[i]!;
    const src = i * size;
    const dst = k * size;
    const flip = augment?.flip ? rand() < 0.5 : false;
    const dy = augment?.crop ? Math.floor(rand() * (2 * pad + 1)) - pad : 0;
    const dx = augment?.crop ? Math.floor(rand() * (2 * pad + 1)) - pad : 0;
    if (!flip && dx === 0 && dy === 0) {
      for (let j = 0; j < size; j++) out[dst + j] = images[src + j]! * scale;
      continue;
    }
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const o = dst + (y * w + x) * c;
        let sx = x + dx;
        if (flip) sx = w - 1 - sx;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (let ch = 0; ch < c; ch++) out[o + ch] = 0;
        } else {
          const s = src + (sy * w + sx) * c;
          for (let ch = 0; ch < c; ch++) out[o + ch] = images[s + ch]! * scale;
        }
      }
    }
  }
}
