/** Every action, registered on import. Order is the order of the help overlay. */
import { allActions, type Action, type ActionContext } from './register';
import { appContext } from './context';
import './undo';
import './redo';
import './copy';
import './cut';
import './paste';
import './duplicate';
import './deleteSelection';
import './selectAll';
import './clearSelection';
import './autoLayout';
import './view';
import './projects';
import './addLayer';
import './exportImage';
import './exportModel';
import './importModel';
import './fitToDataset';
import './findLayer';
import './zoomReset';
import './togglePalette';
import './toggleInspector';
import './importDataset';
import './train';
import './pauseTraining';
import './resumeTraining';
import './stopTraining';
import './openDashboard';
import './openFile';
import './groups';

export { appContext, setViewBridge } from './context';
export type { Action, ActionContext };

/** Actions that also work on the start screen (keyboard and menu); every other one needs an open project. */
export const APP_WIDE_ACTIONS: ReadonlySet<string> = new Set(['saveProject', 'saveProjectAs', 'openProject', 'newProject', 'toggleHelp', 'clearSelection', 'exportModel', 'importModel', 'openFile', 'toggleTheme']);

export function hasAction(name: string): boolean {
  return allActions().some((x) => x.name === name);
}

export function getAction(name: string): Action<never> {
  const a = allActions().find((x) => x.name === name);
  if (!a) throw new Error(`no action named '${name}'`);
  return a;
}

/** Runs an action by name; errors become a notice instead of an unhandled rejection. */
export function dispatch(name: string, arg?: unknown, ctx: ActionContext = appContext): void {
  const action = getAction(name);
  if (action.enabled && !action.enabled(ctx)) return;
  try {
    const result = (action.perform as (c: ActionContext, a: unknown) => void | Promise<void>)(ctx, arg);
    if (result instanceof Promise) result.catch((error: unknown) => ctx.ui.getState().notify('error', `${action.label} failed: ${String(error)}`));
  } catch (error) {
    ctx.ui.getState().notify('error', `${action.label} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Whether a menu item (or a key) may run the action now: its screen, then its own `enabled`. */
export function canRun(name: string, ctx: ActionContext = appContext): boolean {
  const action = getAction(name);
  if (!APP_WIDE_ACTIONS.has(name) && ctx.graph.getState().screen !== 'editor') return false;
  return !action.enabled || action.enabled(ctx);
}

let lastKey: { name: string; at: number } | null = null;

/**
 * True when the keyboard ran `name` within `withinMs`: a menu item chosen by the same key press
 * (Electron's triggeredByAccelerator) is then not run a second time (app/shell.ts).
 */
export function ranByKeyboard(name: string, now = Date.now(), withinMs = 1000): boolean {
  return !!lastKey && lastKey.name === name && now - lastKey.at >= 0 && now - lastKey.at <= withinMs;
}

export function inTextField(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Keyboard dispatch: the first action whose keyTest matches. Keys typed into fields stay there, except Save. */
export function handleKeyDown(e: KeyboardEvent, ctx: ActionContext = appContext): boolean {
  if (e.defaultPrevented || e.isComposing) return false;
  const typing = inTextField(e.target);
  const editor = ctx.graph.getState().screen === 'editor';
  for (const action of allActions()) {
    if (!action.keyTest?.(e)) continue;
    const global = APP_WIDE_ACTIONS.has(action.name);
    if (typing && !['saveProject', 'saveProjectAs'].includes(action.name)) return false;
    if (!editor && !global) return false;
    if (action.name === 'toggleHelp' && typing) return false;
    e.preventDefault();
    lastKey = { name: action.name, at: Date.now() };
    dispatch(action.name, undefined, ctx);
    return true;
  }
  return false;
}
