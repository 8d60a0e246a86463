/**
 * main/index.ts's glue, started for real against a fake `electron` (the binary cannot run here): the
 * single-instance lock with this launch's files, macOS 'open-file' taken before 'ready', then the menu,
 * the shell IPC, the window at its remembered place, a launch file delivered once the page is ready, the
 * title mirrored, the OS recent documents fed only with what the engine opened, a second launch focusing
 * the window and opening its file.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { SHELL_CHANNEL, SHELL_EVENT_CHANNEL } from '../shared/api/shell';

const h = vi.hoisted(() => {
  const appHandlers = new Map<string, ((...a: unknown[]) => void)[]>();
  const ipcHandlers = new Map<string, (e: unknown, m: unknown) => void>();
  const windows: FakeWindow[] = [];
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  interface FakeWindow {
    options: Record<string, unknown>;
    title: string;
    maximized: boolean;
    focused: number;
    webContents: { id: number; sent: unknown[]; mainFrame: { url: string }; send(c: string, m: unknown): void; on(): void; once(): void; isDestroyed(): boolean };
  }
  const state = {
    appHandlers,
    ipcHandlers,
    windows,
    readyResolve,
    menus: [] as MenuItemConstructorOptions[][],
    recentDocs: [] as string[],
    lockData: undefined as unknown,
    userData: '',
    listRecent: [] as { path: string; name: string }[],
  };
  class BrowserWindow {
    options: Record<string, unknown>;
    title = '';
    maximized = false;
    focused = 0;
    webContents;
    constructor(options: Record<string, unknown>) {
      this.options = options;
      const wc = {
        id: windows.length + 1,
        sent: [] as unknown[],
        mainFrame: { url: 'layerforge://app/index.html' },
        send: (c: string, m: unknown) => void wc.sent.push({ c, m }),
        on: () => wc,
        once: () => wc,
        isDestroyed: () => false,
      };
      this.webContents = wc;
      windows.push(this as unknown as FakeWindow);
    }
    once() {}
    on() {}
    show() {}
    focus() {
      this.focused += 1;
    }
    restore() {}
    isMinimized() {
      return false;
    }
    maximize() {
      this.maximized = true;
    }
    setTitle(t: string) {
      this.title = t;
    }
    setDocumentEdited() {}
    setRepresentedFilename() {}
    getBounds() {
      return { x: 0, y: 0, width: 1, height: 1 };
    }
    getNormalBounds() {
      return this.getBounds();
    }
    isMaximized() {
      return this.maximized;
    }
    isFullScreen() {
      return false;
    }
    isDestroyed() {
      return false;
    }
    async loadURL() {}
    static getAllWindows = () => windows;
    static getFocusedWindow = () => null;
    static fromWebContents = (wc: { id: number }) => windows.find((w) => w.webContents.id === wc.id) ?? null;
  }
  return { state, BrowserWindow, ready };
});

vi.mock('electron', () => ({
  app: {
    whenReady: () => h.ready,
    isReady: () => false,
    on: (e: string, fn: (...a: unknown[]) => void) => h.state.appHandlers.set(e, [...(h.state.appHandlers.get(e) ?? []), fn]),
    requestSingleInstanceLock: (data: unknown) => ((h.state.lockData = data), true),
    quit: vi.fn(),
    getVersion: () => '0.1.0',
    getPath: () => h.state.userData,
    getAppPath: () => '/nowhere',
    isPackaged: true,
    setAboutPanelOptions: vi.fn(),
    addRecentDocument: (p: string) => h.state.recentDocs.push(p),
  },
  protocol: { registerSchemesAsPrivileged: () => {}, handle: () => {} },
  session: { defaultSession: { setPermissionRequestHandler: () => {}, setPermissionCheckHandler: () => {} } },
  BrowserWindow: h.BrowserWindow,
  ipcMain: { on: (c: string, fn: (e: unknown, m: unknown) => void) => h.state.ipcHandlers.set(c, fn), removeListener: () => {} },
  Menu: {
    setApplicationMenu: () => {},
    buildFromTemplate: (t: MenuItemConstructorOptions[]) => (h.state.menus.push(t), {}),
    getApplicationMenu: () => null,
  },
  net: { fetch: () => {} },
  screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1050 } }] },
  shell: { openPath: vi.fn() },
  dialog: {},
}));

vi.mock('./engine/service/wiring', () => ({
  createEngine: () => ({
    dispose: async () => {},
    listProjects: async () => ({ dir: '/d', projects: [], recent: h.state.listRecent, nativeDialogs: true }),
  }),
}));

const dir = mkdtempSync(join(tmpdir(), 'lf-main-glue-'));
const project = join(dir, 'launch.layerforge');
writeFileSync(project, '{}');
h.state.userData = join(dir, 'userData');
const savedArgv = process.argv;
const savedPlatform = Object.getOwnPropertyDescriptor(process, 'platform')!;

afterAll(() => {
  process.argv = savedArgv;
  Object.defineProperty(process, 'platform', savedPlatform);
});

const flush = () => new Promise((r) => setTimeout(r, 20));
const labels = (t: MenuItemConstructorOptions[]) => t.map((m) => (m.label ?? m.role ?? '').replace('&', ''));

describe('the main process glue', () => {
  it('before ready: takes the lock with this launch’s files and listens for open-file', async () => {
    delete process.env.LAYERFORGE_NO_AUTOSTART;
    Object.defineProperty(process, 'platform', { value: 'linux' });
    process.argv = ['/opt/Layerforge/layerforge', project, '--no-sandbox'];
    // A remembered window state in userData.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(h.state.userData, { recursive: true });
    writeFileSync(join(h.state.userData, 'window-state.json'), JSON.stringify({ format: 'layerforge-window-state', x: 50, y: 40, width: 1300, height: 850, maximized: true }));
    await import('./index');
    expect(h.state.lockData).toEqual({ files: [project] });
    expect(h.state.appHandlers.has('open-file')).toBe(true);
    expect(h.state.appHandlers.has('second-instance')).toBe(true);
    expect(h.state.windows).toHaveLength(0);
  });

  it('on ready: the menu, the shell IPC and the window where it was left', async () => {
    h.state.readyResolve();
    await flush();
    expect(labels(h.state.menus.at(-1)!)).toEqual(['File', 'Edit', 'View', 'Train', 'Help']);
    expect(h.state.ipcHandlers.has(SHELL_CHANNEL)).toBe(true);
    expect(h.state.windows).toHaveLength(1);
    const win = h.state.windows[0]!;
    expect(win.options).toMatchObject({ x: 50, y: 40, width: 1300, height: 850 });
    expect(win.maximized).toBe(true);
    expect((win.options.webPreferences as Record<string, unknown>).contextIsolation).toBe(true);
  });

  it('the launch file reaches the page when it says it is ready; the title and recent documents follow the document', async () => {
    const win = h.state.windows[0]!;
    const send = (m: unknown) => h.state.ipcHandlers.get(SHELL_CHANNEL)!({ sender: win.webContents, senderFrame: win.webContents.mainFrame }, m);
    expect(win.webContents.sent).toEqual([]);
    send({ type: 'ready' });
    expect(win.webContents.sent).toEqual([{ c: SHELL_EVENT_CHANNEL, m: { type: 'openFile', target: { kind: 'project', path: project } } }]);
    // The page opened it (the engine's recent list has it now) and reports the document.
    h.state.listRecent = [{ path: project, name: 'launch.layerforge' }];
    send({ type: 'document', doc: { screen: 'editor', name: 'Launch', path: project, dirty: true } });
    await flush();
    expect(win.title).toBe('● launch.layerforge — Layerforge');
    expect(h.state.recentDocs).toEqual([project]);
    // A path the engine never opened is not added.
    send({ type: 'document', doc: { screen: 'editor', name: 'X', path: '/etc/hosts', dirty: false } });
    await flush();
    expect(h.state.recentDocs).toEqual([project]);
    // The menu is rebuilt with Open Recent filled (after its short debounce).
    await new Promise((r) => setTimeout(r, 150));
    const file = h.state.menus.at(-1)![0]!.submenu as MenuItemConstructorOptions[];
    const recent = file.find((i) => i.label === 'Open Recent')!;
    expect((recent.submenu as MenuItemConstructorOptions[]).map((i) => i.label)).toEqual(['launch.layerforge']);
  });

  it('a menu item chosen goes to the page as its action', () => {
    const win = h.state.windows[0]!;
    const edit = h.state.menus.at(-1)![1]!.submenu as MenuItemConstructorOptions[];
    const undo = edit.find((i) => i.label === 'Undo')!;
    (undo.click as unknown as (a: unknown, b: unknown, e: { triggeredByAccelerator: boolean }) => void)({}, undefined, { triggeredByAccelerator: false });
    expect(win.webContents.sent.at(-1)).toEqual({ c: SHELL_EVENT_CHANNEL, m: { type: 'menuAction', action: 'undo', byAccelerator: false } });
  });

  it('a second launch focuses the window and opens its file there', async () => {
    const win = h.state.windows[0]!;
    const second = join(dir, 'second.layerforge');
    writeFileSync(second, '{}');
    for (const fn of h.state.appHandlers.get('second-instance')!) fn({}, ['/opt/Layerforge/layerforge', 'second.layerforge'], dir, { files: [second] });
    await flush();
    expect(win.focused).toBe(1);
    expect(win.webContents.sent.at(-1)).toEqual({ c: SHELL_EVENT_CHANNEL, m: { type: 'openFile', target: { kind: 'project', path: second } } });
    expect(h.state.windows).toHaveLength(1);
  });
});
