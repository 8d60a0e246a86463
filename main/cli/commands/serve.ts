import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { normalizeOrigin, startServer } from '../../server';
import { createEngine } from '../../engine/service/wiring';
import { UsageError, type CliCommand, type CliIO } from '../command';

/** The built web renderer (`npm run build:web`). */
export const WEB_DIR = fileURLToPath(new URL('../../../out/web', import.meta.url));

/**
 * How long a Ctrl+C (or SIGTERM) waits for running trainings to finish their batch and save, before their
 * workers are ended: the whole shutdown must fit in 2 s.
 */
export const SHUTDOWN_GRACE_MS = 1500;

/**
 * SIGINT and SIGTERM from the moment it is made: `signal` is the first that came, `wait()` resolves with
 * it; a second one exits the process at once (status 130). `dispose()` removes the handlers.
 */
export function signalLatch(io: Pick<CliIO, 'err'>, proc: Pick<NodeJS.Process, 'on' | 'off' | 'exit'> = process) {
  let signal: NodeJS.Signals | null = null;
  let wake: ((sig: NodeJS.Signals) => void) | null = null;
  const on = (sig: NodeJS.Signals) => {
    if (signal) {
      io.err(`${sig} again: exiting now, without waiting for the training to save.`);
      proc.exit(130);
      return;
    }
    signal = sig;
    wake?.(sig);
  };
  proc.on('SIGINT', on);
  proc.on('SIGTERM', on);
  return {
    get signal(): NodeJS.Signals | null {
      return signal;
    },
    wait: (): Promise<NodeJS.Signals> => (signal ? Promise.resolve(signal) : new Promise<NodeJS.Signals>((resolve) => (wake = resolve))),
    dispose(): void {
      proc.off('SIGINT', on);
      proc.off('SIGTERM', on);
    },
  };
}

/** Opens a URL in the system browser; failures (no browser, no display) are ignored. */
export function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no browser here: the URL is printed anyway
  }
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Serve the app to a browser: the UI and the engine API (loopback only by default).',
  usage: [
    'Usage: layerforge serve [--port N] [--host 127.0.0.1] [--token T] [--origin URL]... [--no-open]',
    '',
    '  --port N      port to listen on (default 7870; 0 picks a free one)',
    '  --host H      address to bind (default 127.0.0.1, this machine only). Anything else exposes the',
    '                engine (training, files it can read) to the network: the token is then the only guard.',
    '  --token T     access token (default: a random one, printed in the URL)',
    '  --origin URL  also accept a browser that reached this server as URL (scheme://host:port), e.g.',
    '                http://127.0.0.1:8080 through `ssh -L 8080:127.0.0.1:PORT`; repeatable; the token is still needed',
    '  --no-open     do not open the system browser',
    '',
    'Prints a URL carrying the access token (like Jupyter). Open it in a browser to use Layerforge.',
    'The UI must be built first: npm run build:web.',
  ].join('\n'),
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, origin: { type: 'string', multiple: true }, 'no-open': { type: 'boolean' } },
      strict: true,
    });
    const port = values.port === undefined ? 7870 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got '${values.port}'`);
    if (values.token !== undefined && !/^[A-Za-z0-9._~-]{8,200}$/.test(values.token)) {
      throw new UsageError('--token must be 8 to 200 characters of letters, digits, ".", "_", "~" or "-"');
    }
    const origins = values.origin ?? [];
    for (const o of origins) if (!normalizeOrigin(o)) throw new UsageError(`--origin must be scheme://host:port (e.g. http://127.0.0.1:8080), got '${o}'`);
    if (!existsSync(WEB_DIR)) io.err(`warning: the web UI is not built (${WEB_DIR} is missing): run \`npm run build:web\`. The API is served anyway.`);
    // Ctrl+C / SIGTERM are handled from here on: one while starting, or right after "Press Ctrl+C" is
    // printed, must not meet Node's default handler (which would kill the process without stopping runs).
    const latch = signalLatch(io);
    try {
      const engine = createEngine({ host: 'serve' });
      await engine.whenReady();
      const server = await startServer({
        engine,
        staticDir: WEB_DIR,
        host: values.host ?? '127.0.0.1',
        port,
        ...(values.token ? { token: values.token } : {}),
        ...(origins.length ? { allowOrigins: origins } : {}),
        log: (line) => io.err(line),
      });
      if (server.host !== '127.0.0.1' && server.host !== 'localhost' && server.host !== '::1') {
        io.err(`warning: listening on ${server.host}, not loopback: anyone who can reach this address and has the token can use the engine.`);
      }
      // Bound to every interface: also print the addresses other machines on the network would use.
      const lan = server.host === '0.0.0.0' || server.host === '::'
        ? Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal && a.family === 'IPv4').map((a) => `    http://${a.address}:${server.port}/?token=${server.token}`)
        : [];
      io.out(`Layerforge is serving at:\n\n    ${server.url}\n${lan.length ? `\nOn your network:\n${lan.join('\n')}\n` : ''}\nData folder: ${(await engine.getInfo()).dataDir}\nPress Ctrl+C to stop.`);
      if (!values['no-open'] && !latch.signal) openBrowser(server.url);
      const signal = await latch.wait();
      io.err(`${signal}: stopping… (a running training is stopped and saved; press Ctrl+C again to exit at once)`);
      const { runsStopped, allSaved } = await engine.dispose({ graceMs: SHUTDOWN_GRACE_MS });
      if (runsStopped > 0) io.err(allSaved ? `stopped ${runsStopped} training run(s); their models are saved.` : `stopped ${runsStopped} training run(s); not every one finished saving within ${SHUTDOWN_GRACE_MS} ms and was ended.`);
      await server.close();
      return 0;
    } finally {
      latch.dispose();
    }
  },
};
