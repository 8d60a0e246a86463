// `npm start` (scripts/start.mjs): the real script, spawned as npm would, on its three paths. The Electron
// download fails here and must fall back to serve mode within seconds; a local mirror serving a fake
// Electron zip proves the download path end to end (into a copy of the electron package, never the real
// one); a stub Electron (ELECTRON_OVERRIDE_DIST_PATH) proves the launch path and the signal hygiene.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIsFresh, displayProblem, downloadElectron, downloadTimeoutMs, findElectronBinary, RETRY_COMMAND } from './start.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts/start.mjs');
const electronVersion = (JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;

const tmp = mkdtempSync(join(tmpdir(), 'layerforge-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Env for a spawned `npm start`: this machine's, minus anything that would change the path taken. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(ELECTRON_|electron_|npm_config_electron|LAYERFORGE_)/.test(k) || k === 'DISPLAY' || k === 'WAYLAND_DISPLAY') delete env[k];
  }
  return { ...env, electron_config_cache: join(tmp, 'electron-cache'), ...extra };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function startScript(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Run> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })));
  return { child, done };
}

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const realBinary = findElectronBinary(baseEnv({}));
const binaryNote = realBinary.path ? `skipped: the real Electron binary is installed here (${realBinary.path}), so npm start would not download it` : '';
if (binaryNote) console.log(`start.test.ts: ${binaryNote}`);

describe('npm start decides', () => {
  it('needs a display on Linux and the BSDs only', () => {
    expect(displayProblem({}, 'linux')).toBe('no display here (DISPLAY and WAYLAND_DISPLAY are unset)');
    expect(displayProblem({ DISPLAY: ':0' }, 'linux')).toBeNull();
    expect(displayProblem({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBeNull();
    expect(displayProblem({}, 'darwin')).toBeNull();
    expect(displayProblem({}, 'win32')).toBeNull();
  });

  it('reads the download time-out from LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT (seconds), 120 s by default', () => {
    expect(downloadTimeoutMs({})).toBe(120_000);
    expect(downloadTimeoutMs({ LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT: '2.5' })).toBe(2500);
    expect(() => downloadTimeoutMs({ LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT: 'soon' })).toThrow(/must be a number of seconds above 0, got 'soon'/);
    expect(() => downloadTimeoutMs({ LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT: '0' })).toThrow(/above 0/);
  });

  it('rebuilds only when a source is newer than the build (tests do not count)', () => {
    const dir = join(tmp, 'fresh');
    const outputs = ['out/main/index.js', 'out/main/worker.js', 'out/main/hdf5-worker.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
    const touch = (rel: string, seconds: number) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), '');
      utimesSync(join(dir, rel), seconds, seconds);
    };
    touch('main/index.ts', 1000);
    touch('shared/graph/types.ts', 1000);
    expect(buildIsFresh(dir)).toEqual({ fresh: false, reason: 'out/main/index.js is missing' });
    for (const o of outputs) touch(o, 2000);
    expect(buildIsFresh(dir).fresh).toBe(true);
    touch('shared/graph/types.test.ts', 3000);
    expect(buildIsFresh(dir).fresh).toBe(true);
    touch('renderer/src/App.tsx', 3000);
    expect(buildIsFresh(dir)).toEqual({ fresh: false, reason: `${join('renderer', 'src', 'App.tsx')} changed since the last build` });
  });
});

describe('npm start falls back to serve mode in one line', () => {
  it.skipIf(Boolean(realBinary.path))('when the download fails (a mirror on a closed port): within seconds, saying why and how to retry', async () => {
    const port = await closedPort();
    const { done } = startScript(['--port', '0'], baseEnv({ DISPLAY: ':99', ELECTRON_MIRROR: `http://127.0.0.1:${port}/`, LAYERFORGE_START_DRY_RUN: '1', LAYERFORGE_SKIP_BUILD: '1' }));
    const r = await done;
    console.log(`start.test.ts: download failure to fallback in ${r.ms} ms`);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `npm start: downloading Electron ${electronVersion} for ${process.platform}-${process.arch} once from http://127.0.0.1:${port}/ (about 100 MB; gives up after 120 s, LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT)…`,
    );
    expect(lines[1]).toBe(
      `npm start: could not download Electron (connect ECONNREFUSED 127.0.0.1:${port}); starting in your browser instead. Retry with: ${RETRY_COMMAND}`,
    );
    expect(r.stdout.trim()).toBe(`npm start: would run: ${process.execPath} ${join(root, 'bin/layerforge.mjs')} serve --port 0`);
    expect(r.ms).toBeLessThan(10_000);
  });

  it.skipIf(Boolean(realBinary.path))('when the download stalls: at the time-out, with what arrived, and the installer is ended', async () => {
    let socketClosed = false;
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(50_000_000) });
      res.write(Buffer.alloc(1_000_000));
      req.socket.on('close', () => (socketClosed = true));
      // …and nothing more: a stalled download
    });
    const mirror = await listen(server);
    try {
      const { done } = startScript([], baseEnv({ DISPLAY: ':99', ELECTRON_MIRROR: mirror, LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT: '2', LAYERFORGE_START_DRY_RUN: '1', LAYERFORGE_SKIP_BUILD: '1' }));
      const r = await done;
      console.log(`start.test.ts: stalled download to fallback in ${r.ms} ms (time-out 2 s)`);
      expect(r.code).toBe(0);
      // 1 MB was sent; the installer's last report may lag behind it by a fraction under load.
      expect(r.stderr.trim().split('\n')[1]).toMatch(
        /^npm start: could not download Electron \(no complete download within 2 s, (0\.\d|1\.0) MB of 50\.0 MB received; set LAYERFORGE_ELECTRON_DOWNLOAD_TIMEOUT to wait longer\); starting in your browser instead\. Retry with: node node_modules\/electron\/install\.js$/,
      );
      expect(r.ms).toBeGreaterThanOrEqual(2000);
      expect(r.ms).toBeLessThan(10_000);
      expect(await waitFor(() => socketClosed, 3000)).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('without a display, before any download', async () => {
    const { done } = startScript([], baseEnv({ LAYERFORGE_START_DRY_RUN: '1', LAYERFORGE_SKIP_BUILD: '1' }));
    const r = await done;
    if (process.platform === 'linux') {
      expect(r.stderr.trim()).toBe('npm start: no display here (DISPLAY and WAYLAND_DISPLAY are unset); starting in your browser instead.');
      expect(r.stdout).toContain('bin/layerforge.mjs serve');
    }
    expect(r.code).toBe(0);
  });

  it.skipIf(Boolean(realBinary.path))('with ELECTRON_SKIP_BINARY_DOWNLOAD, without trying', async () => {
    const { done } = startScript([], baseEnv({ DISPLAY: ':99', ELECTRON_SKIP_BINARY_DOWNLOAD: '1', LAYERFORGE_START_DRY_RUN: '1', LAYERFORGE_SKIP_BUILD: '1' }));
    const r = await done;
    expect(r.stderr.trim()).toBe(
      `npm start: the Electron binary is missing and ELECTRON_SKIP_BINARY_DOWNLOAD is set; starting in your browser instead. Download it with: ${RETRY_COMMAND}`,
    );
  });
});

