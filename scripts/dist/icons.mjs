#!/usr/bin/env node
// Renders resources/icon.svg (the one source of the app icon) to every icon the installers and the web
// build use, and writes them into the repository (they are committed: `npm run dist` needs no renderer):
//   resources/icons/png/<N>x<N>.png   N = 16 … 1024 (Linux: AppImage/deb hicolor icons, electron-builder reads the folder)
//   resources/icons/icon.ico          Windows (NSIS installer and the .exe): 16…128 as BMP, 256 as PNG
//   resources/icons/icon.icns         macOS (dmg, the .app): PNG entries 16…1024 incl. the @2x types
//   renderer/public/favicon.ico, favicon.svg   the web build (serve mode's tab icon) and the Electron renderer
// Run after changing the SVG: `node scripts/dist/icons.mjs` (needs the devDependency @resvg/resvg-js).
import { Buffer } from 'node:buffer';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pngjs from 'pngjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

export const PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
export const FAVICON_SIZES = [16, 32, 48];
/** ICNS element types holding PNG data, with the pixel size each one holds. */
export const ICNS_TYPES = [
  ['icp4', 16], ['icp5', 32], ['icp6', 64], ['ic07', 128], ['ic08', 256], ['ic09', 512], ['ic10', 1024],
  ['ic11', 32], ['ic12', 64], ['ic13', 256], ['ic14', 512],
];

/** The SVG rendered to a size×size PNG (resvg: the same renderer at every size, anti-aliased). */
export async function renderPng(svg, size) {
  const { Resvg } = await import('@resvg/resvg-js');
  return Buffer.from(new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: 'rgba(0,0,0,0)' }).render().asPng());
}

/** A 32-bit BMP (DIB) icon image as ICO stores it: BITMAPINFOHEADER with twice the height, BGRA rows bottom-up, then the 1-bit AND mask. */
function icoBitmap(png) {
  const { width, height, data } = pngjs.PNG.sync.read(png);
  const maskRow = Math.ceil(width / 32) * 4;
  const out = Buffer.alloc(40 + width * height * 4 + maskRow * height);
  out.writeUInt32LE(40, 0);
  out.writeInt32LE(width, 4);
  out.writeInt32LE(height * 2, 8);
  out.writeUInt16LE(1, 12); // planes
  out.writeUInt16LE(32, 14); // bits per pixel
  out.writeUInt32LE(width * height * 4 + maskRow * height, 20); // image size (no compression: BI_RGB = 0 at 16)
  for (let y = 0; y < height; y++) {
    const row = 40 + (height - 1 - y) * width * 4;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 4;
      out[row + x * 4] = data[s + 2];
      out[row + x * 4 + 1] = data[s + 1];
      out[row + x * 4 + 2] = data[s];
      out[row + x * 4 + 3] = data[s + 3];
    }
  }
  // AND mask all zero: the alpha channel decides transparency.
  return out;
}

/** An ICO file: images below 256 px as BMP (every Windows tool reads those), 256 px as PNG (Vista+). */
export function encodeIco(images) {
  const entries = images.map(({ size, png }) => ({ size, data: size >= 256 ? png : icoBitmap(png) }));
  const header = Buffer.alloc(6 + 16 * entries.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(entries.length, 4);
  let offset = header.length;
  entries.forEach(({ size, data }, i) => {
    const e = 6 + 16 * i;
    header[e] = size >= 256 ? 0 : size; // 0 means 256
    header[e + 1] = size >= 256 ? 0 : size;
    header[e + 2] = 0; // no palette
    header[e + 3] = 0;
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(data.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...entries.map((e) => e.data)]);
}

/** An ICNS file of PNG elements: 'icns', total length, then (type, length incl. 8-byte header, data) per element. */
export function encodeIcns(pngBySize) {
  const parts = ICNS_TYPES.map(([type, size]) => {
    const png = pngBySize.get(size);
    if (!png) throw new Error(`icns: no ${size}px PNG for ${type}`);
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([head, ...parts]);
}

/** Every icon file as { relative path: bytes }, rendered from the SVG text. */
export async function buildIcons(svg) {
  const png = new Map();
  for (const size of PNG_SIZES) png.set(size, await renderPng(svg, size));
  const files = {};
  for (const size of PNG_SIZES) files[`resources/icons/png/${size}x${size}.png`] = png.get(size);
  files['resources/icons/icon.ico'] = encodeIco(ICO_SIZES.map((size) => ({ size, png: png.get(size) })));
  files['resources/icons/icon.icns'] = encodeIcns(png);
  files['renderer/public/favicon.ico'] = encodeIco(FAVICON_SIZES.map((size) => ({ size, png: png.get(size) })));
  files['renderer/public/favicon.svg'] = Buffer.from(svg);
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await buildIcons(readFileSync(join(root, 'resources/icon.svg'), 'utf8'));
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), bytes);
    console.log(`${rel}  ${bytes.length.toLocaleString('en')} bytes`);
  }
}
