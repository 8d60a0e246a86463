/**
 * The application menu: shared/shell/menuSpec.ts turned into Electron's template, with each action's
 * enabled/checked state from the renderer and the recent projects. Pure (Electron types only), so it is
 * unit-tested without Electron; main/index.ts builds and installs it.
 *
 * Accelerators (see menuSpec.ts for the reasoning): keys the renderer handles are shown but not
 * registered on Linux/Windows (`registerAccelerator: false`) and left out on macOS when they have no Cmd;
 * keys only the menu knows are ordinary accelerators.
 */
import type { KeyboardEvent as ElectronKeyboardEvent, Menu, MenuItemConstructorOptions } from 'electron';
import { hasCommandKey, MENU_SPEC, type MainCommand, type MenuEntry, type MenuSpec } from '../shared/shell/menuSpec';
import type { MenuState } from '../shared/api/shell';

export interface RecentItem {
  path: string;
  /** What the menu shows (the file name). */
  label: string;
}

export interface MenuBuildOptions {
  platform: NodeJS.Platform;
  /** Packaged builds have no Reload / Developer Tools. */
  isPackaged: boolean;
  appName: string;
  state: MenuState;
  recent: readonly RecentItem[];
  /** A menu action was chosen: send it to the renderer. */
  onAction(action: string, byAccelerator: boolean): void;
  onOpenRecent(path: string): void;
  onCommand(command: MainCommand): void;
  spec?: readonly MenuSpec[];
}

/** Most recent projects listed under Open Recent. */
export const MAX_RECENT_MENU = 10;

/** The menu item id of an action (for updating its state in place). */
export const actionItemId = (action: string) => `action:${action}`;

type Click = NonNullable<MenuItemConstructorOptions['click']>;
const byKey = (event: ElectronKeyboardEvent | undefined) => event?.triggeredByAccelerator === true;

function accelerator(acc: string | undefined, rendererKey: boolean | undefined, platform: NodeJS.Platform): Partial<MenuItemConstructorOptions> {
  if (!acc) return {};
  if (!rendererKey) return { accelerator: acc };
  // macOS: Cmd shortcuts are shown (the page handles them first); bare keys are not put in the menu at all.
  if (platform === 'darwin') return hasCommandKey(acc) ? { accelerator: acc } : {};
  return { accelerator: acc, registerAccelerator: false };
}

function entryTemplate(e: MenuEntry, o: MenuBuildOptions): MenuItemConstructorOptions | null {
  switch (e.kind) {
    case 'separator':
      return { type: 'separator' };
    case 'action': {
      const click: Click = (_item, _win, event) => o.onAction(e.action, byKey(event));
      return {
        id: actionItemId(e.action),
        label: e.label,
        ...(e.checkbox ? { type: 'checkbox' as const, checked: o.state.checked[e.action] === true } : {}),
        ...accelerator(e.accelerator, e.rendererKey, o.platform),
        // Unknown until the renderer says: enabled, so a slow page never leaves the menu dead.
        enabled: o.state.enabled[e.action] ?? true,
        click,
      };
    }
    case 'command': {
      if (e.devOnly && o.isPackaged) return null;
      return { id: `command:${e.command}`, label: e.label, ...(e.accelerator ? { accelerator: e.accelerator } : {}), click: () => o.onCommand(e.command) };
    }
    case 'role':
      if (e.role === 'about') return { role: 'about', label: e.label ?? `About ${o.appName}` };
      return { role: e.role, ...(e.label ? { label: e.label } : {}) };
    case 'recent': {
      const items = o.recent.slice(0, MAX_RECENT_MENU);
      return {
        id: 'recent',
        label: e.label,
        enabled: items.length > 0,
        submenu: items.length
          ? items.map((r, i) => ({ id: `recent:${i}`, label: r.label, toolTip: r.path, click: () => o.onOpenRecent(r.path) }))
          : [{ label: 'No Recent Projects', enabled: false }],
      };
    }
    case 'submenu':
      return { label: e.label, submenu: entries(e.items, o) };
  }
}

/** Drops separators at either end and doubled ones (left by items that were skipped). */
function tidy(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  const out: MenuItemConstructorOptions[] = [];
  for (const it of items) {
    if (it.type === 'separator' && (out.length === 0 || out[out.length - 1]!.type === 'separator')) continue;
    out.push(it);
  }
  while (out.length && out[out.length - 1]!.type === 'separator') out.pop();
  return out;
}

function entries(items: readonly MenuEntry[], o: MenuBuildOptions): MenuItemConstructorOptions[] {
  return tidy(items.map((e) => entryTemplate(e, o)).filter((x): x is MenuItemConstructorOptions => x !== null));
}

/** The whole application menu. macOS adds its app menu (About, Services, Hide, Quit) and Window menu. */
export function buildMenuTemplate(o: MenuBuildOptions): MenuItemConstructorOptions[] {
  const spec = o.spec ?? MENU_SPEC;
  const mac = o.platform === 'darwin';
  const menus: MenuItemConstructorOptions[] = spec.map((m) => {
    let items = m.items;
    // On macOS, Quit and About live in the app menu.
    if (mac) items = items.filter((e) => !(e.kind === 'role' && (e.role === 'quit' || e.role === 'about')));
    return { id: `menu:${m.id}`, label: mac ? m.label.replace('&', '') : m.label, submenu: entries(items, o), ...(m.id === 'help' ? { role: 'help' as const } : {}) };
  });
  if (!mac) return menus;
  const help = menus.pop()!;
  return [{ role: 'appMenu', label: o.appName }, ...menus, { role: 'windowMenu' }, help];
}

/** Applies a new state to an installed menu in place (no rebuild): enabled and check marks by action. */
export function applyMenuState(menu: Pick<Menu, 'getMenuItemById'>, state: MenuState): void {
  for (const [action, enabled] of Object.entries(state.enabled)) {
    const item = menu.getMenuItemById(actionItemId(action));
    if (item) item.enabled = enabled;
  }
  for (const [action, checked] of Object.entries(state.checked)) {
    const item = menu.getMenuItemById(actionItemId(action));
    if (item) item.checked = checked;
  }
}
