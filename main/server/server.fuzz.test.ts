/**
 * Fuzz / abuse: the serve-mode server under garbage WebSocket frames, malformed requests, oversized
 * messages, connection floods, random upgrade attempts and path-traversal URLs. Every request gets a
 * typed reply, refusals are 4xx/5xx, nothing outside the static folder is served, and the server keeps
 * answering valid requests throughout.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { applyMutations, FuzzTally, mutationPlans, nastyValue } from '../../scripts/security/fuzz';
import { createClient, ENGINE_EVENTS, ENGINE_NAMES, ENGINE_REQUESTS, type EngineApi, type Message } from '../../shared/api';
import { startServer, type RunningServer } from './index';
import { connectWebSocket } from './wsTransport';

const tally = new FuzzTally('serve mode (WebSocket + static server)');
const TOKEN = 'fuzz-token-0123456789';
const MAX_BYTES = 64 * 1024;
const MAX_CONN = 4;
let dir: string;
let server: RunningServer;

const engine: Record<string, unknown> = {};
for (const m of ENGINE_REQUESTS) engine[m] = async () => (m === 'getInfo' ? { version: 'fuzz', dataDir: '/x', host: 'test' } : null);
for (const e of ENGINE_EVENTS) engine[e] = () => () => {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lf-serve-fuzz-'));
  mkdirSync(join(dir, 'web', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>LF</title>');
  writeFileSync(join(dir, 'web', 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE');
  writeFileSync(join(dir, 'web-secret.txt'), 'TOP-SECRET-SIBLING');
  server = await startServer({ engine: engine as unknown as EngineApi, staticDir: join(dir, 'web'), token: TOKEN, maxMessageBytes: MAX_BYTES, maxConnections: MAX_CONN });
});
afterAll(async () => {
  tally.report();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const wsUrl = () => `ws://127.0.0.1:${server.port}/api?token=${TOKEN}`;

async function probe(): Promise<void> {
  const { transport, socket } = await connectWebSocket(wsUrl());
  const client = createClient<EngineApi>(ENGINE_NAMES, transport);
  expect(await client.getInfo()).toMatchObject({ version: 'fuzz' });
  socket.close();
}

function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends a raw HTTP request line + headers over TCP (so any bytes can go into the path). */
function rawHttp(lines: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(server.port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.setTimeout(3000, () => sock.destroy());
    sock.write(lines);
  });
}

const frameArb: fc.Arbitrary<{ data: string | Buffer; id?: number }> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 300 }).map((data) => ({ data })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ data: JSON.stringify(v) ?? 'null' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ data: Buffer.from(b) })) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(...ENGINE_REQUESTS), fc.string({ maxLength: 20 })), fc.oneof(nastyValue, mutationPlans(3).map((p) => applyMutations({ runId: 'r1', id: 'cifar10', path: '/x' }, p))), fc.integer({ min: 1, max: 2 ** 30 }))
      .map(([method, arg, id]) => ({ data: JSON.stringify({ t: 'req', id, method, arg }) ?? '', id })),
  },
  { weight: 1, arbitrary: fc.constantFrom('{', '[]', 'null', '"x"', '{"t":"req"}', '{"t":"req","id":1}', '{"t":"sub","event":"constructor"}', '{"t":"res","id":1,"ok":true}').map((data) => ({ data })) },
);

