// The app icon: resources/icon.svg rendered by scripts/dist/icons.mjs into every size and format the
// installers and the web build use (committed files, checked against a fresh render), and serve mode's
// favicon (today's 404), served by the real static handler.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { EngineApi } from '../../shared/api/engine';
import { startServer } from '../../main/server/index';
import { buildIcons, FAVICON_SIZES, ICNS_TYPES, ICO_SIZES, PNG_SIZES } from './icons.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string) => readFileSync(join(root, rel));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** ICO directory entries: pixel size (0 means 256), and the image data (PNG or a BMP DIB). */
function readIco(buf: Buffer): { size: number; data: Buffer }[] {
  expect(buf.readUInt16LE(0)).toBe(0);
  expect(buf.readUInt16LE(2)).toBe(1);
  return Array.from({ length: buf.readUInt16LE(4) }, (_, i) => {
    const e = 6 + 16 * i;
    expect(buf[e]).toBe(buf[e + 1]);
    return { size: buf[e] || 256, data: buf.subarray(buf.readUInt32LE(e + 12), buf.readUInt32LE(e + 12) + buf.readUInt32LE(e + 8)) };
  });
}

function readIcns(buf: Buffer): { type: string; data: Buffer }[] {
  expect(buf.toString('latin1', 0, 4)).toBe('icns');
  expect(buf.readUInt32BE(4)).toBe(buf.length);
  const out: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < buf.length; ) {
    const len = buf.readUInt32BE(at + 4);
    out.push({ type: buf.toString('latin1', at, at + 4), data: buf.subarray(at + 8, at + len) });
    at += len;
  }
  return out;
}

describe('app icon', () => {
  it('exists in every size, as PNG, ICO (BMP below 256 px) and ICNS', () => {
    for (const size of PNG_SIZES) {
      const png = PNG.sync.read(read(`resources/icons/png/${size}x${size}.png`));
      expect([png.width, png.height]).toEqual([size, size]);
    }
    const ico = readIco(read('resources/icons/icon.ico'));
    expect(ico.map((e) => e.size)).toEqual(ICO_SIZES);
    for (const { size, data } of ico) {
      if (size === 256) expect(data.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      else {
        expect(data.readUInt32LE(0)).toBe(40); // BITMAPINFOHEADER
        expect([data.readInt32LE(4), data.readInt32LE(8), data.readUInt16LE(14)]).toEqual([size, 2 * size, 32]);
      }
    }
    expect(readIco(read('renderer/public/favicon.ico')).map((e) => e.size)).toEqual(FAVICON_SIZES);
    const icns = readIcns(read('resources/icons/icon.icns'));
    expect(icns.map((e) => e.type)).toEqual(ICNS_TYPES.map(([t]) => t));
    for (const [i, { data }] of icns.entries()) {
      const png = PNG.sync.read(data);
      expect(png.width).toBe(ICNS_TYPES[i]![1]);
    }
  });

  it('the committed icons are a fresh render of resources/icon.svg (run scripts/dist/icons.mjs after editing it)', async () => {
    const svg = read('resources/icon.svg').toString('utf8');
    expect(read('renderer/public/favicon.svg').toString('utf8')).toBe(svg);
    const fresh = await buildIcons(svg);
    for (const size of PNG_SIZES) {
      const rel = `resources/icons/png/${size}x${size}.png`;
      const a = PNG.sync.read(read(rel)).data;
      const b = PNG.sync.read(fresh[rel]!).data;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst, rel).toBeLessThanOrEqual(2);
    }
  });
});

describe('serve mode favicon', () => {
  it('index.html links the icons and the server sends them with their types', async () => {
    const html = read('renderer/index.html').toString('utf8');
    expect(html).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml" />');
    expect(html).toContain('<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48" />');
    // The web build copies renderer/public/ to the root of out/web, beside index.html: stage the same.
    const dir = mkdtempSync(join(tmpdir(), 'layerforge-favicon-'));
    cpSync(join(root, 'renderer/public'), dir, { recursive: true });
    cpSync(join(root, 'renderer/index.html'), join(dir, 'index.html'));
    const server = await startServer({ engine: {} as EngineApi, staticDir: dir });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const ico = await fetch(`${base}/favicon.ico`);
      expect(ico.status).toBe(200);
      expect(ico.headers.get('content-type')).toBe('image/x-icon');
      expect(Buffer.from(await ico.arrayBuffer())).toEqual(read('renderer/public/favicon.ico'));
      const svg = await fetch(`${base}/favicon.svg`);
      expect(svg.status).toBe(200);
      expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
