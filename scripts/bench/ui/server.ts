/**
 * Starts `layerforge serve` (the browser build + engine API) as a child process for the UI bench, on a
 * free port of a given range, with a random token and a fresh temporary data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO, 'bin', 'layerforge.mjs');
export const WEB_INDEX = join(REPO, 'out', 'web', 'index.html');

export interface ServeHandle {
  url: string;
  /** http://127.0.0.1:PORT (no token). */
  origin: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort(from: number, to: number): Promise<number> {
  for (let p = from; p <= to; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${from}-${to}`);
}

export function webBuilt(): boolean {
  return existsSync(WEB_INDEX);
}

export async function startServe(opts: { ports: [number, number]; dataDir?: string; log?: (line: string) => void }): Promise<ServeHandle> {
  const port = await freePort(opts.ports[0], opts.ports[1]);
  const token = randomBytes(12).toString('hex');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lf-bench-ui-'));
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--token', token, '--no-open'], {
    cwd: REPO,
    env: { ...process.env, LAYERFORGE_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`layerforge serve exited (${child.exitCode}) before listening: ${output.slice(-2000)}`);
    if (output.includes('serving at')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`layerforge serve did not start within 60 s: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  opts.log?.(`ui: serve mode on ${origin} (pid ${child.pid}, data ${dataDir})`);
  return {
    url: `${origin}/?token=${token}`,
    origin,
    dataDir,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
