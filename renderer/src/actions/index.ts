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

export { appContext, setViewBridge } from './context';
export type { Action, ActionContext };

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

function inTextField(target: EventTarget | null): boolean {
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
    const global = ['saveProject', 'saveProjectAs', 'openProject', 'newProject', 'toggleHelp', 'clearSelection', 'exportModel', 'importModel'].includes(action.name);
    if (typing && !['saveProject', 'saveProjectAs'].includes(action.name)) return false;
    if (!editor && !global) return false;
    if (action.name === 'toggleHelp' && typing) return false;
    e.preventDefault();
    dispatch(action.name, undefined, ctx);
    return true;
  }
  return false;
}
