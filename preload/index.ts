/**
 * The preload: exposes the typed engine client as `window.layerforge`, nothing else. Fully bundled
 * (sandboxed preloads cannot load modules) and tiny: the proxy and the list of API names only.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { ENGINE_NAMES, IPC_CHANNEL, type EngineApi } from '../shared/api/engine';
import { createClient, type Transport } from '../shared/api/proxy';

const transport: Transport = {
  send: (msg) => ipcRenderer.send(IPC_CHANNEL, msg),
  onMessage(cb) {
    const listener = (_e: IpcRendererEvent, msg: unknown) => cb(msg);
    ipcRenderer.on(IPC_CHANNEL, listener);
    return () => ipcRenderer.removeListener(IPC_CHANNEL, listener);
  },
};

contextBridge.exposeInMainWorld('layerforge', createClient<EngineApi>(ENGINE_NAMES, transport));
