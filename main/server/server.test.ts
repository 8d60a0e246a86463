import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, ENGINE_NAMES, type EngineApi, type Message } from '../../shared/api';
import { safeStaticPath, startServer, type RunningServer } from './index';
import { connectWebSocket } from './wsTransport';

const fakeEngine = {
  listRuns: async () => [],
  getRun: async () => {
    throw new Error('not reached');
  },
  getInfo: async () => ({ version: 't', dataDir: '/x', host: 'test' }),
} as unknown as EngineApi;

let dir: string;
let server: RunningServer;
const TOKEN = 'test-token-123';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lf-serve-'));
  mkdirSync(join(dir, 'web', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>LF</title>');
  writeFileSync(join(dir, 'web', 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'top secret');
  server = await startServer({ engine: fakeEngine, staticDir: join(dir, 'web'), token: TOKEN, maxMessageBytes: 64 * 1024 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const wsUrl = (token?: string) => `ws://127.0.0.1:${server.port}/api${token === undefined ? '' : `?token=${token}`}`;
const ownOrigin = () => `http://127.0.0.1:${server.port}`;

describe('serve mode', () => {
  it('listens on loopback by default and prints a URL carrying the token', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
  });

  it('makes a random 64-hex-digit token when none is given', async () => {
    const other = await startServer({ engine: fakeEngine, staticDir: join(dir, 'web') });
    try {
      expect(other.token).toMatch(/^[0-9a-f]{64}$/);
      expect(other.token).not.toBe(TOKEN);
      expect(other.host).toBe('127.0.0.1');
    } finally {
      await other.close();
    }
  });

  it('serves the renderer with a CSP and never outside its folder', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>LF</title>');
    expect(String(index.headers['content-security-policy'])).toContain("default-src 'self'");
    expect((await get('/assets/app.js')).headers['content-type']).toMatch(/javascript/);
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const r = await get(p);
      expect(r.body, p).not.toContain('top secret');
      expect(r.status, p).toBeGreaterThanOrEqual(400);
    }
    expect(safeStaticPath('/srv/web', '/a/../../etc/passwd')).toBeUndefined();
    expect(safeStaticPath('/srv/web', '/a/b.js')).toBe('/srv/web/a/b.js');
    expect((await get('/', { host: 'evil.example:80' })).status).toBe(403);
  });

  it('refuses a WebSocket without the token, with a wrong token, or from a foreign Origin', async () => {
    await expect(connectWebSocket(wsUrl())).rejects.toThrow(/401/);
    await expect(connectWebSocket(wsUrl('wrong'))).rejects.toThrow(/401/);
    await expect(connectWebSocket(wsUrl(TOKEN), { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(connectWebSocket(wsUrl(TOKEN), { origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow(/403/);
    await expect(connectWebSocket(`ws://127.0.0.1:${server.port}/other?token=${TOKEN}`)).rejects.toThrow(/404/);
  });

  it('answers requests with the token from its own Origin, and typed errors for junk', async () => {
    const { transport, socket } = await connectWebSocket(wsUrl(TOKEN), { origin: ownOrigin() });
    const client = createClient<EngineApi>(ENGINE_NAMES, transport);
    expect(await client.listRuns()).toEqual([]);
    const reply = new Promise<Message>((resolve) => transport.onMessage((m) => resolve(m as Message)));
    socket.send('{not json');
    expect(await reply).toMatchObject({ t: 'res', ok: false, error: { code: 'bad-request' } });
    await expect(client.getRun({ runId: '../../etc' })).rejects.toMatchObject({ code: 'bad-request' });
    socket.close();
  });

  it('closes a connection that sends an oversized message, and keeps serving others', async () => {
    const { socket } = await connectWebSocket(wsUrl(TOKEN));
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.send('x'.repeat(100 * 1024));
    expect(await closed).toBe(1009);
    const { transport, socket: s2 } = await connectWebSocket(wsUrl(TOKEN));
    expect(await createClient<EngineApi>(ENGINE_NAMES, transport).getInfo()).toMatchObject({ host: 'test' });
    s2.close();
  });
});
