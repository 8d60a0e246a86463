/**
 * Large imported graphs stay usable (#15): ResNet50 (175 layers) and MobileNetV2 (154 layers) as the base of a
 * classifier, written as TensorFlow.js model.json files (e2e/helpers/bigModels.ts), are imported from the app:
 * the import, the layout and the drawing are timed (target < 2 s on a quiet machine; the bound here is generous,
 * CI is a loaded 2-core machine), the nested base is a group that collapses to one box and expands again, and a
 * node still drags smoothly (frame times measured as in ui-perf.spec.ts).
 *
 * Its own serve engine and data folder (ownServeEngine), as the import would otherwise add to the shared one.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dragFrames } from '../scripts/bench/ui/frames';
import { writeBigModel, type BigModel } from './helpers/bigModels';
import { canvasSettled, screenshot } from './helpers/editor';
import { ownServeEngine } from './helpers/ownEngine';

const TOKEN = 'large-import-e2e-token';
const engine = ownServeEngine('large-import', TOKEN);

async function importTimed(page: Page, model: BigModel): Promise<{ importMs: number; drawMs: number }> {
  await page.keyboard.press('ControlOrMeta+I');
  await page.getByTestId('import-model-path').fill(model.path);
  const t0 = Date.now();
  await page.getByTestId('import-model-confirm').click();
  await expect(page.getByTestId('import-model-params')).toHaveText(model.params.toLocaleString('en-US'), { timeout: 60_000 });
  const importMs = Date.now() - t0;
  const t1 = Date.now();
  await page.getByTestId('import-model-open').click();
  // Laid out (the auto-layout is the new document's first undo step), analysed (the totals) and drawn.
  await expect(page.getByTestId('btn-undo')).toBeEnabled({ timeout: 30_000 });
  await expect(page.getByTestId('total-params')).toHaveText(model.params.toLocaleString('en-US'));
  await expect(page.locator('.react-flow__node-layer').first()).toBeVisible();
  const drawMs = Date.now() - t1;
  return { importMs, drawMs };
}

/** Waits until the viewport's transform stops changing (the fit-view animation has ended). */
for (const name of ['resnet50', 'mobilenetv2'] as const) {
  test(`${name}: imports, lays out and draws quickly, collapses and expands, drags smoothly`, async ({ page }) => {
    test.setTimeout(180_000);
    const model = await writeBigModel(mkdtempSync(join(tmpdir(), `lf-e2e-${name}-`)), name);
    await page.goto(engine.url);
    await expect(page.getByTestId('start-screen')).toBeVisible();
    const { importMs, drawMs } = await importTimed(page, model);
    const groupName = name === 'resnet50' ? 'resnet50' : 'mobilenetv2_1.00_224';
    await expect(page.getByTestId(`group-frame-${groupName}`)).toBeAttached();
    await screenshot(page, `large-import-${name}`);

    // Collapse the base to one box and expand it again (each laid out again), once the import's own layout has landed.
    await canvasSettled(page);
    await page.getByTestId('groups-collapse-all').click();
    const t2 = Date.now();
    const box = page.getByTestId(`group-box-${groupName}`);
    await expect(box).toBeVisible();
    await expect(page.locator('.react-flow__node-layer')).toHaveCount(3); // input, pooling, Dense (+ the box)
    const collapseMs = Date.now() - t2;
    await screenshot(page, `large-import-${name}-collapsed`);
    const t3 = Date.now();
    await page.getByTestId('groups-expand-all').click();
    await expect(box).toHaveCount(0);
    await expect(page.getByTestId(`group-frame-${groupName}`)).toBeAttached();
    const expandMs = Date.now() - t3;

    // Responsive: once the view has settled (fit after the layout), drag a node and count frames.
    await canvasSettled(page);
    const centre = page.locator('.react-flow__node-layer').nth(8);
    // After Expand all the nodes are laid out and mounted again: wait for the one to drag (a loaded CI
    // machine may still be drawing it when the viewport has settled).
    await expect(centre.locator('.lf-node-head')).toBeVisible({ timeout: 30_000 });
    await canvasSettled(page);
    const drag = await dragFrames(page, centre.locator('.lf-node-head'), 40, 4);
    console.log(
      `${name} (${model.baseLayers}-layer base, ${model.params.toLocaleString('en-US')} params): import ${importMs} ms, open + layout + draw ${drawMs} ms, collapse ${collapseMs} ms, expand ${expandMs} ms, drag p95 ${drag.p95?.toFixed(1)} ms over ${drag.frames.length} frames`,
    );
    expect(drag.movedPx).toBeGreaterThan(20);
    // Generous bounds (a loaded CI machine); the figures against the 2 s target are printed above.
    expect(importMs + drawMs).toBeLessThan(20_000);
    expect(drag.p95!).toBeLessThan(400);
  });
}
