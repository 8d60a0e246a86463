import { describe, expect, it, vi } from 'vitest';

// The real 'electron' package cannot run under Node (and would try to download its binary): stub it.
vi.mock('electron', () => ({
  app: { whenReady: () => new Promise(() => {}), on: () => {}, getVersion: () => '0', getPath: () => '/tmp', isPackaged: false },
  protocol: { registerSchemesAsPrivileged: () => {}, handle: () => {} },
  BrowserWindow: class {},
  ipcMain: { on: () => {}, removeListener: () => {} },
  Menu: { setApplicationMenu: () => {}, buildFromTemplate: () => ({}) },
  net: { fetch: () => {} },
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
});
