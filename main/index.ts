/**
 * The Electron main process: thin glue only. A secure window (context isolation, sandbox, no Node
 * integration, strict CSP, navigation / new windows / permissions denied), the app served from a
 * privileged custom scheme (not file://), the engine bound to IPC (main/ipc.ts), and the desktop shell:
 * the menus (main/menu.ts), files opened from the OS with a single-instance lock (main/documents.ts), the
 * window's remembered size and place (main/windowState.ts), all bound to the page by main/shellIpc.ts.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, screen, session, shell, type BrowserWindowConstructorOptions, type WebContents } from 'electron';
import { existsSync } from 'node:fs';
import { join, normalize, relative, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { EngineApi } from '../shared/api';
import type { DocumentInfo, MenuState } from '../shared/api/shell';
import { APP_NAME, documentTitle } from '../shared/shell/document';
import type { MainCommand } from '../shared/shell/menuSpec';
import { addRecentIfKnown, claimSingleInstance, createDocumentOpener, filesFromArgv, focusWindow, listenOpenFile, recentMenuItems } from './documents';
import { createEngine } from './engine/service/wiring';
import { bindEngineIpc } from './ipc';
import { quitAfterEngine } from './quit';
import { applyMenuState, buildMenuTemplate, type RecentItem } from './menu';
import { confirmUnsavedClose, electronProjectDialogs, type DesktopProjectDialogs } from './projectDialogs';
import { bindShellIpc, createShellOutbox, runNativeEdit } from './shellIpc';
import { fileWindowStateStore, restoreWindowState, trackWindowState, type WindowState } from './windowState';

export const APP_SCHEME = 'layerforge';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** The Content-Security-Policy of every app page. */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** The main window's options (asserted by main/index.test.ts; see Electron's security checklist). */
export const WINDOW_DEFAULTS = { width: 1440, height: 900, minWidth: 960, minHeight: 600 };

export function windowOptions(preload: string, state?: WindowState): BrowserWindowConstructorOptions {
  return {
    ...WINDOW_DEFAULTS,
    ...(state ? { width: state.width, height: state.height, ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}) } : {}),
    show: false,
    title: APP_NAME,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

const here = fileURLToPath(new URL('.', import.meta.url));
const rendererDir = join(here, '../renderer');
const devUrl = process.env.ELECTRON_RENDERER_URL;
const allowedOrigins = [APP_ORIGIN, ...(devUrl ? [new URL(devUrl).origin] : [])];

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

function serveApp(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = normalize(join(rendererDir, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)));
    const rel = relative(rendererDir, file);
    if (url.host !== 'app' || rel.startsWith('..') || isAbsolute(rel)) return new Response('Not found', { status: 404 });
    const res = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(res.headers);
    headers.set('Content-Security-Policy', APP_CSP);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
}

function harden(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!allowedOrigins.some((o) => url.startsWith(`${o}/`))) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!allowedOrigins.some((o) => url.startsWith(`${o}/`))) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

/**
 * The desktop shell around the window: files from the OS (single-instance lock, command line, macOS
 * 'open-file': taken now, before 'ready'), then on `ready()` the menus, the shell IPC and the window with
 * its remembered size and place. Null when another instance runs (it got our files; we quit).
 */