describe('npm start downloads Electron with its own installer', () => {
  it('from a mirror (ELECTRON_MIRROR, remote checksums), with progress, into the electron package', async () => {
    const realPathTxt = existsSync(join(root, 'node_modules/electron/path.txt'));
    // A copy of the electron package (install.js extracts into its own dist/): the real one is never touched.
    const nm = join(tmp, 'dl', 'node_modules');
    const pkg = join(nm, 'electron');
    mkdirSync(nm, { recursive: true });
    for (const f of ['package.json', 'install.js', 'checksums.json', 'index.js']) cpSync(join(root, 'node_modules/electron', f), join(pkg, f));
    for (const dep of ['@electron', '@electron-internal']) symlinkSync(join(root, 'node_modules', dep), join(nm, dep), 'junction');
    const zipName = `electron-v${electronVersion}-${process.platform}-${process.arch}.zip`;
    const exe = process.platform === 'win32' ? 'electron.exe' : 'electron';
    const zip = Buffer.from(zipSync({ [exe]: [new TextEncoder().encode('#!/bin/sh\necho stub\n'), { os: 3, attrs: 0o100755 << 16 }], version: new TextEncoder().encode(electronVersion) }));
    const sums = `${createHash('sha256').update(zip).digest('hex')} *${zipName}\n`;
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === `/v${electronVersion}/${zipName}`) {
        res.writeHead(200, { 'content-length': String(zip.length) });
        res.end(zip);
      } else if (req.url === `/v${electronVersion}/SHASUMS256.txt`) res.end(sums);
      else {
        res.writeHead(404);
        res.end();
      }
    });
    const mirror = await listen(server);
    const written: string[] = [];
    try {
      const env = baseEnv({ ELECTRON_MIRROR: mirror, electron_use_remote_checksums: '1', electron_config_cache: join(tmp, 'dl-cache') });
      const r = await downloadElectron({ env, timeoutMs: 30_000, pkgDir: pkg, stream: { write: (t: string) => written.push(t), isTTY: true } });
      expect(r).toEqual({ ok: true });
    } finally {
      server.close();
    }
    expect(requests).toContain(`/v${electronVersion}/${zipName}`);
    // The TTY progress line, rewritten in place.
    expect(written.join('')).toMatch(new RegExp(`\\r\\x1b\\[Knpm start: downloading Electron ${electronVersion.replace(/\./g, '\\.')}: 0\\.0 MB of 0\\.0 MB \\(100 %\\)`));
    const found = findElectronBinary({}, pkg);
    expect(found.path).toBe(join(pkg, 'dist', exe));
    expect(existsSync(join(root, 'node_modules/electron/path.txt'))).toBe(realPathTxt);
  });
});

