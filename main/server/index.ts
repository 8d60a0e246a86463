/**
 * Serve mode: the built renderer as static files plus the engine API over a WebSocket, on loopback by
 * default. Like Jupyter, a random access token guards the API: the URL printed carries it, the page
 * reads it from its address and sends it when it connects. A WebSocket upgrade is refused without the
 * token (401), from a foreign Origin (403), with a foreign Host header while on loopback (DNS
 * rebinding, 403), or beyond the connection limit (503). Messages are size-limited.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ENGINE_SPEC, SERVE_MAX_MESSAGE_BYTES, serveApi, type EngineApi, type Message, type Transport } from '../../shared/api';
import { serveDownloads } from './downloads';

export interface ServeOptions {
  engine: EngineApi;
  /** Folder of the built renderer (index.html + assets). */
  staticDir: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Access token; random (32 hex bytes) when absent. */
  token?: string;
  /** Largest accepted WebSocket message, bytes (default SERVE_MAX_MESSAGE_BYTES, 128 MiB). */
  maxMessageBytes?: number;
  /** Most simultaneous WebSocket connections (default 16). */
  maxConnections?: number;
  /**
   * Further browser origins allowed besides this server's own (e.g. `http://127.0.0.1:8080` for an SSH tunnel
   * `ssh -L 8080:127.0.0.1:PORT` whose local port differs): scheme, host and port, compared exactly. The token
   * is still required.
   */
  allowOrigins?: readonly string[];
  log?: (line: string) => void;
}

/** An origin as the browser sends it (`scheme://host[:port]`, default ports dropped), or undefined when `text` is none. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const u = new URL(text);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

export interface RunningServer {
  host: string;
  port: number;
  token: string;
  /** The URL to open, token included. */
  url: string;
  close(): Promise<void>;
}

export const API_PATH = '/api';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127\./.test(host);

/** Content-Security-Policy of the served page: our own scripts only, the API socket on the same host. */
export const SERVE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** Longest request path served (bytes of the raw target) and longest path segment (decoded); longer gets 400. */
export const MAX_PATH_LENGTH = 2048;
export const MAX_SEGMENT_LENGTH = 255;

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Resolves a URL path inside `root`, or undefined when it would leave it (.., encoded .., absolute, NUL) or is malformed (bad %-encoding, a segment over MAX_SEGMENT_LENGTH bytes). */
export function safeStaticPath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const parts = decoded.split('/').filter(Boolean);
  if (parts.some((p) => p === '..' || p === '.' || Buffer.byteLength(p) > MAX_SEGMENT_LENGTH)) return undefined;
  const full = resolve(root, ...parts);
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return full;
}

/**
 * Host names under which this machine can be reached when serving on `host` (not loopback): the bound
 * address itself (unless it is a wildcard), every address of the machine's network interfaces, its
 * host name, and loopback. A browser that opened the UI through one of them sends it as its Origin.
 */
export function ownHostNames(host: string): Set<string> {
  const names = new Set<string>(LOOPBACK);
  const bound = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bound !== '0.0.0.0' && bound !== '::') names.add(bound);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) names.add(a.address.toLowerCase().replace(/%.*$/, ''));
  }
  const own = osHostname().toLowerCase();
  if (own) {
    names.add(own);
    if (!own.includes('.')) names.add(`${own}.local`);
  }
  return names;
}

