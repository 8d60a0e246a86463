/**
 * Saving and opening projects through the engine (serve mode): Ctrl+S writes the project atomically into
 * the projects folder of the engine's data dir, the next Ctrl+S replaces it and keeps a .bak, a reload
 * and Open from the list give back the same graph, and a save over a damaged file is refused with a
 * message naming the file (which stays byte-identical), while the graph stays in the editor.
 */
import { expect, test, type Page } from '@playwright/test';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MOD, node, screenshot, selectNode, setField } from './helpers/editor';

const DATA_DIR = process.env.LAYERFORGE_E2E_DATA_DIR!;
const PROJECTS = join(DATA_DIR, 'projects');
const readProject = (name: string) => JSON.parse(readFileSync(join(PROJECTS, name), 'utf8')) as { name: string; graph: { nodes: { name: string; params: Record<string, unknown> }[] } };
const units = (p: ReturnType<typeof readProject>, name: string) => p.graph.nodes.find((n) => n.name === name)?.params.units;

/** The serve-mode token of playwright.config.ts's server (the page keeps it for the tab). */
const TOKEN = 'e2e-test-token-4173';

async function openApp(page: Page) {
  await page.goto(`/?token=${TOKEN}`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.getByTestId('start-screen')).toBeVisible();
}

async function openTemplate(page: Page, id = 'cifar10-cnn') {
  await page.getByTestId(`template-${id}`).click();
  await expect(page.getByTestId('editor')).toBeVisible();
}

test('Ctrl+S saves into the projects folder, Save replaces with a .bak, reload + Open gives the same graph; a damaged file is never overwritten', async ({ page }) => {
  expect(DATA_DIR).toBeTruthy();
  const name = `journey-${Date.now()}`;
  const file = `${name}.json`;
  await openApp(page);
  await openTemplate(page);
  await selectNode(page, 'dense_1');
  await setField(page, 'units', '256');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');

  // First save: asks for a name in the projects folder.
  await page.keyboard.press(`${MOD}+s`);
  await expect(page.getByTestId('save-as-dialog')).toBeVisible();
  await expect(page.getByTestId('save-as-dir')).toContainText(PROJECTS);
  await page.getByTestId('save-as-name').fill(name);
  await expect(page.getByTestId('save-as-dir')).toContainText(file);
  await screenshot(page, 'projects-save-as');
  await page.getByTestId('save-as-confirm').click();
  await expect(page.getByTestId('save-as-dialog')).toBeHidden();
  await expect(page.getByTestId('notice')).toContainText(`Saved ${join(PROJECTS, file)}`);
  await expect(page.getByTestId('project-file')).toHaveText(file);
  await expect(page.getByTestId('dirty-mark')).toHaveText('');
  await expect(page).toHaveTitle(`${file} — Layerforge`);
  expect(units(readProject(file), 'dense_1')).toBe(256);
  expect(existsSync(join(PROJECTS, `${file}.bak`))).toBe(false);

  // Edit, Ctrl+S: saved in place without asking; the previous version is kept as .bak.
  await selectNode(page, 'dense_1');
  await setField(page, 'units', '300');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  await page.keyboard.press(`${MOD}+s`);
  await expect(page.getByTestId('notice')).toContainText(`previous version kept as ${file}.bak`);
  await expect(page.getByTestId('save-as-dialog')).toBeHidden();
  await expect(page.getByTestId('dirty-mark')).toHaveText('');
  expect(units(readProject(file), 'dense_1')).toBe(300);
  expect(units(readProject(`${file}.bak`), 'dense_1')).toBe(256);
  const onDisk = readProject(file);

  // Reload: the start screen lists it; Open shows the projects folder; opening it gives the same graph.
  await page.reload();
  await expect(page.getByTestId('start-screen')).toBeVisible();
  await expect(page.getByTestId('recent-list')).toContainText(file);
  await page.getByTestId('start-open-project').click();
  await expect(page.getByTestId('open-dialog')).toBeVisible();
  await expect(page.getByTestId('open-dir')).toHaveText(PROJECTS);
  await expect(page.getByTestId(`open-item-${file}`)).toContainText('CIFAR-10 CNN');
  await screenshot(page, 'projects-open');
  await page.getByTestId(`open-item-${file}`).click();
  await expect(page.getByTestId('open-dialog')).toBeHidden();
  await expect(node(page, 'dense_1').getByTestId('node-summary')).toContainText('300');
  await expect(page.getByTestId('project-file')).toHaveText(file);
  await expect(page.getByTestId('dirty-mark')).toHaveText('');
  // Same graph, node for node: download a copy and compare it with the file on disk.
  await page.keyboard.press(`Shift+${MOD}+s`);
  const [copy] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-as-download').click()]);
  const reopened = JSON.parse(readFileSync(await copy.path(), 'utf8')) as typeof onDisk;
  expect(reopened.graph).toEqual(onDisk.graph);
  expect(reopened.name).toBe(onDisk.name);

  // A damaged file in the folder: Save As onto it asks to replace, then is refused, naming the file.
  const damaged = `damaged-${Date.now()}.json`;
  const junk = '{"format": "layerforge-project", "version": 1, "graph": {"nodes": [';
  writeFileSync(join(PROJECTS, damaged), junk);
  await page.keyboard.press(`Shift+${MOD}+s`);
  await page.getByTestId('save-as-name').fill(damaged);
  await page.getByTestId('save-as-confirm').click();
  await expect(page.getByTestId('save-as-exists')).toContainText(`${damaged} already exists`);
  await page.getByTestId('save-as-replace').click();
  const error = page.getByTestId('save-error');
  await expect(error).toContainText(join(PROJECTS, damaged));
  await expect(error).toContainText('was not overwritten: it is not a readable Layerforge project');
  await expect(page.getByTestId('notice')).toContainText('Nothing was lost: your project is still open here');
  await expect(page.getByTestId('save-as-exists')).toBeHidden();
  await screenshot(page, 'projects-save-refused');
  expect(readFileSync(join(PROJECTS, damaged), 'utf8')).toBe(junk);
  await page.keyboard.press('Escape');
  // The graph is still in the editor, still tied to its own file.
  await expect(node(page, 'dense_1').getByTestId('node-summary')).toContainText('300');
  await expect(page.getByTestId('project-file')).toHaveText(file);

  // The Open list marks the damaged file, and opening it says which file and why.
  await page.keyboard.press(`${MOD}+o`);
  await expect(page.getByTestId(`open-item-${damaged}`)).toContainText('cannot be opened');
  await page.getByTestId(`open-item-${damaged}`).click();
  await expect(page.getByTestId('open-error')).toContainText(join(PROJECTS, damaged));
  await expect(page.getByTestId('open-dialog')).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(node(page, 'dense_1').getByTestId('node-summary')).toContainText('300');
});

