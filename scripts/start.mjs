#!/usr/bin/env node
// `npm start`: the Electron app (electron-vite build, then Electron) where it can run; serve mode in the
// browser (`layerforge serve`) where it cannot, saying why in one line.
//
//   1. No display (Linux without DISPLAY / WAYLAND_DISPLAY): serve mode.
//   2. The Electron binary is missing (npm 11 and Electron 45 never download it at install time): run
//      Electron's own installer, node_modules/electron/install.js (@electron/get: ELECTRON_MIRROR,
//      ELECTRON_CUSTOM_DIR, electron_config_cache, ELECTRON_GET_USE_PROXY …) with a progress line and a
//      time-out (LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT seconds, default 120). If that fails: serve mode.
//      ELECTRON_SKIP_BINARY_DOWNLOAD=1 skips the attempt.
//   3. Build out/ with electron-vite unless it is newer than its sources, then start Electron.
// The child (Electron or serve) runs in its own process group: SIGINT, SIGTERM and SIGHUP reach it once,
// through this script (a Ctrl+C that reaches us twice, from the terminal and from npm, is forwarded
// once); when it exits we exit with its status, and what is left of its process group is ended.
//   npm start -- --serve                   serve mode even where Electron could run
//   LAYERFORGE_START_DRY_RUN=1 npm start   decide (the download is tried for real) and print what would run
//   LAYERFORGE_SKIP_BUILD=1                start without building out/ first
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { clearTimeout } from 'node:timers';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tag = 'npm start:';

export const DEFAULT_DOWNLOAD_TIMEOUT_S = 120;
export const RETRY_COMMAND = 'node node_modules/electron/install.js';

