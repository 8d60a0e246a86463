import { describe, expect, it, vi } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { MENU_SPEC, menuActions } from '../shared/shell/menuSpec';
import { actionItemId, applyMenuState, buildMenuTemplate, MAX_RECENT_MENU, type MenuBuildOptions } from './menu';

type Item = MenuItemConstructorOptions;

function build(over: Partial<MenuBuildOptions> = {}) {
  const onAction = vi.fn();
  const onOpenRecent = vi.fn();
  const onCommand = vi.fn();
  const template = buildMenuTemplate({ platform: 'linux', isPackaged: false, appName: 'Layerforge', state: { enabled: {}, checked: {} }, recent: [], onAction, onOpenRecent, onCommand, ...over });
  return { template, onAction, onOpenRecent, onCommand };
}

/** Every item, depth first. */
function flat(items: readonly Item[]): Item[] {
  return items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flat(i.submenu as Item[]) : [])]);
}
const byLabel = (items: readonly Item[], label: string) => flat(items).find((i) => i.label === label);
const menu = (template: Item[], label: string) => template.find((m) => m.label?.replace('&', '') === label)!.submenu as Item[];
const labels = (items: Item[]) => items.filter((i) => i.type !== 'separator').map((i) => i.label ?? i.role);
const click = (item: Item, triggeredByAccelerator = false) =>
  (item.click as unknown as (i: unknown, w: unknown, e: { triggeredByAccelerator: boolean }) => void)({}, undefined, { triggeredByAccelerator });

