/** Pictures of insight results: feature-map channels as grey PNGs, heat maps in a colour ramp laid over an image. */
import { PNG } from 'pngjs';

function dataUrl(png: PNG): string {
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/**
 * One channel of an [h, w, c] feature map (values at `values[(y * w + x) * c + channel]`) as a grey PNG data URL,
 * scaled min..max -> 0..255 (a flat channel is black).
 */
export function channelPng(values: ArrayLike<number>, height: number, width: number, channels: number, channel: number, min: number, max: number): string {
  const png = new PNG({ width, height });
  const scale = max > min ? 255 / (max - min) : 0;
  for (let i = 0, n = width * height; i < n; i++) {
    const v = Math.round((values[i * channels + channel]! - min) * scale);
    const o = i * 4;
    png.data[o] = v;
    png.data[o + 1] = v;
    png.data[o + 2] = v;
    png.data[o + 3] = 255;
  }
  return dataUrl(png);
}

/** Google's Turbo colour map (polynomial fit by its authors), t in 0..1 -> [r, g, b] in 0..255. */
export function turbo(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const r = 0.13572138 + x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b = 0.1066733 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  const c = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  return [c(r), c(g), c(b)];
}

/**
 * An H×W×C uint8 image (C = 1 or 3) with a heat map (H×W values in 0..1, row-major) laid over it: each pixel is
 * (1 - alpha) × the image + alpha × turbo(heat). A PNG data URL.
 */
export function overlayPng(pixels: Uint8Array, height: number, width: number, channels: number, heat: ArrayLike<number>, alpha = 0.5): string {
  const png = new PNG({ width, height });
  for (let i = 0, n = width * height; i < n; i++) {
    const [hr, hg, hb] = turbo(heat[i]!);
    const r = pixels[i * channels]!;
    const g = channels >= 3 ? pixels[i * channels + 1]! : r;
    const b = channels >= 3 ? pixels[i * channels + 2]! : r;
    const o = i * 4;
    png.data[o] = Math.round((1 - alpha) * r + alpha * hr);
    png.data[o + 1] = Math.round((1 - alpha) * g + alpha * hg);
    png.data[o + 2] = Math.round((1 - alpha) * b + alpha * hb);
    png.data[o + 3] = 255;
  }
  return dataUrl(png);
}

/** Decodes a PNG data URL (tests, the CLI): width, height and RGBA bytes. */
export function decodePngDataUrl(url: string): { width: number; height: number; data: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}