describe('serve mode under fuzzing', () => {
  it('garbage and malformed frames on one connection: each request gets one typed reply; the connection and server stay up', { timeout: 60_000 }, async () => {
    const { socket } = await connectWebSocket(wsUrl());
    const replies: Message[] = [];
    socket.on('message', (d) => replies.push(JSON.parse(d.toString()) as Message));
    let frames = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 10 }), async (batch) => {
        const start = replies.length;
        for (const f of batch) {
          frames++;
          tally.add(typeof f.data === 'string' ? 'text frame' : 'binary frame');
          socket.send(f.data);
        }
        const probeId = 2 ** 31 + frames;
        socket.send(JSON.stringify({ t: 'req', id: probeId, method: 'getInfo' }));
        for (let i = 0; i < 1000 && !replies.slice(start).some((r) => r.t === 'res' && r.id === probeId); i++) await new Promise((r) => setTimeout(r, 2));
        const mine = replies.slice(start);
        expect(mine.find((r) => r.t === 'res' && r.id === probeId)).toMatchObject({ ok: true });
        for (const f of batch) {
          if (f.id === undefined) continue;
          const rs = mine.filter((r) => r.t === 'res' && r.id === f.id);
          expect(rs.length, `reply to ${String(f.data).slice(0, 200)}`).toBeGreaterThanOrEqual(1);
        }
        for (const r of mine) if (r.t === 'res' && !r.ok) expect(['bad-request', 'unknown-method', 'failed', 'not-found']).toContain(r.error.code);
        expect(socket.readyState).toBe(WebSocket.OPEN);
      }),
      { numRuns: 150 },
    );
    socket.close();
    await probe();
  });

  it('deeply nested JSON (up to 30,000 levels, under the size limit) gets a typed bad-request; the connection and server stay up', async () => {
    const { socket } = await connectWebSocket(wsUrl());
    const replies: Message[] = [];
    socket.on('message', (d) => replies.push(JSON.parse(d.toString()) as Message));
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const deepObj = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const frames = [
      `{"t":"req","id":1,"method":"getRun","arg":${deep(30_000)}}`,
      `{"t":"req","id":2,"method":"startTraining","arg":{"graph":${deepObj(10_000)}}}`,
      deep(30_000),
      `{"t":"req","id":3,"method":${deep(20_000)}}`,
    ];
    for (const f of frames) {
      tally.add('deeply nested frame');
      expect(f.length).toBeLessThan(MAX_BYTES);
      socket.send(f);
    }
    socket.send(JSON.stringify({ t: 'req', id: 99, method: 'getInfo' }));
    for (let i = 0; i < 500 && !replies.some((r) => r.t === 'res' && r.id === 99); i++) await new Promise((r) => setTimeout(r, 5));
    expect(replies.find((r) => r.t === 'res' && r.id === 99)).toMatchObject({ ok: true });
    // Each nested request is answered with a typed error (measured: bad-request for all three, and for the bare array).
    for (const id of [1, 2, 3]) expect(replies.find((r) => r.t === 'res' && r.id === id)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    for (const r of replies) if (r.t === 'res' && !r.ok) expect(['bad-request', 'unknown-method', 'failed', 'not-found']).toContain(r.error.code);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
    await probe();
  });

  it('oversized frames close only that connection (1009); the server keeps serving', async () => {
    for (const size of [MAX_BYTES + 1, 4 * MAX_BYTES, 2 * 2 ** 20]) {
      tally.add('oversized frame');
      const { socket } = await connectWebSocket(wsUrl());
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.send(Buffer.alloc(size, 0x7b));
      expect(await closed).toBe(1009);
      await probe();
    }
  });

  it('a connection flood is bounded: at most maxConnections are accepted, the rest get 503, and service resumes', async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 3 * MAX_CONN }, () => connectWebSocket(wsUrl())));
    tally.add('flood connection', attempts.length);
    const open = attempts.filter((a): a is PromiseFulfilledResult<Awaited<ReturnType<typeof connectWebSocket>>> => a.status === 'fulfilled');
    const refused = attempts.filter((a) => a.status === 'rejected');
    expect(open.length).toBeLessThanOrEqual(MAX_CONN);
    expect(open.length).toBeGreaterThan(0);
    for (const r of refused) expect(String((r as PromiseRejectedResult).reason)).toMatch(/503/);
    await Promise.all(open.map((o) => new Promise<void>((res) => {
      o.value.socket.on('close', () => res());
      o.value.socket.close();
    })));
    await new Promise((r) => setTimeout(r, 50));
    await probe();
  });

  it('random upgrade attempts without the token, with a wrong token, a foreign Origin or Host are all refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          token: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 }), fc.constant(TOKEN.slice(0, -1)), fc.constant(`${TOKEN}x`), fc.constant(TOKEN.toUpperCase())),
          origin: fc.oneof(fc.constant(undefined), fc.constantFrom('http://evil.example', 'null', 'file://', `http://127.0.0.1:${1}`, 'http://localhost.evil.example'), fc.webUrl()),
          path: fc.constantFrom('/api', '/api/', '/API', '/other', '/'),
        }),
        async ({ token, origin, path }) => {
          tally.add('upgrade attempt');
          const url = `ws://127.0.0.1:${server.port}${path}${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
          const r = await connectWebSocket(url, origin ? { origin } : {}).then(
            (c) => {
              c.socket.close();
              return 'accepted';
            },
            (e: unknown) => String(e),
          );
          expect(r).toMatch(/refused: HTTP (401|403|404)|Unexpected server response|socket hang up|ECONNRESET/);
        },
      ),
      { numRuns: 60 },
    );
    // A foreign Host header (DNS rebinding) with the right token is refused too.
    const viaRaw = await rawHttp(`GET /api?token=${TOKEN} HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    expect(viaRaw).toMatch(/^HTTP\/1\.1 403/);
    await probe();
  });

  it('unparseable request targets (protocol-relative, absolute-form, bad hosts) get 4xx and never crash the server', async () => {
    const targets = ['//%/api', '//a b/api', '//[::1/api', '//:99999/api', 'http://[bad/api', 'http://x:99999/api', '//%252e%252e/..', '*', '//x%00/'];
    const upgrade = (t: string) => `GET ${t}?token=${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    for (const t of targets) {
      tally.add('unparseable target');
      const up = await rawHttp(upgrade(t));
      expect(up === '' || /^HTTP\/1\.1 4\d\d/.test(up), `upgrade ${t}: ${up.slice(0, 60)}`).toBe(true);
      const get = await rawHttp(`GET ${t} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
      expect(get).not.toContain('TOP-SECRET');
      await probe(); // still up
    }
  });

  // Bound to 0.0.0.0, a browser on another machine opens http://<lan address>:<port>/ and sends that as
  // its Origin: accepted (with the token) when the host is one of this machine's addresses; foreign
  // origins, wrong ports and missing tokens are still refused.
  const addresses = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined);
  const lanIp = addresses.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  (lanIp ? it : it.skip)('with --host 0.0.0.0 a browser on the LAN (its own Origin, right token) is accepted; foreign origins are not', async () => {
    const s = await startServer({ engine: engine as unknown as EngineApi, staticDir: join(dir, 'web'), host: '0.0.0.0', token: TOKEN });
    const attempt = (via: string, origin: string | undefined, token: string | null = TOKEN) =>
      connectWebSocket(`ws://${via}:${s.port}/api${token === null ? '' : `?token=${token}`}`, origin ? { origin } : {}).then(
        async (c) => {
          const client = createClient<EngineApi>(ENGINE_NAMES, c.transport);
          const info = await client.getInfo();
          c.socket.close();
          return `accepted ${info.version}`;
        },
        (e: unknown) => String(e),
      );
    try {
      tally.add('LAN upgrade attempt');
      expect(await attempt(lanIp!, `http://${lanIp}:${s.port}`)).toBe('accepted fuzz');
      // Every address of this machine is its own origin (checked through loopback: the Origin header is what counts).
      for (const a of addresses) {
        tally.add('LAN upgrade attempt');
        const h = a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address;
        expect(await attempt('127.0.0.1', `http://${h}:${s.port}`), h).toBe('accepted fuzz');
      }
      const refusals: [string, string | null, RegExp][] = [
        [`http://${lanIp}:${s.port}`, null, /HTTP 401/], // own origin, no token
        [`http://${lanIp}:${s.port}`, 'wrong', /HTTP 401/],
        [`http://${lanIp}:${s.port + 1 === 65536 ? 1 : s.port + 1}`, TOKEN, /HTTP 403/], // right host, wrong port
        ['http://evil.example', TOKEN, /HTTP 403/],
        [`http://evil.example:${s.port}`, TOKEN, /HTTP 403/],
        [`http://${lanIp}.evil.example:${s.port}`, TOKEN, /HTTP 403/],
        [`http://198.51.100.77:${s.port}`, TOKEN, /HTTP 403/], // an address that is not this machine's
        ['null', TOKEN, /HTTP 403/],
        [`file://${lanIp}`, TOKEN, /HTTP 403/],
      ];
      for (const [origin, token, want] of refusals) {
        tally.add('LAN upgrade attempt');
        expect(await attempt(lanIp!, origin, token), `${origin} token=${token}`).toMatch(want);
      }
    } finally {
      await s.close();
    }
  });

  it('malformed static URLs (bad %-encoding, NUL, protocol-relative, overlong) get 400, never 500, and the server stays up', async () => {
    const seg = 'a'.repeat(300);
    const cases = [
      '/%E0%A4%A', '/%', '/%zz', '/assets/%', '/%E0%A4%A/index.html', '/%C0%AE%C0%AE/secret.txt', '/%FF', '/%ED%A0%80',
      '/%00', '/assets/app.js%00.html', '/index.html%00', '//%/x', '//%/index.html', '//[::1/x',
      `/${seg}`, `/${seg}.js`, `/assets/${seg}/app.js`, `/${'a/'.repeat(1100)}x`, `/${'%41'.repeat(800)}`,
    ];
    for (const path of cases) {
      tally.add('malformed static URL');
      const r = await rawGet(path);
      expect(r.status, path.slice(0, 80)).toBe(400);
      expect(r.body).not.toContain('TOP-SECRET');
    }
    // Raw bytes a client library would refuse to send: NUL, control characters, high bytes in the target.
    for (const raw of ['/\u0000', '/a\u0000b', '/%E0%A4%A\u0000', `/${'\u00e9'.repeat(40)}%`]) {
      tally.add('malformed static URL');
      const out = await rawHttp(`GET ${raw} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
      expect(out === '' || /^HTTP\/1\.1 400/.test(out), `${JSON.stringify(raw)}: ${out.slice(0, 60)}`).toBe(true);
    }
    expect((await rawGet('/assets/app.js')).status).toBe(200);
    expect((await rawGet('/some/route')).status).toBe(200); // SPA fallback still works
    await probe();
  });

  it('random malformed percent-encodings and long paths get 400 or a normal answer, never 500', async () => {
    const piece = fc.oneof(
      fc.constantFrom('%', '%E', '%E0', '%E0%A4', '%E0%A4%A', '%C0', '%FF', '%80', '%zz', '%G1', '%%', '%00', 'a', 'assets', 'index.html', '..', '.'),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxz'), minLength: 1, maxLength: 4 }).map((h) => `%${h}`),
      fc.string({ minLength: 1, maxLength: 20 }).map((t) => encodeURIComponent(t)),
      fc.integer({ min: 200, max: 3000 }).map((n) => 'b'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.constantFrom('/', ''), async (parts, sepChar) => {
        tally.add('malformed static URL');
        const path = `/${parts.join(sepChar)}`;
        const r = await rawGet(path);
        expect([200, 400, 404], path.slice(0, 80)).toContain(r.status);
        expect(r.body).not.toContain('TOP-SECRET');
      }),
      { numRuns: 200 },
    );
    await probe();
  });

  it('random traversal URLs never serve a byte from outside the static folder', { timeout: 60_000 }, async () => {
    const segment = fc.constantFrom('..', '.', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '..%2f', '..%5c', '%5c..', '%00', '%2f', '%252e%252e', '....', '..;', 'assets', 'index.html', 'secret.txt', 'web-secret.txt', '', '~', '%c0%ae%c0%ae', '\u2024\u2024', 'web');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.boolean(), async (parts, viaRaw) => {
        tally.add('static path');
        const path = `/${parts.join('/')}`;
        if (viaRaw) {
          const out = await rawHttp(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
          expect(out).not.toContain('TOP-SECRET');
          expect(out === '' || /^HTTP\/1\.1 (200|400|403|404|405)/.test(out), out.slice(0, 100)).toBe(true);
        } else {
          const r = await rawGet(path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)));
          expect(r.body).not.toContain('TOP-SECRET');
          // Never 500: a target new URL() rejects (protocol-relative '//%…') is a 400 like any malformed path.
          expect([200, 400, 403, 404]).toContain(r.status);
        }
      }),
      { numRuns: 300 },
    );
    expect((await rawGet('/assets/app.js')).status).toBe(200);
    await probe();
  });
});
