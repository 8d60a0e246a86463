import { PNG } from 'pngjs';

/** Encodes one uint8 H×W×C image (C = 1 or 3) as a PNG data URL. */
export function pngDataUrl(pixels: Uint8Array, height: number, width: number, channels: number): string {
  const png = new PNG({ width, height });
  for (let i = 0, n = width * height; i < n; i++) {
    const o = i * 4;
    if (channels >= 3) {
      png.data[o] = pixels[i * channels]!;
      png.data[o + 1] = pixels[i * channels + 1]!;
      png.data[o + 2] = pixels[i * channels + 2]!;
    } else {
      const v = pixels[i * channels]!;
      png.data[o] = v;
      png.data[o + 1] = v;
      png.data[o + 2] = v;
    }
    png.data[o + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