test('a name with a path in it is made into a plain file name in the projects folder', async ({ page }) => {
  await openApp(page);
  await openTemplate(page, 'lenet5');
  await page.keyboard.press(`${MOD}+s`);
  const typed = `../../escape-${Date.now()}`;
  await page.getByTestId('save-as-name').fill(typed);
  const expected = `escape-${typed.split('-').pop()}.json`;
  await expect(page.getByTestId('save-as-dir')).toContainText(expected);
  await page.getByTestId('save-as-confirm').click();
  await expect(page.getByTestId('notice')).toContainText(`Saved ${join(PROJECTS, expected)}`);
  expect(existsSync(join(PROJECTS, expected))).toBe(true);
  expect(existsSync(join(DATA_DIR, '..', expected))).toBe(false);
});

test('unsaved work is autosaved by the engine (under the data dir) and offered after a reload, even without the browser copy', async ({ page }) => {
  const recoveryDir = join(DATA_DIR, 'recovery');
  const autosaves = () => (existsSync(recoveryDir) ? readdirSync(recoveryDir).filter((f) => f.endsWith('.json')) : []);
  await openApp(page);
  const before = new Set(autosaves());
  await openTemplate(page, 'lenet5');
  await selectNode(page, 'dense_1');
  await setField(page, 'units', '77');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  await expect.poll(() => autosaves().filter((f) => !before.has(f)).length).toBe(1);
  const [mine] = autosaves().filter((f) => !before.has(f));
  expect(JSON.parse(readFileSync(join(recoveryDir, mine!), 'utf8')).project.graph.nodes.find((n: { name: string }) => n.name === 'dense_1').params.units).toBe(77);

  // The browser's own copy is gone (another browser, a cleared profile): the engine's copy is offered.
  page.on('dialog', (d) => void d.accept());
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.getByTestId('recovery-banner')).toBeVisible();
  await page.getByTestId('recovery-restore').click();
  await expect(node(page, 'dense_1').getByTestId('node-summary')).toContainText('77');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  // The restored work lives on in this window's slot; saving it clears the autosave.
  await expect.poll(() => autosaves().filter((f) => !before.has(f)).length).toBe(1);
  await page.keyboard.press(`${MOD}+s`);
  await page.getByTestId('save-as-name').fill(`recovered-${Date.now()}`);
  await page.getByTestId('save-as-confirm').click();
  await expect(page.getByTestId('dirty-mark')).toHaveText('');
  await expect.poll(() => autosaves().filter((f) => !before.has(f)).length).toBe(0);
});

test('the page title names the project and its unsaved mark; a project file dropped on the window opens (the browser reads its content)', async ({ page }) => {
  await openApp(page);
  expect(await page.title()).toBe('Layerforge');
  await openTemplate(page);
  expect(await page.title()).toBe('CIFAR-10 CNN — Layerforge');
  await selectNode(page, 'dense_1');
  await setField(page, 'units', '200');
  await expect(page.getByTestId('dirty-mark')).toHaveText('●');
  expect(await page.title()).toBe('● CIFAR-10 CNN — Layerforge');
  await page.getByTestId('btn-home').click();
  await page.getByTestId('discard-confirm').click();
  await expect(page.getByTestId('start-screen')).toBeVisible();
  expect(await page.title()).toBe('Layerforge');

  // Drop a project file on the window, as from the file manager (serve mode has no path: it opens by content).
  const project = JSON.stringify({ format: 'layerforge-project', version: 1, name: 'Dropped net', graph: { nodes: [], edges: [] } });
  const drop = async (name: string, text: string) =>
    page.evaluate(
      ([n, t]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([t], n, { type: 'application/json' }));
        document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      [name, text] as const,
    );
  await drop('dropped.layerforge', project);
  await expect(page.getByTestId('editor')).toBeVisible();
  await expect(page).toHaveTitle('dropped.layerforge — Layerforge');
  expect(await page.title()).toBe('dropped.layerforge — Layerforge');
  // A model file cannot be imported from its content: the notice says how.
  await drop('model.json', '{"modelTopology":{}}');
  await expect(page.getByTestId('notice')).toContainText('model.json is not a project');
  await expect(page).toHaveTitle('dropped.layerforge — Layerforge');
});
