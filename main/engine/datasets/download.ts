/**
 * HTTP/HTTPS downloader: redirects, progress (bytes, total, speed, ETA), resume of a partial download
 * (`Range`), cancel (`AbortSignal`), automatic retries that resume, and checksum verification.
 * Data goes to `<dest>.part`; only a complete, verified file is renamed to `dest`. A bad checksum deletes
 * the partial file (its bytes cannot be trusted); a cancel or a dropped connection keeps it for resuming.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';

export interface DownloadProgress {
  /** Bytes on disk so far (including a resumed part). */
  bytes: number;
  /** Total size when known (Content-Length / Content-Range), else undefined. */
  total?: number;
  /** Bytes per second over the recent past. */
  speed: number;
  /** Seconds left at the current speed, when total and speed are known. */
  etaSeconds?: number;
  url: string;
}

export interface Checksum {
  sha256?: string;
  md5?: string;
}

export interface DownloadOptions extends Checksum {
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** How many times to resume after a dropped connection or a server error (default 3). */
  retries?: number;
  maxRedirects?: number;
  /** Expected size in bytes; a mismatch fails like a bad checksum. */
  size?: number;
  /** Milliseconds without data before the connection counts as dropped (default 30 s). */
  idleTimeoutMs?: number;
  /** Minimum milliseconds between progress callbacks (default 100; the final one always fires). */
  progressIntervalMs?: number;
}

export class DownloadError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'DownloadError';
  }
}
export class ChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumError';
  }
}
export class CancelledError extends Error {
  constructor(message = 'Download cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

function abortError(signal?: AbortSignal): CancelledError | undefined {
  return signal?.aborted ? new CancelledError() : undefined;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Feeds a whole file to the hashes (a resumed download is verified whole, not only its last part). */
async function hashExisting(path: string, hashes: Hash[]): Promise<void> {
  if (!hashes.length) return;
  for await (const chunk of createReadStream(path)) for (const h of hashes) h.update(chunk as Buffer);
}

/** Hex digests of a file (sha256 and md5). */
export async function fileDigests(path: string): Promise<{ sha256: string; md5: string }> {
  const s = createHash('sha256');
  const m = createHash('md5');
  for await (const chunk of createReadStream(path)) {
    s.update(chunk as Buffer);
    m.update(chunk as Buffer);
  }
  return { sha256: s.digest('hex'), md5: m.digest('hex') };
}

function request(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new DownloadError(`Invalid URL '${url}'.`, false));
      return;
    }
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new DownloadError(`Unsupported URL scheme '${u.protocol}' in ${url} (use http or https).`, false));
      return;
    }
    const req = lib.get(u, { headers: { 'user-agent': 'layerforge', ...headers }, signal });
    req.on('response', resolve);
    req.on('error', (e) => reject(signal?.aborted ? new CancelledError() : new DownloadError(`GET ${url} failed: ${e.message}`, true)));
  });
}

/** Downloads `url` to `dest` (see the module comment). Resolves to `dest`. */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const retries = opts.retries ?? 3;
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const cancelled = abortError(opts.signal);
    if (cancelled) throw cancelled;
    try {
      await attemptDownload(url, part, opts);
      await rename(part, dest);
      return dest;
    } catch (error) {
      lastError = error;
      if (error instanceof ChecksumError) {
        await rm(part, { force: true });
        throw error;
      }
      if (error instanceof CancelledError || opts.signal?.aborted) throw error instanceof CancelledError ? error : new CancelledError();
      if (!(error instanceof DownloadError) || !error.retryable) throw error;
      // Retry: the next attempt resumes from what is in `part`.
      if (attempt < retries) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
  const kept = (await fileSize(part)) > 0 ? `; the partial file ${part} is kept for resuming` : '';
  const msg = lastError instanceof Error ? lastError.message : String(lastError);
  throw new DownloadError(`${msg} (gave up after ${retries + 1} attempts${kept})`, true);
}

