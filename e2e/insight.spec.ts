/**
 * See inside the network (issue #19), in Chromium against serve mode: train a tiny CIFAR-10 CNN, click a
 * convolution node while it trains and see its feature maps (live), stop, step through test samples, open
 * Grad-CAM and saliency from a misclassified image, see the per-class table and a confusion cell's samples,
 * the training-health histograms and the embedding scatter (hover a point, click it to open its activations);
 * then a transformer text classifier's attention heatmap from its attention node. Screenshots in both themes
 * go to e2e/artifacts/ (insight-*.png).
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTinyCifar10 } from '../main/engine/service/tinyCifar';
import { ARTIFACTS, bothThemes, importFromDisk, setTheme } from './helpers/editor';
import { ownServeEngine } from './helpers/ownEngine';

const TOKEN = 'insight-e2e-token';
/** Its own serve engine and data folder: the journeys expect no earlier run of these models (other specs train the CIFAR-10 CNN in the shared server). */
const engine = ownServeEngine('insight', TOKEN);
const FORTUNES = fileURLToPath(new URL('../resources/fixtures/text/fortunes', import.meta.url));

test.describe.configure({ mode: 'serial' });

async function open(page: Page) {
  await page.goto(engine.url);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
}

/** Clicks a canvas node by its header (selects it) and shows the inspector. */
async function clickNode(page: Page, name: string) {
  await page.getByTestId(`node-${name}`).locator('.lf-node-head').click();
  await page.getByTestId('tab-inspect').click();
  await expect(page.getByTestId('inspector')).toBeVisible();
}

/** An element's picture in both themes (light first). */
async function elementBothThemes(page: Page, testId: string, name: string) {
  await bothThemes(page, name, testId);
}