function electronPackageDir() {
  const require = createRequire(join(root, 'package.json'));
  try {
    return dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

/**
 * Where the Electron binary is, without triggering electron's download-on-require (require('electron')
 * downloads a missing binary): { path } when it exists, else { path: null, reason, installable }.
 */
export function findElectronBinary(env = process.env, pkgDir = electronPackageDir()) {
  if (!pkgDir) return { path: null, reason: 'the electron package is not installed (npm install --include=dev)', installable: false };
  const pathFile = join(pkgDir, 'path.txt');
  const exe = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, exe || (process.platform === 'win32' ? 'electron.exe' : 'electron'));
    return existsSync(p) ? { path: p } : { path: null, reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${p} does not exist`, installable: false };
  }
  if (!exe) return { path: null, reason: 'the Electron binary was never downloaded', installable: true };
  const full = join(pkgDir, 'dist', exe);
  return existsSync(full) ? { path: full } : { path: null, reason: `the Electron binary ${full} does not exist`, installable: true };
}

/** Why no window can be shown here, or null: Linux and the BSDs need an X11 or Wayland display. */
export function displayProblem(env = process.env, platform = process.platform) {
  if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd') return null;
  return env.DISPLAY || env.WAYLAND_DISPLAY ? null : 'no display here (DISPLAY and WAYLAND_DISPLAY are unset)';
}

/** The download time-out in milliseconds: LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT (seconds) or 120 s. */
export function downloadTimeoutMs(env = process.env) {
  const raw = env.LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_DOWNLOAD_TIMEOUT_S * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new Error(`LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT must be a number of seconds above 0, got '${raw}'`);
  return Math.round(s * 1000);
}

const SOURCES = ['main', 'preload', 'renderer', 'shared', 'electron.vite.config.ts', 'package.json'];
const OUTPUTS = ['out/main/index.js', 'out/main/worker.js', 'out/main/hdf5-worker.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
const NOT_SOURCE = /\.(test|fuzz\.test|spec)\.[cm]?[jt]sx?$/;

function newestSource(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return { time: 0, file: null };
  }
  if (!st.isDirectory()) return NOT_SOURCE.test(path) ? { time: 0, file: null } : { time: st.mtimeMs, file: path };
  let best = { time: 0, file: null };
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const n = newestSource(join(path, name));
    if (n.time > best.time) best = n;
  }
  return best;
}

/** Whether electron-vite's output (out/main, out/preload, out/renderer) is newer than every file it is built from (tests excluded). */
export function buildIsFresh(dir = root) {
  let oldestOutput = Infinity;
  for (const o of OUTPUTS) {
    try {
      oldestOutput = Math.min(oldestOutput, statSync(join(dir, o)).mtimeMs);
    } catch {
      return { fresh: false, reason: `${o} is missing` };
    }
  }
  let newest = { time: 0, file: null };
  for (const s of SOURCES) {
    const n = newestSource(join(dir, s));
    if (n.time > newest.time) newest = n;
  }
  if (newest.time > oldestOutput) return { fresh: false, reason: `${newest.file.slice(dir.length).replace(/^[/\\]/, '')} changed since the last build` };
  return { fresh: true, reason: 'out/ is newer than its sources' };
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * Runs Electron's installer (node_modules/electron/install.js) with our progress/cause hook, in its own
 * process group, killed at the time-out. Resolves { ok: true } or { ok: false, reason } (one line).
 */
export function downloadElectron({ env = process.env, timeoutMs = downloadTimeoutMs(env), stream = process.stderr, pkgDir = electronPackageDir() } = {}) {
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const target = `${env.ELECTRON_INSTALL_PLATFORM || process.platform}-${env.ELECTRON_INSTALL_ARCH || process.arch}`;
  const mirror = env.ELECTRON_MIRROR || env.npm_config_electron_mirror;
  const tty = stream.isTTY === true;
  const head = `${tag} downloading Electron ${version} for ${target} once${mirror ? ` from ${mirror}` : ''} (about 100 MB; gives up after ${Math.round(timeoutMs / 1000)} s, LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT)`;
  stream.write(tty ? `${head}…` : `${head}…\n`);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--require', join(root, 'scripts/start-download-hook.cjs'), join(pkgDir, 'install.js')], {
      cwd: root,
      env: { ...env, ELECTRON_GET_NO_PROGRESS: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: process.platform !== 'win32',
    });
    let output = '';
    const keep = (chunk) => {
      output = (output + chunk.toString()).slice(-8192);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let cause = null;
    let progress = null;
    let timedOut = false;
    const line = () => {
      if (!tty || !progress) return;
      const s = ((Date.now() - started) / 1000).toFixed(0);
      const of = progress.total ? ` of ${mb(progress.total)} (${Math.floor((100 * progress.transferred) / progress.total)} %)` : '';
      stream.write(`\r\x1b[K${tag} downloading Electron ${version}: ${mb(progress.transferred)}${of}, ${s} s`);
    };
    child.on('message', (m) => {
      if (m && m.type === 'progress') {
        progress = m;
        line();
      } else if (m && m.type === 'error' && !cause) cause = m.message;
    });
    const stop = () => killTree(child, 'SIGTERM');
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
      setTimeout(() => killTree(child, 'SIGKILL'), 2000).unref();
    }, timeoutMs);
    const onSignal = () => stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const finish = (result) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (tty) stream.write('\n');
      resolve(result);
    };
    child.on('error', (e) => finish({ ok: false, reason: `could not run ${process.execPath}: ${e.message}` }));
    child.on('exit', (code, signal) => {
      if (code === 0) return finish({ ok: true });
      if (timedOut) {
        const got = progress ? `, ${mb(progress.transferred)}${progress.total ? ` of ${mb(progress.total)}` : ''} received` : cause ? `: ${cause}` : '';
        return finish({ ok: false, reason: `no complete download within ${Math.round(timeoutMs / 1000)} s${got}; set LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT to wait longer` });
      }
      if (signal) return finish({ ok: false, reason: `the download was interrupted (${signal})` });
      const firstError = output.split('\n').map((l) => l.trim()).find((l) => /error|failed|did not match|ENOENT|EACCES/i.test(l) && !l.startsWith('at '));
      finish({ ok: false, reason: cause ?? firstError ?? `Electron's installer exited with status ${code}` });
    });
  });
}

