import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import type { LayerforgeShell, MenuActionEvent, MenuState } from '../../../shared/api/shell';
import type { OpenTarget } from '../../../shared/shell/fileTypes';
import { hasCommandKey, menuActions } from '../../../shared/shell/menuSpec';
import { createGraphStore } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { fakeProjectIO } from '../project/testing';
import { allActions } from '../actions/register';
import { getAction, handleKeyDown, type ActionContext } from '../actions';
import { connectShell, documentOf, handleMenuAction, menuStateOf, titleOf } from './shell';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');

function setup(open = true) {
  const graph = createGraphStore();
  if (open) graph.getState().loadProject(parseProjectText(templateText), null);
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), resetZoom: vi.fn(), centre: () => ({ x: 0, y: 0 }) };
  uiStore.setState({ dialog: null, notice: null, helpOpen: false, paletteOpen: true, inspectorOpen: true });
  const ctx: ActionContext = { graph, ui: uiStore, view, io: fakeProjectIO() };
  return { ctx, graph, view };
}

/** A KeyboardEvent for an Electron accelerator, as Linux/Windows deliver it (CmdOrCtrl = Ctrl). */
function keyFor(accelerator: string) {
  const parts = accelerator.split('+').filter(Boolean);
  const last = accelerator.endsWith('+') ? '+' : parts.pop()!;
  const mods = new Set(parts.map((p) => p.toLowerCase()));
  const shift = mods.has('shift') || last === '?';
  const named: Record<string, string> = { plus: '+', delete: 'Delete', esc: 'Escape', escape: 'Escape' };
  const key = named[last.toLowerCase()] ?? (last.length === 1 ? (shift ? last.toUpperCase() : last.toLowerCase()) : last);
  const event = {
    key,
    ctrlKey: mods.has('cmdorctrl') || mods.has('ctrl'),
    metaKey: false,
    shiftKey: shift,
    altKey: mods.has('alt'),
    isComposing: false,
    defaultPrevented: false,
    target: null,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event as unknown as KeyboardEvent;
}

function fakeShell() {
  let menu: ((e: MenuActionEvent) => void) | undefined;
  let open: ((t: OpenTarget) => void) | undefined;
  const shell = {
    ready: vi.fn(),
    setMenuState: vi.fn<(s: MenuState) => void>(),
    setDocument: vi.fn(),
    nativeEdit: vi.fn(),
    openFiles: vi.fn(() => 0),
    onMenuAction: (cb: (e: MenuActionEvent) => void) => ((menu = cb), () => (menu = undefined)),
    onOpenFile: (cb: (t: OpenTarget) => void) => ((open = cb), () => (open = undefined)),
  } satisfies LayerforgeShell;
  return { shell, menu: (e: MenuActionEvent) => menu!(e), open: (t: OpenTarget) => open!(t), connected: () => menu !== undefined };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the menus and the actions registry', () => {
  it('every menu item names an action that exists', () => {
    const names = new Set(allActions().map((a) => a.name));
    for (const item of menuActions()) expect(names.has(item.action), item.action).toBe(true);
  });

  it('a key marked rendererKey is handled by the renderer (so the menu only shows it); a menu-only key is handled by no action (so only the menu runs it)', () => {
    for (const item of menuActions()) {
      if (!item.accelerator) continue;
      const e = keyFor(item.accelerator);
      const matching = allActions().filter((a) => a.keyTest?.(e));
      if (item.rendererKey) expect(matching.map((a) => a.name), item.accelerator).toEqual([item.action]);
      else expect(matching, item.accelerator).toEqual([]);
    }
  });

  it('every renderer shortcut shown in a menu is marked rendererKey (never registered twice)', () => {
    for (const item of menuActions()) {
      const action = getAction(item.action);
      if (action.keyTest && item.accelerator) expect(item.rendererKey, item.action).toBe(true);
    }
    // Bare keys never become macOS key equivalents (main/menu.ts leaves them out there).
    expect(menuActions().filter((a) => a.rendererKey && !hasCommandKey(a.accelerator!)).map((a) => a.action)).toEqual(
      expect.arrayContaining(['fitView', 'autoLayout', 'zoomIn', 'zoomOut', 'deleteSelection', 'toggleTheme', 'toggleSnap', 'toggleHelp']),
    );
  });
});

