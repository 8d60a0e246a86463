/**
 * A spec's own serve-mode engine and data folder, for journeys whose runs or imports must not change what
 * the other specs see in the shared e2e server (e.g. export.spec.ts expects no runs yet). Call it at the top
 * level of a spec: it registers beforeAll (start `layerforge serve --port 0`, wait for its URL) and afterAll
 * (SIGTERM, wait for the exit, remove the data folder).
 */
import { test } from '@playwright/test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface OwnEngine {
  /** The data folder (LAYERFORGE_DATA_DIR of the engine). */
  readonly dataDir: string;
  /** http://127.0.0.1:PORT, once beforeAll has run. */
  readonly base: string;
  /** The app's URL with the token. */
  readonly url: string;
}

export function ownServeEngine(name: string, token: string): OwnEngine {
  const dataDir = mkdtempSync(join(tmpdir(), `layerforge-e2e-${name}-`));
  let serve: ChildProcessWithoutNullStreams | undefined;
  let base = '';

  test.beforeAll(async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/layerforge.mjs'), 'serve', '--port', '0', '--token', token, '--no-open'], { cwd: ROOT, env: { ...process.env, LAYERFORGE_DATA_DIR: dataDir } });
    serve = child;
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m && out.includes('Press Ctrl+C to stop.')) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the ${name} spec's serve exited (${code}): ${err}`)));
    });
  });

  test.afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  return {
    dataDir,
    get base() {
      return base;
    },
    get url() {
      return `${base}/?token=${token}`;
    },
  };
}
