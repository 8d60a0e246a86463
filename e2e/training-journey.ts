/**
 * The train-from-the-app journey (issue 6), shared by the browser (serve mode) and Electron specs: open
 * the CIFAR-10 CNN template, import a small CIFAR-10 in the official binary layout, train, watch the
 * progress bar and charts move while it trains, pause/resume, stop, see the confusion matrix and
 * predictions, train again and compare the two runs. Screenshots go to e2e/artifacts/.
 */
import { expect, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyCifar10 } from '../main/engine/service/tinyCifar';

export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

export async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

const points = async (page: Page, testId: string) => Number((await page.getByTestId(testId).first().getAttribute('data-points')) ?? 0);
const valueNow = async (page: Page, testId: string) => Number((await page.getByTestId(testId).getAttribute('aria-valuenow')) ?? 0);

/** Runs the journey on a page showing the start screen. `prefix` names the screenshots. */
export async function trainingJourney(page: Page, prefix = ''): Promise<void> {
  const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-cifar-')), 80, 100);
  await page.getByTestId('template-cifar10-cnn').click();
  await expect(page.getByTestId('editor')).toBeVisible();
  await page.getByTestId('tab-train').click();
  const panel = page.getByTestId('training-panel');
  await expect(panel).toBeVisible();

  // No dataset ready yet: CIFAR-10 is listed as missing; import the test's copy from disk.
  await expect(page.getByTestId('dataset-select')).toContainText('CIFAR-10');
  await panel.getByText('Import from disk…').click();
  await page.getByTestId('import-path').fill(cifar);
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('dataset-select')).toHaveValue('cifar10');
  // Runs already kept by the engine (a retry, a reused data folder): counted so the checks below are relative.
  const before = await page.getByTestId('run-row').count();
  await page.getByTestId('dataset-preview-toggle').click();
  await expect(page.getByTestId('dataset-preview').locator('img').first()).toBeVisible();
  expect(await page.getByTestId('dataset-preview').locator('img').count()).toBeGreaterThanOrEqual(10);
  await shot(page, `${prefix}training-1-dataset`);

  // Settings: so many epochs that the run cannot finish before we stop it (30 once took ~18 s of training here and
  // finished before the journey reached Stop); small batches so charts get points.
  await page.getByTestId('setting-epochs').fill('2000');
  await page.getByTestId('setting-batchSize').fill('16');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();

  // While it trains: the progress bar advances and the charts gain points.
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  await expect.poll(() => points(page, 'chart-batch-loss'), { timeout: 60_000 }).toBeGreaterThan(2);
  const p1 = await valueNow(page, 'progress-overall');
  const n1 = await points(page, 'chart-batch-loss');
  await expect.poll(() => valueNow(page, 'progress-overall'), { timeout: 60_000 }).toBeGreaterThan(p1);
  await expect.poll(() => points(page, 'chart-batch-loss'), { timeout: 60_000 }).toBeGreaterThan(n1);
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running');
  await expect(page.getByTestId('stat-backend')).toHaveText('wasm');
  // The canvas keeps working while training: select a node.
  await page.getByTestId('node-conv2d_1').click();
  await shot(page, `${prefix}training-2-running`);

  // Pause and resume.
  await page.getByTestId('train-pause').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'paused');
  await page.getByTestId('train-resume').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running');

  // Wait for at least one epoch so the epoch charts have a point, then stop.
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect.poll(() => points(page, 'chart-epoch-loss'), { timeout: 90_000 }).toBeGreaterThan(0);
  await shot(page, `${prefix}training-3-dashboard-live`);
  await page.getByTestId('dashboard-close').click();
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'stopped', { timeout: 60_000 });

  // Results: test accuracy, confusion matrix and predictions.
  await expect(page.getByTestId('panel-test-accuracy')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('confusion-matrix')).toBeVisible();
  await expect(page.getByTestId('confusion-matrix').locator('tbody tr')).toHaveCount(10);
  await expect(page.getByTestId('prediction-item').first()).toBeVisible({ timeout: 30_000 });
  expect(await page.getByTestId('prediction-item').count()).toBe(24);
  await expect(page.getByTestId('test-accuracy')).toContainText('%');
  await shot(page, `${prefix}training-4-results`);
  await page.getByTestId('results').screenshot({ path: join(ARTIFACTS, `${prefix}training-4b-results-section.png`) });
  await page.getByTestId('dashboard-close').click();

  // A second run with other settings (sgd, 2 epochs), to completion.
  await page.getByTestId('setting-epochs').fill('2');
  await page.getByTestId('setting-optimizer').selectOption('sgd');
  await page.getByTestId('setting-learningRate').fill('0.05');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('run-row')).toHaveCount(before + 2);
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });

  // Compare the two runs.
  const boxes = page.getByTestId('run-compare');
  for (let i = 0; i < 2; i++) if (!(await boxes.nth(i).isChecked())) await boxes.nth(i).check();
  await page.getByTestId('compare-open').click();
  await expect(page.getByTestId('compare-charts')).toHaveAttribute('data-runs', '2');
  await expect.poll(() => points(page, 'compare-epoch-accuracy')).toBeGreaterThan(0);
  await expect(page.getByTestId('compare-charts').locator('.recharts-line')).toHaveCount(6);
  await page.getByTestId('compare-charts').scrollIntoViewIfNeeded();
  await shot(page, `${prefix}training-5-compare`);

  // Runs survive a reload (they are kept by the engine).
  await page.reload();
  await page.getByTestId('template-cifar10-cnn').click();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('run-row')).toHaveCount(before + 2);
}
