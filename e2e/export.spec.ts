/**
 * Export and import from the app (issue 7), in Chromium against serve mode: the summary image as
 * SVG and PNG (checked byte by byte), the Export dialog's validation, and a real journey: train a tiny
 * run, export it to ONNX (loaded back with onnxruntime-node) and to TensorFlow.js, then import that
 * model.json as a new, auto-laid-out project.
 */
import { expect, test, type Download, type Page } from '@playwright/test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writeTinyCifar10 } from '../main/engine/service/tinyCifar';
import { ARTIFACTS } from './helpers/editor';

const TOKEN = 'e2e-test-token-4173';

const cifarTemplate = JSON.parse(readFileSync(new URL('../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')) as {
  graph: { nodes: { name: string }[] };
};
const templateNames = cifarTemplate.graph.nodes.map((n) => n.name);

async function shot(page: Page, name: string, target?: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (target) await page.getByTestId(target).screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  else await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function openTemplate(page: Page, id = 'cifar10-cnn') {
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId(`template-${id}`).click();
  await expect(page.getByTestId('editor')).toBeVisible();
}

async function saveDownload(download: Download, name: string): Promise<Buffer> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await download.saveAs(path);
  return readFileSync(path);
}

test.describe.configure({ mode: 'serial' });

test('export the summary image as SVG and PNG', async ({ page }) => {
  await openTemplate(page);

  // From the top bar's Export menu.
  await page.getByTestId('btn-export-menu').click();
  await expect(page.getByTestId('export-menu')).toBeVisible();
  await shot(page, 'export-0-menu');
  await page.getByTestId('menu-exportImage').click();
  const dialog = page.getByTestId('image-export-dialog');
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId('image-preview').locator('img')).toBeVisible();
  await shot(page, 'export-1-image-dialog');

  // SVG: every node's name, its shape and the model's total are in the file.
  await page.getByTestId('image-format-svg').check();
  await expect(page.getByTestId('image-file-name')).toHaveValue(/\.svg$/);
  const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('image-export-confirm').click()]);
  expect(svgDownload.suggestedFilename()).toMatch(/\.svg$/);
  const svg = (await saveDownload(svgDownload, 'export-summary.svg')).toString('utf8');
  await expect(dialog).toBeHidden();
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  for (const name of templateNames) expect(svg, name).toContain(`>${name}</text>`);
  expect(svg).toContain('30×30×32');
  expect(svg).toContain('315,722 parameters');
  const svgW = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
  const svgH = Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]);
  // No UI chrome: nothing from the palette, inspector or top bar.
  expect(svg).not.toMatch(/Inspector|Palette|Layerforge/);

  // PNG at 2x, opened by its shortcut, in the dark theme: the image stays light.
  await page.getByTestId('btn-theme').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.keyboard.press('Shift+ControlOrMeta+E');
  await expect(dialog).toBeVisible();
  await shot(page, 'export-2-image-dialog-dark');
  await expect(page.getByTestId('image-format-png')).toBeChecked();
  await expect(page.getByTestId('image-size')).toContainText(`PNG ${svgW * 2}×${svgH * 2} px at 2x`);
  const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('image-export-confirm').click()]);
  expect(pngDownload.suggestedFilename()).toMatch(/\.png$/);
  const bytes = await saveDownload(pngDownload, 'export-summary.png');
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = PNG.sync.read(bytes);
  expect(png.width).toBe(svgW * 2);
  expect(png.height).toBe(svgH * 2);
  const px = (x: number, y: number) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4)];
  expect(px(0, 0)).toEqual([255, 255, 255, 255]); // light background whatever the app theme
  // The graph is drawn: a good share of the pixels are not background.
  let ink = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! < 200 || png.data[i + 1]! < 200 || png.data[i + 2]! < 200) ink++;
  expect(ink / (png.width * png.height)).toBeGreaterThan(0.01);
  await expect(page.getByTestId('notice')).toContainText('Exported');
});

test('the Export dialog says when there is no trained run and checks its fields', async ({ page }) => {
  await openTemplate(page);
  await page.keyboard.press('ControlOrMeta+E');
  const dialog = page.getByTestId('model-export-dialog');
  await expect(dialog).toBeVisible();
  // A fresh engine data folder: no runs yet (this spec trains later).
  await expect(page.getByTestId('export-no-runs')).toBeVisible();
  for (const f of ['tfjs', 'onnx', 'pytorch', 'keras']) await expect(page.getByTestId(`export-format-${f}`)).toBeVisible();
  await expect(dialog).toContainText('NCHW');
  await page.getByTestId('export-format-onnx').check();
  await page.getByTestId('export-path').fill('exports/model');
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-error-run')).toContainText('Choose a trained run');
  await expect(page.getByTestId('export-error-path')).toContainText('absolute path');
  await shot(page, 'export-3-model-dialog-validation');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // Import: a relative path is refused before asking the engine; a missing file is the engine's error.
  await page.getByTestId('btn-importModel').click();
  await expect(page.getByTestId('import-model-dialog')).toBeVisible();
  await page.getByTestId('import-model-path').fill('model.json');
  await page.getByTestId('import-model-confirm').click();
  await expect(page.getByTestId('import-model-invalid')).toContainText('absolute path');
  await page.getByTestId('import-model-path').fill('/nonexistent/layerforge/model.json');
  await page.getByTestId('import-model-confirm').click();
  await expect(page.getByTestId('import-model-error')).toBeVisible();
  await shot(page, 'export-4-import-error');
});

