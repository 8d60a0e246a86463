/**
 * Serve mode's downloads: exports and run folders written on the engine's disk, fetched by a browser that
 * may run on another machine. The engine hands out short-lived opaque ids (prepareDownload over the API);
 * `GET /download/<id>?token=…` streams the file, or the folder as a zip (fflate, weights stored, text
 * deflated, never the whole folder in memory). Only what the engine offered can be fetched: the client never
 * names a path, and a folder is walked without following symbolic links.
 *
 * Guards, as for the API's WebSocket: the access token (401), the Host header while on loopback (DNS
 * rebinding, 403), a foreign Origin or a cross-site fetch (403). An unknown or expired id is 404 with the
 * reason; a file that cannot be read is 500 naming it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, open, opendir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, join, relative, sep } from 'node:path';
import * as zlib from 'node:zlib';
import { Zip, ZipDeflate, ZipPassThrough, type AsyncFlateStreamHandler, type ZipInputFile } from 'fflate';
import type { PreparedDownload } from '../../shared/api/engine';
import type { DownloadSource, DownloadsPort } from '../engine/service/ports';

export const DOWNLOAD_PREFIX = '/download/';
/** How long an id is honoured (default 10 minutes: a download starts at once after prepareDownload). */
export const DEFAULT_DOWNLOAD_TTL_MS = 10 * 60_000;
/** Ids kept (expired ones too, so that a late request hears "expired"); the oldest are forgotten first. */
export const MAX_DOWNLOAD_IDS = 500;
/** Most files one zip takes. */
export const MAX_ZIP_FILES = 100_000;
/** fflate writes no ZIP64: a zip, or a file in it, must stay under 4 GiB. */
export const MAX_ZIP_BYTES = 0xffff_ffff - 64 * 2 ** 20;

/** One file to send: its absolute path, its name in the zip (forward slashes), its size and time. */
export interface DownloadFile {
  path: string;
  name: string;
  size: number;
  mtime: Date;
}

interface Entry {
  source: DownloadSource;
  expiresAt: number;
}

