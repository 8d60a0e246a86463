/**
 * Text classification from the app (issue 14), in Chromium against serve mode: import the fortunes fixture (four
 * fortune files, one class each) as labelled text with "Import from disk…" (words, lower-cased, a small
 * vocabulary, 32 tokens per text), see an import error in the form first, look at the dataset's samples, start
 * from the text-classifier template (its T, vocabulary and classes fitted to the dataset), train a few epochs,
 * read the test accuracy and the misclassified texts, and predict a typed text. Screenshots in both themes go
 * to e2e/artifacts/.
 */
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bothThemes, screenshot } from './helpers/editor';

const TOKEN = 'e2e-test-token-4173';
const FORTUNES = fileURLToPath(new URL('../resources/fixtures/text/fortunes', import.meta.url));
const CLASSES = ['computers', 'food', 'love', 'sports'];

test.describe.configure({ mode: 'serial' });

test('text classification: import labelled fortunes, fit the text template, train, misclassified texts, predict a typed text', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId('template-text-lstm').click();
  await expect(page.getByTestId('editor')).toBeVisible();
  await page.getByTestId('tab-train').click();

  // The form: labelled text with its tokenizer, vocabulary, T, the fortune switch and CSV columns.
  await page.getByTestId('import-open').click();
  await page.getByTestId('import-kind').selectOption('text');
  await expect(page.getByTestId('import-text-options')).toBeVisible();
  await expect(page.getByTestId('import-tokenizer')).toHaveValue('word');
  await expect(page.getByTestId('import-csv-columns')).toBeVisible();
  // A relative path is refused in the form; a folder of fortune files without the switch is an engine error, shown there too.
  await page.getByTestId('import-path').fill('fortunes');
  await expect(page.getByTestId('import-path-error')).toContainText('absolute path');
  await expect(page.getByTestId('import-button')).toBeDisabled();
  await page.getByTestId('import-path').fill(join(FORTUNES, 'computers'));
  await page.getByTestId('import-seq-len').fill('0');
  await expect(page.getByTestId('import-number-error')).toContainText('Tokens per text');
  await page.getByTestId('import-seq-len').fill('32');
  await page.getByTestId('import-split-percent').check();
  await page.getByTestId('import-button').click();
  // One fortune file is one class: not enough for classification.
  await expect(page.getByTestId('import-error')).toContainText(/single class|at least two/, { timeout: 30_000 });
  await expect(page.getByTestId('import-path')).toHaveValue(join(FORTUNES, 'computers'));
  await screenshot(page, 'text-1-import-error');

  // The four fortune files: four classes.
  await page.getByTestId('import-path').fill(FORTUNES);
  await page.getByTestId('import-vocab-size').fill('2000');
  await page.getByTestId('import-lowercase').check();
  await page.getByTestId('import-name').fill('fortunes');
  await bothThemes(page, 'text-2-import-form');
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-select')).toHaveValue('text:fortunes', { timeout: 60_000 });
  await expect(page.getByTestId('import-error')).toBeHidden();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-task', 'classification');
  await expect(page.getByTestId('dataset-describe')).toContainText('32 tokens');
  await expect(page.getByTestId('dataset-describe')).toContainText('4 classes');
  // The template follows the dataset: T, vocabulary and classes are fitted at once.
  await expect(page.getByTestId('fit-changes')).toContainText('32 tokens');
  await expect(page.getByTestId('fit-changes')).toContainText('vocabulary of');
  await expect(page.getByTestId('fit-changes')).toContainText('4 units');
  await expect(page.getByTestId('train-problems')).toHaveCount(0);

  // Samples: texts per class with their first tokens.
  await page.getByTestId('dataset-preview-toggle').click();
  await expect(page.getByTestId('dataset-text-sample').first()).toBeVisible({ timeout: 30_000 });
  for (const c of CLASSES) await expect(page.locator(`[data-testid="dataset-text-sample"][data-class="${c}"]`).first()).toBeVisible();
  await bothThemes(page, 'text-3-samples');
  await page.getByTestId('dataset-preview-toggle').click();

  // Train a few epochs on wasm.
  await page.getByTestId('setting-epochs').fill('4');
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-learningRate').fill('0.01');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await expect(page.getByTestId('train-start')).toBeEnabled();
  const t0 = Date.now();
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
  console.log(`text classifier: 4 epochs in the app in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The dashboard: test accuracy, the confusion matrix and the misclassified texts.
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect(page.getByTestId('test-accuracy')).toHaveText(/%/, { timeout: 30_000 });
  await expect(page.getByTestId('test-metrics')).toContainText('test texts');
  await expect(page.getByTestId('confusion-matrix')).toBeVisible();
  await expect(page.getByTestId('view-misclassified-texts')).toBeVisible();
  // The bidirectional LSTM has no attention layer: the Attention panel says so inline.
  await expect(page.getByTestId('attention-unavailable')).toHaveAttribute('data-reason', 'no-attention');
  await expect(page.getByTestId('attention-unavailable')).toContainText('no attention layer');
  const list = page.getByTestId('misclassified-texts');
  const shown = Number(await list.getAttribute('data-count'));
  expect(shown).toBeGreaterThan(0);
  const first = page.getByTestId('misclassified-text').first();
  expect(CLASSES).toContain(await first.getAttribute('data-truth'));
  expect(CLASSES).toContain(await first.getAttribute('data-predicted'));
  expect(await first.getAttribute('data-truth')).not.toBe(await first.getAttribute('data-predicted'));
  await expect(page.getByTestId('misclassified-text-body').first()).not.toBeEmpty();
  // Most confident first.
  const confidences = await page.getByTestId('misclassified-text').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-confidence'))));
  expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
  // Line breaks are kept (fortunes are several lines), long lines wrap inside the card.
  const layout = await page.getByTestId('misclassified-text-body').first().evaluate((el) => ({ ws: getComputedStyle(el).whiteSpace, fits: el.scrollWidth <= el.clientWidth + 1 }));
  expect(layout).toEqual({ ws: 'pre-wrap', fits: true });
  // A tall window for the picture of the whole results section (an element taller than the window is cut off).
  await page.setViewportSize({ width: 1280, height: 2000 });
  await page.getByTestId('results').scrollIntoViewIfNeeded();
  await bothThemes(page, 'text-4-results', 'results');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Predict a typed text: the class with its probability and the top 3.
  await expect(page.getByTestId('predict-text-panel')).toBeVisible();
  await expect(page.getByTestId('predict-text-button')).toBeDisabled();
  await page.getByTestId('predict-text-input').fill('The program crashed and the computer had a bug in its software.\nReboot the system.');
  await page.getByTestId('predict-text-button').click();
  await expect(page.getByTestId('predict-text-result')).toBeVisible({ timeout: 30_000 });
  expect(CLASSES).toContain(await page.getByTestId('predict-text-result').getAttribute('data-predicted'));
  await expect(page.getByTestId('predict-text-confidence')).toContainText('%');
  await expect(page.getByTestId('predict-text-top-row')).toHaveCount(3);
  await expect(page.getByTestId('predict-text-tokens')).toContainText('tokens');
  await page.getByTestId('predict-text-panel').scrollIntoViewIfNeeded();
  await bothThemes(page, 'text-5-predict', 'predict-text-panel');
  await page.getByTestId('dashboard').locator('.lf-dashboard-body').evaluate((el) => el.scrollTo(0, 0));
  await bothThemes(page, 'text-6-dashboard');

  // The training panel sums the run up by its accuracy.
  await page.getByTestId('dashboard-close').click();
  await expect(page.getByTestId('run-headline').first()).toContainText('%');
  await screenshot(page, 'text-7-panel');
});