function startShell(dialogs: DesktopProjectDialogs, engine: () => EngineApi): { ready(): Promise<void> } | null {
  const defaultApp = process.defaultApp === true;
  const outbox = createShellOutbox();
  const opener = createDocumentOpener({ vouch: (p) => dialogs.vouch(p), deliver: (target) => outbox.post({ type: 'openFile', target }) });
  const launchFiles = filesFromArgv(process.argv, { defaultApp, cwd: process.cwd() });
  let win: BrowserWindow | null = null;
  let menuState: MenuState = { enabled: {}, checked: {} };
  let recent: RecentItem[] = [];
  let documentPath: string | null = null;
  let rebuild: ReturnType<typeof setTimeout> | undefined;

  const open = (paths: readonly string[]) => {
    if (!paths.length) return;
    if (app.isReady() && !win) void createWindow();
    void opener.open(paths);
  };
  const claimed = claimSingleInstance(app, {
    files: launchFiles,
    defaultApp,
    onSecondInstance: (files) => {
      focusWindow(win);
      open(files);
    },
  });
  if (!claimed) return null;
  listenOpenFile(app, (paths) => open(paths));
  open(launchFiles);

  const installMenu = () => {
    const template = buildMenuTemplate({
      platform: process.platform,
      isPackaged: app.isPackaged,
      appName: APP_NAME,
      state: menuState,
      recent,
      onAction: (action, byAccelerator) => {
        if (!win) void createWindow();
        outbox.post({ type: 'menuAction', action, byAccelerator });
      },
      onOpenRecent: (path) => open([path]),
      onCommand: (command) => runCommand(command),
    });
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  };
  const scheduleMenu = () => {
    clearTimeout(rebuild);
    rebuild = setTimeout(installMenu, 100);
  };
  const runCommand = (command: MainCommand) => {
    const wc = (BrowserWindow.getFocusedWindow() ?? win)?.webContents;
    if (command === 'reload') wc?.reload();
    else if (command === 'toggleDevTools') wc?.toggleDevTools();
    else void openDocumentation();
  };
  const refreshRecent = async (added: string | null) => {
    try {
      const list = (await engine().listProjects()).recent;
      addRecentIfKnown(app, added, list);
      recent = recentMenuItems(list);
      scheduleMenu();
    } catch {
      // the engine is closing: the menu stays as it is
    }
  };

  async function createWindow(): Promise<void> {
    if (win) return;
    const store = fileWindowStateStore(join(app.getPath('userData'), 'window-state.json'));
    const state = restoreWindowState(store.load(), screen.getAllDisplays().map((d) => d.workArea), WINDOW_DEFAULTS);
    const w = new BrowserWindow(windowOptions(join(here, '../preload/index.cjs'), state));
    win = w;
    if (state.maximized) w.maximize();
    trackWindowState(w, store);
    outbox.setTarget(w.webContents);
    w.once('ready-to-show', () => w.show());
    w.on('closed', () => {
      if (win === w) win = null;
      outbox.setTarget(null);
    });
    w.webContents.on('will-prevent-unload', (event) => confirmUnsavedClose(dialog, w, event));
    await w.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
  }

  return {
    async ready() {
      bindShellIpc(ipcMain, {
        allowedOrigins,
        outbox,
        handlers: {
          menuState(state) {
            menuState = state;
            // macOS updates the items in place (an open menu stays open); elsewhere the menu is rebuilt.
            const m = Menu.getApplicationMenu();
            if (process.platform === 'darwin' && m) applyMenuState(m, state);
            else scheduleMenu();
          },
          document(doc: DocumentInfo, sender: WebContents) {
            const path = doc.screen === 'editor' && doc.path && isAbsolute(doc.path) ? doc.path : null;
            const w = BrowserWindow.fromWebContents(sender);
            if (w) {
              // The page sets document.title too (serve mode has only that); the window mirrors it.
              w.setTitle(documentTitle(doc));
              if (process.platform === 'darwin') {
                w.setDocumentEdited(doc.screen === 'editor' && doc.dirty);
                w.setRepresentedFilename(path ?? '');
              }
            }
            if (path !== documentPath) {
              documentPath = path;
              void refreshRecent(path);
            }
          },
          nativeEdit: (command, sender) => runNativeEdit(sender, command),
          openPaths: (paths) => open(paths),
        },
      });
      app.setAboutPanelOptions({ applicationName: APP_NAME, applicationVersion: app.getVersion(), copyright: 'MIT License' });
      installMenu();
      void refreshRecent(null);
      await createWindow();
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) void createWindow();
      });
    },
  };
}

/** Help > Documentation: the README beside the app (or in its resources), in the system's viewer. */
async function openDocumentation(): Promise<void> {
  const candidates = [join(app.getAppPath(), 'README.md'), ...(process.resourcesPath ? [join(process.resourcesPath, 'README.md')] : [])];
  const file = candidates.find((f) => existsSync(f));
  const failed = file ? await shell.openPath(file) : 'README.md is not part of this build.';
  if (failed) await dialog.showMessageBox({ type: 'info', title: 'Documentation', message: 'The documentation could not be opened.', detail: failed });
}

if (process.env.LAYERFORGE_NO_AUTOSTART !== '1') {
  const dialogs = electronProjectDialogs(dialog, () => BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0]);
  let engine: EngineApi | undefined;
  const shellApp = startShell(dialogs, () => engine!);
  if (shellApp) {
    const e = createEngine({
      host: 'electron',
      version: app.getVersion(),
      ...(process.env.LAYERFORGE_DATA_DIR ? {} : { dataDir: join(app.getPath('userData'), 'data') }),
      workerEntry: join(here, 'worker.js'),
      projectDialogs: dialogs,
    });
    engine = e;
    app.whenReady().then(async () => {
      harden();
      serveApp();
      bindEngineIpc(ipcMain, e, { allowedOrigins });
      await shellApp.ready();
    });
    app.on('window-all-closed', () => {
      if (process.platform !== 'darwin') app.quit();
    });
    quitAfterEngine(app, e);
  }
}
