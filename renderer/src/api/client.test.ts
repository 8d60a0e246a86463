import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, createClient, ENGINE_NAMES, type EngineApi } from '../../../shared/api';
import { closeReason, webSocketTransport } from './client';

class FakeWebSocket {
  static OPEN = 1;
  static CONNECTING = 0;
  static last: FakeWebSocket | null = null;
  readyState = 1;
  sent: string[] = [];
  listeners = new Map<string, ((e: unknown) => void)[]>();
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }
  addEventListener(type: string, cb: (e: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), cb]);
  }
  send(text: string) {
    this.sent.push(text);
  }
}

afterEach(() => vi.unstubAllGlobals());

describe('the serve-mode WebSocket transport', () => {
  it('refuses a request over the limit with its size, sends nothing, and keeps the connection', async () => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    const states: string[] = [];
    const transport = webSocketTransport('ws://x/api', (s) => states.push(s), 1000);
    const ws = FakeWebSocket.last!;
    const engine = createClient<EngineApi>(ENGINE_NAMES, transport);
    const big = engine.saveProject({ text: 'é'.repeat(600), name: 'a.json' });
    await expect(big).rejects.toBeInstanceOf(ApiError);
    await expect(big).rejects.toMatchObject({ code: 'too-large' });
    await expect(big).rejects.toThrow(/saveProject: the request is 1\.\d KiB, more than the 1000 bytes/);
    expect(ws.sent).toHaveLength(0);
    void engine.saveProject({ text: 'é'.repeat(100), name: 'a.json' });
    expect(ws.sent).toHaveLength(1);
    expect(states).not.toContain('closed');
  });

  it('says why the engine closed the connection', () => {
    expect(closeReason(1009, '')).toMatch(/larger than the engine accepts \(128\.0 MiB/);
    expect(closeReason(1006, '')).toMatch(/access token/);
    expect(closeReason(1001, 'going away')).toBe('closed (1001: going away)');
  });
});
