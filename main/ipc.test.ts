import { describe, expect, it } from 'vitest';
import type { IpcMain, IpcMainEvent } from 'electron';
import { IPC_CHANNEL, type EngineApi, type Message } from '../shared/api';
import { bindEngineIpc, isAllowedUrl } from './ipc';

function fakeWebContents(id: number, url: string) {
  const sent: Message[] = [];
  const mainFrame = { url };
  return {
    sent,
    wc: { id, mainFrame, isDestroyed: () => false, send: (_ch: string, m: Message) => sent.push(m), once: () => {} },
    event(frameUrl = url, sub = false) {
      return { sender: this.wc, senderFrame: sub ? { url: frameUrl } : Object.assign(mainFrame, { url: frameUrl }) } as unknown as IpcMainEvent;
    },
  };
}

function fakeIpcMain() {
  const handlers = new Map<string, (e: IpcMainEvent, m: unknown) => void>();
  const ipc = { on: (ch: string, h: (e: IpcMainEvent, m: unknown) => void) => handlers.set(ch, h), removeListener: (ch: string) => handlers.delete(ch) };
  return { ipc: ipc as unknown as Pick<IpcMain, 'on' | 'removeListener'>, emit: (e: IpcMainEvent, m: unknown) => handlers.get(IPC_CHANNEL)!(e, m), handlers };
}

const engine = { listRuns: async () => [{ id: 'r' }], getRun: async () => ({}) } as unknown as EngineApi;
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('engine over Electron IPC', () => {
  it('accepts only our own origins', () => {
    const allowed = ['layerforge://app', 'http://localhost:5173'];
    expect(isAllowedUrl('layerforge://app/index.html', allowed)).toBe(true);
    expect(isAllowedUrl('http://localhost:5173/', allowed)).toBe(true);
    expect(isAllowedUrl('https://evil.example/', allowed)).toBe(false);
    expect(isAllowedUrl('file:///etc/passwd', allowed)).toBe(false);
    expect(isAllowedUrl('layerforge://other/x', allowed)).toBe(false);
    expect(isAllowedUrl('not a url', allowed)).toBe(false);
  });

  it('answers the app main frame, validates requests, and ignores foreign or sub-frames', async () => {
    const { ipc, emit } = fakeIpcMain();
    const logs: string[] = [];
    bindEngineIpc(ipc, engine, { allowedOrigins: ['layerforge://app'], log: (l) => logs.push(l) });
    const page = fakeWebContents(1, 'layerforge://app/index.html');
    emit(page.event(), { t: 'req', id: 1, method: 'listRuns' });
    emit(page.event(), { t: 'req', id: 2, method: 'getRun', arg: { runId: 42 } });
    emit(page.event(), 'junk');
    await tick();
    expect(page.sent).toHaveLength(3);
    expect(page.sent).toEqual(expect.arrayContaining([
      { t: 'res', id: 1, ok: true, value: [{ id: 'r' }] },
      expect.objectContaining({ id: 2, ok: false, error: expect.objectContaining({ code: 'bad-request' }) }),
      expect.objectContaining({ id: -1, ok: false, error: expect.objectContaining({ code: 'bad-request' }) }),
    ]));
    const evil = fakeWebContents(2, 'https://evil.example/');
    emit(evil.event(), { t: 'req', id: 1, method: 'listRuns' });
    emit(page.event('layerforge://app/index.html', true), { t: 'req', id: 3, method: 'listRuns' });
    await tick();
    expect(evil.sent).toEqual([]);
    expect(page.sent).toHaveLength(3);
    expect(logs).toHaveLength(2);
  });
});
