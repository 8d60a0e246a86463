/**
 * A 300-node graph opened through the UI: dragging one node re-renders only that node (a window-level
 * render counter that LayerNode fills when the test sets it), and the drag is one undo step. The open is
 * timed as the bench times it (scripts/bench/ui/measure.ts), with trace recording off.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PERF_TEST_USE, openProjectTimed } from '../scripts/bench/ui/measure';
import { MOD, node, openApp, screenshot } from './helpers/editor';

test.use(PERF_TEST_USE);

function bigProject(count: number): string {
  const nodes = [];
  const edges = [];
  for (let i = 0; i < count; i++) {
    const type = i === 0 ? 'Input' : 'Dense';
    const params = i === 0 ? { kind: 'tokens', length: 16 } : { units: i === count - 1 ? 10 : 8, activation: 'relu' };
    nodes.push({
      id: `n${i}`,
      type,
      name: i === 0 ? 'input_1' : `dense_${i}`,
      params,
      position: { x: (i % 15) * 260, y: Math.floor(i / 15) * 140 },
    });
    if (i > 0) edges.push({ id: `e${i}`, source: `n${i - 1}`, target: `n${i}`, targetPort: 0 });
  }
  return JSON.stringify({ format: 'layerforge-project', version: 1, name: 'Big', graph: { nodes, edges } });
}

test('dragging one node of 300 re-renders only that node, and is one undo step', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'lf-e2e-'));
  const file = join(dir, 'big-300.layerforge.json');
  writeFileSync(file, bigProject(300));
  await page.addInitScript(() => {
    (window as unknown as { __lfRenderCounts: Record<string, number> }).__lfRenderCounts = {};
  });
  await openApp(page);
  const opened = await openProjectTimed(page, file);
  await expect(page.locator('.react-flow__node')).toHaveCount(300);
  await expect(page.getByTestId('total-params')).toBeVisible();
  console.log(`300-node project opened and drawn in ${opened.openMs.toFixed(0)} ms`);

  const counts = () => page.evaluate(() => ({ ...(window as unknown as { __lfRenderCounts: Record<string, number> }).__lfRenderCounts }));
  // Drawn (the view fitted, every node measured): from here nothing renders again until the drag.
  let before = await counts();
  await expect.poll(async () => {
    const now = await counts();
    const same = JSON.stringify(now) === JSON.stringify(before);
    before = now;
    return same;
  }, { intervals: [400, 400, 400, 400, 800] }).toBe(true);
  expect(Object.keys(before)).toHaveLength(300);

  const target = node(page, 'dense_17');
  const box = (await target.boundingBox())!;
  const start = { x: box.x + box.width / 2, y: box.y + 6 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  for (let i = 1; i <= 15; i++) await page.mouse.move(start.x + i * 6, start.y + i * 4);
  await page.mouse.up();
  const moved = (await target.boundingBox())!;
  expect(Math.round(moved.x - box.x)).toBeGreaterThan(40);

  const after = await counts();
  const rerendered = Object.keys(after).filter((name) => after[name] !== before[name]);
  console.log(`renders during the drag: dense_17 ${before.dense_17} -> ${after.dense_17}; other nodes re-rendered: ${rerendered.filter((n) => n !== 'dense_17').length}`);
  expect(rerendered).toEqual(['dense_17']);
  // It renders again for being selected; moving it is the wrapper's job (LayerNode ignores position props).
  expect(after.dense_17! - before.dense_17!).toBeGreaterThanOrEqual(1);
  expect(after.dense_17! - before.dense_17!).toBeLessThanOrEqual(3);
  await screenshot(page, 'editor-300-nodes-light');

  // The whole drag is undone by one Ctrl+Z.
  await page.keyboard.press(`${MOD}+z`);
  await expect.poll(async () => Math.round(((await target.boundingBox())!.x - box.x) * 10) / 10).toBe(0);
  await expect(page.getByTestId('btn-undo')).toBeDisabled();
});