/** The inspector's insight section in both themes: the window (section scrolled into view) and the whole section in a tall window. */
async function insightShots(page: Page, name: string) {
  await page.getByTestId('insight-output').scrollIntoViewIfNeeded();
  await bothThemes(page, name);
  await page.setViewportSize({ width: 1280, height: 2000 });
  await elementBothThemes(page, 'insight-section', `${name}-section`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('CIFAR-10 CNN: feature maps live and after, Grad-CAM from a misclassified image, per-class table, confusion samples, health, embeddings', async ({ page }) => {
  test.setTimeout(420_000);
  const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-insight-')), 80, 100);
  await open(page);
  await page.getByTestId('template-cifar10-cnn').click();
  await expect(page.getByTestId('editor')).toBeVisible();

  // Before any run, a node says what training will show.
  await clickNode(page, 'conv2d_1');
  await expect(page.getByTestId('insight-none')).toBeVisible({ timeout: 30_000 });

  await page.getByTestId('tab-train').click();
  await importFromDisk(page, cifar, 60_000);
  // A slow learner (plain SGD, a small rate) that trains long enough to watch and still errs when stopped.
  await page.getByTestId('setting-epochs').fill('40');
  await page.getByTestId('setting-batchSize').fill('16');
  await page.getByTestId('setting-optimizer').selectOption('sgd');
  await page.getByTestId('setting-learningRate').fill('0.001');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running', { timeout: 90_000 });

  // While it trains: click a convolution node, its feature maps come from the training run (live).
  await clickNode(page, 'conv2d_1');
  const run = page.getByTestId('insight-run');
  await expect(run).toHaveAttribute('data-live', 'true', { timeout: 60_000 });
  await expect(run).toContainText('live');
  await expect(page.getByTestId('feature-map').first()).toBeVisible({ timeout: 90_000 });
  await expect(page.getByTestId('activation-meta')).toHaveAttribute('data-live', 'true');
  expect(await page.getByTestId('feature-map').count()).toBe(16);
  // Sorted by mean, largest first.
  const means = await page.getByTestId('feature-map').evaluateAll((els) => els.map((e) => Number(e.getAttribute('title')!.match(/mean (-?[\d.e+-]+)/)![1])));
  expect(means).toEqual([...means].sort((a, b) => b - a));
  await expect(page.getByTestId('sample-image')).toBeVisible();
  // It follows the training: the epoch of the answer moves on.
  const epoch0 = Number(await page.getByTestId('activation-meta').getAttribute('data-epoch'));
  await expect.poll(async () => Number(await page.getByTestId('activation-meta').getAttribute('data-epoch')), { timeout: 180_000 }).toBeGreaterThan(epoch0);
  await page.getByTestId('insight-output').scrollIntoViewIfNeeded();
  await bothThemes(page, 'insight-1-feature-maps-live');

  // Stop (keeps the weights): the same view answers from the trained model. (Stopped early, it still errs.)
  await page.getByTestId('tab-train').click();
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'stopped', { timeout: 90_000 });
  await expect(page.getByTestId('panel-test-accuracy')).toBeVisible({ timeout: 90_000 });
  await page.getByTestId('tab-inspect').click();
  await expect(page.getByTestId('insight-run')).toHaveAttribute('data-live', 'false', { timeout: 30_000 });
  await expect(page.getByTestId('activation-meta')).toHaveAttribute('data-live', 'false', { timeout: 30_000 });
  // Step through samples.
  await page.getByTestId('sample-next').click();
  await expect(page.getByTestId('sample-index')).toHaveValue('1');
  await expect(page.getByTestId('insight-output')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await page.getByTestId('sample-index').fill('7');
  await expect(page.getByTestId('insight-output')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('sample-verdict')).toBeVisible();
  // A dense layer: bars.
  await clickNode(page, 'dense_2');
  await expect(page.getByTestId('activation-vector')).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('insight-output').scrollIntoViewIfNeeded();
  await bothThemes(page, 'insight-2b-dense-output');
  await clickNode(page, 'conv2d_2');
  await expect(page.getByTestId('feature-map').first()).toBeVisible({ timeout: 30_000 });
  await page.getByTestId('feature-maps-more').click();
  expect(await page.getByTestId('feature-map').count()).toBeGreaterThan(16);
  await insightShots(page, 'insight-2-feature-maps');
  await page.getByTestId('feature-maps-more').click();

  // Why? from the activations view (Grad-CAM on this convolution).
  await page.getByTestId('activation-why').click();
  const dialog = page.getByTestId('explain-dialog');
  await expect(dialog).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('explain-layer')).not.toHaveValue('');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // The dashboard: per-class table, a confusion cell's samples, Why? on a misclassified image.
  await page.getByTestId('tab-train').click();
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect(page.getByTestId('per-class-row')).toHaveCount(10, { timeout: 30_000 });
  await expect(page.getByTestId('view-confusion').locator('h4')).toContainText('test images');
  await expect(page.getByTestId('prediction-item').first()).toBeVisible({ timeout: 30_000 });
  const wrong = page.locator('[data-testid="prediction-item"][data-correct="false"]').first();
  await expect(wrong).toBeVisible();
  await wrong.getByTestId('prediction-why').click();
  await expect(dialog).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('explain-overlay')).toBeVisible();
  await expect(page.getByTestId('sample-verdict').last()).toHaveAttribute('data-correct', 'false');
  await bothThemes(page, 'insight-3-gradcam');
  await page.getByTestId('explain-method-saliency').click();
  await expect(dialog).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('explain-overlay')).toHaveAttribute('alt', /Saliency/);
  // Another class than the predicted one.
  const cls = page.getByTestId('explain-class');
  const predictedValue = await cls.inputValue();
  await cls.selectOption(predictedValue === '0' ? '1' : '0');
  await expect(dialog).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await bothThemes(page, 'insight-4-saliency');
  await page.getByTestId('explain-dialog-close').click();
  await expect(dialog).toBeHidden();

  // A confusion cell off the diagonal: its samples.
  const cells = await page.locator('[data-testid="confusion-cell"].lf-confusion-click').evaluateAll((els) => els.map((e) => [e.getAttribute('data-actual'), e.getAttribute('data-predicted')]));
  const off = cells.findIndex(([a, p]) => a !== p);
  expect(off).toBeGreaterThanOrEqual(0);
  await page.locator('[data-testid="confusion-cell"].lf-confusion-click').nth(off).click();
  await expect(page.getByTestId('confusion-sample').first()).toBeVisible({ timeout: 30_000 });
  await page.setViewportSize({ width: 1280, height: 1400 });
  await page.getByTestId('results').scrollIntoViewIfNeeded();
  await elementBothThemes(page, 'results', 'insight-5-results');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Training health: histograms over epochs, gradient norms.
  const health = page.getByTestId('health-panel');
  await health.scrollIntoViewIfNeeded();
  await expect(page.getByTestId('health-layers')).toBeVisible({ timeout: 30_000 });
  expect(await page.getByTestId('health-layer').count()).toBeGreaterThanOrEqual(4);
  await page.getByTestId('health-layer').nth(1).click();
  await expect(page.getByTestId('health-histograms')).toBeVisible();
  await expect(page.getByTestId('health-hist-weights').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('health-grad-norm')).toBeVisible();
  await page.setViewportSize({ width: 1280, height: 1100 });
  await health.scrollIntoViewIfNeeded();
  await elementBothThemes(page, 'health-panel', 'insight-6-health');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Embeddings: PCA, then UMAP; hover a point for its sample, click it for its activations.
  const embed = page.getByTestId('embeddings-panel');
  await embed.scrollIntoViewIfNeeded();
  await page.getByTestId('embed-pca').click();
  await expect(page.getByTestId('embed-scatter')).toHaveAttribute('data-method', 'pca', { timeout: 60_000 });
  await page.getByTestId('embed-umap').click();
  await expect(page.getByTestId('embed-scatter')).toHaveAttribute('data-method', 'umap', { timeout: 120_000 });
  expect(Number(await page.getByTestId('embed-scatter').getAttribute('data-points'))).toBeGreaterThan(50);
  await expect(page.getByTestId('embed-info')).toContainText('test samples');
  await embed.scrollIntoViewIfNeeded();
  const point = page.getByTestId('embed-point').nth(3);
  const box = (await point.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(page.getByTestId('embed-tooltip')).toBeVisible();
  await expect(page.getByTestId('embed-tooltip').getByTestId('sample-image')).toBeVisible({ timeout: 30_000 });
  for (const theme of ['light', 'dark'] as const) {
    await setTheme(page, theme);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect(page.getByTestId('embed-tooltip')).toBeVisible();
    await embed.screenshot({ path: join(ARTIFACTS, `insight-7-embeddings-${theme}.png`) });
  }
  await setTheme(page, 'light');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect(page.getByTestId('embed-tooltip')).toBeVisible();
  const tipText = await page.getByTestId('embed-tooltip').textContent();
  const index = Number(tipText!.match(/#(\d+)/)![1]);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await expect(page.getByTestId('dashboard')).toBeHidden();
  await expect(page.getByTestId('sample-index')).toHaveValue(String(index));
  await expect(page.getByTestId('insight-output')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('insight-run')).toContainText('picked');
});

test('an unhealthy run (Adam at lr 0.1): dead ReLUs and vanishing gradients are said in plain words on the nodes and in the health panel', async ({ page }) => {
  test.setTimeout(300_000);
  await open(page);
  await page.getByTestId('template-cifar10-cnn').click();
  await page.getByTestId('tab-train').click();
  // The CIFAR-10 copy of the first journey when it ran in this server, else a fresh one.
  const status = page.getByTestId('dataset-status');
  await expect(status).toBeVisible({ timeout: 30_000 });
  if ((await status.getAttribute('data-status')) !== 'ready') {
    const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-insight-')), 80, 100);
    await importFromDisk(page, cifar, 60_000);
  }
  await page.getByTestId('setting-epochs').fill('1');
  await page.getByTestId('setting-batchSize').fill('16');
  await page.getByTestId('setting-optimizer').selectOption('adam');
  await page.getByTestId('setting-learningRate').fill('0.1');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 180_000 });

  // A badge on the nodes, its tooltip in plain words.
  const badge = page.getByTestId('node-conv2d_1').getByTestId('insight-health');
  await expect(badge).toBeVisible({ timeout: 30_000 });
  await expect(badge).toHaveAttribute('title', /dead ReLUs/);
  await clickNode(page, 'conv2d_1');
  await expect(page.getByTestId('insight-warnings')).toContainText('output 0 for every sample');
  await page.getByTestId('insight-warnings').scrollIntoViewIfNeeded();
  await bothThemes(page, 'insight-10-warnings-on-nodes');

  // The same warnings in the health panel; one of them leads back to its node.
  await page.getByTestId('tab-train').click();
  await page.getByTestId('open-dashboard').click();
  const warnings = page.getByTestId('health-warnings');
  await warnings.scrollIntoViewIfNeeded();
  expect(Number(await warnings.getAttribute('data-count'))).toBeGreaterThan(0);
  await page.getByTestId('health-panel').scrollIntoViewIfNeeded();
  await elementBothThemes(page, 'health-panel', 'insight-11-health-warnings');
  await warnings.getByRole('button', { name: 'Show on the canvas' }).first().click();
  await expect(page.getByTestId('dashboard')).toBeHidden();
  await expect(page.getByTestId('insight-warnings')).toBeVisible();
});

