/**
 * Train from the app (issue 6) in Chromium against serve mode (playwright.config.ts starts
 * `layerforge serve` with this token and a temporary data folder).
 */
import { expect, test } from '@playwright/test';
import { shot, trainingJourney } from './training-journey';

const TOKEN = 'e2e-test-token-4173';

test.describe.configure({ mode: 'serial' });

test('train the CIFAR-10 CNN from the app, stop, inspect results, train again and compare', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await trainingJourney(page);
});

test('a model with problems cannot be trained and its problems point at their nodes', async ({ page }) => {
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId('start-empty').click();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-problems')).toBeVisible();
  await expect(page.getByTestId('train-start')).toBeDisabled();
  await shot(page, 'training-6-problems');
});

test('the dashboard in the dark theme shows a kept run with its results', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`/?token=${TOKEN}`);
  await page.getByTestId('template-cifar10-cnn').click();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('run-row').first()).toBeVisible();
  await page.locator('[data-testid="run-row"][data-status="stopped"] [data-testid="run-open"]').first().click();
  await expect(page.getByTestId('confusion-matrix')).toBeVisible();
  await expect(page.getByTestId('prediction-item').first()).toBeVisible();
  await shot(page, 'training-7-dashboard-dark');
});
