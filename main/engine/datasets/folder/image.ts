/** Image decoding (jpeg-js, pngjs) to uint8 RGB/grey and bilinear resizing, all in plain JS. */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RawImage {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
  data: Uint8Array;
}

export function isJpeg(buf: Uint8Array): boolean {
  return buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}
export function isPng(buf: Uint8Array): boolean {
  return buf.length > 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
}

/** Decodes a JPEG or PNG (by content, not by name). Throws a short reason when it cannot. */
export function decodeImage(buf: Uint8Array): RawImage {
  if (isJpeg(buf)) {
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 50, maxMemoryUsageInMB: 256 });
    return { width: img.width, height: img.height, channels: 3, data: img.data };
  }
  if (isPng(buf)) {
    // IHDR width/height, checked before decoding: a 69-byte PNG can claim 20000x20000 and make pngjs allocate 1.6 GB.
    const mp = buf.length >= 24 ? (new DataView(buf.buffer, buf.byteOffset, 24).getUint32(16) * new DataView(buf.buffer, buf.byteOffset, 24).getUint32(20)) / 1e6 : 0;
    if (mp > 50) throw new Error(`PNG of ${mp.toFixed(0)} megapixels is over the 50-megapixel limit`);
    const png = PNG.sync.read(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    return { width: png.width, height: png.height, channels: 4, data: png.data };
  }
  throw new Error('not a JPEG or PNG file');
}

/**
 * Converts to `channels` (1 or 3) and resizes to `height` x `width` with bilinear interpolation
 * (half-pixel centres, as tf.image.resizeBilinear with halfPixelCenters). Writes into `out` at `offset`.
 */
export function resizeInto(src: RawImage, height: number, width: number, channels: 1 | 3, out: Uint8Array, offset: number): void {
  const { width: sw, height: sh, channels: sc, data } = src;
  const grey = (i: number) => (sc >= 3 ? (data[i]! * 299 + data[i + 1]! * 587 + data[i + 2]! * 114) / 1000 : data[i]!);
  if (sw === width && sh === height) {
    for (let p = 0, n = sw * sh; p < n; p++) {
      const i = p * sc;
      const o = offset + p * channels;
      if (channels === 3) {
        if (sc >= 3) {
          out[o] = data[i]!;
          out[o + 1] = data[i + 1]!;
          out[o + 2] = data[i + 2]!;
        } else out[o] = out[o + 1] = out[o + 2] = data[i]!;
      } else out[o] = Math.round(grey(i));
    }
    return;
  }
  const sy = sh / height;
  const sx = sw / width;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      const i00 = (y0 * sw + x0) * sc;
      const i01 = (y0 * sw + x1) * sc;
      const i10 = (y1 * sw + x0) * sc;
      const i11 = (y1 * sw + x1) * sc;
      const o = offset + (y * width + x) * channels;
      const w00 = (1 - wy) * (1 - wx);
      const w01 = (1 - wy) * wx;
      const w10 = wy * (1 - wx);
      const w11 = wy * wx;
      if (channels === 3) {
        for (let c = 0; c < 3; c++) {
          const k = sc >= 3 ? c : 0;
          out[o + c] = Math.round(data[i00 + k]! * w00 + data[i01 + k]! * w01 + data[i10 + k]! * w10 + data[i11 + k]! * w11);
        }
      } else {
        out[o] = Math.round(grey(i00) * w00 + grey(i01) * w01 + grey(i10) * w10 + grey(i11) * w11);
      }
    }
  }
}
