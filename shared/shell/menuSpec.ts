/**
 * The desktop app's menus, once, as data: main/menu.ts turns it into Electron's template, the renderer
 * checks it against its actions registry (every action item names an existing action; every accelerator
 * marked `rendererKey` is one the renderer's keydown handler already handles, and no other is).
 *
 * One key, one firing: the renderer's keydown handler runs the actions of the shortcuts it knows (in the
 * browser too). Menu items for those keys therefore only *show* the shortcut: on Linux and Windows with
 * `registerAccelerator: false`, so the key never reaches the menu; on macOS the page sees a key first and
 * Electron hands the menu only keys the page did not handle (our handler calls preventDefault on the ones
 * it runs), and shortcuts without Cmd (F, L, +, …) are not put in the menu there at all. Keys the renderer
 * does not handle (Close, Quit, Reset zoom, Reload) are ordinary menu accelerators.
 */

export type MenuId = 'file' | 'edit' | 'view' | 'train' | 'help';

/** Commands the main process carries out itself (not renderer actions). */
export type MainCommand = 'documentation' | 'reload' | 'toggleDevTools';

export type MenuEntry =
  | {
      kind: 'action';
      /** The renderer action (renderer/src/actions) the item dispatches, the same one as the toolbar and keyboard. */
      action: string;
      label: string;
      /** Electron accelerator syntax (CmdOrCtrl+…). */
      accelerator?: string;
      /** The renderer's keydown handler already runs this action for `accelerator`: the menu only shows it. */
      rendererKey?: boolean;
      /** A check mark from the renderer's state (palette shown, …). */
      checkbox?: boolean;
    }
  | { kind: 'command'; command: MainCommand; label: string; accelerator?: string; devOnly?: boolean }
  /** A role Electron implements natively (quit, about, …). */
  | { kind: 'role'; role: 'quit' | 'about' | 'togglefullscreen'; label?: string }
  /** Open Recent ▸: filled from the recent projects list. */
  | { kind: 'recent'; label: string }
  | { kind: 'submenu'; label: string; items: readonly MenuEntry[] }
  | { kind: 'separator' };

export interface MenuSpec {
  id: MenuId;
  label: string;
  items: readonly MenuEntry[];
}

const action = (name: string, label: string, accelerator?: string, rendererKey = accelerator !== undefined): MenuEntry => ({
  kind: 'action',
  action: name,
  label,
  ...(accelerator ? { accelerator, rendererKey } : {}),
});
const sep: MenuEntry = { kind: 'separator' };

export const MENU_SPEC: readonly MenuSpec[] = [
  {
    id: 'file',
    label: '&File',
    items: [
      action('newProject', 'New', 'CmdOrCtrl+N'),
      action('openProject', 'Open…', 'CmdOrCtrl+O'),
      { kind: 'recent', label: 'Open Recent' },
      sep,
      action('saveProject', 'Save', 'CmdOrCtrl+S'),
      action('saveProjectAs', 'Save As…', 'Shift+CmdOrCtrl+S'),
      sep,
      action('importModel', 'Import Model…', 'CmdOrCtrl+I'),
      action('importDataset', 'Import Dataset…'),
      {
        kind: 'submenu',
        label: 'Export',
        items: [action('exportImage', 'Image (PNG/SVG)…', 'Shift+CmdOrCtrl+E'), action('exportModel', 'Trained Model…', 'CmdOrCtrl+E')],
      },
      sep,
      action('goHome', 'Close', 'CmdOrCtrl+W', false),
      { kind: 'role', role: 'quit', label: 'Quit' },
    ],
  },
  {
    id: 'edit',
    label: '&Edit',
    items: [
      action('undo', 'Undo', 'CmdOrCtrl+Z'),
      action('redo', 'Redo', 'Shift+CmdOrCtrl+Z'),
      sep,
      action('cut', 'Cut', 'CmdOrCtrl+X'),
      action('copy', 'Copy', 'CmdOrCtrl+C'),
      action('paste', 'Paste', 'CmdOrCtrl+V'),
      action('duplicate', 'Duplicate', 'CmdOrCtrl+D'),
      action('deleteSelection', 'Delete', 'Delete'),
      action('selectAll', 'Select All', 'CmdOrCtrl+A'),
      sep,
      action('findLayer', 'Find Layer…', 'CmdOrCtrl+F'),
    ],
  },
  {
    id: 'view',
    label: '&View',
    items: [
      action('fitView', 'Fit to Window', 'F'),
      action('autoLayout', 'Auto-Layout', 'L'),
      sep,
      action('zoomIn', 'Zoom In', 'Plus'),
      action('zoomOut', 'Zoom Out', '-'),
      action('zoomReset', 'Reset Zoom', 'CmdOrCtrl+0', false),
      sep,
      action('toggleTheme', 'Toggle Light/Dark Theme', 'Shift+T'),
      { kind: 'action', action: 'togglePalette', label: 'Layer Palette', checkbox: true },
      { kind: 'action', action: 'toggleInspector', label: 'Inspector Panel', checkbox: true },
      { kind: 'action', action: 'toggleSnap', label: 'Snap to Grid', accelerator: 'G', rendererKey: true, checkbox: true },
      { kind: 'role', role: 'togglefullscreen' },
      sep,
      { kind: 'command', command: 'reload', label: 'Reload', accelerator: 'CmdOrCtrl+R', devOnly: true },
      { kind: 'command', command: 'toggleDevTools', label: 'Toggle Developer Tools', accelerator: 'Alt+CmdOrCtrl+I', devOnly: true },
    ],
  },
  {
    id: 'train',
    label: '&Train',
    items: [
      action('train', 'Train'),
      action('pauseTraining', 'Pause'),
      action('resumeTraining', 'Resume'),
      action('stopTraining', 'Stop'),
      sep,
      action('openDashboard', 'Dashboard'),
    ],
  },
  {
    id: 'help',
    label: '&Help',
    items: [action('toggleHelp', 'Keyboard Shortcuts', '?'), { kind: 'command', command: 'documentation', label: 'Documentation' }, sep, { kind: 'role', role: 'about', label: 'About Layerforge' }],
  },
];

/** Every action entry of a spec, depth first. */
export function menuActions(spec: readonly MenuSpec[] = MENU_SPEC): Extract<MenuEntry, { kind: 'action' }>[] {
  const out: Extract<MenuEntry, { kind: 'action' }>[] = [];
  const visit = (items: readonly MenuEntry[]) => {
    for (const e of items) {
      if (e.kind === 'action') out.push(e);
      else if (e.kind === 'submenu') visit(e.items);
    }
  };
  for (const m of spec) visit(m.items);
  return out;
}

/** An accelerator with a Cmd/Ctrl part; macOS menus get only these (a bare key there could fire while typing). */
export function hasCommandKey(accelerator: string): boolean {
  return /(^|\+)(CmdOrCtrl|CommandOrControl|Cmd|Command|Ctrl|Control)(\+|$)/i.test(accelerator);
}
