#!/usr/bin/env node
// `npm start`: runs the Electron app (electron-vite build, then electron .) where the Electron binary is
// present; where it is not (a headless server, a CI box, an install without the binary download), says so
// and starts serve mode instead (`layerforge serve`), which opens the system browser when there is one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Where the Electron binary is, without triggering electron's download-on-require (require('electron')
 * downloads a missing binary): { path } when it exists, else { path: null, reason }.
 */
export function findElectronBinary(env = process.env) {
  const require = createRequire(join(root, 'package.json'));
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const exe = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, exe || 'electron');
    return existsSync(p) ? { path: p } : { path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${p} does not exist` };
  }
  if (!exe) return { path: null, reason: `the Electron binary was never downloaded (${pathFile} is missing)` };
  const full = join(pkgDir, 'dist', exe);
  return existsSync(full) ? { path: full } : { path: null, reason: `the Electron binary ${full} does not exist` };
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
    child.on('error', (e) => {
      console.error(`npm start: could not run ${cmd}: ${e.message}`);
      resolve(1);
    });
  });
}

async function main(argv) {
  const electron = findElectronBinary();
  if (electron.path && !argv.includes('--serve')) {
    const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { stdio: 'inherit', cwd: root });
    if (build.status !== 0) return build.status ?? 1;
    return run(electron.path, ['.', ...argv]);
  }
  if (!electron.path) {
    console.error(`npm start: Electron cannot run here: ${electron.reason}.`);
    console.error('npm start: starting serve mode instead (the same app in your browser; Ctrl+C to stop).\n');
  }
  if (!existsSync(join(root, 'out/web/index.html'))) {
    console.error('npm start: building the web UI first (npm run build:web)…');
    const build = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts'], { stdio: 'inherit', cwd: root });
    if (build.status !== 0) return build.status ?? 1;
  }
  return run(process.execPath, [join(root, 'bin/layerforge.mjs'), 'serve', ...argv.filter((a) => a !== '--serve')]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
