/**
 * The PyTorch backend from the app (#18): choose `pytorch` in the backend menu, two processes, train the CIFAR-10
 * CNN on a small CIFAR-10 under torchrun (gloo on CPU), watch the live charts move, pause and resume, stop, and
 * see the results (test accuracy, confusion matrix, predictions) exactly as for a tfjs run. Skipped, saying why,
 * where this machine has no Python with torch (CI installs python3-torch).
 *
 * Its own serve engine and data folder (as downloads.spec.ts): its run must not change what other specs see.
 */
import { ownServeEngine } from './helpers/ownEngine';
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyCifar10 } from '../main/engine/service/tinyCifar';
import { importFromDisk } from './helpers/editor';
import { shot } from './training-journey';

const TOKEN = 'pytorch-e2e-token';

const engine = ownServeEngine('pytorch', TOKEN);

const points = async (page: Page, testId: string) => Number((await page.getByTestId(testId).first().getAttribute('data-points')) ?? 0);

test('train with the PyTorch backend from the app: live charts, pause, stop, results', async ({ page }) => {
  test.setTimeout(300_000);
  const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-pytorch-cifar-')), 80, 100);
  await page.goto(engine.url);
  await page.getByTestId('template-cifar10-cnn').click();
  await page.getByTestId('tab-train').click();
  const panel = page.getByTestId('training-panel');
  await expect(panel).toBeVisible();

  // The backend menu offers pytorch when the engine found a Python with torch; otherwise it says why. The report
  // comes when the engine has looked (a Python start): the line under the menu shows it for the chosen backend.
  const option = page.getByTestId('setting-backend').locator('option[value="pytorch"]');
  await expect(option).toHaveCount(1);
  await page.getByTestId('setting-backend').selectOption('pytorch');
  await expect(page.getByTestId('backend-report')).toBeVisible({ timeout: 60_000 });
  test.skip(!(await option.isEnabled()), `no Python with PyTorch here: ${await page.getByTestId('backend-report').textContent()}`);

  await importFromDisk(page, cifar, 30_000);

  await page.getByTestId('setting-epochs').fill('40');
  await page.getByTestId('setting-batchSize').fill('16');
  await expect(page.getByTestId('backend-report')).toContainText(/torch \d+\.\d+/);
  await page.getByTestId('setting-procs').fill('2');
  await shot(page, 'pytorch-1-backend-menu');
  await page.getByTestId('train-start').click();

  // torchrun starts two Python processes (seconds on a loaded machine), then the charts move.
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
  await expect(page.getByTestId('stat-backend')).toHaveText(/^pytorch \(torch [^,]+, CPU, gloo, 2 processes\)$/, { timeout: 60_000 });
  await expect.poll(() => points(page, 'chart-batch-loss'), { timeout: 120_000 }).toBeGreaterThan(2);
  const n1 = await points(page, 'chart-batch-loss');
  await expect.poll(() => points(page, 'chart-batch-loss'), { timeout: 60_000 }).toBeGreaterThan(n1);
  await shot(page, 'pytorch-2-running');

  // Pause and resume go to the processes through the control file.
  await page.getByTestId('train-pause').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
  await page.getByTestId('train-resume').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });

  // At least one epoch on the dashboard's epoch charts, then stop: the weights come back from PyTorch.
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect.poll(() => points(page, 'chart-epoch-loss'), { timeout: 120_000 }).toBeGreaterThan(0);
  await shot(page, 'pytorch-3-dashboard-live');
  await page.getByTestId('dashboard-close').click();
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'stopped', { timeout: 120_000 });

  // Results, as for a tfjs run: test accuracy, confusion matrix, predictions.
  await expect(page.getByTestId('panel-test-accuracy')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('confusion-matrix').locator('tbody tr')).toHaveCount(10);
  await expect(page.getByTestId('prediction-item').first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('test-accuracy')).toContainText('%');
  await shot(page, 'pytorch-4-results');
});
