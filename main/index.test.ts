import { describe, expect, it, vi } from 'vitest';

// The real 'electron' package cannot run under Node (and would try to download its binary): stub it.
vi.mock('electron', () => ({
  app: { whenReady: () => new Promise(() => {}), on: () => {}, getVersion: () => '0', getPath: () => '/tmp', isPackaged: false },
  protocol: { registerSchemesAsPrivileged: () => {}, handle: () => {} },
  BrowserWindow: class {},
  ipcMain: { on: () => {}, removeListener: () => {} },
  Menu: { setApplicationMenu: () => {}, buildFromTemplate: () => ({}) },
  net: { fetch: () => {} },
  screen: {},
  shell: {},
  dialog: {},
  session: {},
}));
process.env.LAYERFORGE_NO_AUTOSTART = '1';

describe('the Electron window', () => {
  it('is isolated, sandboxed and without Node integration (Electron security checklist)', async () => {
    const { windowOptions } = await import('./index');
    const wp = windowOptions('/x/preload.cjs').webPreferences!;
    expect(wp).toMatchObject({
      preload: '/x/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
    });
  });

  it('has a strict CSP: own scripts only, no eval, no inline scripts, no plugins, no framing', async () => {
    const { APP_CSP } = await import('./index');
    const directives = Object.fromEntries(APP_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(APP_CSP).not.toMatch(/unsafe-eval/);
  });

  it('opens where it was left: a remembered size and place go into the window options (kept secure)', async () => {
    const { windowOptions, WINDOW_DEFAULTS } = await import('./index');
    expect(windowOptions('/p.cjs')).toMatchObject({ width: WINDOW_DEFAULTS.width, height: WINDOW_DEFAULTS.height, minWidth: 960, minHeight: 600, title: 'Layerforge' });
    expect(windowOptions('/p.cjs').x).toBeUndefined();
    const o = windowOptions('/p.cjs', { x: 40, y: 30, width: 1200, height: 800, maximized: true });
    expect(o).toMatchObject({ x: 40, y: 30, width: 1200, height: 800, minWidth: 960 });
    expect(o.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    // Centred by the OS when the saved place was not reachable (no x/y).
    expect(windowOptions('/p.cjs', { width: 1000, height: 700, maximized: false }).x).toBeUndefined();
  });
});
