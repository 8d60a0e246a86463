/**
 * Performance journeys (issue 9, targets 3, 4 and 6; issue 16 item 6). The 500-node figures are measured
 * by the same code as `npm run bench -- --only ui` (scripts/bench/ui/measure.ts: in-page clocks from the
 * event to the frame after the app says the canvas is drawn, the same drag), with trace recording off
 * (Playwright's trace snapshots and screencast about doubled every figure here). The figures are printed;
 * the assertions are bounds a stressed 2-core CI machine meets (the targets, < 2 s open + layout + draw and
 * drag p95 < 20 / 33 ms, are the bench's, on a quiet machine): the frame times' MEDIAN must stay at the
 * display's rate (a frame or two), the p95 and the open + layout times under generous bounds.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyCifar10 } from '../main/engine/service/tinyCifar';
import { serializeProject } from '../shared/project';
import { bigResidualProject } from '../scripts/bench/ui/bigGraph';
import { PERF_TEST_USE, canvasDrawn, canvasZoom, dragLine, dragNode, openAndLayoutTimed } from '../scripts/bench/ui/measure';
import { screenshot } from './helpers/editor';

test.use(PERF_TEST_USE);

const TOKEN = 'e2e-test-token-4173';

async function home(page: Page): Promise<void> {
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.getByTestId('start-screen')).toBeVisible();
}

test('start-up: from navigation to an editor that answers a click', async ({ page }) => {
  const t0 = Date.now();
  await page.goto(`/?token=${TOKEN}`);
  await page.getByTestId('start-empty').click();
  await expect(page.getByTestId('palette')).toBeVisible();
  await expect(page.getByTestId('canvas')).toBeVisible();
  await page.getByTestId('palette-item-Input').dblclick();
  await expect(page.locator('.react-flow__node')).toHaveCount(1);
  const ms = Date.now() - t0;
  console.log(`start-up to an interactive editor: ${ms} ms (bench target < 2000 ms)`);
  expect(ms).toBeLessThan(15_000);
});

test('a 500-node residual CNN opens, lays out, shows its totals and drags smoothly enough', async ({ page }) => {
  test.setTimeout(120_000);
  const project = bigResidualProject(500);
  const file = join(mkdtempSync(join(tmpdir(), 'lf-e2e-big-')), 'residual-500.layerforge.json');
  writeFileSync(file, serializeProject(project));
  await home(page);
  const t = await openAndLayoutTimed(page, file);
  // The whole model is analysed: the summary shows the 500-node model's parameter total.
  await expect(page.getByTestId('total-params')).toHaveText('258,842');
  // Laid out top to bottom (the middle of the stack is on screen; off-screen nodes are not drawn).
  const y = async (name: string) => (await page.getByTestId(`node-${name}`).boundingBox())?.y ?? NaN;
  expect(await y('conv2d_80a')).toBeLessThan(await y('conv2d_80b'));
  expect(await y('conv2d_80b')).toBeLessThan(await y('add_82'));
  await screenshot(page, 'perf-500-nodes');

  const zoom = await canvasZoom(page);
  const drag = await dragNode(page, page.getByTestId('node-conv2d_80a'));
  console.log(
    `500 nodes: open ${t.openMs.toFixed(0)} ms (${t.openNodes} nodes drawn), layout ${t.layoutMs.toFixed(0)} ms, open + layout + draw ${t.totalMs.toFixed(0)} ms (bench target < 2000 ms); ` +
      `drag at zoom ${zoom.toFixed(2)} (${t.nodes} nodes drawn): ${dragLine(drag)} (bench target p95 < 20 ms)`,
  );
  expect(drag.movedPx).toBeGreaterThan(20);
  expect(drag.frames.length).toBeGreaterThan(5);
  expect(t.totalMs).toBeLessThan(30_000);
  expect(drag.median!).toBeLessThan(34);
  expect(drag.p95!).toBeLessThan(400);

  // Zoomed in, the layout reads as a residual stack: the skip edges run down the trunk of Add nodes
  // and each block's convolutions sit beside them, not on top of the edges.
  const at = (await page.getByTestId('node-add_80').boundingBox())!;
  await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2);
  for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -200);
  await expect.poll(() => canvasZoom(page)).toBeGreaterThan(zoom * 4);
  await canvasDrawn(page);
  await screenshot(page, 'perf-500-nodes-zoomed');
  const box = async (name: string) => (await page.getByTestId(`node-${name}`).boundingBox())!;
  const [add, conv] = [await box('add_80'), await box('conv2d_81a')];
  expect(conv.x).toBeGreaterThan(add.x + add.width / 2);
});

test('while a run trains with the dashboard open the charts update, and the canvas still drags', async ({ page }) => {
  test.setTimeout(240_000);
  // Enough batches (5 x 480 = 2,400 images x 6 epochs, batch 64 as in the bench) that the run is still going
  // after the dashboard's charts have redrawn twice (every 2 s) and a drag has been measured, even with the
  // fast wasm kernels.
  const cifar = writeTinyCifar10(mkdtempSync(join(tmpdir(), 'lf-e2e-perf-cifar-')), 480, 100);
  await home(page);
  await page.getByTestId('template-cifar10-cnn').click();
  await page.getByTestId('tab-train').click();
  const panel = page.getByTestId('training-panel');
  await panel.getByText('Import from disk…').click();
  await page.getByTestId('import-path').fill(cifar);
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.getByTestId('setting-epochs').fill('6');
  await page.getByTestId('setting-batchSize').fill('64');
  await page.getByTestId('setting-backend').selectOption('wasm');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });

  // Dashboard: its charts keep gaining points while the run streams (redrawn at most every 2 s).
  await page.getByTestId('open-dashboard').click();
  const dashboard = page.getByTestId('dashboard');
  const points = async () => Number((await dashboard.getByTestId('chart-batch-loss').getAttribute('data-points')) ?? 0);
  await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(1);
  const p1 = await points();
  await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(p1);
  await screenshot(page, 'perf-dashboard-training');
  await page.getByTestId('dashboard-close').click();

  // The canvas during training: drag a node and count frames (the bench's drag, scripts/bench/ui/measure.ts).
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'running');
  const drag = await dragNode(page, page.getByTestId('node-conv2d_2'));
  const still = await page.getByTestId('live').getAttribute('data-status');
  console.log(`drag during training (run ${still} at its end): ${dragLine(drag)} (bench target p95 < 33 ms)`);
  expect(drag.movedPx).toBeGreaterThan(20);
  expect(drag.median!).toBeLessThan(34);
  expect(drag.p95!).toBeLessThan(400);
  await screenshot(page, 'perf-drag-during-training');
  // The panel's own charts are back once the dashboard is closed, and the run finishes.
  await expect(page.getByTestId('live').getByTestId('chart-batch-loss')).toBeVisible();
  await expect(page.getByTestId('live')).toHaveAttribute('data-status', 'completed', { timeout: 180_000 });
  await expect(page.getByTestId('progress-overall')).toHaveAttribute('aria-valuenow', '100');
});
