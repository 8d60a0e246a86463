/**
 * The Electron main process: thin glue only. A secure window (context isolation, sandbox, no Node
 * integration, strict CSP, navigation / new windows / permissions denied), a menu, the app served
 * from a privileged custom scheme (not file://), and the engine bound to IPC (main/ipc.ts).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, session, type BrowserWindowConstructorOptions, type MenuItemConstructorOptions } from 'electron';
import { join, normalize, relative, isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEngine } from './engine/service/wiring';
import { bindEngineIpc } from './ipc';
import { confirmUnsavedClose, electronProjectDialogs } from './projectDialogs';

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
export function windowOptions(preload: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Layerforge',
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

function menu(): void {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]), { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function createWindow(): Promise<void> {
  const win = new BrowserWindow(windowOptions(join(here, '../preload/index.cjs')));
  win.once('ready-to-show', () => win.show());
  win.webContents.on('will-prevent-unload', (event) => confirmUnsavedClose(dialog, win, event));
  await win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
}

if (process.env.LAYERFORGE_NO_AUTOSTART !== '1') {
  const engine = createEngine({
    host: 'electron',
    version: app.getVersion(),
    ...(process.env.LAYERFORGE_DATA_DIR ? {} : { dataDir: join(app.getPath('userData'), 'data') }),
    workerEntry: join(here, 'worker.js'),
    projectDialogs: electronProjectDialogs(dialog, () => BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0]),
  });
  app.whenReady().then(async () => {
    harden();
    serveApp();
    menu();
    bindEngineIpc(ipcMain, engine, { allowedOrigins });
    await createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void createWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', () => void engine.dispose());
}
