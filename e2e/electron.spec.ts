/**
 * The train-from-the-app journey in the Electron app (Playwright's _electron). Runs where the Electron
 * binary exists; elsewhere (as on a headless build box where it was never downloaded) it is reported
 * as skipped with the reason. Builds the app with electron-vite first.
 */
import { _electron as electron, expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from '../scripts/start.mjs';
import { trainingJourney } from './training-journey';

const root = fileURLToPath(new URL('..', import.meta.url));
const binary = (findElectronBinary as (env?: NodeJS.ProcessEnv) => { path: string | null; reason?: string })();

if (!binary.path) console.log(`electron.spec.ts: skipped: Electron binary not available: ${binary.reason ?? ''}`);

test.describe('Electron app', () => {
  test.skip(!binary.path, `Electron binary not available: ${binary.reason ?? ''}`);

  test('train the CIFAR-10 CNN in the desktop app, stop, inspect results, train again and compare', async () => {
    test.setTimeout(300_000);
    const build = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const app = await electron.launch({
      executablePath: binary.path!,
      args: [root, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      env: { ...process.env, LAYERFORGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'lf-electron-e2e-')) },
    });
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