describe('npm start launches Electron (a stub, ELECTRON_OVERRIDE_DIST_PATH)', () => {
  /** A stub Electron: records argv, cwd and pid, starts a grandchild like Electron's helpers, and reacts to signals. */
  function stubDist(name: string, behaviour: 'exit3' | 'wait'): { dist: string; log: string } {
    const dist = join(tmp, name);
    mkdirSync(dist, { recursive: true });
    const log = join(dist, 'log.jsonl');
    const exe = join(dist, 'electron');
    writeFileSync(
      exe,
      `#!${process.execPath}
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const note = (o) => fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(o) + '\\n');
const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
note({ argv: process.argv.slice(2), cwd: process.cwd(), pid: process.pid, helper: helper.pid });
if (${JSON.stringify(behaviour)} === 'exit3') { helper.kill(); process.exit(3); }
let signals = 0;
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => {
  note({ signal: s });
  if (++signals === 1) setTimeout(() => process.exit(0), 600); // leaves its helper behind, on purpose
});
setInterval(() => {}, 1000);
`,
    );
    chmodSync(exe, 0o755);
    return { dist, log };
  }
  const entries = (log: string) =>
    existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];

  it.skipIf(process.platform === 'win32')('runs `electron . <args>` in the repository and exits with its status', async () => {
    const { dist, log } = stubDist('stub-exit', 'exit3');
    const { done } = startScript(['--inspect-project', 'x.layerforge'], baseEnv({ DISPLAY: ':99', ELECTRON_OVERRIDE_DIST_PATH: dist, LAYERFORGE_SKIP_BUILD: '1' }));
    const r = await done;
    expect(r.code).toBe(3);
    const [first] = entries(log);
    expect(first).toMatchObject({ argv: ['.', '--inspect-project', 'x.layerforge'], cwd: root.replace(/\/$/, '') });
    expect(r.stderr).toBe('');
  });

  it.skipIf(process.platform === 'win32')('forwards SIGTERM, passes one Ctrl+C on once, and leaves no process behind', async () => {
    for (const [signal, twice] of [['SIGTERM', false], ['SIGINT', true]] as const) {
      const { dist, log } = stubDist(`stub-${signal}`, 'wait');
      const { child, done } = startScript([], baseEnv({ DISPLAY: ':99', ELECTRON_OVERRIDE_DIST_PATH: dist, LAYERFORGE_SKIP_BUILD: '1' }));
      expect(await waitFor(() => entries(log).length > 0, 10_000)).toBe(true);
      const { pid, helper } = entries(log)[0] as { pid: number; helper: number };
      child.kill(signal);
      if (twice) setTimeout(() => child.kill(signal), 30); // the terminal's Ctrl+C and npm's forwarded one
      const t0 = Date.now();
      const r = await done;
      console.log(`start.test.ts: ${signal}${twice ? ' (twice, 30 ms apart)' : ''}: npm start exited ${Date.now() - t0} ms later with ${r.code}`);
      expect(r.code).toBe(0);
      expect(entries(log).filter((e) => e.signal === signal)).toHaveLength(1);
      expect(alive(pid)).toBe(false);
      expect(await waitFor(() => !alive(helper), 2000)).toBe(true);
    }
  });
});
