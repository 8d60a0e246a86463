/**
 * Serve mode's downloads in the browser: the engine writes exports and runs on its own disk (maybe another
 * machine); prepareDownload gives a short-lived id, and the browser fetches `/download/<id>?token=…` as a
 * file or a zip. The desktop app does not need this: its files are written on this computer, where the user
 * chose. Pure but for the link click, so tests can drive it.
 */
import type { DownloadRequest, EngineApi, PreparedDownload } from '../../../shared/api';

/** True in a browser (serve mode); false in the desktop app, whose preload exposes window.layerforge. */
export function browserDownloads(win: { layerforge?: unknown } | undefined = typeof window === 'undefined' ? undefined : window): boolean {
  return win !== undefined && !win.layerforge;
}

/** The URL the browser fetches: the download's path with the access token. */
export function downloadUrl(d: Pick<PreparedDownload, 'url'>, token: string | null): string {
  return `${d.url}?token=${encodeURIComponent(token ?? '')}`;
}

/** "1.2 MB", "840 kB", "12 bytes". */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** What the browser is fetching, in words: "iris-mlp.zip (3 files, 1.2 MB)". */
export function describeDownload(d: Pick<PreparedDownload, 'fileName' | 'zip' | 'files' | 'bytes'>): string {
  return `${d.fileName} (${d.zip ? `${d.files} file${d.files === 1 ? '' : 's'}, ` : ''}${formatBytes(d.bytes)})`;
}

export interface DownloadDeps {
  fetch(url: string, init: { method: 'GET' | 'HEAD'; cache: 'no-store' }): Promise<{ ok: boolean; status: number; text(): Promise<string> }>;
  /** Starts the browser's download of `url` saved as `fileName`. */
  save(url: string, fileName: string): void;
  token: string | null;
}

/** A link with `download`: the server's Content-Disposition makes it a download, the page stays. */
export function saveByLink(url: string, fileName: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * Asks the engine for a download, checks it with HEAD (so that an expired id or an unreadable file is an
 * error here, in words, not a failed entry in the browser's download list), then starts it.
 */
export async function downloadFromEngine(engine: Pick<EngineApi, 'prepareDownload'>, req: DownloadRequest, deps: DownloadDeps): Promise<PreparedDownload> {
  const d = await engine.prepareDownload(req);
  const url = downloadUrl(d, deps.token);
  const head = await deps.fetch(url, { method: 'HEAD', cache: 'no-store' });
  if (!head.ok) {
    // HEAD has no body: the GET of a refused download is a short text saying why.
    const why = await deps
      .fetch(url, { method: 'GET', cache: 'no-store' })
      .then((r) => (r.ok ? '' : r.text()))
      .catch(() => '');
    throw new Error(why.trim() || `the engine refused the download (HTTP ${head.status})`);
  }
  deps.save(url, d.fileName);
  return d;
}
