/**
 * Binds the shell contract (shared/api/shell.ts: menus and files) to Electron IPC, as main/ipc.ts does for
 * the engine: every message must come from the main frame of one of our pages (same check), and is
 * validated before a handler sees it; anything else is dropped and logged. Events for the page wait in an
 * outbox until it says it is ready (a file from the command line arrives before the page has loaded), and
 * again after a reload. ipcMain and WebContents are passed in: unit-tested without Electron.
 */
import type { IpcMain, IpcMainEvent, WebContents } from 'electron';
import { parseShellRequest, SHELL_CHANNEL, SHELL_EVENT_CHANNEL, type DocumentInfo, type MenuState, type NativeEditCommand, type ShellEvent } from '../shared/api/shell';
import { foreignSender } from './ipc';

export interface ShellHandlers {
  menuState(state: MenuState, sender: WebContents): void;
  document(doc: DocumentInfo, sender: WebContents): void;
  nativeEdit(command: NativeEditCommand, sender: WebContents): void;
  /** Files dropped on the window (paths read by the preload from the dropped files). */
  openPaths(paths: string[], sender: WebContents): void;
}

export interface ShellOutbox {
  /** Sends to the page now when it is ready, else when it says so. */
  post(event: ShellEvent): void;
  /** The window whose page receives events (the main window); null when it is closed. */
  setTarget(wc: WebContents | null): void;
  /** Called on the page's 'ready': delivers what waited. */
  ready(wc: WebContents): void;
  /** Events waiting (for tests). */
  pending(): readonly ShellEvent[];
}

export function createShellOutbox(): ShellOutbox {
  let target: WebContents | null = null;
  let readyId: number | null = null;
  const queue: ShellEvent[] = [];
  const flush = () => {
    if (!target || target.isDestroyed() || readyId !== target.id) return;
    for (const e of queue.splice(0)) target.send(SHELL_EVENT_CHANNEL, e);
  };
  return {
    post(event) {
      queue.push(event);
      flush();
    },
    setTarget(wc) {
      target = wc;
      readyId = null;
      if (!wc) return;
      // A reload or navigation starts a new page: it says 'ready' again before it gets events.
      wc.on('did-start-navigation', (details: { isMainFrame?: boolean; isSameDocument?: boolean } | undefined) => {
        if (target === wc && details?.isMainFrame !== false && details?.isSameDocument !== true) readyId = null;
      });
      wc.once('destroyed', () => {
        if (target === wc) {
          target = null;
          readyId = null;
        }
      });
    },
    ready(wc) {
      if (target && wc.id === target.id) {
        readyId = wc.id;
        flush();
      }
    },
    pending: () => queue,
  };
}

export interface ShellBindingOptions {
  allowedOrigins: readonly string[];
  outbox: ShellOutbox;
  handlers: ShellHandlers;
  log?: (line: string) => void;
}

export function bindShellIpc(ipcMain: Pick<IpcMain, 'on' | 'removeListener'>, options: ShellBindingOptions): () => void {
  const log = options.log ?? ((line: string) => console.warn(line));
  const onMessage = (event: IpcMainEvent, msg: unknown) => {
    const foreign = foreignSender(event, options.allowedOrigins);
    if (foreign !== null) {
      log(`ignored a shell message from a frame that is not the app (${foreign})`);
      return;
    }
    const parsed = parseShellRequest(msg);
    if (!parsed.ok) {
      log(`ignored a malformed shell message: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    const h = options.handlers;
    switch (m.type) {
      case 'ready':
        options.outbox.ready(event.sender);
        return;
      case 'menuState':
        h.menuState(m.state, event.sender);
        return;
      case 'document':
        h.document(m.doc, event.sender);
        return;
      case 'nativeEdit':
        h.nativeEdit(m.command, event.sender);
        return;
      case 'openPaths':
        h.openPaths(m.paths, event.sender);
        return;
    }
  };
  ipcMain.on(SHELL_CHANNEL, onMessage);
  return () => ipcMain.removeListener(SHELL_CHANNEL, onMessage);
}

/** Runs a WebContents editing command (menu Edit items while the page's focus is in a text field). */
export function runNativeEdit(wc: Pick<WebContents, NativeEditCommand>, command: NativeEditCommand): void {
  wc[command]();
}
