/** A local HTTP server for downloader tests (127.0.0.1, random port). Test support only. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  /** Range headers seen, in order (undefined for requests without one). */
  ranges: (string | undefined)[];
  requests: string[];
  close(): Promise<void>;
}

export type Mode =
  | { kind: 'ok'; chunkDelayMs?: number }
  /** Sends the first `after` bytes of a full (non-range) response, then destroys the socket. */
  | { kind: 'drop'; after: number; times?: number }
  | { kind: 'corrupt' }
  | { kind: 'status'; code: number }
  /** Ignores Range and always sends the whole file with 200. */
  | { kind: 'noRange' };

/** Serves `body` at /file, a redirect chain /r1 -> /r2 -> /file, and whatever `mode` says. */
export async function startServer(body: Uint8Array, mode: Mode = { kind: 'ok' }): Promise<TestServer> {
  const ranges: (string | undefined)[] = [];
  const requests: string[] = [];
  let drops = 0;
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    if (req.url === '/r1') {
      res.writeHead(302, { location: '/r2' }).end();
      return;
    }
    if (req.url === '/r2') {
      res.writeHead(301, { location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/file` }).end();
      return;
    }
    if (req.url !== '/file') {
      res.writeHead(404).end('not found');
      return;
    }
    ranges.push(req.headers.range);
    if (mode.kind === 'status') {
      res.writeHead(mode.code).end('nope');
      return;
    }
    let data = Buffer.from(body);
    if (mode.kind === 'corrupt') {
      data = Buffer.from(data);
      data[Math.floor(data.length / 2)] ^= 0xff;
    }
    const m = mode.kind !== 'noRange' ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    const start = m ? Number(m[1]) : 0;
    if (m && start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    const part = data.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': String(part.length),
      ...(m ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
      'accept-ranges': 'bytes',
    });
    if (mode.kind === 'drop' && !m && drops < (mode.times ?? 1)) {
      drops++;
      res.write(part.subarray(0, mode.after), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (mode.kind === 'ok' && mode.chunkDelayMs) {
      let pos = 0;
      const step = Math.max(1, Math.ceil(part.length / 50));
      const tick = () => {
        if (res.destroyed) return;
        if (pos >= part.length) {
          res.end();
          return;
        }
        res.write(part.subarray(pos, pos + step));
        pos += step;
        setTimeout(tick, mode.chunkDelayMs);
      };
      tick();
      return;
    }
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
