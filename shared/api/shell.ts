/**
 * The desktop shell's small IPC contract, beside the engine's (shared/api/engine.ts): menus and files.
 * Renderer -> main on SHELL_CHANNEL: the page is ready for events, each menu action's enabled/checked
 * state, the open document (title, unsaved mark, path), native editing in a text field, and files the
 * user dropped (their paths are read by the preload from the dropped File objects with
 * webUtils.getPathForFile, so the page itself can never name a path). Main -> renderer on
 * SHELL_EVENT_CHANNEL: a menu item was chosen, a file is to be opened. Every message is validated on
 * arrival (main/shellIpc.ts checks the sender as main/ipc.ts does). In serve mode there is no shell: the
 * renderer works without `window.layerforgeShell`.
 */
import type { DocumentInfo } from '../shell/document';
import type { OpenTarget, OpenTargetKind } from '../shell/fileTypes';

export type { DocumentInfo, OpenTarget, OpenTargetKind };

export const SHELL_CHANNEL = 'layerforge:shell';
export const SHELL_EVENT_CHANNEL = 'layerforge:shell-event';

/** WebContents' editing commands, for menu Edit items while the focus is in a text field. */
export const NATIVE_EDIT_COMMANDS = ['undo', 'redo', 'cut', 'copy', 'paste', 'delete', 'selectAll'] as const;
export type NativeEditCommand = (typeof NATIVE_EDIT_COMMANDS)[number];

/** Each menu action's state, by action name. */
export interface MenuState {
  enabled: Record<string, boolean>;
  checked: Record<string, boolean>;
}

export type ShellRequest =
  | { type: 'ready' }
  | { type: 'menuState'; state: MenuState }
  | { type: 'document'; doc: DocumentInfo }
  | { type: 'nativeEdit'; command: NativeEditCommand }
  | { type: 'openPaths'; paths: string[] };

export interface MenuActionEvent {
  action: string;
  /** The menu item was chosen by its keyboard shortcut (not by a click). */
  byAccelerator: boolean;
}

export type ShellEvent = ({ type: 'menuAction' } & MenuActionEvent) | { type: 'openFile'; target: OpenTarget };

/** What the preload exposes as `window.layerforgeShell` (desktop app only). */
export interface LayerforgeShell {
  /** The page is ready: events queued before (files from the command line, …) are delivered now. */
  ready(): void;
  setMenuState(state: MenuState): void;
  setDocument(doc: DocumentInfo): void;
  nativeEdit(command: NativeEditCommand): void;
  /** Opens dropped files by their paths on this machine; returns how many had one (files made by a page have none). */
  openFiles(files: readonly File[]): number;
  onMenuAction(cb: (e: MenuActionEvent) => void): () => void;
  onOpenFile(cb: (target: OpenTarget) => void): () => void;
}

export const MAX_PATH_LENGTH = 4096;
export const MAX_PATHS = 64;
const MAX_STATE_KEYS = 256;
const ACTION_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const KINDS: readonly OpenTargetKind[] = ['project', 'model', 'table', 'images', 'unsupported'];

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isActionName(v: unknown): v is string {
  return typeof v === 'string' && ACTION_NAME.test(v);
}

/** An absolute path (POSIX, drive letter or UNC), bounded, without NUL. */
export function isAbsolutePathText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_PATH_LENGTH && !v.includes('\0') && (v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v) || v.startsWith('\\\\'));
}

function flags(v: unknown, what: string): Parsed<Record<string, boolean>> {
  if (!isRecord(v)) return { ok: false, error: `${what} must be an object` };
  const keys = Object.keys(v);
  if (keys.length > MAX_STATE_KEYS) return { ok: false, error: `${what} has ${keys.length} entries; at most ${MAX_STATE_KEYS}` };
  const out: Record<string, boolean> = {};
  for (const k of keys) {
    if (!isActionName(k)) return { ok: false, error: `${what}: "${String(k).slice(0, 80)}" is not an action name` };
    if (typeof v[k] !== 'boolean') return { ok: false, error: `${what}.${k} must be true or false` };
    out[k] = v[k];
  }
  return { ok: true, value: out };
}

