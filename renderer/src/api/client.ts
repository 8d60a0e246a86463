/**
 * The renderer's one way to the engine: the typed EngineApi client, over the Electron preload
 * (window.layerforge, exposed by preload/index.ts) or, in a browser (serve mode), over a WebSocket
 * to the server that served this page, authenticated by the access token from the page's URL.
 */
import { ApiError, createClient, ENGINE_NAMES, formatBytes, SERVE_MAX_MESSAGE_BYTES, type EngineApi, type Message, type Transport } from '../../../shared/api';

declare global {
  interface Window {
    /** The typed client the Electron preload exposes (absent in a browser). */
    layerforge?: EngineApi;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

const TOKEN_KEY = 'layerforge.token';

/** The serve-mode access token: from `?token=` (then kept for this tab and removed from the address bar), else the kept one. */
export function accessToken(loc: Location = location, storage: Storage | undefined = globalThis.sessionStorage): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    try {
      storage?.setItem(TOKEN_KEY, fromUrl);
      url.searchParams.delete('token');
      history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    } catch {
      /* storage or history unavailable: keep the token in the URL */
    }
    return fromUrl;
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

/** Why a WebSocket closed, in words (1009: a message over the engine's limit; 1006: never connected or dropped). */
export function closeReason(code: number, reason: string): string {
  if (code === 1006) return 'the engine refused the connection or is not running (is the access token in the URL right?)';
  if (code === 1009) return `closed (1009): a message was larger than the engine accepts (${formatBytes(SERVE_MAX_MESSAGE_BYTES)} unless the engine was started with a smaller limit)`;
  return `closed (${code}${reason ? `: ${reason}` : ''})`;
}

/**
 * A Transport over a browser WebSocket; messages sent before it opens are queued. A message larger than
 * `maxBytes` is refused with ApiError 'too-large' (naming its size) instead of being sent, since the engine
 * would close the connection on it.
 */
export function webSocketTransport(url: string, onState: (s: ConnectionState, why?: string) => void, maxBytes = SERVE_MAX_MESSAGE_BYTES): Transport {
  const ws = new WebSocket(url);
  const queue: string[] = [];
  const receivers = new Set<(m: unknown) => void>();
  const closers: (() => void)[] = [];
  onState('connecting');
  ws.addEventListener('open', () => {
    onState('open');
    for (const m of queue.splice(0)) ws.send(m);
  });
  ws.addEventListener('message', (e: MessageEvent) => {
    let msg: unknown;
    try {
      msg = JSON.parse(String(e.data));
    } catch {
      return;
    }
    for (const r of receivers) r(msg);
  });
  ws.addEventListener('close', (e: CloseEvent) => {
    onState('closed', closeReason(e.code, e.reason));
    for (const c of closers.splice(0)) c();
  });
  return {
    send(msg: Message) {
      const text = JSON.stringify(msg);
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only long texts need the exact count.
      const bytes = text.length * 3 <= maxBytes ? text.length : new TextEncoder().encode(text).length;
      if (bytes > maxBytes) {
        throw new ApiError('too-large', `the request is ${formatBytes(bytes)}, more than the ${formatBytes(maxBytes)} a message to the engine may be in serve mode; nothing was sent and nothing was lost`);
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
      else if (ws.readyState === WebSocket.CONNECTING) queue.push(text);
      else throw new Error('the connection to the engine is closed');
    },
    onMessage(cb) {
      receivers.add(cb);
      return () => receivers.delete(cb);
    },
    onClose(cb) {
      closers.push(cb);
    },
  };
}

let engine: EngineApi | undefined;
const stateListeners = new Set<(s: ConnectionState, why?: string) => void>();
let state: { s: ConnectionState; why?: string } = { s: 'connecting' };

export function connectionState(): { s: ConnectionState; why?: string } {
  return state;
}

export function onConnectionState(l: (s: ConnectionState, why?: string) => void): () => void {
  stateListeners.add(l);
  return () => stateListeners.delete(l);
}

/** The engine client (created on first use). */
export function getEngine(): EngineApi {
  if (engine) return engine;
  if (typeof window !== 'undefined' && window.layerforge) {
    engine = window.layerforge;
    state = { s: 'open' };
    return engine;
  }
  const token = accessToken();
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${proto}//${location.host}/api?token=${encodeURIComponent(token ?? '')}`;
  const transport = webSocketTransport(url, (s, why) => {
    state = { s, why };
    for (const l of stateListeners) l(s, why);
  });
  engine = createClient<EngineApi>(ENGINE_NAMES, transport);
  return engine;
}

/** For tests: use this client instead. */
export function setEngine(client: EngineApi): void {
  engine = client;
  state = { s: 'open' };
}
