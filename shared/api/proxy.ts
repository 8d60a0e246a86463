/**
 * A generic service proxy over any message transport (the idea of VS Code's ProxyChannel.fromService /
 * toService): `serveApi` turns an object implementing a service interface into a server on one
 * connection, `createClient` turns a transport into a typed client. Requests are methods that return a
 * promise; events are members named `onXxx(listener) => unsubscribe`. Every request is validated on
 * arrival against its schema; a bad one is answered with a typed error, never a crash.
 *
 * Messages are plain JSON-compatible objects (they cross WebSocket as JSON and Electron IPC by
 * structured clone).
 */
import { formatIssue, parse, type Schema, type SchemaIssue } from '../schema';

export type ApiErrorCode =
  | 'bad-request'
  | 'unknown-method'
  | 'not-found'
  | 'busy'
  | 'failed'
  | 'disconnected'
  | 'too-large';

export interface ApiErrorData {
  code: ApiErrorCode;
  message: string;
  details?: unknown;
}

/** The error a client's promise rejects with, and the one an implementation may throw to pick the code. */
export class ApiError extends Error implements ApiErrorData {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  toJSON(): ApiErrorData {
    return { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

export type Message =
  | { t: 'req'; id: number; method: string; arg?: unknown }
  | { t: 'res'; id: number; ok: true; value: unknown }
  | { t: 'res'; id: number; ok: false; error: ApiErrorData }
  | { t: 'sub'; event: string }
  | { t: 'unsub'; event: string }
  | { t: 'evt'; event: string; data: unknown };

/**
 * Largest message serve mode's WebSocket accepts from a browser (bytes). A saved project may be up to
 * MAX_PROJECT_TEXT (32 Mi characters), which JSON-escaping inside a request can nearly double, so the
 * bound is 128 MiB: big enough for any request the API accepts, small enough that a client (which must
 * hold the token) cannot make the engine buffer without limit. Larger requests are refused by the
 * browser's transport before sending, with their size, instead of the engine closing the connection.
 */
export const SERVE_MAX_MESSAGE_BYTES = 128 * 2 ** 20;

/** The readable size of a byte count: '12.3 MB'. */
export function formatBytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

/** One connection: sends messages to, and receives messages from, the other side. */
export interface Transport {
  send(msg: Message): void;
  /** Registers the receiver; returns a function that removes it. */
  onMessage(cb: (msg: unknown) => void): () => void;
  /** Optional: called once when the connection closes (pending requests then fail). */
  onClose?(cb: () => void): void;
}

/** Every request method and event name of a service: enough to build a client (no schemas needed). */
export interface ServiceNames {
  requests: readonly string[];
  events: readonly string[];
}

/** The server side's description: a schema for the single argument of every request. */
export interface ServiceSpec extends ServiceNames {
  /** undefined for a request that takes no argument. */
  schemas: Record<string, Schema<unknown> | undefined>;
}

type Listener = (data: unknown) => void;
type AnyService = Record<string, unknown>;

const isEventName = (name: string) => /^on[A-Z]/.test(name);

function errorData(error: unknown): ApiErrorData {
  if (error instanceof ApiError) return error.toJSON();
  if (error instanceof Error) return { code: 'failed', message: error.message || error.name };
  return { code: 'failed', message: String(error) };
}

/** Checks the envelope of an incoming request; returns a reason or null. */
function badEnvelope(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'a message must be an object';
  const m = msg as Record<string, unknown>;
  if (m.t === 'req') {
    if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) return "a request needs an integer 'id'";
    if (typeof m.method !== 'string') return "a request needs a string 'method'";
    return null;
  }
  if (m.t === 'sub' || m.t === 'unsub') return typeof m.event === 'string' ? null : `a '${String(m.t)}' message needs a string 'event'`;
  return `unknown message type ${JSON.stringify(m.t)?.slice(0, 40)}`;
}

export interface ServedConnection {
  /** Removes every event subscription made for this connection and stops reading it. */
  dispose(): void;
}

/**
 * Serves `impl` on one connection. Each request's argument is parsed with its schema (defaults
 * applied); an unknown method, a malformed message or a schema failure is answered with a typed
 * error; a throw or rejection of the implementation becomes a 'failed' error (or the ApiError's code).
 */
export function serveApi(spec: ServiceSpec, impl: object, transport: Transport): ServedConnection {
  const service = impl as AnyService;
  const requests = new Set(spec.requests);
  const events = new Set(spec.events);
  const subscriptions = new Map<string, () => void>();
  let disposed = false;

  const reply = (msg: Message) => {
    if (disposed) return;
    try {
      transport.send(msg);
    } catch {
      // the connection is gone; nothing to tell
    }
  };

  const handle = async (raw: unknown) => {
    const bad = badEnvelope(raw);
    const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
    if (bad) {
      reply({ t: 'res', id, ok: false, error: { code: 'bad-request', message: bad } });
      return;
    }
    const msg = raw as Message;
    if (msg.t === 'sub' || msg.t === 'unsub') {
      if (!events.has(msg.event) || typeof service[msg.event] !== 'function') {
        reply({ t: 'res', id: -1, ok: false, error: { code: 'unknown-method', message: `unknown event '${msg.event.slice(0, 100)}'` } });
        return;
      }
      if (msg.t === 'sub' && !subscriptions.has(msg.event)) {
        const event = msg.event;
        const off = (service[event] as (l: Listener) => () => void).call(service, (data) => reply({ t: 'evt', event, data }));
        subscriptions.set(event, off);
      } else if (msg.t === 'unsub') {
        subscriptions.get(msg.event)?.();
        subscriptions.delete(msg.event);
      }
      return;
    }
    if (msg.t !== 'req') return;
    const method = msg.method;
    if (!requests.has(method) || isEventName(method) || typeof service[method] !== 'function') {
      reply({ t: 'res', id: msg.id, ok: false, error: { code: 'unknown-method', message: `unknown method '${method.slice(0, 100)}'` } });
      return;
    }
    const schema = spec.schemas[method];
    let arg: unknown = undefined;
    if (schema) {
      const r = parse(schema, msg.arg);
      if (!r.ok) {
        reply({ t: 'res', id: msg.id, ok: false, error: badRequest(method, r.issues) });
        return;
      }
      arg = r.value;
    } else if (msg.arg !== undefined && msg.arg !== null) {
      reply({ t: 'res', id: msg.id, ok: false, error: { code: 'bad-request', message: `${method} takes no argument` } });
      return;
    }
    try {
      const value = await (service[method] as (a: unknown) => unknown).call(service, arg);
      reply({ t: 'res', id: msg.id, ok: true, value: value === undefined ? null : value });
    } catch (error) {
      reply({ t: 'res', id: msg.id, ok: false, error: errorData(error) });
    }
  };

  const off = transport.onMessage((raw) => {
    if (disposed) return;
    void handle(raw).catch((error: unknown) => reply({ t: 'res', id: -1, ok: false, error: errorData(error) }));
  });
  const connection: ServedConnection = {
    dispose() {
      if (disposed) return;
      disposed = true;
      off();
      for (const unsubscribe of subscriptions.values()) unsubscribe();
      subscriptions.clear();
    },
  };
  transport.onClose?.(() => connection.dispose());
  return connection;
}

function badRequest(method: string, issues: SchemaIssue[]): ApiErrorData {
  const list = issues.slice(0, 5).map(formatIssue).join('; ');
  return { code: 'bad-request', message: `${method}: invalid request: ${list}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`, details: issues.slice(0, 50) };
}

export interface ClientOptions {
  /** Called with errors that belong to no request (e.g. an unknown event subscription). */
  onStrayError?(error: ApiErrorData): void;
}

/**
 * A typed client over a transport. The result is a plain object with one function per request and
 * event (so it can cross Electron's contextBridge): requests return promises that reject with an
 * ApiError; events take a listener and return an unsubscribe function.
 */
export function createClient<T>(names: ServiceNames, transport: Transport, options: ClientOptions = {}): T {
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  const listeners = new Map<string, Set<Listener>>();
  let closed = false;

  transport.onMessage((raw) => {
    if (typeof raw !== 'object' || raw === null) return;
    const msg = raw as Message;
    if (msg.t === 'res') {
      const p = pending.get(msg.id);
      if (!p) {
        if (!msg.ok) options.onStrayError?.(msg.error);
        return;
      }
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new ApiError(msg.error.code, msg.error.message, msg.error.details));
    } else if (msg.t === 'evt') {
      for (const l of [...(listeners.get(msg.event) ?? [])]) {
        try {
          l(msg.data);
        } catch (error) {
          console.error(`listener of ${msg.event} failed`, error);
        }
      }
    }
  });
  transport.onClose?.(() => {
    closed = true;
    for (const p of pending.values()) p.reject(new ApiError('disconnected', 'the connection to the engine was closed'));
    pending.clear();
  });

