/**
 * Serve mode's downloads (issue 20, item 5), in Chromium: the engine writes runs and exports on its own disk,
 * which a browser on another machine cannot see; the run list, the dashboard and the Export dialog offer them
 * as browser downloads. Trains the tabular classifier on iris for one epoch (seconds), downloads the run as a
 * zip (compared byte for byte with the run's folder) and an ONNX export, with screenshots in both themes.
 */
import { ownServeEngine } from './helpers/ownEngine';
import { expect, test, type Download, type Page } from '@playwright/test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { ARTIFACTS, bothThemes, setTheme } from './helpers/editor';

const TOKEN = 'downloads-e2e-token';
const IRIS = fileURLToPath(new URL('../resources/fixtures/tables/iris.csv', import.meta.url));
/** This spec's own serve-mode engine and data folder: its trained run and imported table must not change what the other specs see. */
const engine = ownServeEngine('downloads', TOKEN);

/** Every file under `root`, by its path relative to it (forward slashes). */
function filesUnder(root: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
      else out[relative(root, path).split('\\').join('/')] = readFileSync(path);
    }
  };
  visit(root);
  return out;
}

async function unzipDownload(download: Download): Promise<Record<string, Uint8Array>> {
  const path = await download.path();
  return unzipSync(new Uint8Array(readFileSync(path)));
}

/** Opens the tabular classifier with iris (importing it when this engine does not have it yet), on the Train tab. */
async function irisClassifier(page: Page) {
  await page.goto(engine.url);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId('template-tabular-classifier').click();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('training-panel')).toBeVisible();
  const select = page.getByTestId('dataset-select');
  await expect.poll(() => select.locator('option').count()).toBeGreaterThan(1); // the engine's datasets are listed
  if ((await select.locator('option[value="table:iris"]').count()) > 0) {
    await select.selectOption('table:iris');
  } else {
    await page.getByTestId('table-import-open').click();
    await page.getByTestId('table-path').fill(IRIS);
    await page.getByTestId('table-preview-button').click();
    await expect(page.getByTestId('table-preview')).toHaveAttribute('data-task', 'classification', { timeout: 30_000 });
    await page.getByTestId('table-import-confirm').click();
    await expect(page.getByTestId('table-import-dialog')).toBeHidden({ timeout: 30_000 });
  }
  await expect(select).toHaveValue('table:iris');
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready');
}

test('serve mode: download a trained run (zip, same bytes as its folder) and an ONNX export from the browser', async ({ page }) => {
  test.setTimeout(120_000);
  await irisClassifier(page);
  await page.getByTestId('setting-epochs').fill('1');
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });

  // The run list: a Download button on the finished run.
  const row = page.locator('[data-testid="run-row"][data-status="completed"]').first();
  const button = row.getByTestId('run-download');
  await expect(button).toBeEnabled();
  await expect(button).toHaveAttribute('title', /its folder as a zip/);
  const [runDownload] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const runZipName = runDownload.suggestedFilename();
  // <run name>-<the run id's date, time and hex>.zip
  const stamp = /^tabular-classifier[a-z0-9-]*-(\d{8}-\d{6}-[0-9a-f]{6})\.zip$/.exec(runZipName)?.[1];
  expect(stamp, runZipName).toBeTruthy();
  await expect(page.getByTestId('notice')).toContainText(`Downloading ${runZipName}`);
  const runId = `run-${stamp}`;
  const folder = filesUnder(join(engine.dataDir, 'runs', runId));
  expect(Object.keys(folder)).toEqual(expect.arrayContaining(['run.json', 'model/model.json']));
  const zipped = await unzipDownload(runDownload);
  const base = runZipName.replace(/\.zip$/, '');
  expect(Object.keys(zipped).sort()).toEqual(Object.keys(folder).map((n) => `${base}/${n}`).sort());
  for (const [name, bytes] of Object.entries(folder)) expect(Buffer.from(zipped[`${base}/${name}`]!).equals(bytes), name).toBe(true);
  // The Runs section of the Train tab, in both themes.
  const runsSection = page.getByTestId('runs').locator('xpath=..');
  await page.mouse.move(1, 1);
  for (const theme of ['light', 'dark'] as const) {
    await setTheme(page, theme);
    const box = (await runsSection.boundingBox())!;
    await page.screenshot({ path: join(ARTIFACTS, `downloads-1-run-list-${theme}.png`), clip: { x: box.x - 12, y: box.y - 8, width: box.width + 24, height: box.height + 16 } });
  }
  await setTheme(page, 'light');

  // The dashboard's run header offers the same download.
  await row.getByTestId('run-open').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  const dashButton = page.getByTestId('dashboard-download');
  await expect(dashButton).toBeVisible();
  const [dashDownload] = await Promise.all([page.waitForEvent('download'), dashButton.click()]);
  expect(dashDownload.suggestedFilename()).toBe(runZipName);
  await page.mouse.move(1, 1);
  await bothThemes(page, 'downloads-2-dashboard');
  await page.getByTestId('dashboard-close').click();

  // The Export dialog: ONNX to the suggested path on the engine's machine, then Download brings it here.
  await page.keyboard.press('ControlOrMeta+E');
  await expect(page.getByTestId('model-export-dialog')).toBeVisible();
  await page.getByTestId('export-format-onnx').check();
  await expect(page.getByTestId('export-path')).toHaveValue(/-onnx\.onnx$/);
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-result')).toBeVisible({ timeout: 30_000 });
  const written = (await page.getByTestId('export-result-path').textContent())!;
  const download = page.getByTestId('export-download');
  await expect(download).toBeVisible();
  const [exportDownload] = await Promise.all([page.waitForEvent('download'), download.click()]);
  // A table's ONNX model has companions (preprocessing, README) beside it: all of them, as one zip.
  const exportName = exportDownload.suggestedFilename();
  await expect(download).toHaveText(`Download ${exportName}`);
  expect(exportName).toMatch(/-onnx\.zip$/);
  const exported = await unzipDownload(exportDownload);
  const onnx = Object.keys(exported).find((n) => n.endsWith('.onnx'))!;
  expect(onnx).toBe(`${exportName.replace(/\.zip$/, '')}/${written.split('/').pop()}`);
  expect(Buffer.from(exported[onnx]!).equals(readFileSync(written))).toBe(true);
  expect(Object.keys(exported).some((n) => n.endsWith('.preprocessing.json'))).toBe(true);
  await bothThemes(page, 'downloads-3-export-dialog', 'model-export-dialog');
});

test('the download endpoint refuses a request without the token or with an unknown id, in words', async ({ request }) => {
  const noToken = await request.get(`${engine.base}/download/AAAAAAAAAAAAAAAAAAAAAA`);
  expect(noToken.status()).toBe(401);
  const unknown = await request.get(`${engine.base}/download/AAAAAAAAAAAAAAAAAAAAAA?token=${TOKEN}`);
  expect(unknown.status()).toBe(404);
  expect(await unknown.text()).toContain('Unknown download id');
});
