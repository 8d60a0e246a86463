/**
 * Serve mode carries large requests: a saved project far above the old 8 MiB WebSocket limit arrives
 * whole; above the engine's limit the connection closes with 1009, which the browser client explains.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, ENGINE_NAMES, SERVE_MAX_MESSAGE_BYTES, type EngineApi, type SaveProjectRequest } from '../../shared/api';
import { MAX_PROJECT_TEXT } from '../../shared/api/projects';
import { startServer } from './index';
import { connectWebSocket } from './wsTransport';

const dir = mkdtempSync(join(tmpdir(), 'lf-large-'));
writeFileSync(join(dir, 'index.html'), '<!doctype html>');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const received: number[] = [];
const fakeEngine = {
  saveProject: async (req: SaveProjectRequest) => {
    received.push(req.text.length);
    return { path: '/x/big.json', name: 'big.json', savedAt: 'now' };
  },
} as unknown as EngineApi;

describe('serve mode: large messages', () => {
  it('the limit holds the largest project saveProject accepts, JSON-escaped', () => {
    const worst = JSON.stringify({ t: 'req', id: 1, method: 'saveProject', arg: { text: '"'.repeat(1000), name: 'a.json' } }).length / 1000;
    // A project is JSON: about one character in six is a quote, escaped to two; the limit leaves room for all of them.
    expect(SERVE_MAX_MESSAGE_BYTES).toBeGreaterThanOrEqual(MAX_PROJECT_TEXT * Math.min(worst, 2));
  });

  it('a 24 MiB project (three times the old limit) is saved over the WebSocket', async () => {
    const server = await startServer({ engine: fakeEngine, staticDir: dir, token: 'large-token-1' });
    try {
      const { transport, socket } = await connectWebSocket(`ws://127.0.0.1:${server.port}/api?token=large-token-1`, { origin: `http://127.0.0.1:${server.port}` });
      const engine = createClient<EngineApi>(ENGINE_NAMES, transport);
      const text = JSON.stringify({ big: 'x'.repeat(24 * 2 ** 20) });
      await expect(engine.saveProject({ text, name: 'big.json' })).resolves.toMatchObject({ name: 'big.json' });
      expect(received.at(-1)).toBe(text.length);
      socket.close();
    } finally {
      await server.close();
    }
  }, 60_000);

  it('beyond the limit the engine closes that connection with 1009 and keeps serving', async () => {
    const server = await startServer({ engine: fakeEngine, staticDir: dir, token: 'large-token-2', maxMessageBytes: 2 ** 20 });
    try {
      const { transport, socket } = await connectWebSocket(`ws://127.0.0.1:${server.port}/api?token=large-token-2`, { origin: `http://127.0.0.1:${server.port}` });
      const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
      const engine = createClient<EngineApi>(ENGINE_NAMES, transport);
      await expect(engine.saveProject({ text: 'x'.repeat(2 ** 21), name: 'big.json' })).rejects.toMatchObject({ code: 'disconnected' });
      expect(await closed).toBe(1009);
      const again = await connectWebSocket(`ws://127.0.0.1:${server.port}/api?token=large-token-2`, { origin: `http://127.0.0.1:${server.port}` });
      await expect(createClient<EngineApi>(ENGINE_NAMES, again.transport).saveProject({ text: '{}', name: 'small.json' })).resolves.toMatchObject({ name: 'big.json' });
      again.socket.close();
    } finally {
      await server.close();
    }
  }, 60_000);
});
