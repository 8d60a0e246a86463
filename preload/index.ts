/**
 * The preload: exposes the typed engine client as `window.layerforge` and the desktop shell (menus, open
 * files; shared/api/shell.ts) as `window.layerforgeShell`, nothing else: no ipcRenderer, no Node. Fully
 * bundled (sandboxed preloads cannot load modules) and tiny: the proxy, the API names and the channels.
 * Dropped files' paths are read here (webUtils.getPathForFile, Electron >= 29), so the page never names a
 * path itself: a File a page makes up has none.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { ENGINE_NAMES, IPC_CHANNEL, type EngineApi } from '../shared/api/engine';
import { createClient, type Transport } from '../shared/api/proxy';
import { MAX_PATHS, parseShellEvent, SHELL_CHANNEL, SHELL_EVENT_CHANNEL, type LayerforgeShell, type MenuActionEvent, type OpenTarget, type ShellRequest } from '../shared/api/shell';

const transport: Transport = {
  send: (msg) => ipcRenderer.send(IPC_CHANNEL, msg),
  onMessage(cb) {
    const listener = (_e: IpcRendererEvent, msg: unknown) => cb(msg);
    ipcRenderer.on(IPC_CHANNEL, listener);
    return () => ipcRenderer.removeListener(IPC_CHANNEL, listener);
  },
};

contextBridge.exposeInMainWorld('layerforge', createClient<EngineApi>(ENGINE_NAMES, transport));

const send = (msg: ShellRequest) => ipcRenderer.send(SHELL_CHANNEL, msg);

function subscribe<T>(pick: (msg: unknown) => T | null, cb: (value: T) => void): () => void {
  const listener = (_e: IpcRendererEvent, msg: unknown) => {
    const v = pick(msg);
    if (v !== null) cb(v);
  };
  ipcRenderer.on(SHELL_EVENT_CHANNEL, listener);
  return () => ipcRenderer.removeListener(SHELL_EVENT_CHANNEL, listener);
}

const shell: LayerforgeShell = {
  ready: () => send({ type: 'ready' }),
  setMenuState: (state) => send({ type: 'menuState', state }),
  setDocument: (doc) => send({ type: 'document', doc }),
  nativeEdit: (command) => send({ type: 'nativeEdit', command }),
  openFiles(files) {
    const paths: string[] = [];
    for (const f of Array.from(files).slice(0, MAX_PATHS)) {
      let p = '';
      try {
        p = webUtils.getPathForFile(f);
      } catch {
        // not a File
      }
      if (p) paths.push(p);
    }
    if (paths.length) send({ type: 'openPaths', paths });
    return paths.length;
  },
  onMenuAction: (cb) =>
    subscribe<MenuActionEvent>((msg) => {
      const r = parseShellEvent(msg);
      return r.ok && r.value.type === 'menuAction' ? { action: r.value.action, byAccelerator: r.value.byAccelerator } : null;
    }, cb),
  onOpenFile: (cb) =>
    subscribe<OpenTarget>((msg) => {
      const r = parseShellEvent(msg);
      return r.ok && r.value.type === 'openFile' ? r.value.target : null;
    }, cb),
};

contextBridge.exposeInMainWorld('layerforgeShell', shell);
