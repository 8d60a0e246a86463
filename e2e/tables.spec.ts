/**
 * Tables as first-class data (issue 13), in Chromium against serve mode: import a CSV with its preview
 * (column types, target, task, errors with their line), fit the tabular templates to the dataset, see a
 * task problem on the output node block Train, train a few epochs, read the task's charts (R², MAE) and
 * results (scatter, residuals, worst rows; confusion matrix and misclassified rows), predict a typed row
 * and a CSV file, and export the trained model. Screenshots in both themes go to e2e/artifacts/.
 */
import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, bothThemes, screenshot, selectNode, setField, setTheme } from './helpers/editor';

const TOKEN = 'e2e-test-token-4173';
const FIXTURES = fileURLToPath(new URL('../resources/fixtures/tables/', import.meta.url));
const DIABETES = join(FIXTURES, 'diabetes.csv');
const IRIS = join(FIXTURES, 'iris.csv');

test.describe.configure({ mode: 'serial' });

async function openTemplate(page: Page, id: string) {
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId(`template-${id}`).click();
  await expect(page.getByTestId('editor')).toBeVisible();
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('training-panel')).toBeVisible();
}

/** Opens the import dialog and previews `path`. */
async function previewCsv(page: Page, path: string) {
  if (!(await page.getByTestId('table-import-dialog').isVisible())) await page.getByTestId('table-import-open').click();
  await page.getByTestId('table-path').fill(path);
  await page.getByTestId('table-preview-button').click();
}

async function importCsv(page: Page, path: string, id: string) {
  await previewCsv(page, path);
  await expect(page.getByTestId('table-preview')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('table-import-confirm')).toBeEnabled();
  await page.getByTestId('table-import-confirm').click();
  await expect(page.getByTestId('table-import-dialog')).toBeHidden({ timeout: 60_000 });
  await expect(page.getByTestId('dataset-select')).toHaveValue(id);
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready');
}

/** Trains with small settings and waits for the run to complete. */
async function train(page: Page, epochs: number) {
  await page.getByTestId('setting-epochs').fill(String(epochs));
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await expect(page.getByTestId('train-start')).toBeEnabled();
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
}

const points = async (page: Page, testId: string) => Number((await page.getByTestId(testId).first().getAttribute('data-points')) ?? 0);

