/**
 * The renderer's side of the desktop shell (shared/api/shell.ts; `window.layerforgeShell` from the
 * preload, absent in serve mode): menu items dispatch the same named actions as the toolbar and the
 * keyboard, each action's enabled/checked state and the open document go to the main process when they
 * change, and files the OS hands over go to the openFile action.
 *
 * One key press never runs an action twice: the menu does not register the keys the renderer handles
 * (shared/shell/menuSpec.ts), and should a menu item still arrive for a key the keyboard handler has just
 * run (triggeredByAccelerator), it is dropped here. Edit items chosen while the focus is in a text field
 * edit that field (WebContents' own undo/cut/copy/paste), not the graph.
 */
import type { LayerforgeShell, MenuActionEvent, MenuState, NativeEditCommand } from '../../../shared/api/shell';
import { documentTitle, type DocumentInfo } from '../../../shared/shell/document';
import { menuActions } from '../../../shared/shell/menuSpec';
import { appContext, canRun, dispatch, getAction, hasAction, inTextField, ranByKeyboard, type ActionContext } from '../actions';
import { isDirty, type GraphState } from '../store/graphStore';
import { trainingStore } from '../training/runsStore';

/** The desktop shell, or null in a browser (serve mode). */
export function getShell(): LayerforgeShell | null {
  return (globalThis as { layerforgeShell?: LayerforgeShell }).layerforgeShell ?? null;
}

const NATIVE_EDIT: Partial<Record<string, NativeEditCommand>> = {
  undo: 'undo',
  redo: 'redo',
  cut: 'cut',
  copy: 'copy',
  paste: 'paste',
  deleteSelection: 'delete',
  selectAll: 'selectAll',
};

export type MenuOutcome = 'dispatched' | 'native-edit' | 'already-run-by-key' | 'disabled' | 'unknown';

/** What a menu item does when chosen. */
export function handleMenuAction(e: MenuActionEvent, shell: Pick<LayerforgeShell, 'nativeEdit'>, ctx: ActionContext = appContext, now = Date.now(), focused: EventTarget | null = typeof document === 'undefined' ? null : document.activeElement): MenuOutcome {
  // In a text field the keyboard handler leaves editing keys alone, so an Edit item edits the field.
  const native = NATIVE_EDIT[e.action];
  if (native && inTextField(focused)) {
    shell.nativeEdit(native);
    return 'native-edit';
  }
  if (e.byAccelerator && ranByKeyboard(e.action, now)) return 'already-run-by-key';
  if (!hasAction(e.action)) return 'unknown';
  if (!canRun(e.action, ctx)) return 'disabled';
  dispatch(e.action, undefined, ctx);
  return 'dispatched';
}

/** The enabled state and check marks of every action in the menus. */
export function menuStateOf(ctx: ActionContext = appContext): MenuState {
  const state: MenuState = { enabled: {}, checked: {} };
  for (const item of menuActions()) {
    if (!hasAction(item.action)) continue;
    state.enabled[item.action] = canRun(item.action, ctx);
    const checked = getAction(item.action).checked;
    if (checked) state.checked[item.action] = checked(ctx);
  }
  return state;
}

/** The open document, as the title bar shows it. */
export function documentOf(s: Pick<GraphState, 'screen' | 'fileName' | 'meta'> & Parameters<typeof isDirty>[0]): DocumentInfo {
  return { screen: s.screen, name: s.meta.name, path: s.fileName, dirty: s.screen === 'editor' && isDirty(s) };
}

/** The window title now (document.title in the browser and the desktop window alike). */
export function titleOf(ctx: ActionContext = appContext): string {
  return documentTitle(documentOf(ctx.graph.getState()));
}

/**
 * Connects the shell: menu actions and files in, menu state and the document out (sent only when they
 * changed, at most every `delayMs`). Returns the disconnect.
 */
export function connectShell(shell: LayerforgeShell, ctx: ActionContext = appContext, delayMs = 80): () => void {
  let sentState = '';
  let sentDoc = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sync = () => {
    timer = undefined;
    const state = menuStateOf(ctx);
    const s = JSON.stringify(state);
    if (s !== sentState) {
      sentState = s;
      shell.setMenuState(state);
    }
    const doc = documentOf(ctx.graph.getState());
    const d = JSON.stringify(doc);
    if (d !== sentDoc) {
      sentDoc = d;
      shell.setDocument(doc);
    }
  };
  const schedule = () => {
    timer ??= setTimeout(sync, delayMs);
  };
  const offs = [
    shell.onMenuAction((e) => void handleMenuAction(e, shell, ctx)),
    shell.onOpenFile((target) => dispatch('openFile', target, ctx)),
    ctx.graph.subscribe(schedule),
    ctx.ui.subscribe(schedule),
    trainingStore.subscribe(schedule),
  ];
  sync();
  shell.ready();
  return () => {
    clearTimeout(timer);
    for (const off of offs) off();
  };
}
