/** IDX files (MNIST, Fashion-MNIST): big-endian magic (0, 0, type 0x08 = uint8, dims), dims, data. Gzip is detected. */
import { constants, gunzipSync } from 'node:zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Largest IDX file (decompressed) we accept: the biggest real one, MNIST's training images, is 47 MB;
 * 1 GiB leaves room for larger IDX datasets while keeping a bad file from exhausting memory.
 */
export const MAX_IDX_BYTES = 2 ** 30;
/** Bytes allowed beyond what an IDX header claims (trailing padding some tools write). */
const IDX_SLACK = 4096;

export interface ParseIdxOptions {
  /** Absolute cap on the decompressed size (default MAX_IDX_BYTES). */
  maxBytes?: number;
}

const zlibMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Gunzips an IDX file without trusting it: the header (first 16 decompressed bytes, read from a small
 * prefix of the input) says how many bytes the file holds; the full output is then capped at that plus
 * a small slack and at `maxBytes`, so a gzip bomb (a few KB inflating to GBs) is refused, naming the file.
 */
function gunzipIdx(raw: Uint8Array, name: string, maxBytes: number): Uint8Array {
  let head: Uint8Array;
  try {
    // A prefix of the compressed stream, flushed as far as it goes (deflate inflates at most ~1032:1, so ~1 MB).
    head = gunzipSync(raw.subarray(0, 1024), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 2 ** 21 });
  } catch (error) {
    throw new Error(`${name}: not a valid gzip file (${zlibMessage(error)}).`);
  }
  let cap = maxBytes;
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[3]! >= 1 && head[3]! <= 4 && head.length >= 4 + 4 * head[3]!) {
    const nd = head[3]!;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    let claimed = 4 + 4 * nd;
    let count = 1;
    for (let i = 0; i < nd; i++) count *= view.getUint32(4 + 4 * i, false);
    claimed += count;
    if (claimed > maxBytes) {
      throw new Error(`${name}: its header claims ${claimed} bytes (dims ${Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i, false)).join('x')}), more than the limit of ${maxBytes} bytes for an IDX file.`);
    }
    cap = Math.min(maxBytes, claimed + IDX_SLACK);
  }
  try {
    return new Uint8Array(gunzipSync(raw, { maxOutputLength: cap }));
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      const why = cap === maxBytes ? `the limit for an IDX file` : `its header claims ${cap - IDX_SLACK} bytes`;
      throw new Error(`${name}: decompresses to more than ${cap} bytes (${why}): a damaged file or a gzip bomb; refused.`);
    }
    throw new Error(`${name}: not a valid gzip file (${zlibMessage(error)}).`);
  }
}

/** Parses an IDX file (gzipped or not) holding unsigned bytes. `name` is used in errors. */
export function parseIdx(raw: Uint8Array, name = 'IDX file', opts: ParseIdxOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? MAX_IDX_BYTES;
  if (!isGzip(raw) && raw.length > maxBytes) throw new Error(`${name}: ${raw.length} bytes, more than the limit of ${maxBytes} bytes for an IDX file.`);
  const buf = isGzip(raw) ? gunzipIdx(raw, name, maxBytes) : raw;
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new Error(`${name}: not an IDX file (bad magic number).`);
  if (buf[2] !== 0x08) throw new Error(`${name}: IDX data type 0x${buf[2]!.toString(16)} is not supported (only unsigned bytes, 0x08).`);
  const nd = buf[3]!;
  if (nd < 1 || nd > 4) throw new Error(`${name}: ${nd} dimensions; expected 1 to 4.`);
  if (buf.length < 4 + 4 * nd) throw new Error(`${name}: truncated header.`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (buf.length - start !== count) {
    throw new Error(`${name}: ${buf.length - start} data bytes, expected ${count} for dims ${dims.join('x')}.`);
  }
  return { dims, data: buf.subarray(start, start + count) };
}

/** Writes an IDX file of unsigned bytes (tests build tiny MNIST-format files with it). */
export function writeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