test('regression on a CSV: preview and errors, fit the template, a task problem blocks Train, R²/MAE curves, scatter, residuals, worst rows, predict, export', async ({ page }) => {
  test.setTimeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'lf-e2e-tables-'));
  const ragged = join(dir, 'ragged.csv');
  writeFileSync(ragged, 'a,b,y\n1,2,3\n4,5\n7,8,9\n');
  await openTemplate(page, 'tabular-regression');

  // Errors are shown in the dialog, in words, and nothing typed is lost.
  await previewCsv(page, 'data.csv');
  await expect(page.getByTestId('table-path-error')).toContainText('absolute path');
  await previewCsv(page, join(dir, 'missing.csv'));
  await expect(page.getByTestId('table-import-error')).toBeVisible({ timeout: 30_000 });
  await previewCsv(page, ragged);
  await expect(page.getByTestId('table-import-error')).toContainText(/line 3/, { timeout: 30_000 });
  await expect(page.getByTestId('table-path')).toHaveValue(ragged);
  await screenshot(page, 'tables-1-import-error');

  // The preview: every column with its type, the target (the last column) and the task it implies.
  await previewCsv(page, DIABETES);
  const preview = page.getByTestId('table-preview');
  await expect(preview).toHaveAttribute('data-target', 'progression', { timeout: 30_000 });
  await expect(preview).toHaveAttribute('data-task', 'regression');
  await expect(page.getByTestId('table-column')).toHaveCount(11);
  await expect(page.locator('[data-testid="table-column"][data-column="progression"]')).toHaveAttribute('data-type', 'target');
  await expect(page.locator('[data-testid="table-column"][data-column="bmi"]')).toHaveAttribute('data-type', 'numeric');
  await expect(page.getByTestId('table-target')).toHaveValue('progression');
  await expect(page.getByTestId('table-summary')).toContainText('442 rows');
  // Another target re-previews (bmi is a number too); back to progression.
  await page.getByTestId('table-target').selectOption('bmi');
  await expect(preview).toHaveAttribute('data-target', 'bmi', { timeout: 30_000 });
  await page.getByTestId('table-target').selectOption('progression');
  await expect(preview).toHaveAttribute('data-target', 'progression', { timeout: 30_000 });
  await bothThemes(page, 'tables-2-import-preview');

  // Import: the template (fitToDataset) takes the table's input size at once, as one undoable edit.
  await importCsv(page, DIABETES, 'table:diabetes');
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-task', 'regression');
  await expect(page.getByTestId('fit-changes')).toContainText('features');
  await expect(page.getByTestId('fit-needed')).toHaveCount(0);

  // A softmax output cannot predict a number: the output node says so, with the fix, and Train is blocked.
  await page.getByTestId('tab-inspect').click();
  await selectNode(page, 'output');
  await setField(page, 'activation', 'softmax');
  await expect(page.getByTestId('node-output')).toContainText('linear');
  await expect(page.getByTestId('inspector-problems')).toContainText('set activation to linear');
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-problems')).toContainText('regression');
  await expect(page.getByTestId('train-start')).toBeDisabled();
  await screenshot(page, 'tables-3-task-problem');
  await page.getByTestId('tab-inspect').click();
  await setField(page, 'activation', 'linear');
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('train-problems')).toHaveCount(0);

  await train(page, 6);
  await expect(page.getByTestId('panel-test-r2')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('run-headline').first()).toContainText('R²');
  await expect(page.getByTestId('chart-batch-r2')).toBeVisible();
  await screenshot(page, 'tables-3b-panel-trained');

  // The dashboard: loss, R², MAE (and RMSE) per epoch, no accuracy; predicted vs true, residuals, worst rows.
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect.poll(() => points(page, 'chart-epoch-r2')).toBeGreaterThan(0);
  await expect.poll(() => points(page, 'chart-epoch-mae')).toBeGreaterThan(0);
  await expect(page.getByTestId('chart-epoch-accuracy')).toHaveCount(0);
  await expect(page.getByTestId('chart-batch-accuracy')).toHaveCount(0);
  await screenshot(page, 'tables-4a-regression-charts');
  await expect(page.getByTestId('test-r2')).not.toHaveText('–');
  await expect(page.getByTestId('test-mae')).not.toHaveText('–');
  await expect(page.getByTestId('test-metrics')).toContainText('test rows');
  await expect.poll(() => points(page, 'scatter-plot'), { timeout: 30_000 }).toBeGreaterThan(10);
  await expect(page.getByTestId('scatter-plot')).toContainText('true progression');
  await expect(page.getByTestId('residual-histogram').locator('.recharts-bar-rectangle').first()).toBeVisible();
  await expect(page.getByTestId('worst-rows').getByTestId('result-row').first()).toBeVisible();
  await expect(page.getByTestId('worst-rows')).toContainText('true progression');
  await page.getByTestId('results').scrollIntoViewIfNeeded();
  await bothThemes(page, 'tables-4-regression-results');
  await setTheme(page, 'dark');
  await page.getByTestId('results').screenshot({ path: join(ARTIFACTS, 'tables-4b-regression-results-section-dark.png') });
  await setTheme(page, 'light');
  await page.getByTestId('results').screenshot({ path: join(ARTIFACTS, 'tables-4b-regression-results-section-light.png') });

  // Predict: the form is filled from a test row; then a whole CSV file.
  await expect(page.getByTestId('predict-field-bmi')).not.toHaveValue('');
  await page.getByTestId('predict-button').click();
  await expect(page.getByTestId('predict-value')).toHaveText(/^-?\d/, { timeout: 30_000 });
  await page.getByTestId('predict-field-bmi').fill('not a number');
  await page.getByTestId('predict-button').click();
  await expect(page.getByTestId('predict-row-error').or(page.getByTestId('predict-error'))).toContainText('bmi', { timeout: 30_000 });
  await page.getByTestId('predict-csv-path').fill(DIABETES);
  await page.getByTestId('predict-csv-button').click();
  await expect(page.getByTestId('predict-csv-row')).toHaveCount(50, { timeout: 30_000 });
  await expect(page.getByTestId('predict-csv-summary')).toContainText('of 442 rows');
  await page.getByTestId('predict-panel').scrollIntoViewIfNeeded();
  await screenshot(page, 'tables-5-predict');
  await page.getByTestId('dashboard-close').click();

  // Export the trained model (TensorFlow.js) with the export dialog.
  const out = join(dir, 'tfjs');
  await page.getByTestId('btn-export-menu').click();
  await page.getByTestId('menu-exportModel').click();
  await expect(page.getByTestId('export-run')).toBeVisible();
  await page.getByTestId('export-format-tfjs').check();
  await page.getByTestId('export-path').fill(out);
  await page.getByTestId('export-confirm').click();
  await expect(page.getByTestId('export-result')).toBeVisible({ timeout: 60_000 });
  expect(existsSync(join(out, 'model.json'))).toBe(true);
  await page.getByTestId('export-cancel').click();
});