async function attemptDownload(url: string, part: string, opts: DownloadOptions): Promise<void> {
  const maxRedirects = opts.maxRedirects ?? 5;
  let have = await fileSize(part);
  let current = url;
  let res: IncomingMessage | undefined;
  for (let hop = 0; ; hop++) {
    res = await request(current, have > 0 ? { range: `bytes=${have}-` } : {}, opts.signal);
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && res.headers.location) {
      res.resume();
      if (hop >= maxRedirects) throw new DownloadError(`Too many redirects (more than ${maxRedirects}) from ${url}.`, false);
      current = new URL(res.headers.location, current).toString();
      continue;
    }
    break;
  }
  const code = res.statusCode ?? 0;
  let total: number | undefined;
  if (code === 416 && have > 0) {
    // Range not satisfiable: what we have is at least the whole file. Let the checksum decide.
    res.resume();
    const cr = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    if (cr && Number(cr[1]) === have) {
      await finalCheck(part, opts);
      return;
    }
    await rm(part, { force: true });
    throw new DownloadError(`Server refused to resume ${current} at byte ${have}; restarting.`, true);
  }
  if (code === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have) {
      res.resume();
      await rm(part, { force: true });
      throw new DownloadError(`Server answered a resume of ${current} with an unexpected range '${res.headers['content-range']}'; restarting.`, true);
    }
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else if (code === 200) {
    have = 0; // the server ignored Range (or there was none): start over
    const len = Number(res.headers['content-length']);
    total = Number.isFinite(len) && res.headers['content-length'] !== undefined ? len : undefined;
  } else {
    res.resume();
    throw new DownloadError(`GET ${current} answered HTTP ${code}${res.statusMessage ? ` ${res.statusMessage}` : ''}.`, code >= 500 || code === 429);
  }
  if (total === undefined && opts.size !== undefined) total = opts.size;

  const out = createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
  let bytes = have;
  const started = Date.now();
  let windowStart = started;
  let windowBytes = 0;
  let speed = 0;
  let lastReport = 0;
  const interval = opts.progressIntervalMs ?? 100;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastReport < interval) return;
    lastReport = now;
    const dt = (now - windowStart) / 1000;
    if (dt >= 0.25) {
      const s = windowBytes / dt;
      speed = speed ? 0.7 * speed + 0.3 * s : s;
      windowStart = now;
      windowBytes = 0;
    } else if (!speed && now > started) {
      speed = (bytes - have) / ((now - started) / 1000);
    }
    const eta = total !== undefined && speed > 0 ? Math.max(0, (total - bytes) / speed) : undefined;
    opts.onProgress?.({ bytes, total, speed, etaSeconds: eta, url: current });
  };
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        opts.signal?.removeEventListener('abort', onAbort);
        if (e) {
          res.destroy();
          out.end(() => reject(e));
        } else out.end(() => resolve());
      };
      let idle = setTimeout(() => finish(new DownloadError(`No data from ${current} for ${idleMs} ms.`, true)), idleMs);
      const onAbort = () => finish(new CancelledError());
      opts.signal?.addEventListener('abort', onAbort);
      res.on('data', (chunk: Buffer) => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new DownloadError(`No data from ${current} for ${idleMs} ms.`, true)), idleMs);
        bytes += chunk.length;
        windowBytes += chunk.length;
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
        report(false);
      });
      res.on('aborted', () => finish(new DownloadError(`Connection to ${current} dropped after ${bytes} bytes.`, true)));
      res.on('error', (e) => finish(opts.signal?.aborted ? new CancelledError() : new DownloadError(`Reading ${current} failed after ${bytes} bytes: ${e.message}`, true)));
      res.on('end', () => {
        if (!res.complete) finish(new DownloadError(`Connection to ${current} dropped after ${bytes} bytes.`, true));
        else if (total !== undefined && bytes < total) finish(new DownloadError(`Connection to ${current} ended after ${bytes} of ${total} bytes.`, true));
        else finish();
      });
      out.on('error', (e) => finish(new DownloadError(`Writing ${part} failed: ${e.message}`, false)));
    });
  } finally {
    report(true);
  }
  await finalCheck(part, opts);
}

/** Checks size and digests of the completed part file. */
async function finalCheck(part: string, opts: DownloadOptions): Promise<void> {
  const size = await fileSize(part);
  if (opts.size !== undefined && size !== opts.size) throw new ChecksumError(`Downloaded file has ${size} bytes, expected ${opts.size}.`);
  if (!opts.sha256 && !opts.md5) return;
  const hashes: Hash[] = [];
  const sha = opts.sha256 ? createHash('sha256') : undefined;
  const md5 = opts.md5 ? createHash('md5') : undefined;
  if (sha) hashes.push(sha);
  if (md5) hashes.push(md5);
  await hashExisting(part, hashes);
  if (sha) {
    const got = sha.digest('hex');
    if (got !== opts.sha256!.toLowerCase()) throw new ChecksumError(`SHA-256 mismatch: got ${got}, expected ${opts.sha256}. The download is corrupt and was deleted.`);
  }
  if (md5) {
    const got = md5.digest('hex');
    if (got !== opts.md5!.toLowerCase()) throw new ChecksumError(`MD5 mismatch: got ${got}, expected ${opts.md5}. The download is corrupt and was deleted.`);
  }
}