/** Signals a child's whole process group (POSIX: it was spawned detached, so its group id is its pid). */
function killTree(child, signal) {
  if (child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs the app's process (Electron or serve) in its own process group and mirrors its life: signals are
 * forwarded once, its exit status becomes ours, and its leftover group members are ended after it exits.
 */
export function runChild(cmd, args, { env = process.env } = {}) {
  return new Promise((resolve) => {
    const posix = process.platform !== 'win32';
    const child = spawn(cmd, args, { stdio: posix ? ['ignore', 'inherit', 'inherit'] : 'inherit', cwd: root, env, detached: posix });
    let last = { signal: null, at: 0 };
    const handlers = {};
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      handlers[signal] = () => {
        const now = Date.now();
        // One Ctrl+C can reach us twice (the terminal's process group and npm's own forwarding): pass it on once.
        if (last.signal === signal && now - last.at < 300) return;
        last = { signal, at: now };
        // On Windows the console delivers Ctrl+C to the child itself.
        if (!posix && signal === 'SIGINT') return;
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      };
      process.on(signal, handlers[signal]);
    }
    const cleanup = () => {
      for (const [signal, h] of Object.entries(handlers)) process.off(signal, h);
      if (posix) killTree(child, 'SIGTERM'); // leftovers of its process group (not the child: it has exited)
    };
    const onExit = () => killTree(child, 'SIGTERM');
    process.on('exit', onExit);
    child.on('error', (e) => {
      process.off('exit', onExit);
      cleanup();
      console.error(`${tag} could not run ${cmd}: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('exit', onExit);
      cleanup();
      resolve(code ?? 128 + (osConstants.signals[signal] ?? 0));
    });
  });
}

async function main(argv, env = process.env) {
  const dryRun = env.LAYERFORGE_START_DRY_RUN === '1';
  const skipBuild = env.LAYERFORGE_SKIP_BUILD === '1';
  const exec = (cmd, args) => {
    if (dryRun) {
      console.log(`${tag} would run: ${[cmd, ...args].join(' ')}`);
      return Promise.resolve(0);
    }
    return runChild(cmd, args, { env });
  };
  const build = async (what, args) => {
    if (skipBuild) return 0;
    console.error(`${tag} building ${what}…`);
    return exec(process.execPath, args);
  };

  const serveArgs = argv.filter((a) => a !== '--serve');
  const serve = async (why, hint) => {
    if (why) console.error(`${tag} ${why}; starting in your browser instead.${hint ? ` ${hint}` : ''}`);
    if (!existsSync(join(root, 'out/web/index.html'))) {
      const code = await build('the web UI (npm run build:web)', [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts']);
      if (code !== 0) return code;
    }
    return exec(process.execPath, [join(root, 'bin/layerforge.mjs'), 'serve', ...serveArgs]);
  };

  if (argv.includes('--serve')) return serve(null);
  const noDisplay = displayProblem(env);
  if (noDisplay) return serve(noDisplay);

  let electron = findElectronBinary(env);
  if (!electron.path) {
    if (!electron.installable) return serve(`Electron cannot run: ${electron.reason}`);
    if (env.ELECTRON_SKIP_BINARY_DOWNLOAD && env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '0') {
      return serve('the Electron binary is missing and ELECTRON_SKIP_BINARY_DOWNLOAD is set', `Download it with: ${RETRY_COMMAND}`);
    }
    let timeoutMs;
    try {
      timeoutMs = downloadTimeoutMs(env);
    } catch (e) {
      console.error(`${tag} ${e.message}`);
      return 2;
    }
    const got = await downloadElectron({ env, timeoutMs });
    if (!got.ok) return serve(`could not download Electron (${got.reason})`, `Retry with: ${RETRY_COMMAND}`);
    electron = findElectronBinary(env);
    if (!electron.path) return serve(`Electron was downloaded but cannot be found (${electron.reason})`, `Retry with: ${RETRY_COMMAND}`);
  }

  const fresh = buildIsFresh();
  if (!fresh.fresh) {
    const code = await build(`the app (electron-vite build: ${fresh.reason})`, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build']);
    if (code !== 0) return code;
  }
  return exec(electron.path, ['.', ...argv]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
