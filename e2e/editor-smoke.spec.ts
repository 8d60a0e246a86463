import { expect, test } from '@playwright/test';
import { openApp, screenshot } from './helpers/editor';

test('start screen lists the templates and opens one', async ({ page }) => {
  await openApp(page);
  await screenshot(page, 'start-light');
  await page.getByTestId('template-cifar10-cnn').click();
  await expect(page.getByTestId('node-conv2d_1')).toBeVisible();
  await expect(page.getByTestId('total-params')).toHaveText('315,722');
  await screenshot(page, 'editor-template-light');
});