test('classification on a CSV: the tabular classifier on iris, confusion matrix, misclassified rows, predict a typed row', async ({ page }) => {
  test.setTimeout(180_000);
  await openTemplate(page, 'tabular-classifier');
  await previewCsv(page, IRIS);
  await expect(page.getByTestId('table-preview')).toHaveAttribute('data-task', 'classification', { timeout: 30_000 });
  await expect(page.getByTestId('table-summary')).toContainText('3 classes');
  await importCsv(page, IRIS, 'table:iris');
  await expect(page.getByTestId('dataset-describe')).toContainText('3 classes');
  // 4 features and 3 classes: the template already fits iris.
  await expect(page.getByTestId('fit-needed')).toHaveCount(0);
  // The Input is a feature vector: the inspector shows its size, not an image's.
  await page.getByTestId('tab-inspect').click();
  await selectNode(page, 'input_1');
  await expect(page.getByTestId('field-kind')).toHaveValue('features');
  await expect(page.getByTestId('field-features')).toHaveValue('4');
  await expect(page.getByTestId('field-height')).toHaveCount(0);
  await expect(page.getByTestId('inspector-shape')).toContainText('4');
  await screenshot(page, 'tables-8-input-features');
  await page.getByTestId('tab-train').click();

  await train(page, 4);
  await expect(page.getByTestId('panel-test-accuracy')).toContainText('%', { timeout: 60_000 });
  await expect(page.getByTestId('run-headline').first()).toContainText('%');

  await page.getByTestId('open-dashboard').click();
  await expect.poll(() => points(page, 'chart-epoch-accuracy')).toBeGreaterThan(0);
  await expect(page.getByTestId('chart-epoch-r2')).toHaveCount(0);
  await expect(page.getByTestId('test-accuracy')).toContainText('%');
  await expect(page.getByTestId('confusion-matrix').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('per-class')).toContainText('setosa');
  // Rows instead of an image gallery.
  await expect(page.getByTestId('view-misclassified-rows')).toBeVisible();
  await expect(page.getByTestId('prediction-item')).toHaveCount(0);
  const wrong = await page.getByTestId('misclassified-rows').getByTestId('result-row').count();
  if (wrong > 0) await expect(page.getByTestId('misclassified-rows')).toContainText('%');
  await page.getByTestId('results').scrollIntoViewIfNeeded();
  await bothThemes(page, 'tables-6-classification-results');

  // Predict a typed row.
  for (const [field, value] of [['sepal_length', '5.1'], ['sepal_width', '3.5'], ['petal_length', '1.4'], ['petal_width', '0.2']] as const) {
    await page.getByTestId(`predict-field-${field}`).fill(value);
  }
  await page.getByTestId('predict-button').click();
  await expect(page.getByTestId('predict-value')).toHaveText(/setosa|versicolor|virginica/, { timeout: 30_000 });
  await expect(page.getByTestId('predict-confidence')).toContainText('%');
  await page.getByTestId('predict-panel').scrollIntoViewIfNeeded();
  await screenshot(page, 'tables-7-classification-predict');
});
