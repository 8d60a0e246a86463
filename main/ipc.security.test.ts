/**
 * Fuzz: Electron IPC sender validation. Messages from random frames (foreign and look-alike URLs,
 * sub-frames, missing frames) never reach the engine and get no reply; the app's main frame is served,
 * and garbage from it gets typed errors.
 */
import fc from 'fast-check';
import type { IpcMain, IpcMainEvent } from 'electron';
import { afterAll, describe, expect, it } from 'vitest';
import { FuzzTally, nastyValue } from '../scripts/security/fuzz';
import { IPC_CHANNEL, type EngineApi, type Message } from '../shared/api';
import { bindEngineIpc } from './ipc';

const tally = new FuzzTally('Electron IPC senders');
afterAll(() => tally.report());

const APP = 'layerforge://app';
/**
 * Independent oracle: our app's pages are exactly layerforge://app/… (scheme case-insensitive; the host is
 * compared as written, since Node's URL keeps a custom scheme's host as is and Chromium sends it lowercase;
 * user info before the host does not change the origin; as in the URL standard, leading/trailing spaces and controls and any tab or newline are ignored).
 */
const isAppUrl = (url: string) =>
  // eslint-disable-next-line no-control-regex
  /^[Ll][Aa][Yy][Ee][Rr][Ff][Oo][Rr][Gg][Ee]:\/\/(?:[^/?#]*@)?app(?:[/?#]|$)/.test(url.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, ''));

const urlArb = fc.oneof(
  fc.constantFrom(
    'layerforge://app/index.html', 'layerforge://app/', 'layerforge://APP/x', 'LAYERFORGE://app/a?b#c',
    'layerforge://app.evil.example/', 'layerforge://app@evil.example/', 'layerforge://evil@app/', 'layerforge://app:1/', 'layerforge://appx/',
    'layerforge:app/index.html', 'layerforge:///app/index.html', 'layerforge://app\\@evil/', 'blob:layerforge://app/123', 'about:blank', 'about:srcdoc',
    'data:text/html,<script>1</script>', 'javascript:alert(1)', 'file:///etc/passwd', 'https://evil.example/', 'http://localhost:5173/', 'devtools://devtools/x',
    'chrome-extension://abc/x', '', ' layerforge://app/', 'layerforge://app%2f@evil/',
  ),
  fc.webUrl(),
  fc.string({ maxLength: 40 }).map((s) => `layerforge://${s}`),
  fc.string({ maxLength: 40 }),
);

function setup() {
  const handlers = new Map<string, (e: IpcMainEvent, m: unknown) => void>();
  const ipc = { on: (ch: string, h: (e: IpcMainEvent, m: unknown) => void) => handlers.set(ch, h), removeListener: (ch: string) => handlers.delete(ch) };
  const calls: string[] = [];
  const engine = { listRuns: async () => (calls.push('listRuns'), []), getInfo: async () => (calls.push('getInfo'), { version: 'x', dataDir: '/x', host: 'test' }) } as unknown as EngineApi;
  const logs: string[] = [];
  bindEngineIpc(ipc as unknown as Pick<IpcMain, 'on' | 'removeListener'>, engine, { allowedOrigins: [APP], log: (l) => logs.push(l) });
  return { emit: (e: IpcMainEvent, m: unknown) => handlers.get(IPC_CHANNEL)!(e, m), calls, logs };
}

let nextWc = 1;
function webContents(url: string) {
  const sent: Message[] = [];
  const mainFrame = { url };
  const wc = { id: nextWc++, mainFrame, isDestroyed: () => false, send: (_ch: string, m: Message) => sent.push(m), once: () => {} };
  return { sent, wc, mainFrame };
}

const tick = () => new Promise((r) => setTimeout(r, 2));

describe('Electron IPC sender validation under fuzzing', () => {
  it('serves only the main frame of our app; drops everything else without a reply', async () => {
    const { emit, calls, logs } = setup();
    let served = 0;
    let dropped = 0;
    await fc.assert(
      fc.asyncProperty(urlArb, fc.constantFrom('main', 'sub', 'none', 'detached'), async (url, frameKind) => {
        tally.add('IPC message from a random frame');
        const page = webContents(url);
        const senderFrame = frameKind === 'main' ? page.mainFrame : frameKind === 'sub' ? { url } : frameKind === 'detached' ? null : undefined;
        const before = calls.length;
        const logsBefore = logs.length;
        emit({ sender: page.wc, senderFrame } as unknown as IpcMainEvent, { t: 'req', id: 1, method: 'listRuns' });
        await tick();
        const shouldServe = frameKind === 'main' && isAppUrl(url);
        if (shouldServe) {
          served++;
          expect(calls.length, url).toBe(before + 1);
          expect(page.sent, url).toEqual([{ t: 'res', id: 1, ok: true, value: [] }]);
        } else {
          dropped++;
          expect(calls.length, `${frameKind} ${url}`).toBe(before);
          expect(page.sent, `${frameKind} ${url}`).toEqual([]);
          expect(logs.length).toBe(logsBefore + 1);
        }
      }),
      { numRuns: 800 },
    );
    console.log(`[fuzz] IPC: ${served} messages from the app's main frame served, ${dropped} from other frames dropped`);
    expect(served).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
  });

  it('garbage from the app frame gets typed errors and the channel keeps working', async () => {
    const { emit } = setup();
    const page = webContents(`${APP}/index.html`);
    const ev = { sender: page.wc, senderFrame: page.mainFrame } as unknown as IpcMainEvent;
    await fc.assert(
      fc.asyncProperty(fc.oneof(nastyValue, fc.anything({ maxDepth: 3 }), fc.record({ t: fc.constant('req'), id: fc.constant(7), method: fc.string(), arg: nastyValue })), async (msg) => {
        tally.add('garbage IPC message');
        page.sent.length = 0;
        emit(ev, msg);
        emit(ev, { t: 'req', id: 99, method: 'getInfo' });
        await tick();
        expect(page.sent.find((m) => m.t === 'res' && m.id === 99)).toMatchObject({ ok: true });
        for (const m of page.sent) if (m.t === 'res' && m.id !== 99) expect(m.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
