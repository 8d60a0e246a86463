/**
 * Remote engines (#18 item 5), on loopback: the engine runs in serve mode on the "GPU box", bound to 127.0.0.1
 * with its token; the UI on the "laptop" reaches it through an SSH tunnel (`ssh -L LOCAL:127.0.0.1:PORT box`).
 * An SSH tunnel is a TCP forward, so a small Node forwarder stands in for `ssh -L` here (no sshd on this machine
 * or in CI): what the server sees is the same, a loopback connection carrying the laptop's Host and Origin.
 *
 * What it shows: through the forward, a client with the token lists the backends (pytorch included); without it,
 * or with a wrong one, it is refused (401). A browser page through the tunnel uses the same port number on both
 * ends (`ssh -L 4000:127.0.0.1:4000`), or `serve --origin http://127.0.0.1:LOCAL` names the tunnel's local end:
 * serve mode checks that a browser's Origin is its own or one it was told to accept.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, ENGINE_NAMES, type EngineApi } from '../../shared/api';
import { createEngine } from '../engine/service/wiring';
import { startServer, type RunningServer } from './index';
import { connectWebSocket } from './wsTransport';

const TOKEN = 'remote-tunnel-token-0123456789abcdef';
let dir: string;
let server: RunningServer;
let engine: ReturnType<typeof createEngine>;
const forwards: Server[] = [];

/** `ssh -L host:port:127.0.0.1:target` without ssh: every connection piped to the server, both ways. */
async function forward(target: number, host = '127.0.0.1', port = 0): Promise<number> {
  const sockets = new Set<Socket>();
  const f = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    sockets.add(down).add(up);
    down.pipe(up).on('error', () => {});
    up.pipe(down).on('error', () => {});
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  f.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve, reject) => f.once('error', reject).listen(port, host, resolve));
  forwards.push(f);
  return (f.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lf-remote-'));
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>Layerforge</title>');
  engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
  // The GPU box: `layerforge serve --token …` keeps to loopback by default.
  server = await startServer({ engine, staticDir: join(dir, 'web'), token: TOKEN });
});

afterAll(async () => {
  for (const f of forwards) f.close();
  await server.close();
  await engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function get(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a serve-mode engine reached through a TCP forward (an SSH tunnel)', () => {
  it('serves the app and answers the client with the token, backends included', async () => {
    expect(server.host).toBe('127.0.0.1');
    const local = await forward(server.port);
    expect(local).not.toBe(server.port);
    expect(await get(local, '/', `localhost:${local}`)).toBe(200);
    const { transport, socket } = await connectWebSocket(`ws://127.0.0.1:${local}/api?token=${TOKEN}`);
    try {
      const client = createClient<EngineApi>(ENGINE_NAMES, transport);
      expect(await client.getInfo()).toMatchObject({ host: 'test' });
      const backends = await client.listBackends();
      expect(backends.map((b) => b.name)).toEqual(expect.arrayContaining(['wasm', 'cpu', 'pytorch']));
      const pytorch = backends.find((b) => b.name === 'pytorch')!;
      expect(pytorch.reason).toBeTruthy();
      expect(pytorch.reason).not.toMatch(/Traceback/);
    } finally {
      socket.close();
    }
  }, 120_000);

  it('refuses a client without the token, or with a wrong one', async () => {
    const local = await forward(server.port);
    await expect(connectWebSocket(`ws://127.0.0.1:${local}/api`)).rejects.toThrow(/401/);
    await expect(connectWebSocket(`ws://127.0.0.1:${local}/api?token=wrong`)).rejects.toThrow(/401/);
  });

  it('a browser through the tunnel: the same port on both ends works, another port is refused by the Origin check', async () => {
    // On one machine the two ends cannot share an address: the "laptop" end listens on 127.0.0.2, same port.
    let same: number;
    try {
      same = await forward(server.port, '127.0.0.2', server.port);
    } catch {
      return; // no 127.0.0.2 here (not Linux): the other checks still ran
    }
    const ok = await connectWebSocket(`ws://127.0.0.2:${same}/api?token=${TOKEN}`, { origin: `http://127.0.0.2:${same}` });
    expect(await createClient<EngineApi>(ENGINE_NAMES, ok.transport).getInfo()).toMatchObject({ host: 'test' });
    ok.socket.close();
    const other = await forward(server.port);
    await expect(connectWebSocket(`ws://127.0.0.1:${other}/api?token=${TOKEN}`, { origin: `http://localhost:${other}` })).rejects.toThrow(/403/);
  });

  it('a tunnel on another local port works when serve is told its origin (--origin), and still needs the token', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const local = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const box = await startServer({ engine, staticDir: join(dir, 'web'), token: TOKEN, allowOrigins: [`http://localhost:${local}`] });
    try {
      await forward(box.port, '127.0.0.1', local);
      const ok = await connectWebSocket(`ws://127.0.0.1:${local}/api?token=${TOKEN}`, { origin: `http://localhost:${local}` });
      expect(await createClient<EngineApi>(ENGINE_NAMES, ok.transport).getInfo()).toMatchObject({ host: 'test' });
      ok.socket.close();
      await expect(connectWebSocket(`ws://127.0.0.1:${local}/api`, { origin: `http://localhost:${local}` })).rejects.toThrow(/401/);
      await expect(connectWebSocket(`ws://127.0.0.1:${local}/api?token=${TOKEN}`, { origin: `http://localhost:${local + 1}` })).rejects.toThrow(/403/);
    } finally {
      await box.close();
    }
  });

  it('refuses an --origin that is not scheme://host:port', async () => {
    await expect(startServer({ engine, staticDir: join(dir, 'web'), token: TOKEN, allowOrigins: ['127.0.0.1:8080/x'] })).rejects.toThrow(/not an origin/);
  });
});
