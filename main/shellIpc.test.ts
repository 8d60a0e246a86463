import { describe, expect, it, vi } from 'vitest';
import type { IpcMainEvent, WebContents } from 'electron';
import { SHELL_CHANNEL, SHELL_EVENT_CHANNEL, type ShellEvent } from '../shared/api/shell';
import { bindShellIpc, createShellOutbox, runNativeEdit, type ShellHandlers } from './shellIpc';

const ORIGIN = 'layerforge://app';

function fakeWebContents(id = 1) {
  const handlers = new Map<string, ((...a: unknown[]) => void)[]>();
  const wc = {
    id,
    sent: [] as unknown[],
    destroyed: false,
    mainFrame: { url: `${ORIGIN}/index.html` },
    isDestroyed: () => wc.destroyed,
    send: (channel: string, msg: unknown) => {
      expect(channel).toBe(SHELL_EVENT_CHANNEL);
      wc.sent.push(msg);
    },
    on: (e: string, fn: (...a: unknown[]) => void) => {
      handlers.set(e, [...(handlers.get(e) ?? []), fn]);
      return wc;
    },
    once: (e: string, fn: (...a: unknown[]) => void) => wc.on(e, fn),
    emit: (e: string, ...a: unknown[]) => handlers.get(e)?.forEach((f) => f(...a)),
  };
  return wc;
}

function setup() {
  let listener: ((e: IpcMainEvent, m: unknown) => void) | undefined;
  const ipcMain = {
    on: vi.fn((channel: string, fn: (e: IpcMainEvent, m: unknown) => void) => {
      expect(channel).toBe(SHELL_CHANNEL);
      listener = fn;
    }),
    removeListener: vi.fn(),
  };
  const handlers: ShellHandlers = { menuState: vi.fn(), document: vi.fn(), nativeEdit: vi.fn(), openPaths: vi.fn() };
  const outbox = createShellOutbox();
  const log = vi.fn();
  const off = bindShellIpc(ipcMain as never, { allowedOrigins: [ORIGIN], outbox, handlers, log });
  const wc = fakeWebContents();
  const send = (msg: unknown, frame: { url: string } | null = wc.mainFrame, sender = wc) => listener!({ sender, senderFrame: frame } as unknown as IpcMainEvent, msg);
  return { handlers, outbox, log, wc, send, off, ipcMain };
}

describe('the shell IPC', () => {
  it('hands valid messages from the app to their handlers', () => {
    const { handlers, send, wc } = setup();
    send({ type: 'menuState', state: { enabled: { undo: false }, checked: { togglePalette: true } } });
    expect(handlers.menuState).toHaveBeenCalledWith({ enabled: { undo: false }, checked: { togglePalette: true } }, wc);
    send({ type: 'document', doc: { screen: 'editor', name: 'Net', path: '/p/net.layerforge', dirty: true } });
    expect(handlers.document).toHaveBeenCalledWith({ screen: 'editor', name: 'Net', path: '/p/net.layerforge', dirty: true }, wc);
    send({ type: 'nativeEdit', command: 'paste' });
    expect(handlers.nativeEdit).toHaveBeenCalledWith('paste', wc);
    send({ type: 'openPaths', paths: ['/home/u/model.json'] });
    expect(handlers.openPaths).toHaveBeenCalledWith(['/home/u/model.json'], wc);
  });

  it('drops messages from frames that are not the app and malformed ones, and says so', () => {
    const { handlers, send, log, wc } = setup();
    send({ type: 'openPaths', paths: ['/etc/passwd'] }, { url: 'https://evil.example/' });
    send({ type: 'openPaths', paths: ['/etc/passwd'] }, { url: `${ORIGIN}/sub.html` }); // a sub-frame, not the main frame
    send({ type: 'openPaths', paths: ['/etc/passwd'] }, null);
    expect(log.mock.calls.filter((c) => /not the app/.test(String(c[0])))).toHaveLength(3);
    for (const bad of [null, 'x', { type: 'openPaths', paths: ['relative.json'] }, { type: 'openPaths', paths: [] }, { type: 'nativeEdit', command: 'print' }, { type: 'menuState', state: { enabled: { 'a b': true }, checked: {} } }, { type: 'document', doc: { screen: 'editor', name: 'x', path: null, dirty: 'yes' } }, { type: 'eval', code: '1' }]) {
      send(bad, wc.mainFrame);
    }
    expect(log.mock.calls.filter((c) => /malformed/.test(String(c[0])))).toHaveLength(8);
    for (const h of Object.values(handlers)) expect(h).not.toHaveBeenCalled();
  });

  it('events wait until the page is ready (files from the command line come first), and again after a reload', () => {
    const { outbox, send, wc } = setup();
    const open: ShellEvent = { type: 'openFile', target: { kind: 'project', path: '/p/a.layerforge' } };
    outbox.post(open);
    outbox.setTarget(wc as unknown as WebContents);
    outbox.post({ type: 'menuAction', action: 'undo', byAccelerator: false });
    expect(wc.sent).toEqual([]);
    send({ type: 'ready' });
    expect(wc.sent).toEqual([open, { type: 'menuAction', action: 'undo', byAccelerator: false }]);
    wc.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false });
    outbox.post({ type: 'menuAction', action: 'redo', byAccelerator: false });
    expect(wc.sent).toHaveLength(2);
    expect(outbox.pending()).toHaveLength(1);
    send({ type: 'ready' });
    expect(wc.sent).toHaveLength(3);
    // A closed window: events wait for the next one.
    wc.emit('destroyed');
    outbox.post({ type: 'menuAction', action: 'newProject', byAccelerator: false });
    expect(wc.sent).toHaveLength(3);
  });

  it('a ready from a page that is not the target window delivers nothing', () => {
    const { outbox, send, wc } = setup();
    outbox.setTarget(fakeWebContents(7) as unknown as WebContents);
    outbox.post({ type: 'menuAction', action: 'undo', byAccelerator: false });
    send({ type: 'ready' }, wc.mainFrame, wc);
    expect(wc.sent).toEqual([]);
    expect(outbox.pending()).toHaveLength(1);
  });

  it('native edit commands call the WebContents method of that name; unbinding removes the listener', () => {
    const wc = { undo: vi.fn(), redo: vi.fn(), cut: vi.fn(), copy: vi.fn(), paste: vi.fn(), delete: vi.fn(), selectAll: vi.fn() };
    runNativeEdit(wc, 'selectAll');
    expect(wc.selectAll).toHaveBeenCalled();
    const { off, ipcMain } = setup();
    off();
    expect(ipcMain.removeListener).toHaveBeenCalledWith(SHELL_CHANNEL, expect.any(Function));
  });
});
