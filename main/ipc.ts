/**
 * Binds the engine API to Electron IPC: one served connection per WebContents, on IPC_CHANNEL.
 * Every message is checked before it reaches the proxy (which then validates the request itself):
 * it must come from the main frame of a window we made, whose URL is our app (VS Code's
 * validatedIpcMain idea). ipcMain is passed in (only types come from electron here), so this is
 * unit-testable without Electron.
 */
import type { IpcMain, IpcMainEvent, WebContents } from 'electron';
import { ENGINE_SPEC, IPC_CHANNEL, serveApi, type EngineApi, type Transport } from '../shared/api';

export interface IpcBindingOptions {
  /** Origins the app's pages load from, e.g. 'layerforge://app' (and the dev server's in development). */
  allowedOrigins: readonly string[];
  log?: (line: string) => void;
}

/** True when `url` is one of our own pages. */
export function isAllowedUrl(url: string, allowedOrigins: readonly string[]): boolean {
  try {
    const u = new URL(url);
    // 'layerforge://app/…' has origin 'null' in WHATWG URL for unknown schemes: compare scheme + host instead.
    const origin = `${u.protocol}//${u.host}`;
    return allowedOrigins.includes(origin);
  } catch {
    return false;
  }
}

/**
 * Whether an IPC message comes from one of our own pages: the main frame of a window whose URL is the
 * app's. Null when it does; else the sender's URL (shortened) to name in the log.
 */
export function foreignSender(event: Pick<IpcMainEvent, 'senderFrame' | 'sender'>, allowedOrigins: readonly string[]): string | null {
  const frame = event.senderFrame;
  const url = frame?.url ?? '';
  if (frame && frame === event.sender.mainFrame && isAllowedUrl(url, allowedOrigins)) return null;
  return url.slice(0, 200) || 'unknown';
}

export function bindEngineIpc(ipcMain: Pick<IpcMain, 'on' | 'removeListener'>, engine: EngineApi, options: IpcBindingOptions): () => void {
  const log = options.log ?? ((line: string) => console.warn(line));
  const connections = new Map<number, { deliver(msg: unknown): void; close(): void }>();

  const connect = (wc: WebContents) => {
    const receivers = new Set<(m: unknown) => void>();
    const closers: (() => void)[] = [];
    const transport: Transport = {
      send(msg) {
        if (!wc.isDestroyed()) wc.send(IPC_CHANNEL, msg);
      },
      onMessage(cb) {
        receivers.add(cb);
        return () => receivers.delete(cb);
      },
      onClose(cb) {
        closers.push(cb);
      },
    };
    serveApi(ENGINE_SPEC, engine, transport);
    const conn = {
      deliver: (msg: unknown) => receivers.forEach((r) => r(msg)),
      close: () => {
        connections.delete(wc.id);
        closers.splice(0).forEach((c) => c());
      },
    };
    connections.set(wc.id, conn);
    // A reload or navigation starts a new page: drop the old page's subscriptions.
    wc.once('destroyed', conn.close);
    wc.once('did-start-navigation', conn.close);
    wc.once('render-process-gone', conn.close);
    return conn;
  };

  const onMessage = (event: IpcMainEvent, msg: unknown) => {
    const foreign = foreignSender(event, options.allowedOrigins);
    if (foreign !== null) {
      log(`ignored an engine request from a frame that is not the app (${foreign})`);
      return;
    }
    (connections.get(event.sender.id) ?? connect(event.sender)).deliver(msg);
  };
  ipcMain.on(IPC_CHANNEL, onMessage);
  return () => {
    ipcMain.removeListener(IPC_CHANNEL, onMessage);
    for (const c of [...connections.values()]) c.close();
  };
}
