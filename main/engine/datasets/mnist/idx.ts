/** IDX files (MNIST, Fashion-MNIST): big-endian magic (0, 0, type 0x08 = uint8, dims), dims, data. Gzip is detected. */
import { gunzipSync } from 'node:zlib';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Parses an IDX file (gzipped or not) holding unsigned bytes. `name` is used in errors. */
export function parseIdx(raw: Uint8Array, name = 'IDX file'): IdxArray {
  const buf = isGzip(raw) ? new Uint8Array(gunzipSync(raw)) : raw;
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
