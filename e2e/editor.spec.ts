/**
 * Editor journeys (issue 5): what a user does with mouse and keyboard, in Chromium against the browser build.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bothThemes, clickEmpty, dragLayer, MOD, node, openApp, screenshot, selectNode, setField, startEmpty, wire } from './helpers/editor';

async function openTemplate(page: Page, id = 'cifar10-cnn') {
  await page.getByTestId(`template-${id}`).click();
  await expect(page.getByTestId('editor')).toBeVisible();
}

function edgeCount(page: Page) {
  return page.locator('.react-flow__edge').count();
}

test('build the CIFAR-10 CNN from an empty canvas by dragging and wiring', async ({ page }) => {
  await openApp(page, { theme: 'light' });
  await startEmpty(page);

  // Two columns of four, placed by dropping from the palette.
  const layers: Array<[string, number, number]> = [
    ['Input', 140, 50],
    ['Conv2D', 140, 200],
    ['MaxPool2D', 140, 350],
    ['Conv2D', 140, 500],
    ['MaxPool2D', 440, 50],
    ['Flatten', 440, 200],
    ['Dense', 440, 350],
    ['Dense', 440, 500],
  ];
  for (const [type, x, y] of layers) await dragLayer(page, type, x, y);
  const names = ['input_1', 'conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'max_pooling2d_2', 'flatten_1', 'dense_1', 'dense_2'];
  for (const n of names) await expect(node(page, n)).toBeVisible();
  // Unwired layers say what is missing.
  await expect(node(page, 'dense_2').getByTestId('node-error')).toContainText('has no input');

  // Params in the inspector, typed as a user would.
  await selectNode(page, 'conv2d_2');
  await setField(page, 'filters', '64');
  await selectNode(page, 'dense_2');
  await setField(page, 'units', '10');
  await setField(page, 'activation', 'softmax');

  for (let i = 1; i < names.length; i++) await wire(page, names[i - 1]!, names[i]!);
  await expect(page.locator('.react-flow__edge')).toHaveCount(7);

  const shapes: Record<string, string> = {
    input_1: '32×32×3',
    conv2d_1: '30×30×32',
    max_pooling2d_1: '15×15×32',
    conv2d_2: '13×13×64',
    max_pooling2d_2: '6×6×64',
    flatten_1: '2304',
    dense_1: '128',
    dense_2: '10',
  };
  for (const [n, shape] of Object.entries(shapes)) await expect(node(page, n).getByTestId('node-shape')).toHaveText(shape);
  await expect(node(page, 'conv2d_1').getByTestId('node-summary')).toContainText('32 · 3x3 · relu');
  await expect(node(page, 'dense_1').getByTestId('node-params')).toHaveText('295,040 params');
  await expect(page.locator('[data-testid="node-error"]')).toHaveCount(0);

  await clickEmpty(page);
  await expect(page.getByTestId('total-params')).toHaveText('315,722');
  await expect(page.getByTestId('model-summary')).toContainText('The model is valid');
  await screenshot(page, 'editor-built-light');
  await page.getByTestId('btn-theme').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await screenshot(page, 'editor-built-dark');
});

test('a kernel too large turns its node red; undo brings it back', async ({ page }) => {
  await openApp(page);
  await openTemplate(page);
  await selectNode(page, 'conv2d_2');
  await setField(page, 'kernelSize', '40');
  const err = node(page, 'conv2d_2').getByTestId('node-error');
  await expect(err).toContainText('kernelSize 40 is larger than its 15x15 input');
  await expect(node(page, 'conv2d_2')).toHaveClass(/invalid/);
  await expect(page.getByTestId('field-kernelSize-error')).toContainText('kernelSize 40 is larger');
  // Downstream nodes lose their shapes; the total no longer counts them.
  await expect(node(page, 'dense_1').getByTestId('node-shape')).toHaveText('?');
  await screenshot(page, 'editor-kernel-error-light');

  // Typing "40" was one edit: one undo restores 3.
  await page.keyboard.press(`${MOD}+z`);
  await expect(err).toHaveCount(0);
  await expect(page.getByTestId('field-kernelSize')).toHaveValue('3');
  await expect(node(page, 'dense_1').getByTestId('node-shape')).toHaveText('128');
  await page.keyboard.press(`Shift+${MOD}+z`);
  await expect(err).toContainText('kernelSize 40');
});

test('invalid values are refused as you type', async ({ page }) => {
  await openApp(page);
  await openTemplate(page);
  await selectNode(page, 'dense_1');
  const field = page.getByTestId('field-units');
  await field.click();
  await field.press('ControlOrMeta+a');
  await field.pressSequentially('0');
  await expect(page.getByTestId('field-units-error')).toContainText('must be');
  await expect(node(page, 'dense_1').getByTestId('node-shape')).toHaveText('128');
  await field.press('Escape');
});

test('wiring that would make a cycle or overfill an input is refused with the reason', async ({ page }) => {
  await openApp(page);
  await openTemplate(page);
  await wire(page, 'dense_1', 'conv2d_1');
  await expect(page.getByTestId('notice')).toContainText('cycle');
  await expect(page.locator('.react-flow__edge')).toHaveCount(7);
  await wire(page, 'input_1', 'dense_1');
  await expect(page.getByTestId('notice')).toContainText('takes one input');
  await expect(page.locator('.react-flow__edge')).toHaveCount(7);
  await screenshot(page, 'editor-refused-light');
});

test('template: auto-layout, download a copy, import it (upload) gives the same graph', async ({ page }) => {
  // Saving into the projects folder (Ctrl+S through the engine) is e2e/projects.spec.ts; this is the file round trip.
  await openApp(page);
  await openTemplate(page);
  const template = JSON.parse(readFileSync(new URL('../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8'));
  const before = await node(page, 'conv2d_1').boundingBox();
  await page.keyboard.press('l');
  await expect.poll(async () => JSON.stringify(await node(page, 'conv2d_1').boundingBox())).not.toBe(JSON.stringify(before));

  // The Save As dialog offers a download instead.
  await page.keyboard.press(`${MOD}+s`);
  await expect(page.getByTestId('save-as-dialog')).toBeVisible();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-as-download').click()]);
  expect(download.suggestedFilename()).toBe('CIFAR-10-CNN.json');
  const savedPath = join(mkdtempSync(join(tmpdir(), 'lf-e2e-')), 'my-cnn.json');
  await download.saveAs(savedPath);
  const saved = JSON.parse(readFileSync(savedPath, 'utf8'));
  // A download is a copy, not a save: the project stays marked unsaved.
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  expect(saved.graph.nodes.map((n: { type: string }) => n.type)).toEqual(template.graph.nodes.map((n: { type: string }) => n.type));
  expect(saved.graph.nodes.map((n: { position: unknown }) => n.position)).not.toEqual(template.graph.nodes.map((n: { position: unknown }) => n.position));

  // Start over, then import the downloaded file from the Open dialog.
  await page.keyboard.press(`${MOD}+n`);
  await page.getByTestId('discard-confirm').click();
  await expect(page.getByTestId('canvas-empty')).toBeVisible();
  await page.keyboard.press(`${MOD}+o`);
  await expect(page.getByTestId('open-dialog')).toBeVisible();
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId('open-import-file').click()]);
  await chooser.setFiles(savedPath);
  await expect(node(page, 'dense_2')).toBeVisible();
  await expect(page.locator('.react-flow__edge')).toHaveCount(7);
  await expect(page.getByTestId('total-params')).toHaveText('315,722');
  await expect(page.getByTestId('project-file')).toHaveText('my-cnn.json');

  // Downloading again gives the same graph (ids, names, params, positions, edges).
  await page.keyboard.press(`${MOD}+s`);
  await expect(page.getByTestId('save-as-name')).toHaveValue('my-cnn.json');
  const [again] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-as-download').click()]);
  const reread = JSON.parse(readFileSync(await again.path(), 'utf8'));
  expect(reread.graph).toEqual(saved.graph);
  expect(reread.name).toBe(saved.name);
});

test('copy/paste a sub-graph, also into another project', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openApp(page);
  await openTemplate(page);
  await selectNode(page, 'conv2d_2');
  await selectNode(page, 'max_pooling2d_2', ['Shift']);
  await expect(page.getByTestId('inspector-multi')).toContainText('2 layers selected');
  await page.keyboard.press(`${MOD}+c`);
  await page.keyboard.press(`${MOD}+v`);
  await expect(node(page, 'conv2d_3')).toBeVisible();
  await expect(node(page, 'max_pooling2d_3')).toBeVisible();
  expect(await edgeCount(page)).toBe(8);
  // The pasted pair keeps its params and inner edge; its conv has no input yet.
  await expect(node(page, 'conv2d_3').getByTestId('node-summary')).toContainText('64 · 3x3');
  await expect(node(page, 'conv2d_3').getByTestId('node-error')).toContainText('has no input');

  // Duplicate and delete work on the selection too.
  await page.keyboard.press(`${MOD}+d`);
  await expect(node(page, 'conv2d_4')).toBeVisible();
  await page.keyboard.press('Delete');
  await expect(node(page, 'conv2d_4')).toHaveCount(0);

  // Another project: the sub-graph comes along through the clipboard.
  await page.keyboard.press(`${MOD}+n`);
  await page.getByTestId('discard-confirm').click();
  await expect(page.getByTestId('canvas-empty')).toBeVisible();
  await page.keyboard.press(`${MOD}+v`);
  await expect(node(page, 'conv2d_2')).toBeVisible();
  await expect(node(page, 'max_pooling2d_2')).toBeVisible();
  expect(await edgeCount(page)).toBe(1);
});

test('unsaved work: title mark, warning on leaving, recovery after reload', async ({ page }) => {
  await openApp(page);
  await openTemplate(page);
  await expect(page).toHaveTitle(/^CIFAR-10 CNN — Layerforge$/);
  await selectNode(page, 'dense_1');
  await setField(page, 'units', '256');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  await expect(page).toHaveTitle(/^● /);
  await page.waitForTimeout(1200); // autosave runs 0.8 s after the last edit
  let warned = false;
  page.on('dialog', (d) => {
    if (d.type() === 'beforeunload') warned = true;
    void d.accept();
  });
  await page.reload();
  expect(warned).toBe(true);
  await expect(page.getByTestId('recovery-banner')).toBeVisible();
  await page.getByTestId('recovery-restore').click();
  await expect(node(page, 'dense_1').getByTestId('node-summary')).toContainText('256');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
});

test('palette: search, Enter adds, description on hover; help overlay lists shortcuts', async ({ page }) => {
  await openApp(page);
  await startEmpty(page);
  await page.getByTestId('palette-item-Dense').hover();
  await expect(page.getByTestId('palette-description')).toContainText('Fully connected');
  const search = page.getByTestId('palette-search');
  await search.fill('conv 2d');
  await expect(page.getByTestId('palette-item-Dense')).toHaveCount(0);
  await search.press('Enter');
  await expect(node(page, 'conv2d_1')).toBeVisible();
  await page.getByTestId('palette-item-Flatten').dblclick();
  await expect(node(page, 'flatten_1')).toBeVisible();
  await clickEmpty(page);
  await page.keyboard.press('?');
  await expect(page.getByTestId('help-overlay')).toContainText('Auto-layout');
  await expect(page.getByTestId('help-overlay')).toContainText('Undo');
  await screenshot(page, 'editor-help-light');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help-overlay')).toHaveCount(0);
});

test('a shape clash at a merge marks the node and the edge that caused it', async ({ page }) => {
  await openApp(page, { theme: 'dark' });
  await startEmpty(page);
  await dragLayer(page, 'Input', 200, 60);
  await dragLayer(page, 'Conv2D', 420, 200);
  await dragLayer(page, 'Add', 300, 380);
  await wire(page, 'input_1', 'conv2d_1');
  await wire(page, 'input_1', 'add_1', 0);
  await wire(page, 'conv2d_1', 'add_1', 1);
  await expect(node(page, 'add_1').getByTestId('node-error')).toContainText('same shape');
  await expect(page.locator('.react-flow__edge.lf-edge-clash')).toHaveCount(1);
  // The marked edge is the one from conv2d_1 (port 2 of the Add).
  const clash = page.locator('.react-flow__edge.lf-edge-clash');
  await expect(clash).toHaveAttribute('aria-label', /input 2 is 30×30×32/);
  await clickEmpty(page);
  await screenshot(page, 'editor-clash-dark');
  // Padding 'same' keeps 32×32, but 32 filters still differ from 3 channels; 3 filters fix it.
  await selectNode(page, 'conv2d_1');
  await setField(page, 'padding', 'same');
  await setField(page, 'filters', '3');
  await expect(page.locator('.react-flow__edge.lf-edge-clash')).toHaveCount(0);
  await expect(node(page, 'add_1').getByTestId('node-shape')).toHaveText('32×32×3');
});

test('Find Layer (Ctrl+F): type part of a name or type, Enter selects the node and shows it', async ({ page }) => {
  await openApp(page);
  await openTemplate(page);
  await clickEmpty(page);
  await page.keyboard.press(`${MOD}+f`);
  const input = page.getByTestId('find-layer-input');
  await expect(input).toBeFocused();
  await expect(page.getByTestId('find-layer-match')).toHaveCount(8);
  await input.fill('dense');
  await expect(page.getByTestId('find-layer-match')).toHaveCount(2);
  await bothThemes(page, 'editor-find-layer', 'find-layer');
  await input.fill('no such layer');
  await expect(page.getByTestId('find-layer-none')).toContainText('No layer matches');
  await input.fill('pool 2');
  await input.press('ArrowDown');
  await input.press('Enter');
  await expect(page.getByTestId('find-layer')).toHaveCount(0);
  await expect(node(page, 'max_pooling2d_2')).toHaveClass(/selected/);
  await expect(node(page, 'max_pooling2d_2')).toBeInViewport();
});
