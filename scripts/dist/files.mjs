#!/usr/bin/env node
// `npm run dist:files`: what the installers would contain, without downloading Electron. Runs the real
// packager (electron-builder, our electron-builder.config.ts, Linux `dir` target) on the built app with a
// stub in place of Electron's binaries (`electronDist`), then lists the app.asar it wrote (with
// @electron/asar) and what was unpacked beside it. The file selection, asar packing and unpacking are
// electron-builder's own; only the Electron executable is fake (so its fuses are not flipped). Linux only (the `dir` layout of macOS and
// Windows needs their Electron zips).
//   node scripts/dist/files.mjs            summary: sizes by package, unpacked files
//   node scripts/dist/files.mjs --list     every file, one a line ("U " marks unpacked ones)
//   node scripts/dist/files.mjs --json     { files: [{ path, size, unpacked }], asarBytes, unpackedBytes }
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIsFresh } from '../start.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(join(root, 'package.json'));

/** Builds out/ with electron-vite unless it is newer than every source it comes from. */
export function ensureBuilt(log = console.error) {
  const fresh = buildIsFresh();
  if (fresh.fresh) return;
  log(`dist: building the app first (${fresh.reason})…`);
  const r = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`electron-vite build failed (exit ${r.status ?? r.signal})`);
}

/** Every file of an asar archive: path (relative, '/'), size, and whether it lies in app.asar.unpacked. */
export function listAsar(asarPath) {
  const asar = require('@electron/asar');
  const { header } = asar.getRawHeader(asarPath);
  const files = [];
  const walk = (node, prefix) => {
    for (const [name, entry] of Object.entries(node.files)) {
      const path = prefix ? `${prefix}/${name}` : name;
      if (entry.files) walk(entry, path);
      else if (!entry.link) files.push({ path, size: Number(entry.size ?? 0), unpacked: entry.unpacked === true });
    }
  };
  walk(header, '');
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * Packs the built app with electron-builder into a temporary folder (Linux `dir` target, stub Electron) and
 * returns app.asar's files. Throws with electron-builder's output when it fails.
 */
export function packFileList({ arch = process.arch, keep = false } = {}) {
  if (process.platform !== 'linux') throw new Error(`dist:files runs on Linux only (here: ${process.platform}); build the installers with npm run dist`);
  ensureBuilt();
  const work = mkdtempSync(join(tmpdir(), 'layerforge-dist-'));
  try {
    const fakeElectron = join(work, 'electron-dist');
    mkdirSync(fakeElectron);
    writeFileSync(join(fakeElectron, 'electron'), '#!/bin/sh\necho "stub Electron (scripts/dist/files.mjs): not runnable" >&2\nexit 1\n');
    chmodSync(join(fakeElectron, 'electron'), 0o755);
    writeFileSync(join(fakeElectron, 'version'), require('electron/package.json').version);
    const out = join(work, 'out');
    // Our config with the stub as Electron, a temporary output folder, and no fuses (the stub has no fuse
    // wire to flip: the fuses are checked by config.test.ts and applied by `npm run dist` only).
    const wrapper = join(work, 'electron-builder.files.config.ts');
    writeFileSync(
      wrapper,
      `import config from ${JSON.stringify(join(root, 'electron-builder.config.ts'))};\n` +
        `export default { ...config, electronFuses: null, electronDist: ${JSON.stringify(fakeElectron)}, directories: { ...config.directories, output: ${JSON.stringify(out)} } };\n`,
    );
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/electron-builder/cli.js'),
        '--linux', 'dir', `--${arch}`,
        '--config', wrapper,
        '--projectDir', root,
        '--publish', 'never',
      ],
      { cwd: root, encoding: "utf8", maxBuffer: 64 * 2 ** 20 },
    );
    if (r.status !== 0) throw new Error(`electron-builder --dir failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    const resources = join(out, 'linux-unpacked', 'resources');
    const files = listAsar(join(resources, 'app.asar'));
    return {
      files,
      asarBytes: statSync(join(resources, 'app.asar')).size,
      unpackedBytes: files.filter((f) => f.unpacked).reduce((n, f) => n + f.size, 0),
      ...(keep ? { dir: resources } : {}),
    };
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  try {
    const result = packFileList();
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else if (args.includes('--list')) {
      for (const f of result.files) console.log(`${f.unpacked ? 'U' : ' '} ${f.path}`);
    } else {
      const by = new Map();
      for (const f of result.files) {
        const p = f.path.split('/');
        const key = p[0] === 'node_modules' ? p.slice(0, p[1].startsWith('@') ? 3 : 2).join('/') : p.slice(0, 2).join('/');
        by.set(key, (by.get(key) ?? 0) + f.size);
      }
      console.log(`app.asar: ${result.files.length} files, ${mb(result.asarBytes)}; unpacked beside it: ${mb(result.unpackedBytes)}`);
      for (const [k, v] of [...by].sort((a, b) => b[1] - a[1])) console.log(`${mb(v).padStart(9)}  ${k}`);
      console.log('\nUnpacked (app.asar.unpacked/):');
      for (const f of result.files.filter((x) => x.unpacked)) console.log(`  ${f.path}`);
      console.log('\n(--list: every file; --json: machine-readable)');
    }
  } catch (e) {
    console.error(`dist:files: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}
