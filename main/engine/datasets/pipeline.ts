/**
 * The input pipeline: seeded validation split, per-epoch seeded shuffling, augmentation (random horizontal
 * flip, random crop with zero padding), normalisation (0-1 or per-channel mean/std) and batches as
 * Float32Array (x, NHWC) + Int32Array labels or Float32Array one-hot (y), ready for `tf.tensor`. The
 * iterator prepares the next batch while the consumer works on the current one (prefetch).
 */
import type { Split } from './types';
import { mulberry32 } from '../../../shared/random';

/** Small, fast, seedable PRNG (returns floats in [0, 1)). */
export { mulberry32 };

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, seed: number): Uint32Array {
  const rand = mulberry32(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Copies the samples at `indices` into a new split. */
export function takeSamples(split: Split, indices: ArrayLike<number>, per: number): Split {
  const images = new Uint8Array(indices.length * per);
  const labels = split.labels instanceof Uint16Array ? new Uint16Array(indices.length) : new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(split.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = split.labels[i]!;
  }
  return { count: indices.length, images, labels };
}

/** Splits off a seeded random `fraction` of `split` as validation data. */
export function splitValidation(split: Split, shape: readonly [number, number, number], fraction: number, seed: number): { train: Split; validation: Split } {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`validationSplit must be in [0, 1), got ${fraction}.`);
  const per = shape[0] * shape[1] * shape[2];
  const perm = permutation(split.count, seed);
  const nVal = Math.round(split.count * fraction);
  const valIdx = perm.subarray(0, nVal).slice().sort();
  const trainIdx = perm.subarray(nVal).slice().sort();
  return { train: takeSamples(split, trainIdx, per), validation: takeSamples(split, valIdx, per) };
}

export type Normalization = 'unit' | 'none' | { mean: number[]; std: number[] };

export interface Augmentation {
  /** Random horizontal flip with probability 0.5. */
  flip?: boolean;
  /** Random crop back to the original size after zero-padding by this many pixels (e.g. 4). */
  cropPadding?: number;
}

export interface PipelineOptions {
  batchSize: number;
  numClasses: number;
  /** 'unit' (x/255, default), 'none' (0-255 floats), or per-channel mean/std in 0-1 units. */
  normalize?: Normalization;
  oneHot?: boolean;
  shuffle?: boolean;
  /** Seed of shuffling and augmentation; each epoch derives its own. */
  seed?: number;
  augment?: Augmentation;
  /** Drop a final incomplete batch. */
  dropRemainder?: boolean;
  /** Only the first N samples (after the validation split, before shuffling). */
  limit?: number;
  /** Batches prepared ahead (default 1). */
  prefetch?: number;
  /**
   * Reuse a ring of prefetch+3 buffers instead of allocating per batch. Only safe when the consumer is done
   * with a batch's arrays (e.g. disposed the tensors made from them; tfjs's cpu backend keeps the array) by
   * the time it asks for the batch after next.
   */
  reuseBuffers?: boolean;
}

export interface Batch {
  /** size × H × W × C floats. */
  x: Float32Array;
  /** size labels, or size × numClasses one-hot floats. */
  y: Int32Array | Float32Array;
  size: number;
  /** [size, H, W, C] for tf.tensor4d. */
  xShape: [number, number, number, number];
  yShape: [number] | [number, number];
  /** Batch index within the epoch. */
  index: number;
}

/** Mean and std per channel (0-1 units) of a split, for 'mean/std' normalisation. */
export function channelStats(split: Split, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  const img = split.images;
  for (let i = 0; i < img.length; i++) {
    const v = img[i]!;
    const c = i % channels;
    sum[c] += v;
    sq[c] += v * v;
  }
  const n = img.length / channels;
  const mean = Array.from(sum, (s) => s / n / 255);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / n / 65025 - mean[c]! ** 2, 1e-12)));
  return { mean, std };
}

/** Batches over one split; `epoch(e)` gives that epoch's batches as a prefetching async iterator. */
export class BatchPipeline {
  readonly count: number;
  readonly batchesPerEpoch: number;
  private readonly per: number;
  private readonly scale: Float32Array;
  private readonly shift: Float32Array;
  private readonly ring: { x: Float32Array; y: Int32Array | Float32Array }[] = [];
  private ringNext = 0;

