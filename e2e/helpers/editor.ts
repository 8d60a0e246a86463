/** Helpers for editor journeys: they act as a user does (mouse and keyboard), never through the store. */
import { expect, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path });
  return path;
}

/** Opens the app on a clean slate (no recent projects, no recovery) unless told to keep storage. */
export async function openApp(page: Page, options: { keepStorage?: boolean; theme?: 'light' | 'dark' } = {}): Promise<void> {
  if (options.theme) await page.emulateMedia({ colorScheme: options.theme });
  await page.goto('/');
  if (!options.keepStorage) {
    await page.evaluate(() => localStorage.clear());
    await page.reload();
  }
  await expect(page.getByTestId('start-screen')).toBeVisible();
}

export async function startEmpty(page: Page): Promise<void> {
  await page.getByTestId('start-empty').click();
  await expect(page.getByTestId('canvas-empty')).toBeVisible();
}

export function node(page: Page, name: string): Locator {
  return page.getByTestId(`node-${name}`);
}

/** Drags a palette item onto the canvas at (x, y) relative to the canvas' top-left corner. */
export async function dragLayer(page: Page, type: string, x: number, y: number): Promise<void> {
  const canvas = page.locator('.react-flow__pane');
  await page.getByTestId(`palette-item-${type}`).dragTo(canvas, { targetPosition: { x, y } });
}

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('element has no box (not visible?)');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Wires `from`'s output to `to`'s input port by dragging between the handles. */
export async function wire(page: Page, from: string, to: string, port = 0): Promise<void> {
  const a = await centre(page.getByTestId(`handle-out-${from}`));
  const b = await centre(page.getByTestId(`handle-in-${to}-${port}`));
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
}

/** Selects a node by clicking its header. */
/**
 * Waits until the canvas is still: the loaded project's view fitted (data-fitted = data-load) and no edit
 * being laid out again or its view animating (data-layout="idle": collapse / expand, auto-layout, an
 * import's first layout). A click on a node's button before that may land where the button was.
 */
export async function canvasSettled(page: Page, timeout = 30_000): Promise<void> {
  const canvas = page.getByTestId('canvas');
  await expect(canvas).toHaveAttribute('data-layout', 'idle', { timeout });
  const load = await canvas.getAttribute('data-load');
  await expect(canvas).toHaveAttribute('data-fitted', load ?? '', { timeout });
}

export async function selectNode(page: Page, name: string, modifiers: Array<'Shift'> = []): Promise<void> {
  await node(page, name).locator('.lf-node-head').click({ modifiers });
}

/** Clicks the empty pane (clears the selection) at a spot far from nodes. */
export async function clickEmpty(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
}

/** Sets a param in the inspector as a user types it. */
export async function setField(page: Page, field: string, value: string): Promise<void> {
  const input = page.getByTestId(`field-${field}`);
  const tag = await input.evaluate((el) => el.tagName);
  if (tag === 'SELECT') {
    await input.selectOption(value);
  } else {
    await input.click();
    await input.press('ControlOrMeta+a');
    await input.pressSequentially(value);
    await input.press('Enter');
  }
}

export const MOD = process.platform === 'darwin' ? 'Meta' : 'Control';

/** Switches the theme with its shortcut (Shift+T) unless it is already the one asked for. */
export async function setTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  const html = page.locator('html');
  if ((await html.getAttribute('data-theme')) === theme) return;
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('Shift+T');
  await expect(html).toHaveAttribute('data-theme', theme);
}

/** Screenshots (the page, or one element) in both themes, light first: `<name>-light.png`, `<name>-dark.png`. */
export async function bothThemes(page: Page, name: string, testId?: string): Promise<void> {
  await page.mouse.move(1, 1); // no chart tooltip in the pictures
  for (const theme of ['light', 'dark'] as const) {
    await setTheme(page, theme);
    if (testId) await page.getByTestId(testId).screenshot({ path: join(ARTIFACTS, `${name}-${theme}.png`) });
    else await screenshot(page, `${name}-${theme}`);
  }
  await setTheme(page, 'light');
}

/** The Train tab's "Import from disk…" with a dataset folder or file; waits until the dataset is ready. */
export async function importFromDisk(page: Page, path: string, timeout: number): Promise<void> {
  await page.getByTestId('training-panel').getByText('Import from disk…').click();
  await page.getByTestId('import-path').fill(path);
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('dataset-status')).toHaveAttribute('data-status', 'ready', { timeout });
}