test('transformer text classifier: the attention node shows heads x tokens x tokens with the tokens on the axes', async ({ page }) => {
  test.setTimeout(300_000);
  await open(page);
  await page.getByTestId('template-transformer-classifier').click();
  await expect(page.getByTestId('editor')).toBeVisible();
  await page.getByTestId('tab-train').click();
  await page.getByTestId('import-open').click();
  await page.getByTestId('import-kind').selectOption('text');
  await page.getByTestId('import-path').fill(FORTUNES);
  await page.getByTestId('import-vocab-size').fill('2000');
  await page.getByTestId('import-seq-len').fill('32');
  await page.getByTestId('import-lowercase').check();
  await page.getByTestId('import-split-percent').check(); // fortune files: one class per file
  await page.getByTestId('import-name').fill('fortunes-attention');
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready', { timeout: 90_000 });
  // The template's vocabulary and classes follow the dataset (fitted at once, or with the button).
  const fit = page.getByTestId('fit-dataset');
  await expect(fit.or(page.getByTestId('fit-changes'))).toBeVisible({ timeout: 30_000 });
  if (await fit.isVisible()) await fit.click();
  await expect(page.getByTestId('train-problems')).toHaveCount(0, { timeout: 30_000 });
  await page.getByTestId('setting-epochs').fill('2');
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await expect(page.getByTestId('train-start')).toBeEnabled();
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 180_000 });

  await clickNode(page, 'multi_head_attention_1');
  await expect(page.getByTestId('activation-attention')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('sample-text')).toBeVisible();
  const heatmap = page.getByTestId('attention-heatmap');
  await expect(heatmap).toBeVisible();
  const tokens = Number(await heatmap.getAttribute('data-tokens'));
  expect(tokens).toBeGreaterThan(1);
  await expect(page.getByTestId('attention-row-label')).toHaveCount(tokens);
  await expect(page.getByTestId('attention-col-label')).toHaveCount(tokens);
  const heads = Number(await page.getByTestId('activation-attention').getAttribute('data-heads'));
  await expect(page.getByTestId('activation-head').locator('option')).toHaveCount(heads + 1);
  await page.getByTestId('activation-head').selectOption('1');
  await expect(heatmap).toHaveAttribute('data-head', '1');
  await insightShots(page, 'insight-8-attention');

  // A sequence layer: time x features with the tokens on the rows.
  await clickNode(page, 'layer_normalization_1');
  await expect(page.getByTestId('activation-sequence')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('sequence-heatmap')).toBeVisible();
  await insightShots(page, 'insight-9-sequence');

  // The dashboard of a text run: per-class table and the embedding scatter.
  await page.getByTestId('tab-train').click();
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('per-class-row')).toHaveCount(4, { timeout: 30_000 });
  await page.getByTestId('embed-pca').click();
  await expect(page.getByTestId('embed-scatter')).toHaveAttribute('data-method', 'pca', { timeout: 60_000 });
});