  constructor(
    private readonly split: Split,
    private readonly shape: readonly [number, number, number],
    private readonly opts: PipelineOptions,
  ) {
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`batchSize must be a positive whole number, got ${opts.batchSize}.`);
    this.count = Math.min(split.count, opts.limit ?? Infinity);
    this.per = shape[0] * shape[1] * shape[2];
    this.batchesPerEpoch = opts.dropRemainder ? Math.floor(this.count / opts.batchSize) : Math.ceil(this.count / opts.batchSize);
    const c = shape[2];
    this.scale = new Float32Array(c);
    this.shift = new Float32Array(c);
    const norm = opts.normalize ?? 'unit';
    for (let k = 0; k < c; k++) {
      if (norm === 'unit') this.scale[k] = 1 / 255;
      else if (norm === 'none') this.scale[k] = 1;
      else {
        const mean = norm.mean[k] ?? norm.mean[0];
        const std = norm.std[k] ?? norm.std[0];
        if (mean === undefined || !std) throw new Error(`normalize: need a mean and a non-zero std for channel ${k}.`);
        // (v/255 - mean) / std = v * (1/(255 std)) - mean/std
        this.scale[k] = 1 / (255 * std);
        this.shift[k] = -mean / std;
      }
    }
    const pad = opts.augment?.cropPadding ?? 0;
    if (!(Number.isInteger(pad) && pad >= 0)) throw new Error(`cropPadding must be a whole number >= 0, got ${pad}.`);
  }

  /** The sample order of epoch `e` (seeded; identity when shuffle is off). */
  order(epoch: number): Uint32Array {
    if (this.opts.shuffle === false) return Uint32Array.from({ length: this.count }, (_, i) => i);
    return permutation(this.count, ((this.opts.seed ?? 0) * 1_000_003 + epoch * 7919 + 1) >>> 0);
  }

  private buffers(size: number): { x: Float32Array; y: Int32Array | Float32Array } {
    const ySize = this.opts.oneHot ? size * this.opts.numClasses : size;
    const fresh = () => ({ x: new Float32Array(size * this.per), y: this.opts.oneHot ? new Float32Array(ySize) : new Int32Array(ySize) });
    if (!this.opts.reuseBuffers || size !== this.opts.batchSize) return fresh();
    const ringSize = Math.max(0, this.opts.prefetch ?? 1) + 3;
    const slot = this.ringNext++ % ringSize;
    if (!this.ring[slot]) this.ring[slot] = fresh();
    const b = this.ring[slot]!;
    if (this.opts.oneHot) b.y.fill(0);
    return b;
  }

  /** Builds batch `index` of an epoch whose order is `order`, with the epoch's augmentation RNG. */
  makeBatch(order: Uint32Array, index: number, rand: () => number): Batch {
    const bs = this.opts.batchSize;
    const start = index * bs;
    const size = Math.min(bs, this.count - start);
    const { x, y } = this.buffers(size);
    const [h, w, c] = this.shape;
    const flip = this.opts.augment?.flip ?? false;
    const pad = this.opts.augment?.cropPadding ?? 0;
    const { scale, shift } = this;
    const img = this.split.images;
    for (let b = 0; b < size; b++) {
      const i = order[start + b]!;
      const label = this.split.labels[i]!;
      if (this.opts.oneHot) (y as Float32Array)[b * this.opts.numClasses + label] = 1;
      else y[b] = label;
      const src = i * this.per;
      const dst = b * this.per;
      const doFlip = flip && rand() < 0.5;
      const dy = pad ? Math.floor(rand() * (2 * pad + 1)) - pad : 0;
      const dx = pad ? Math.floor(rand() * (2 * pad + 1)) - pad : 0;
      if (!doFlip && !dy && !dx) {
        for (let p = 0; p < this.per; p += c) for (let k = 0; k < c; k++) x[dst + p + k] = img[src + p + k]! * scale[k]! + shift[k]!;
        continue;
      }
      // Output pixel (oy, ox) reads input (oy + dy, ox' + dx), ox' mirrored when flipping; outside is zero padding.
      for (let oy = 0; oy < h; oy++) {
        const iy = oy + dy;
        for (let ox = 0; ox < w; ox++) {
          const ix = (doFlip ? w - 1 - ox : ox) + dx;
          const o = dst + (oy * w + ox) * c;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
            for (let k = 0; k < c; k++) x[o + k] = shift[k]!; // a zero pixel, normalised
          } else {
            const s = src + (iy * w + ix) * c;
            for (let k = 0; k < c; k++) x[o + k] = img[s + k]! * scale[k]! + shift[k]!;
          }
        }
      }
    }
    return {
      x, y, size, index,
      xShape: [size, h, w, c],
      yShape: this.opts.oneHot ? [size, this.opts.numClasses] : [size],
    };
  }

  /** The batches of epoch `e`, each prepared while the previous one is in use. */
  async *epoch(e: number): AsyncGenerator<Batch, void, undefined> {
    const order = this.order(e);
    const rand = mulberry32(((this.opts.seed ?? 0) * 31 + e * 104729 + 17) >>> 0);
    const ahead = Math.max(0, this.opts.prefetch ?? 1);
    const queue: Promise<Batch>[] = [];
    let next = 0;
    // Batches are built in order on a macrotask, so they overlap with the consumer's awaits (training steps).
    const schedule = () => {
      const index = next++;
      queue.push(new Promise<Batch>((resolve, reject) => {
        setImmediate(() => {
          try {
            resolve(this.makeBatch(order, index, rand));
          } catch (error) {
            reject(error);
          }
        });
      }));
    };
    while (next < this.batchesPerEpoch && queue.length <= ahead) schedule();
    while (queue.length) {
      const batch = await queue.shift()!;
      if (next < this.batchesPerEpoch) schedule();
      yield batch;
    }
  }
}
