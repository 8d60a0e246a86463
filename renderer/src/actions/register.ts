/**
 * Named editor actions, one file each (as Excalidraw's actions/ do). Keyboard, menus, panels and the
 * command palette all dispatch them by name, so a shortcut and a button always do the same thing.
 */
import type { GraphStore } from '../store/graphStore';
import type { UiState } from '../store/uiStore';
import type { StoreApi } from 'zustand/vanilla';
import type { XY } from '../../../shared/graph';
import type { ProjectIO } from '../project/io';

/** What the canvas lends to actions that need the viewport. */
export interface ViewBridge {
  /** Fits the view to the graph; the canvas's promise settles when its animation has ended. */
  fitView(): void | Promise<void>;
  zoomIn(): void;
  zoomOut(): void;
  /** Back to 100 % (the canvas; absent in tests and before the canvas mounts). */
  resetZoom?(): void;
  /** The flow coordinates at the centre of the visible canvas. */
  centre(): XY;
  /** Brings a node into view, centred (the canvas; absent in tests and before it mounts). */
  focusNode?(id: string): void;
}

export interface ActionContext {
  graph: GraphStore;
  ui: StoreApi<UiState>;
  view: ViewBridge;
  io: ProjectIO;
}

export interface Action<A = void> {
  readonly name: string;
  readonly label: string;
  /** Shortcut as shown to the user, e.g. 'Ctrl+Z'. */
  readonly shortcut?: string;
  /** Which key events trigger it (never called for keys typed into text fields). */
  keyTest?(event: KeyboardEvent): boolean;
  /** Whether the action can run now (greys out menu items). */
  enabled?(ctx: ActionContext): boolean;
  /** For on/off actions (View > Layer Palette …): whether it is on now (the menu's check mark). */
  checked?(ctx: ActionContext): boolean;
  perform(ctx: ActionContext, arg: A): void | Promise<void>;
}

const registry = new Map<string, Action<never>>();

export function register<A = void>(action: Action<A>): Action<A> {
  if (registry.has(action.name)) throw new Error(`action '${action.name}' is registered twice`);
  registry.set(action.name, action as unknown as Action<never>);
  return action;
}

export function allActions(): Action<never>[] {
  return [...registry.values()];
}

/** Ctrl on Linux/Windows, Cmd on macOS. */
export function mod(e: KeyboardEvent): boolean {
  return e.ctrlKey || e.metaKey;
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
export const MOD = isMac ? '⌘' : 'Ctrl';

export function keyIs(e: KeyboardEvent, key: string): boolean {
  return e.key.toLowerCase() === key.toLowerCase();
}
