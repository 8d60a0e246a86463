import { expect, test } from '@playwright/test';
import { openApp, screenshot } from './helpers/editor';

test('start screen lists the templates and opens one', async ({ page }) => {
  await openApp(page);
  await screenshot(page, 'start-light');
  await page.getByTestId('template-cifar10-cnn').click();
  await expect(page.getByTestId('node-conv2d_1')).toBeVisible();
  await expect(page.getByTestId('total-params')).toHaveText('315,722');
  await screenshot(page, 'editor-template-light');
  // The training dashboard (issue 6) lives in the side panel's Train tab.
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-panel')).toBeVisible();
  await page.getByTestId('tab-inspect').click();
  await expect(page.getByTestId('model-summary')).toBeVisible();
});

test('dark theme follows the system setting', async ({ page }) => {
  await openApp(page, { theme: 'dark' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await screenshot(page, 'start-dark');
  await page.getByTestId('template-cifar10-cnn').click();
  await expect(page.getByTestId('node-conv2d_1')).toBeVisible();
  await screenshot(page, 'editor-template-dark');
});