function parseDocument(v: unknown): Parsed<DocumentInfo> {
  if (!isRecord(v)) return { ok: false, error: 'doc must be an object' };
  const { screen, name, path, dirty } = v;
  if (screen !== 'start' && screen !== 'editor') return { ok: false, error: "doc.screen must be 'start' or 'editor'" };
  if (typeof name !== 'string' || name.length > 1000) return { ok: false, error: 'doc.name must be a string of at most 1000 characters' };
  if (path !== null && (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH_LENGTH || path.includes('\0'))) return { ok: false, error: 'doc.path must be null or a file path' };
  if (typeof dirty !== 'boolean') return { ok: false, error: 'doc.dirty must be true or false' };
  return { ok: true, value: { screen, name, path, dirty } };
}

/** Validates a renderer -> main message. */
export function parseShellRequest(msg: unknown): Parsed<ShellRequest> {
  if (!isRecord(msg) || typeof msg.type !== 'string') return { ok: false, error: 'not a shell message (an object with a type)' };
  switch (msg.type) {
    case 'ready':
      return { ok: true, value: { type: 'ready' } };
    case 'menuState': {
      if (!isRecord(msg.state)) return { ok: false, error: 'menuState.state must be an object' };
      const enabled = flags(msg.state.enabled, 'menuState.enabled');
      if (!enabled.ok) return enabled;
      const checked = flags(msg.state.checked, 'menuState.checked');
      if (!checked.ok) return checked;
      return { ok: true, value: { type: 'menuState', state: { enabled: enabled.value, checked: checked.value } } };
    }
    case 'document': {
      const doc = parseDocument(msg.doc);
      return doc.ok ? { ok: true, value: { type: 'document', doc: doc.value } } : doc;
    }
    case 'nativeEdit':
      return (NATIVE_EDIT_COMMANDS as readonly unknown[]).includes(msg.command)
        ? { ok: true, value: { type: 'nativeEdit', command: msg.command as NativeEditCommand } }
        : { ok: false, error: `nativeEdit.command must be one of ${NATIVE_EDIT_COMMANDS.join(', ')}` };
    case 'openPaths': {
      const paths = msg.paths;
      if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_PATHS) return { ok: false, error: `openPaths.paths must be a list of 1 to ${MAX_PATHS} paths` };
      if (!paths.every(isAbsolutePathText)) return { ok: false, error: 'openPaths.paths must be absolute paths' };
      return { ok: true, value: { type: 'openPaths', paths: [...paths] } };
    }
    default:
      return { ok: false, error: `unknown shell message type "${String(msg.type).slice(0, 40)}"` };
  }
}

/** Validates a main -> renderer message (the renderer trusts nothing it did not check). */
export function parseShellEvent(msg: unknown): Parsed<ShellEvent> {
  if (!isRecord(msg)) return { ok: false, error: 'not a shell event' };
  if (msg.type === 'menuAction') {
    if (!isActionName(msg.action)) return { ok: false, error: 'menuAction.action must be an action name' };
    return { ok: true, value: { type: 'menuAction', action: msg.action, byAccelerator: msg.byAccelerator === true } };
  }
  if (msg.type === 'openFile') {
    const t = msg.target;
    if (!isRecord(t) || !KINDS.includes(t.kind as OpenTargetKind) || !isAbsolutePathText(t.path)) return { ok: false, error: 'openFile.target must have a kind and an absolute path' };
    if (t.reason !== undefined && typeof t.reason !== 'string') return { ok: false, error: 'openFile.target.reason must be text' };
    return { ok: true, value: { type: 'openFile', target: { kind: t.kind as OpenTargetKind, path: t.path, ...(typeof t.reason === 'string' ? { reason: t.reason.slice(0, 2000) } : {}) } } };
  }
  return { ok: false, error: 'unknown shell event' };
}