/** Why a download cannot be served: the HTTP status and the text the user sees. */
export class DownloadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** A file name safe in a Content-Disposition header and on every file system: no path, no control or reserved characters. */
export function safeFileName(name: string, fallback = 'download'): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '')
    .replace(/[\\/:*?"<>|;]+/g, '-')
    .replace(/^[.\s-]+|[.\s]+$/g, '')
    .slice(0, 200);
  return cleaned || fallback;
}

/** `attachment; filename="ascii"; filename*=UTF-8''utf8` (RFC 6266 / 5987) for a name made safe first. */
export function contentDisposition(name: string): string {
  const safe = safeFileName(name);
  const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A zip entry's name: forward slashes, no empty, '.' or '..' segment, no backslash (a separator on Windows). */
function entryName(rel: string): string {
  const parts = rel.split(sep).join('/').split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new DownloadError(500, `refusing the zip entry name '${rel}'`);
  return parts.map((p) => p.replace(/\\/g, '_')).join('/');
}

const unreadable = (path: string, error: unknown) =>
  new DownloadError(500, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error))}`);

async function regularFile(path: string): Promise<Stats> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  if (!st.isFile()) throw new DownloadError(500, `cannot send ${path}: not a regular file${st.isSymbolicLink() ? ' (a symbolic link)' : ''}`);
  return st;
}

/** Every regular file under `root` (sorted, symbolic links and special files left out), named relative to it. */
async function walk(root: string): Promise<DownloadFile[]> {
  const out: DownloadFile[] = [];
  const visit = async (dir: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (error) {
      throw unreadable(dir, error);
    }
    const names: { name: string; dir: boolean; file: boolean }[] = [];
    for await (const d of handle) names.push({ name: d.name, dir: d.isDirectory(), file: d.isFile() });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const path = join(dir, d.name);
      if (d.dir) await visit(path);
      else if (d.file) {
        const st = await regularFile(path);
        out.push({ path, name: entryName(relative(root, path)), size: st.size, mtime: st.mtime });
        if (out.length > MAX_ZIP_FILES) throw new DownloadError(500, `${root} has more than ${MAX_ZIP_FILES} files: too many for one zip`);
      }
    }
  };
  const st = await lstat(root).catch((error: unknown) => {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? new DownloadError(404, `${root} no longer exists`) : unreadable(root, error);
  });
  if (!st.isDirectory()) throw new DownloadError(500, `${root} is not a folder`);
  await visit(root);
  return out;
}

/** The files of a source, checked now (existence, regular file, size), in zip order. */
export async function filesOf(source: DownloadSource): Promise<DownloadFile[]> {
  if (source.type === 'file') {
    const st = await regularFile(source.path);
    return [{ path: source.path, name: safeFileName(source.fileName), size: st.size, mtime: st.mtime }];
  }
  if (source.type === 'folder') return walk(source.root);
  const out: DownloadFile[] = [];
  for (const path of source.files) {
    const rel = relative(source.root, path);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new DownloadError(500, `${path} is not inside ${source.root}`);
    const st = await regularFile(path);
    out.push({ path, name: entryName(rel), size: st.size, mtime: st.mtime });
  }
  return out;
}

const zipBase = (fileName: string) => safeFileName(fileName.replace(/\.zip$/i, ''), 'download');

type ZipEntry = ZipInputFile & { push(chunk: Uint8Array, final?: boolean): void };

/** Node's CRC-32 (native, ~10x fflate's JS one on weights); Node 20 before 20.15 lacks it. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** A stored (uncompressed) zip entry whose CRC-32 is Node's native one. */
class StoredEntry implements ZipEntry {
  compression = 0;
  crc = 0;
  size = 0;
  mtime?: Date;
  ondata?: AsyncFlateStreamHandler;
  constructor(
    readonly filename: string,
    private readonly crc32: (data: Uint8Array, value?: number) => number,
  ) {}
  push(chunk: Uint8Array, final = false): void {
    this.crc = this.crc32(chunk, this.crc);
    this.size += chunk.length;
    // fflate types its chunks over ArrayBuffer; file chunks are Buffers, which are.
    this.ondata!(null, chunk as Uint8Array<ArrayBuffer>, final);
  }
}

const storedEntry = (name: string): ZipEntry => (nativeCrc32 ? new StoredEntry(name, nativeCrc32) : new ZipPassThrough(name));

/** Text compresses; weights, images and archives do not (and are most of the bytes): store those. */
const DEFLATED = /\.(json|py|txt|md|csv|tsv|ya?ml|js|mjs|ts|html|svg|toml|cfg|ini|log)$/i;

/**
 * The download registry: opaque ids for the sources the engine offers (checked when offered and again when
 * fetched; handleDownload answers `GET|HEAD /download/<id>`). Ids are 128-bit random, honoured for `ttlMs`;
 * an expired one is remembered (until MAX_DOWNLOAD_IDS newer ones push it out) so that it is refused as expired.
 */
export class DownloadRegistry implements DownloadsPort {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_DOWNLOAD_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  async offer(source: DownloadSource): Promise<PreparedDownload> {
    const files = await filesOf(source);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const zip = source.type !== 'file';
    if (zip) checkZipSize(source, files, bytes);
    const id = randomBytes(16).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.entries.set(id, { source, expiresAt });
    while (this.entries.size > MAX_DOWNLOAD_IDS) this.entries.delete(this.entries.keys().next().value as string);
    return { id, url: `${DOWNLOAD_PREFIX}${id}`, fileName: zip ? `${zipBase(source.fileName)}.zip` : safeFileName(source.fileName), zip, bytes, files: files.length, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The source behind an id, or a 404 DownloadError saying whether it is unknown or expired. */
  lookup(id: string): DownloadSource {
    const entry = /^[A-Za-z0-9_-]{22}$/.test(id) ? this.entries.get(id) : undefined;
    if (!entry) throw new DownloadError(404, `Unknown download id: ask the app for the download again (ids are made by the engine and last ${Math.round(this.ttlMs / 60_000)} minutes).`);
    if (this.now() > entry.expiresAt) throw new DownloadError(404, 'This download link has expired: ask the app for the download again.');
    return entry.source;
  }
}

function checkZipSize(source: DownloadSource, files: DownloadFile[], bytes: number): void {
  const where = source.type === 'file' ? source.path : source.root;
  if (bytes > MAX_ZIP_BYTES || files.some((f) => f.size > MAX_ZIP_BYTES)) {
    throw new DownloadError(500, `${where} holds ${(bytes / 2 ** 30).toFixed(1)} GiB: more than a zip without ZIP64 takes (4 GiB); copy the folder from the engine's machine`);
  }
}

/** Resolves on 'drain', or when the response closes (a client that went away). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Bytes the zip may queue in the response before the next file chunk waits for 'drain'. */
const ZIP_QUEUE_BYTES = 4 * 2 ** 20;

/** Streams `files` as one zip into `res`, reading one file at a time and waiting whenever more than ZIP_QUEUE_BYTES are queued. */
export async function streamZip(res: ServerResponse, base: string, files: DownloadFile[], log: (line: string) => void): Promise<void> {
  let failed: Error | undefined;
  const zip = new Zip((error, chunk, final) => {
    if (error) {
      failed = error;
      return;
    }
    if (chunk.length) res.write(chunk);
    if (final) res.end();
  });
  for (const f of files) {
    if (res.destroyed) break;
    const entry: ZipEntry = DEFLATED.test(f.name) && f.size < 64 * 2 ** 20 ? new ZipDeflate(`${base}/${f.name}`, { level: 6 }) : storedEntry(`${base}/${f.name}`);
    // ZIP times start in 1980.
    entry.mtime = f.mtime.getFullYear() < 1981 ? new Date(1981, 0, 1) : f.mtime;
    zip.add(entry);
    const stream = createReadStream(f.path, { highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        entry.push(chunk);
        if (failed) throw failed;
        if (res.writableLength > ZIP_QUEUE_BYTES) await drained(res);
        if (res.destroyed) {
          stream.destroy();
          break;
        }
      }
    } catch (error) {
      stream.destroy();
      zip.terminate();
      log(`download: ${f.path} could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); the zip was cut off`);
      res.destroy();
      return;
    }
    if (res.destroyed) break;
    entry.push(new Uint8Array(0), true);
  }
  if (res.destroyed) {
    zip.terminate();
    return;
  }
  zip.end();
  if (failed) res.destroy(failed);
}