function hostHeaderName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return m ? m[1]!.replace(/^\[|\]$/g, '').toLowerCase() : undefined;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  const maxMessageBytes = options.maxMessageBytes ?? SERVE_MAX_MESSAGE_BYTES;
  const maxConnections = options.maxConnections ?? 16;
  const log = options.log ?? (() => {});
  const root = await realpath(options.staticDir).catch(() => resolve(options.staticDir));
  const loopback = isLoopback(host);
  let port = 0;
  const extraOrigins = new Set<string>();
  for (const o of options.allowOrigins ?? []) {
    const n = normalizeOrigin(o);
    if (!n) throw new Error(`'${o}' is not an origin (scheme://host:port, e.g. http://127.0.0.1:8080)`);
    extraOrigins.add(n);
  }

  const allowedOrigin = (origin: string): boolean => {
    if (extraOrigins.size > 0 && extraOrigins.has(normalizeOrigin(origin) ?? '')) return true;
    try {
      const u = new URL(origin);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
      const p = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      if (p !== port) return false;
      const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      // Not loopback: the browser's Origin names the address it used to reach this machine (a LAN
      // address when bound to 0.0.0.0). Interfaces are read per check, as addresses can change.
      return loopback ? isLoopback(h) : isLoopback(h) || ownHostNames(host).has(h);
    } catch {
      return false;
    }
  };

  const hostAllowed = (req: IncomingMessage): boolean => {
    if (!loopback) return true;
    const name = hostHeaderName(req.headers.host);
    return name !== undefined && isLoopback(name);
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      res.end(text);
    };
    if (!hostAllowed(req)) return send(403, 'Forbidden host');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method not allowed');
    const target0 = req.url ?? '/';
    if (target0.length > MAX_PATH_LENGTH) return send(400, 'Path too long');
    let url: URL;
    try {
      url = new URL(target0, 'http://x');
    } catch {
      return send(400, 'Bad request target'); // e.g. '//%/x' (protocol-relative with a bad host)
    }
    const file = safeStaticPath(root, url.pathname === '/' ? '/index.html' : url.pathname);
    if (!file) return send(400, 'Bad path');
    let target = file;
    let st = await stat(target).catch(() => undefined);
    if (!st || !st.isFile()) {
      // Single-page app: unknown paths without an extension get index.html.
      if (extname(url.pathname)) return send(404, 'Not found');
      target = join(root, 'index.html');
      st = await stat(target).catch(() => undefined);
      if (!st) return send(404, `The web UI is not built: run \`npm run build:web\` (looked in ${root}).`);
    }
    // Symlinks must not lead out of the root either.
    const real = await realpath(target).catch(() => undefined);
    if (!real || (real !== root && !real.startsWith(root + sep))) return send(404, 'Not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
      'content-length': st.size,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cache-control': extname(real) === '.html' ? 'no-store' : 'max-age=3600',
      ...(extname(real) === '.html' ? { 'content-security-policy': SERVE_CSP } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(real).on('error', () => res.destroy()).pipe(res);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  // Exports and run folders as browser downloads (GET /download/<id>?token=…; main/server/downloads.ts), guarded as the API is.
  const downloads = serveDownloads(options.engine, { token, hostAllowed, originAllowed: allowedOrigin, log });
  const server: Server = createServer((req, res) => {
    if (downloads.handles(req, res)) return;
    serveStatic(req, res).catch((error: unknown) => {
      log(`static: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  const refuse = (socket: Duplex, code: number, reason: string) => {
    log(`refused a WebSocket connection: ${reason}`);
    socket.end(`HTTP/1.1 ${code} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let url: URL; try { url = new URL(req.url ?? '/', 'http://x'); } catch { return refuse(socket, 400, 'Bad Request'); } // e.g. '//%/api' threw here and crashed the process
    if (url.pathname !== API_PATH) return refuse(socket, 404, 'Not Found');
    if (!hostAllowed(req)) return refuse(socket, 403, 'Forbidden host');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin)) return refuse(socket, 403, 'Forbidden origin');
    const given = url.searchParams.get('token') ?? '';
    if (!given || !tokensEqual(given, token)) return refuse(socket, 401, 'Unauthorized');
    if (wss.clients.size >= maxConnections) return refuse(socket, 503, 'Too many connections');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    const receivers = new Set<(m: unknown) => void>();
    const closers: (() => void)[] = [];
    const transport: Transport = {
      send(msg: Message) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      },
      onMessage(cb) {
        receivers.add(cb);
        return () => receivers.delete(cb);
      },
      onClose(cb) {
        closers.push(cb);
      },
    };
    ws.on('message', (data, isBinary) => {
      let msg: unknown;
      if (isBinary) msg = { t: 'binary' };
      else {
        try {
          msg = JSON.parse(data.toString());
        } catch {
          msg = 'not JSON';
        }
      }
      for (const r of receivers) r(msg);
    });
    ws.on('close', () => closers.forEach((c) => c()));
    ws.on('error', () => ws.terminate());
    serveApi(ENGINE_SPEC, options.engine, transport);
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    host,
    port,
    token,
    url: `http://${urlHost}:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((done) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => done());
        server.closeAllConnections?.();
      }),
  };
}
