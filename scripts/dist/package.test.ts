// What the installers would contain: electron-builder (our config, Linux `dir` target) packs the built app
// for real, with only Electron's binary stubbed (scripts/dist/files.mjs), and app.asar is read back with
// @electron/asar. Slow for a unit test (about a minute: it packs ~130 MB of dependencies), so it runs once.
// The installers themselves (AppImage, deb, dmg, NSIS) are not built here: they need Electron's zips and
// the platforms' tools.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packFileList, type AsarFile } from './files.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const linux = process.platform === 'linux';
if (!linux) console.log(`package.test.ts: skipped: the stubbed packaging runs on Linux only (here: ${process.platform})`);

/** Package names the built main process imports by a bare specifier (static, dynamic and require). */
function bareImports(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[cm]?js$/.test(e.name)) {
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'./][^"']*)["']/g)) {
          const spec = m[1]!;
          const parts = spec.split('/');
          const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
          if (!name.startsWith('node:') && !builtinModules.includes(name) && name !== 'electron') names.add(name);
        }
      }
    }
  };
  walk(join(root, 'out/main'));
  return names;
}

/** Packages the main process loads by a computed name (createRequire / import(variable)): the optional backends. */
const COMPUTED = ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', '@tensorflow/tfjs-backend-webgpu'];
const installed = (name: string) => {
  try {
    readFileSync(join(root, 'node_modules', name, 'package.json'));
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!linux)('app.asar (electron-builder --dir with a stub Electron)', () => {
  let files: AsarFile[] = [];
  const has = (p: string) => files.some((f) => f.path === p);

  it('packs', () => {
    const t0 = Date.now();
    const result = packFileList();
    files = result.files;
    console.log(
      `package.test.ts: packed in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${files.length} files, app.asar ${(result.asarBytes / 1e6).toFixed(1)} MB + ${(result.unpackedBytes / 1e6).toFixed(1)} MB unpacked`,
    );
    expect(files.length).toBeGreaterThan(100);
  }, 300_000);

  it('holds the built app: main (with its workers: training, HDF5 reader), preload, renderer, package.json', () => {
    for (const p of ['package.json', 'out/main/index.js', 'out/main/worker.js', 'out/main/hdf5-worker.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'out/renderer/favicon.ico']) expect(has(p), p).toBe(true);
  });

  it('points the HDF5 reader (main/engine/import/hdf5/remote.ts) at its worker entry, a file the package holds', () => {
    const targets: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const p = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.js')) for (const m of readFileSync(join(root, p), 'utf8').matchAll(/new URL\(["']([^"']+)["'], import\.meta\.url\)/g)) if (/readWorker|hdf5-worker/.test(m[1]!)) targets.push(posix.join(posix.dirname(p), m[1]!));
      }
    };
    walk('out/main');
    expect(targets).toEqual(['out/main/hdf5-worker.js']);
    expect(has(targets[0]!)).toBe(true);
  });

  it('ships the PyTorch backend’s Python templates beside the chunk that reads them', () => {
    const py = files.filter((f) => /^out\/main\/(.+\/)?python\/(train|launch)\.py$/.test(f.path)).map((f) => f.path.split('/').pop());
    expect(py.sort()).toEqual(['launch.py', 'train.py']);
  });

  it('holds nothing of tests, e2e, sources, scratch, source maps or dev tooling', () => {
    const bad = files.filter(
      (f) =>
        /\.(test|spec|fuzz\.test)\.[cm]?[jt]sx?$/.test(f.path) ||
        /\.map$/.test(f.path) ||
        /(^|\/)[^/]+\.(ts|tsx|mts|cts)$/.test(f.path) ||
        /^(e2e|scratch|main|shared|preload|renderer|scripts|bin|resources|test-results|playwright-report|out\/web|dist)\//.test(f.path) ||
        /^node_modules\/(electron|electron-builder|electron-vite|vite|vitest|typescript|eslint|@playwright|playwright|tsx|esbuild|@esbuild|fast-check|@resvg|@doyensec|react|react-dom|@xyflow|recharts|elkjs|zustand)\//.test(f.path),
    );
    expect(bad.map((f) => f.path).slice(0, 20)).toEqual([]);
  });

  it('unpacks every native binary, and of webgpu only this platform’s', () => {
    const natives = files.filter((f) => f.path.endsWith('.node'));
    expect(natives.filter((f) => !f.unpacked).map((f) => f.path)).toEqual([]);
    const webgpu = files.filter((f) => f.path.startsWith('node_modules/webgpu/dist/'));
    if (installed('webgpu')) {
      expect(webgpu.length).toBeGreaterThan(0);
      expect(webgpu.filter((f) => !f.path.startsWith(`node_modules/webgpu/dist/linux-${process.arch}/`)).map((f) => f.path)).toEqual([]);
      expect(webgpu.every((f) => f.unpacked)).toBe(true);
    }
    for (const pkg of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
      if (!installed(pkg)) console.log(`package.test.ts: ${pkg} is not installed here (optional): its unpacking is checked by config.test.ts only`);
      else expect(files.filter((f) => f.path.startsWith(`node_modules/${pkg}/`) && !f.unpacked).map((f) => f.path)).toEqual([]);
    }
  });

  it('has the wasm backend’s binaries (unpacked) where the main process looks for them', () => {
    const wasm = files.filter((f) => f.path.startsWith('node_modules/@tensorflow/tfjs-backend-wasm/dist/') && f.path.endsWith('.wasm'));
    expect(wasm.map((f) => f.path.split('/').pop()).sort()).toEqual(['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm']);
    expect(wasm.every((f) => f.unpacked && f.size > 100_000)).toBe(true);
    // main/engine/backends/wasm.ts loads the Emscripten factory and its pthread worker from wasm-out/.
    for (const p of ['wasm-out/tfjs-backend-wasm-threaded-simd.js', 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js', 'package.json']) {
      expect(has(`node_modules/@tensorflow/tfjs-backend-wasm/${p}`), p).toBe(true);
    }
  });

  it('has every package the built main process imports', () => {
    const needed = [...bareImports(), ...COMPUTED.filter(installed)];
    expect(needed).toContain('@tensorflow/tfjs');
    expect(needed.filter((n) => !has(`node_modules/${n}/package.json`))).toEqual([]);
  });
});
