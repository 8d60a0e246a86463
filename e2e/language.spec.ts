/**
 * Language models from the app (issue 14), in Chromium against serve mode: import the fortunes fixture as a
 * text corpus with "Import from disk…" (characters, 32-token windows, '%'-separated entries), pick it for the
 * Mini-GPT template (which fits its vocabulary and context to it), train 2 epochs, watch "What it writes"
 * fill in while it trains and perplexity fall (log axis), then generate from a prompt with the text streamed
 * as it is written, stop a long generation, and see which characters each character of a prompt attends to
 * (the Attention panel: a layer, a head, a causal heatmap). Screenshots in both themes go to e2e/artifacts/.
 */
import { expect, test, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, bothThemes, screenshot } from './helpers/editor';

const TOKEN = 'e2e-test-token-4173';
const FORTUNES = fileURLToPath(new URL('../resources/fixtures/text/fortunes/computers', import.meta.url));

test.describe.configure({ mode: 'serial' });

const attr = async (page: Page, testId: string, name: string) => (await page.getByTestId(testId).first().getAttribute(name)) ?? '';

test('a language model: import a corpus, fit Mini-GPT, perplexity falls, samples appear live, generate streams text', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId('template-mini-gpt').click();
  await expect(page.getByTestId('editor')).toBeVisible();
  await page.getByTestId('tab-train').click();

  // Import the fortunes as a corpus: characters, windows of 32 tokens (a short context trains fast).
  await page.getByTestId('import-open').click();
  await page.getByTestId('import-kind').selectOption('corpus');
  await page.getByTestId('import-path').fill(FORTUNES);
  await page.getByTestId('import-tokenizer').selectOption('char');
  await page.getByTestId('import-seq-len').fill('32');
  await page.getByTestId('import-split-percent').check();
  await page.getByTestId('import-name').fill('computers');
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-select')).toHaveValue('corpus:computers', { timeout: 60_000 });
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-task', 'language-modelling');
  await expect(page.getByTestId('dataset-describe')).toContainText('windows of 32 tokens');
  // The template follows the dataset: its context and vocabulary are fitted at once.
  await expect(page.getByTestId('fit-changes')).toContainText('32 tokens');
  await expect(page.getByTestId('fit-changes')).toContainText('vocabulary of');
  await expect(page.getByTestId('train-problems')).toHaveCount(0);
  await expect(page.getByTestId('import-path')).toBeHidden(); // the import form folded away
  await screenshot(page, 'language-1-corpus-imported');

  // Train 2 epochs and watch the dashboard while it trains.
  await page.getByTestId('setting-epochs').fill('2');
  await page.getByTestId('setting-batchSize').fill('32');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await expect(page.getByTestId('train-start')).toBeEnabled();
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', /running|starting/, { timeout: 30_000 });
  await page.getByTestId('open-dashboard').click();
  await expect(page.getByTestId('dashboard')).toBeVisible();
  await expect(page.getByTestId('view-samples')).toBeVisible();
  await expect(page.getByTestId('generate-unavailable')).toBeVisible();
  await expect(page.getByTestId('attention-unavailable')).toHaveAttribute('data-reason', 'no-model');
  // The first epoch's sample appears while the run goes on.
  await expect(page.getByTestId('lm-sample')).toHaveCount(1, { timeout: 90_000 });
  await expect(page.getByTestId('lm-sample').first()).toHaveAttribute('data-epoch', '1');
  await expect(page.getByTestId('lm-sample-text').first()).not.toBeEmpty();
  const statusAtFirstSample = await attr(page, 'live', 'data-status');
  await page.getByTestId('view-samples').scrollIntoViewIfNeeded();
  await page.mouse.move(1, 1);
  await screenshot(page, 'language-2a-first-sample-live');
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  expect(['running', 'completed']).toContain(statusAtFirstSample);

  // Two samples, newest first; perplexity per epoch on a log axis, falling.
  await expect(page.getByTestId('lm-sample')).toHaveCount(2);
  await expect(page.getByTestId('lm-sample').first()).toHaveAttribute('data-epoch', '2');
  await expect.poll(() => attr(page, 'chart-epoch-perplexity', 'data-points'), { timeout: 10_000 }).toBe('2');
  await expect(page.getByTestId('chart-epoch-perplexity')).toHaveAttribute('data-scale', 'log');
  await expect(page.getByTestId('chart-batch-perplexity')).toHaveAttribute('data-scale', 'log');
  await expect(page.getByTestId('perplexity-view')).toBeVisible({ timeout: 30_000 });
  const value = async (kind: string) => Number(await page.locator(`[data-testid="perplexity-row"][data-kind="${kind}"]`).getAttribute('data-value'));
  const [uniform, first, last, testPpl] = [await value('uniform'), await value('first'), await value('last'), await value('test')];
  expect(last).toBeLessThan(first);
  expect(testPpl).toBeLessThan(uniform);
  await expect(page.getByTestId('test-perplexity')).not.toHaveText('–');
  await expect(page.getByTestId('test-metrics')).toContainText('test windows');
  await page.getByTestId('dashboard').locator('.lf-dashboard-body').evaluate((el) => el.scrollTo(0, 0));
  await bothThemes(page, 'language-2-dashboard');
  await page.getByTestId('results').scrollIntoViewIfNeeded();
  await bothThemes(page, 'language-3-results', 'results');

  // Generate: the continuation streams in (several pieces), then tokens/s.
  await expect(page.getByTestId('generate-panel')).toBeVisible();
  await page.getByTestId('generate-prompt').fill('The computer ');
  await page.getByTestId('generate-tokens').fill('120');
  await page.getByTestId('generate-temperature').fill('0.7');
  await page.getByTestId('generate-topk').fill('20');
  await page.getByTestId('generate-button').click();
  const out = page.getByTestId('generate-output');
  await expect(out).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  expect(Number(await out.getAttribute('data-pieces'))).toBeGreaterThan(1);
  expect([...((await page.getByTestId('generate-text').textContent()) ?? '')].length).toBe(120); // characters: one per token
  await expect(page.getByTestId('generate-stats')).toContainText('120 tokens');
  const stats = (await page.getByTestId('generate-stats').textContent()) ?? '';
  const tokensPerSecond = Number(/([\d.]+) tokens\/s/.exec(stats)?.[1]);
  expect(tokensPerSecond).toBeGreaterThan(0);
  test.info().annotations.push({ type: 'tokens/s', description: String(tokensPerSecond) });
  console.log(`generation in the app: ${stats}`);
  await page.getByTestId('view-samples').scrollIntoViewIfNeeded();
  await bothThemes(page, 'language-4-generate', 'view-samples');

  // Stop: a long generation ends early, keeping what it wrote.
  await page.getByTestId('generate-tokens').fill('2000');
  await page.getByTestId('generate-button').click();
  // Seen mid-stream: text already on screen while the output still says 'running' (2,000 tokens take
  // seconds even with the key/value cache, so this does not race the end of the generation).
  await expect
    .poll(async () => out.evaluate((el) => el.getAttribute('data-status') === 'running' && (el.querySelector('[data-testid="generate-text"]')?.textContent ?? '').length > 5), { timeout: 30_000, intervals: [50] })
    .toBe(true);
  // Dispatched, not clicked: Playwright's click waits for the button to be 'stable', and while text streams
  // in below it the layout moves every frame, so on a loaded machine the click landed after the last token.
  await page.getByTestId('generate-stop').dispatchEvent('click');
  await expect(out).toHaveAttribute('data-status', 'stopped', { timeout: 30_000 });
  await expect(page.getByTestId('generate-stats')).toContainText('stopped');
  const written = ((await page.getByTestId('generate-text').textContent()) ?? '').length;
  expect(written).toBeGreaterThan(5);
  expect(written).toBeLessThan(2000);
  await screenshot(page, 'language-5-generate-stopped');

  // Attention: which characters each character of a prompt attends to, per layer and head. The panel starts
  // with the newest epoch's sample; a typed prompt is read as the model reads it (causal: nothing above the diagonal).
  const attention = page.getByTestId('attention-panel');
  await attention.scrollIntoViewIfNeeded();
  await expect(page.getByTestId('attention-text')).not.toHaveValue('');
  const prompt = 'The computer is down.\nReboot!';
  await page.getByTestId('attention-text').fill(prompt);
  await page.getByTestId('attention-show').click();
  const heatmap = page.getByTestId('attention-heatmap');
  await expect(heatmap).toBeVisible({ timeout: 30_000 });
  await expect(heatmap).toHaveAttribute('data-tokens', String(prompt.length));
  await expect(heatmap).toHaveAttribute('data-causal', 'true');
  await expect(heatmap).toHaveAttribute('data-head', 'mean');
  await expect(page.getByTestId('attention-row-label')).toHaveCount(prompt.length);
  await expect(page.getByTestId('attention-col-label')).toHaveCount(prompt.length);
  await expect(page.getByTestId('attention-row-label').nth(3)).toHaveText('␣');
  await expect(page.getByTestId('attention-row-label').nth(21)).toHaveText('⏎');
  await expect(page.getByTestId('attention-masked')).toBeVisible();
  // Causal layers are coloured row by row at first (their first rows hold the largest weights); the whole map's
  // scale reaches 1: the first token can only attend to itself.
  await expect(heatmap).toHaveAttribute('data-scale', 'row');
  await expect(page.getByTestId('attention-legend-max')).toHaveText('each row’s largest weight');
  await page.getByTestId('attention-scale').selectOption('map');
  await expect(heatmap).toHaveAttribute('data-scale', 'map');
  await expect(page.getByTestId('attention-legend-max')).toHaveText('1.000');
  await expect(page.getByTestId('attention-layer').locator('option')).toHaveText(['block1_attention · 4 heads · causal', 'block2_attention · 4 heads · causal']);
  await expect(page.getByTestId('attention-head').locator('option')).toHaveCount(5);
  await page.getByTestId('attention-layer').selectOption({ index: 1 });
  await page.getByTestId('attention-head').selectOption('2');
  await expect(heatmap).toHaveAttribute('data-layer', 'block2_attention');
  await expect(heatmap).toHaveAttribute('data-head', '2');
  // A cell names its query and key tokens and the weight (readout above the map, and the cell's own title).
  const cell = heatmap.locator('rect[data-q="9"][data-k="4"]');
  await expect(cell.locator('title')).toHaveText(/^t → c: \d\.\d{3}$|^t → c: <0\.001$/);
  // Back to each row's own largest weight: where each character looks most, even when its weights are small.
  await page.getByTestId('attention-scale').selectOption('row');
  await expect(heatmap).toHaveAttribute('data-scale', 'row');
  await expect(page.getByTestId('attention-legend-max')).toHaveText('each row’s largest weight');
  await cell.hover();
  await expect(page.getByTestId('attention-readout')).toContainText(/query t \(9\) → c \(4\): (\d\.\d{3}|<0\.001)/);
  await attention.screenshot({ path: `${ARTIFACTS}language-7-attention-hover.png` });
  await page.getByTestId('attention-head').selectOption('mean');
  await page.getByTestId('attention-layer').selectOption({ index: 0 });
  await expect(heatmap).toHaveAttribute('data-head', 'mean');
  await bothThemes(page, 'language-7-attention', 'attention-panel');
  // A lone space is a token too, labelled '␣'; an empty text cannot be sent.
  await page.getByTestId('attention-text').fill(' ');
  await page.getByTestId('attention-show').click();
  await expect(heatmap).toHaveAttribute('data-tokens', '1');
  await expect(page.getByTestId('attention-row-label')).toHaveText(['␣']);
  await page.getByTestId('attention-text').fill('');
  await expect(page.getByTestId('attention-show')).toBeDisabled();

  // The training panel sums the run up by its task's headline: perplexity.
  await page.getByTestId('dashboard-close').click();
  await expect(page.getByTestId('panel-test-perplexity')).not.toHaveText('–');
  await expect(page.getByTestId('run-headline').first()).toContainText('perplexity');
  await screenshot(page, 'language-6-panel');
});