describe('the shell bridge', () => {
  it('a menu item runs its action once', () => {
    const { ctx, graph } = setup();
    const { shell } = fakeShell();
    expect(handleMenuAction({ action: 'selectAll', byAccelerator: false }, shell, ctx)).toBe('dispatched');
    expect(graph.getState().selectedNodes.size).toBe(8);
    expect(handleMenuAction({ action: 'deleteSelection', byAccelerator: false }, shell, ctx)).toBe('dispatched');
    expect(graph.getState().doc.nodes).toHaveLength(0);
    expect(graph.getState().history.past).toHaveLength(1);
    expect(handleMenuAction({ action: 'undo', byAccelerator: false }, shell, ctx)).toBe('dispatched');
    expect(graph.getState().doc.nodes).toHaveLength(8);
    expect(graph.getState().history.past).toHaveLength(0);
  });

  it('keyboard and menu never both run one key press', () => {
    const { ctx, graph } = setup();
    const { shell } = fakeShell();
    graph.getState().select(['out']);
    handleKeyDown(keyFor('Delete'), ctx);
    expect(graph.getState().history.past).toHaveLength(1);
    // Ctrl+Z: the keyboard handler runs Undo and consumes the key...
    const z = keyFor('CmdOrCtrl+Z');
    expect(handleKeyDown(z, ctx)).toBe(true);
    expect(z.defaultPrevented).toBe(true);
    expect(graph.getState().history.future).toHaveLength(1);
    // ...and should the menu item fire for the same press (its accelerator), it is not run again.
    expect(handleMenuAction({ action: 'undo', byAccelerator: true }, shell, ctx)).toBe('already-run-by-key');
    expect(graph.getState().history.future).toHaveLength(1);
    // A click on the menu item is a new request.
    expect(handleMenuAction({ action: 'redo', byAccelerator: false }, shell, ctx)).toBe('dispatched');
    expect(graph.getState().history.future).toHaveLength(0);
    // A key the keyboard did not run (long ago) goes through.
    expect(handleMenuAction({ action: 'undo', byAccelerator: true }, shell, ctx, Date.now() + 5000)).toBe('dispatched');
    expect(graph.getState().history.future).toHaveLength(1);
  });

  it('Edit items edit the text field that has the focus, not the graph', () => {
    const { ctx, graph } = setup();
    const { shell } = fakeShell();
    class FakeElement {
      tagName = 'INPUT';
      isContentEditable = false;
    }
    vi.stubGlobal('HTMLElement', FakeElement);
    try {
      expect(handleMenuAction({ action: 'selectAll', byAccelerator: true }, shell, ctx, Date.now(), new FakeElement() as unknown as EventTarget)).toBe('native-edit');
      expect(handleMenuAction({ action: 'paste', byAccelerator: false }, shell, ctx, Date.now(), new FakeElement() as unknown as EventTarget)).toBe('native-edit');
      expect(shell.nativeEdit.mock.calls).toEqual([['selectAll'], ['paste']]);
      expect(graph.getState().selectedNodes.size).toBe(0);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('disabled and unknown actions do nothing; project actions wait for a project', () => {
    const { ctx } = setup(false);
    const { shell } = fakeShell();
    expect(handleMenuAction({ action: 'selectAll', byAccelerator: false }, shell, ctx)).toBe('disabled');
    expect(handleMenuAction({ action: 'noSuchAction', byAccelerator: false }, shell, ctx)).toBe('unknown');
    expect(handleMenuAction({ action: 'toggleHelp', byAccelerator: false }, shell, ctx)).toBe('dispatched');
    expect(uiStore.getState().helpOpen).toBe(true);
  });

  it('menu state: enabled follows the app, check marks follow the panels', () => {
    const { ctx, graph } = setup();
    let s = menuStateOf(ctx);
    expect(s.enabled).toMatchObject({ undo: false, redo: false, copy: false, saveProject: true, newProject: true, selectAll: true, train: false, stopTraining: false, togglePalette: true });
    expect(s.checked).toMatchObject({ togglePalette: true, toggleInspector: true, toggleSnap: true });
    graph.getState().select(['out']);
    uiStore.setState({ paletteOpen: false });
    s = menuStateOf(ctx);
    expect(s.enabled).toMatchObject({ copy: true, cut: true, deleteSelection: true });
    expect(s.checked.togglePalette).toBe(false);
    graph.getState().closeProject();
    s = menuStateOf(ctx);
    expect(s.enabled).toMatchObject({ saveProject: false, selectAll: false, goHome: false, newProject: true, openProject: true, importModel: true });
    // Every menu action has a state.
    expect(Object.keys(s.enabled).sort()).toEqual([...new Set(menuActions().map((a) => a.action))].sort());
  });

  it('connects: menu in, state and document out when they change, then says it is ready', () => {
    vi.useFakeTimers();
    const { ctx, graph } = setup();
    const f = fakeShell();
    const disconnect = connectShell(f.shell, ctx, 50);
    expect(f.shell.ready).toHaveBeenCalledTimes(1);
    expect(f.shell.setMenuState).toHaveBeenCalledTimes(1);
    expect(f.shell.setDocument).toHaveBeenLastCalledWith({ screen: 'editor', name: 'CIFAR-10 CNN', path: null, dirty: false });
    f.menu({ action: 'selectAll', byAccelerator: false });
    expect(graph.getState().selectedNodes.size).toBe(8);
    vi.advanceTimersByTime(60);
    expect(f.shell.setMenuState).toHaveBeenCalledTimes(2);
    expect(f.shell.setMenuState.mock.calls[1]![0].enabled.copy).toBe(true);
    // A change that does not change the state sends nothing.
    graph.getState().select([...graph.getState().selectedNodes]);
    vi.advanceTimersByTime(60);
    expect(f.shell.setMenuState).toHaveBeenCalledTimes(2);
    f.menu({ action: 'deleteSelection', byAccelerator: false });
    vi.advanceTimersByTime(60);
    expect(f.shell.setDocument).toHaveBeenLastCalledWith({ screen: 'editor', name: 'CIFAR-10 CNN', path: null, dirty: true });
    disconnect();
    expect(f.connected()).toBe(false);
  });
});

describe('the window title', () => {
  it('shows the file (the project name before the first save) and the unsaved mark', () => {
    const { ctx, graph } = setup();
    expect(titleOf(ctx)).toBe('CIFAR-10 CNN — Layerforge');
    graph.getState().select(['out']);
    handleKeyDown(keyFor('Delete'), ctx);
    expect(titleOf(ctx)).toBe('● CIFAR-10 CNN — Layerforge');
    graph.getState().markSaved('/home/u/nets/cnn.layerforge');
    expect(titleOf(ctx)).toBe('cnn.layerforge — Layerforge');
    expect(documentOf(graph.getState())).toEqual({ screen: 'editor', name: 'CIFAR-10 CNN', path: '/home/u/nets/cnn.layerforge', dirty: false });
    graph.getState().closeProject();
    expect(titleOf(ctx)).toBe('Layerforge');
  });
});