  const client: Record<string, unknown> = {};
  for (const method of names.requests) {
    client[method] = (arg?: unknown) =>
      new Promise((resolve, reject) => {
        if (closed) {
          reject(new ApiError('disconnected', 'the connection to the engine is closed'));
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve, reject });
        try {
          transport.send(arg === undefined ? { t: 'req', id, method } : { t: 'req', id, method, arg });
        } catch (error) {
          pending.delete(id);
          // A transport may refuse one message (e.g. too large) with its own ApiError: keep its code.
          if (error instanceof ApiError) reject(new ApiError(error.code, `${method}: ${error.message}`, error.details));
          else reject(new ApiError('disconnected', `could not send ${method}: ${error instanceof Error ? error.message : String(error)}`));
        }
      });
  }
  for (const event of names.events) {
    client[event] = (listener: Listener) => {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
      }
      const wrapped: Listener = (d) => listener(d);
      set.add(wrapped);
      if (set.size === 1) transport.send({ t: 'sub', event });
      return () => {
        const s = listeners.get(event);
        if (!s || !s.delete(wrapped)) return;
        if (s.size === 0) {
          listeners.delete(event);
          if (!closed) transport.send({ t: 'unsub', event });
        }
      };
    };
  }
  return client as T;
}

export interface InProcessTransport extends Transport {
  /** Closes both ends (each side's onClose callbacks run). */
  close(): void;
}

/** Two connected in-process transports (for tests and same-process use). Delivery is asynchronous, like a real channel. */
export function inProcessPair(): [InProcessTransport, InProcessTransport] {
  type End = { receivers: Set<(m: unknown) => void>; closers: (() => void)[] };
  const a: End = { receivers: new Set(), closers: [] };
  const b: End = { receivers: new Set(), closers: [] };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const cb of [...a.closers, ...b.closers]) cb();
  };
  const make = (self: End, other: End): InProcessTransport => ({
    close,
    send(msg) {
      if (closed) throw new Error('the in-process channel is closed');
      const copy = structuredClone(msg);
      queueMicrotask(() => other.receivers.forEach((r) => r(copy)));
    },
    onMessage(cb) {
      self.receivers.add(cb);
      return () => self.receivers.delete(cb);
    },
    onClose(cb) {
      self.closers.push(cb);
    },
  });
  return [make(a, b), make(b, a)];
}
