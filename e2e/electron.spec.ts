/**
 * Journeys in the Electron app (Playwright's _electron): the desktop shell (native menus that dispatch the
 * app's actions, the window title with the unsaved mark, a project passed on the command line) and the
 * train-from-the-app journey. Runs where the Electron binary exists; elsewhere (as on a headless build box
 * where it was never downloaded) it is reported as skipped with the reason. Builds the app with
 * electron-vite first.
 */
import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from '../scripts/start.mjs';
import { trainingJourney } from './training-journey';

const root = fileURLToPath(new URL('..', import.meta.url));
const binary = findElectronBinary();
const reason = binary.path === null ? binary.reason : '';

if (!binary.path) console.log(`electron.spec.ts: skipped: Electron binary not available: ${reason}`);

function launch(extraArgs: string[] = []): Promise<ElectronApplication> {
  return electron.launch({
    executablePath: binary.path!,
    args: [root, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...extraArgs],
    env: { ...process.env, LAYERFORGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'lf-electron-e2e-')) },
  });
}

test.describe('Electron app', () => {
  test.skip(!binary.path, `Electron binary not available: ${reason}`);
  test.describe.configure({ mode: 'serial' });

  test.beforeAll(() => {
    test.setTimeout(300_000);
    const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
  });

  test('native menus dispatch the app’s actions; the title shows the project and its unsaved mark', async () => {
    const app = await launch();
    try {
      const page = await app.firstWindow();
      await expect(page.getByTestId('start-screen')).toBeVisible();
      // The shell bridge is there, with only its own functions.
      expect(await page.evaluate(() => Object.keys((window as unknown as { layerforgeShell: object }).layerforgeShell).sort())).toEqual(
        ['nativeEdit', 'onMenuAction', 'onOpenFile', 'openFiles', 'ready', 'setDocument', 'setMenuState'].sort(),
      );
      const menus = await app.evaluate(({ Menu }) => Menu.getApplicationMenu()?.items.map((i) => i.label.replace('&', '')) ?? []);
      expect(menus).toEqual(expect.arrayContaining(['File', 'Edit', 'View', 'Train', 'Help']));
      const click = (id: string) => app.evaluate(({ Menu }, itemId) => Menu.getApplicationMenu()!.getMenuItemById(itemId)!.click(), id);
      // Help > Keyboard Shortcuts: the same action as '?' and the toolbar's button.
      await click('action:toggleHelp');
      await expect(page.getByTestId('help-overlay')).toBeVisible();
      await click('action:toggleHelp');
      await page.getByTestId('template-cifar10-cnn').click();
      await expect(page.getByTestId('editor')).toBeVisible();
      await expect(page).toHaveTitle('CIFAR-10 CNN — Layerforge');
      await expect.poll(() => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.getTitle())).toBe('CIFAR-10 CNN — Layerforge');
      // Enabled state follows the app: nothing to undo yet; after an edit there is.
      await expect.poll(() => app.evaluate(({ Menu }) => Menu.getApplicationMenu()!.getMenuItemById('action:undo')!.enabled)).toBe(false);
      await click('action:selectAll');
      await click('action:deleteSelection');
      await expect(page.locator('.react-flow__node')).toHaveCount(0);
      await expect(page).toHaveTitle('● CIFAR-10 CNN — Layerforge');
      await expect.poll(() => app.evaluate(({ Menu }) => Menu.getApplicationMenu()!.getMenuItemById('action:undo')!.enabled)).toBe(true);
      await click('action:undo');
      await expect(page.locator('.react-flow__node')).toHaveCount(8);
      // View > Layer Palette hides the palette and unchecks itself.
      await click('action:togglePalette');
      await expect(page.getByTestId('palette')).toBeHidden();
      await expect.poll(() => app.evaluate(({ Menu }) => Menu.getApplicationMenu()!.getMenuItemById('action:togglePalette')!.checked)).toBe(false);
    } finally {
      await app.close();
    }
  });

  test('a project passed on the command line opens in the window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lf-electron-open-'));
    const file = join(dir, 'from-cli.layerforge');
    writeFileSync(file, JSON.stringify({ format: 'layerforge-project', version: 1, name: 'From the command line', graph: { nodes: [], edges: [] } }));
    const app = await launch([file]);
    try {
      const page = await app.firstWindow();
      await expect(page.getByTestId('editor')).toBeVisible();
      await expect(page).toHaveTitle('from-cli.layerforge — Layerforge');
    } finally {
      await app.close();
    }
  });

  test('train the CIFAR-10 CNN in the desktop app, stop, inspect results, train again and compare', async () => {
    test.setTimeout(300_000);
    const app = await launch();
    try {
      const page = await app.firstWindow();
      // The window is the secure one: no Node in the page, only the typed client.
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => Object.keys((window as unknown as { layerforge: object }).layerforge).includes('startTraining'))).toBe(true);
      await expect(page.getByTestId('start-screen')).toBeVisible();
      await trainingJourney(page, 'electron-');
    } finally {
      await app.close();
    }
  });
});
