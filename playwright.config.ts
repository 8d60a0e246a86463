import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig, devices } from '@playwright/test';

/** LAYERFORGE_E2E_PORT lets two Playwright runs on one machine use different ports. */
const PORT = Number(process.env.LAYERFORGE_E2E_PORT ?? 4173);

/** The access token of the e2e serve-mode server (tests open `/?token=...`). */
const E2E_TOKEN = 'e2e-test-token-4173';
process.env.LAYERFORGE_E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'layerforge-e2e-'));
const E2E_DATA_DIR = process.env.LAYERFORGE_E2E_DATA_DIR;

/**
 * E2E journeys against the browser build (out/web; `npm run build:web` first). The `chromium` project
 * uses Debian's Chromium; an `electron` project joins it where an Electron binary exists.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1280, height: 800 },
    // A trace only for a retried test (CI retries once): recording snapshots and a screencast for every test
    // slowed each journey (ui-perf.spec.ts measured about 2x on its figures) and a failure's retry still has one.
    trace: 'on-first-retry',
    screenshot: 'only-on-failure',
    acceptDownloads: true,
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        viewport: { width: 1280, height: 800 },
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
        },
      },
    },
  ],
  // Serve mode (issue 6): the built renderer + the engine API on loopback, with a fixed test token and a
  // fresh data folder per test session (made once in the main process; workers inherit the env var).
  webServer: {
    command: `node bin/layerforge.mjs serve --port ${PORT} --token ${E2E_TOKEN} --no-open`,
    url: `http://127.0.0.1:${PORT}`,
    env: { LAYERFORGE_DATA_DIR: E2E_DATA_DIR },
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