describe('the application menu', () => {
  it('has every item of the issue, in its menu (Linux/Windows: File … Help, Quit in File, About in Help)', () => {
    const { template } = build();
    expect(template.map((m) => m.label)).toEqual(['&File', '&Edit', '&View', '&Train', '&Help']);
    expect(labels(menu(template, 'File'))).toEqual(['New', 'Open…', 'Open Recent', 'Save', 'Save As…', 'Import Model…', 'Import Dataset…', 'Export', 'Close', 'Quit']);
    expect(labels(byLabel(template, 'Export')!.submenu as Item[])).toEqual(['Image (PNG/SVG)…', 'Trained Model…']);
    expect(labels(menu(template, 'Edit'))).toEqual(['Undo', 'Redo', 'Cut', 'Copy', 'Paste', 'Duplicate', 'Delete', 'Select All', 'Find Layer…']);
    expect(labels(menu(template, 'View'))).toEqual(['Fit to Window', 'Auto-Layout', 'Zoom In', 'Zoom Out', 'Reset Zoom', 'Toggle Light/Dark Theme', 'Layer Palette', 'Inspector Panel', 'Snap to Grid', 'togglefullscreen', 'Reload', 'Toggle Developer Tools']);
    expect(labels(menu(template, 'Train'))).toEqual(['Train', 'Pause', 'Resume', 'Stop', 'Dashboard']);
    expect(labels(menu(template, 'Help'))).toEqual(['Keyboard Shortcuts', 'Documentation', 'About Layerforge']);
    expect(byLabel(template, 'Quit')).toMatchObject({ role: 'quit' });
    expect(byLabel(template, 'About Layerforge')).toMatchObject({ role: 'about' });
  });

  it('every action item dispatches its named action to the renderer, saying whether a key chose it', () => {
    const { template, onAction } = build();
    const items = flat(template).filter((i) => i.id?.startsWith('action:'));
    expect(items.map((i) => i.id)).toEqual(menuActions().map((a) => actionItemId(a.action)));
    for (const item of items) click(item);
    expect(onAction.mock.calls.map((c) => c[0])).toEqual(menuActions().map((a) => a.action));
    expect(onAction.mock.calls.every((c) => c[1] === false)).toBe(true);
    click(byLabel(template, 'Close')!, true);
    expect(onAction).toHaveBeenLastCalledWith('goHome', true);
  });

  it('accelerators (Linux/Windows): keys the renderer handles are shown but not registered; the others are registered', () => {
    const { template } = build({ platform: 'win32' });
    const undo = byLabel(template, 'Undo')!;
    expect(undo).toMatchObject({ accelerator: 'CmdOrCtrl+Z', registerAccelerator: false });
    expect(byLabel(template, 'Save As…')).toMatchObject({ accelerator: 'Shift+CmdOrCtrl+S', registerAccelerator: false });
    expect(byLabel(template, 'Fit to Window')).toMatchObject({ accelerator: 'F', registerAccelerator: false });
    // Only the menu knows these keys: ordinary accelerators.
    for (const label of ['Close', 'Reset Zoom', 'Reload']) {
      const item = byLabel(template, label)!;
      expect(item.accelerator, label).toBeTruthy();
      expect(item.registerAccelerator, label).toBeUndefined();
    }
    // The rule, for every item of the spec.
    for (const a of menuActions()) {
      const item = flat(template).find((i) => i.id === actionItemId(a.action))!;
      expect(item.accelerator).toBe(a.accelerator);
      expect(item.registerAccelerator === false, a.action).toBe(a.rendererKey === true);
    }
  });

  it('accelerators (macOS): Cmd shortcuts shown (the page handles its keys first), bare keys left out; app and Window menus added', () => {
    const { template } = build({ platform: 'darwin' });
    expect(template.map((m) => m.label ?? m.role)).toEqual(['Layerforge', 'File', 'Edit', 'View', 'Train', 'windowMenu', 'Help']);
    expect(template[0]).toMatchObject({ role: 'appMenu' });
    expect(byLabel(template, 'Undo')).toMatchObject({ accelerator: 'CmdOrCtrl+Z' });
    expect(byLabel(template, 'Undo')!.registerAccelerator).toBeUndefined();
    for (const label of ['Fit to Window', 'Auto-Layout', 'Zoom In', 'Delete', 'Keyboard Shortcuts', 'Toggle Light/Dark Theme', 'Snap to Grid']) {
      expect(byLabel(template, label)!.accelerator, label).toBeUndefined();
    }
    // Quit and About are in the app menu there.
    expect(byLabel(template, 'Quit')).toBeUndefined();
    expect(byLabel(template, 'About Layerforge')).toBeUndefined();
  });

  it('enabled state and check marks come from the renderer; unknown actions stay enabled', () => {
    const { template } = build({ state: { enabled: { undo: false, saveProject: true, train: false }, checked: { togglePalette: true, toggleInspector: false } } });
    expect(byLabel(template, 'Undo')!.enabled).toBe(false);
    expect(byLabel(template, 'Save')!.enabled).toBe(true);
    expect(byLabel(template, 'Train')!.enabled).toBe(false);
    expect(byLabel(template, 'Redo')!.enabled).toBe(true);
    expect(byLabel(template, 'Layer Palette')).toMatchObject({ type: 'checkbox', checked: true });
    expect(byLabel(template, 'Inspector Panel')).toMatchObject({ type: 'checkbox', checked: false });
  });

  it('applies a new state to the installed menu in place', () => {
    const items = new Map(['undo', 'togglePalette'].map((a) => [actionItemId(a), { enabled: true, checked: false }]));
    applyMenuState({ getMenuItemById: (id: string) => (items.get(id) ?? null) as never }, { enabled: { undo: false, gone: false }, checked: { togglePalette: true } });
    expect(items.get('action:undo')!.enabled).toBe(false);
    expect(items.get('action:togglePalette')!.checked).toBe(true);
  });

  it('Open Recent lists the recent projects (at most 10), opens the one chosen, and is greyed out when empty', () => {
    const recent = Array.from({ length: 14 }, (_, i) => ({ path: `/p/n${i}.layerforge`, label: `n${i}.layerforge` }));
    const { template, onOpenRecent } = build({ recent });
    const sub = byLabel(template, 'Open Recent')!.submenu as Item[];
    expect(sub).toHaveLength(MAX_RECENT_MENU);
    expect(sub[0]!.label).toBe('n0.layerforge');
    (sub[2]!.click as () => void)();
    expect(onOpenRecent).toHaveBeenCalledWith('/p/n2.layerforge');
    const empty = byLabel(build().template, 'Open Recent')!;
    expect(empty.enabled).toBe(false);
  });

  it('Reload and Developer Tools only in development; Documentation is a main-process command', () => {
    const packaged = build({ isPackaged: true });
    expect(byLabel(packaged.template, 'Reload')).toBeUndefined();
    expect(byLabel(packaged.template, 'Toggle Developer Tools')).toBeUndefined();
    // No separator left dangling where they were.
    const view = menu(packaged.template, 'View');
    expect(view[view.length - 1]!.type).not.toBe('separator');
    (byLabel(packaged.template, 'Documentation')!.click as () => void)();
    expect(packaged.onCommand).toHaveBeenCalledWith('documentation');
  });

  it('the spec has no action twice and each accelerator once', () => {
    const names = menuActions().map((a) => a.action);
    expect(new Set(names).size).toBe(names.length);
    const accs = menuActions().flatMap((a) => (a.accelerator ? [a.accelerator] : []));
    expect(new Set(accs).size).toBe(accs.length);
    expect(MENU_SPEC.map((m) => m.id)).toEqual(['file', 'edit', 'view', 'train', 'help']);
  });
});