export interface DownloadGuards {
  token: string;
  /** The Host header check of the static files and the WebSocket (loopback: DNS rebinding). */
  hostAllowed(req: IncomingMessage): boolean;
  /** The Origin check of the WebSocket. */
  originAllowed(origin: string): boolean;
  log?: (line: string) => void;
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } as const;

/** True for requests this module answers: `/download/…`. */
export function isDownloadRequest(req: IncomingMessage): boolean {
  return (req.url ?? '').startsWith(DOWNLOAD_PREFIX);
}

/** Answers one `GET|HEAD /download/<id>?token=…` request. Never throws. */
export async function handleDownload(registry: DownloadRegistry, guards: DownloadGuards, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const log = guards.log ?? (() => {});
  const send = (status: number, text: string) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...COMMON_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
  };
  try {
    if (!guards.hostAllowed(req)) return send(403, 'Forbidden host');
    const origin = req.headers.origin;
    if (origin !== undefined && !guards.originAllowed(origin)) return send(403, 'Forbidden origin');
    // A page of another site (or another port of this one) must not start downloads, even with the token.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return send(403, `Forbidden: a ${String(site)} request`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(405, 'Method not allowed');
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      return send(400, 'Bad request target');
    }
    const given = url.searchParams.get('token') ?? '';
    if (!given || !tokensEqual(given, guards.token)) return send(401, 'Unauthorized: the access token is missing or wrong');
    const id = url.pathname.slice(DOWNLOAD_PREFIX.length);
    const source = registry.lookup(id);
    const files = await filesOf(source);
    if (source.type === 'file') {
      const f = files[0]!;
      // Opened before the headers go out, so that an unreadable file is a 500 naming it.
      const handle = await open(f.path, 'r').catch((error: unknown) => {
        throw unreadable(f.path, error);
      });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.size, 'content-disposition': contentDisposition(source.fileName), ...COMMON_HEADERS });
      if (req.method === 'HEAD') {
        await handle.close();
        return void res.end();
      }
      const stream = handle.createReadStream({ highWaterMark: 1 << 20 });
      stream.on('error', (error) => {
        log(`download: ${f.path} could not be read (${(error as NodeJS.ErrnoException).code ?? error.message})`);
        res.destroy();
      });
      res.on('close', () => stream.destroy());
      stream.pipe(res);
      return;
    }
    const bytes = files.reduce((n, f) => n + f.size, 0);
    checkZipSize(source, files, bytes);
    res.writeHead(200, { 'content-type': 'application/zip', 'content-disposition': contentDisposition(`${zipBase(source.fileName)}.zip`), 'x-download-files': String(files.length), ...COMMON_HEADERS });
    if (req.method === 'HEAD') return void res.end();
    await streamZip(res, zipBase(source.fileName), files, log);
  } catch (error) {
    if (error instanceof DownloadError) {
      if (error.status >= 500) log(`download: ${error.message}`);
      return send(error.status, error.message);
    }
    log(`download: ${error instanceof Error ? error.message : String(error)}`);
    send(500, `Download failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What an engine that takes downloads has (the Engine class: attachDownloads); test fakes may lack it. */
interface DownloadHost {
  attachDownloads(port: DownloadsPort | undefined): void;
}

const isDownloadHost = (engine: unknown): engine is DownloadHost =>
  typeof engine === 'object' && engine !== null && typeof (engine as Partial<DownloadHost>).attachDownloads === 'function';

/**
 * The serve-mode hook: a registry lent to `engine` (when it takes one) and the request handler. The server
 * calls `handles(req, res)` first for every HTTP request.
 */
export function serveDownloads(engine: unknown, guards: DownloadGuards, options: { ttlMs?: number } = {}) {
  const registry = new DownloadRegistry(options);
  if (isDownloadHost(engine)) engine.attachDownloads(registry);
  return {
    registry,
    /** Answers the request when it is a download (true), else leaves it (false). */
    handles(req: IncomingMessage, res: ServerResponse): boolean {
      if (!isDownloadRequest(req)) return false;
      void handleDownload(registry, guards, req, res);
      return true;
    },
  };
}