test('train a tiny run, export it to ONNX and TensorFlow.js, import the model.json back', async ({ page }) => {
  test.setTimeout(240_000);
  const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-export-cifar-')), 40, 40);
  const outDir = mkdtempSync(join(tmpdir(), 'lf-e2e-export-out-'));
  await openTemplate(page);

  // Train one short epoch (as the training journey does).
  await page.getByTestId('tab-train').click();
  await page.getByTestId('training-panel').getByText('Import from disk…').click();
  await page.getByTestId('import-path').fill(cifar);
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready', { timeout: 30_000 });
  await page.getByTestId('setting-epochs').fill('1');
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 180_000 });

  // Export to ONNX into a folder: the dialog writes model.onnx inside it.
  await page.getByTestId('btn-export-menu').click();
  await page.getByTestId('menu-exportModel').click();
  const dialog = page.getByTestId('model-export-dialog');
  await expect(page.getByTestId('export-run')).toBeVisible();
  await expect(page.getByTestId('export-path')).toHaveValue(/exports.*-tfjs$/); // suggested under the engine's data folder
  await page.getByTestId('export-format-onnx').check();
  await expect(page.getByTestId('export-path')).toHaveValue(/-onnx\.onnx$/);
  await page.getByTestId('export-path').fill(join(outDir, 'onnx'));
  await expect(dialog).toContainText(`writes ${join(outDir, 'onnx', 'model.onnx')}`);
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-result')).toBeVisible({ timeout: 60_000 });
  const onnxPath = join(outDir, 'onnx', 'model.onnx');
  await expect(page.getByTestId('export-result-path')).toHaveText(onnxPath);
  await expect(page.getByTestId('export-result')).toContainText('NHWC');
  await shot(page, 'export-5-model-dialog-onnx-done');
  expect(statSync(onnxPath).size).toBeGreaterThan(100_000); // 315,722 float32 weights
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxPath);
  expect(session.inputNames).toHaveLength(1);
  expect(session.outputNames).toHaveLength(1);

  // An export the engine cannot write (a folder inside a plain file) shows its error in the dialog.
  const blocker = join(outDir, 'a-plain-file');
  writeFileSync(blocker, 'not a folder');
  await page.getByTestId('export-path').fill(join(blocker, 'tfjs'));
  await page.getByTestId('export-format-tfjs').check();
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-error')).toContainText(/ENOTDIR|not a directory/i, { timeout: 30_000 });
  await shot(page, 'export-6-model-dialog-error');

  // TensorFlow.js, then import its model.json as a new project.
  const tfjsDir = join(outDir, 'tfjs');
  await page.getByTestId('export-path').fill(tfjsDir);
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-result')).toBeVisible({ timeout: 60_000 });
  expect(existsSync(join(tfjsDir, 'model.json'))).toBe(true);
  await page.getByTestId('export-cancel').click();
  await expect(dialog).toBeHidden();

  await page.keyboard.press('ControlOrMeta+I');
  await page.getByTestId('import-model-path').fill(join(tfjsDir, 'model.json'));
  await shot(page, 'export-7-import-dialog');
  await page.getByTestId('import-model-confirm').click();
  // The dialog says what it found, then opens it.
  await expect(page.getByTestId('import-model-format')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('import-model-open').click();
  // The template is unsaved: confirm discarding it.
  // (isVisible() does not wait: under load the confirmation came after it looked, and then blocked the import.)
  const discard = page.getByTestId('discard-confirm');
  const notice = page.getByTestId('notice').filter({ hasText: 'Imported' });
  await expect(discard.or(notice)).toBeVisible({ timeout: 30_000 });
  if (await discard.isVisible()) await discard.click();
  await expect(notice).toBeVisible({ timeout: 30_000 });
  for (const name of templateNames) await expect(page.getByTestId(`node-${name}`)).toBeVisible();
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  // Auto-laid-out: every node has its own place, top to bottom.
  const boxes = await Promise.all(templateNames.map((n) => page.getByTestId(`node-${n}`).boundingBox()));
  const ys = boxes.map((b) => Math.round(b!.y));
  expect(new Set(ys.map((y, i) => `${Math.round(boxes[i]!.x)},${y}`)).size).toBe(templateNames.length);
  expect([...ys].sort((a, b) => a - b)).toEqual(ys);
  await shot(page, 'export-8-imported');
});
