import { expect, test } from '@playwright/test';
import { ARTIFACTS, openApp, setTheme, startEmpty } from './helpers/editor';

/**
 * The palette lists the layer types real models use (issue 15): the Activation category, 1-D convolution
 * and pooling, the new merges, noise and scaling layers, each with its description on hover; a new layer
 * added from it gets its shape inferred. Screenshots of the whole palette in both themes.
 */
test('the palette shows the layer types of imported models, grouped, with descriptions', async ({ page }) => {
  await page.setViewportSize({ width: 1400, height: 2300 });
  await openApp(page);
  await startEmpty(page);
  const palette = page.getByTestId('palette');
  await expect(palette).toBeVisible();
  const categories = await palette.locator('.lf-palette-cat').allTextContents();
  expect(categories).toContain('Activation');
  expect(categories.indexOf('Activation')).toBe(categories.indexOf('Core') + 1);
  for (const type of ['ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'Softmax', 'Activation', 'Conv1D', 'SeparableConv2D', 'MaxPool1D', 'AvgPool1D', 'ZeroPadding1D', 'Cropping1D', 'Cropping2D', 'UpSampling1D', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'RepeatVector', 'Subtract', 'Maximum', 'Minimum', 'Dot', 'Rescaling', 'Normalization']) {
    await expect(page.getByTestId(`palette-item-${type}`), type).toBeVisible();
  }
  await page.getByTestId('palette-item-ReLU').hover();
  await expect(page.getByTestId('palette-description')).toContainText('maxValue 6 = ReLU6');
  for (const theme of ['light', 'dark'] as const) {
    await setTheme(page, theme);
    await page.getByTestId('palette-item-Conv1D').hover();
    await palette.screenshot({ path: `${ARTIFACTS}palette-issue15-${theme}.png` });
  }
  // search finds the Keras names, and a ReLU added from it takes its input's shape
  await page.getByTestId('palette-search').fill('relu6');
  await expect(page.getByTestId('palette-item-ReLU')).toBeVisible();
  await page.getByTestId('palette-search').fill('');
  await page.getByTestId('palette-item-ReLU').dblclick();
  await expect(page.locator('[data-testid^="node-re_lu"]').first()).toBeVisible();
  await page.screenshot({ path: `${ARTIFACTS}palette-issue15-added-dark.png` });
});
