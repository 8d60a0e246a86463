import { describe, expect, it } from 'vitest';
import type { DownloadRequest, PreparedDownload } from '../../../shared/api';
import { browserDownloads, describeDownload, downloadFromEngine, downloadUrl, formatBytes, type DownloadDeps } from './download';

const prepared: PreparedDownload = { id: 'abcdefghijklmnopqrstuv', url: '/download/abcdefghijklmnopqrstuv', fileName: 'iris-mlp.zip', zip: true, bytes: 1_234_567, files: 3, expiresAt: '2026-01-01T00:10:00Z' };

function deps(status: number, body = ''): DownloadDeps & { calls: string[]; saved: [string, string][] } {
  const calls: string[] = [];
  const saved: [string, string][] = [];
  return {
    calls,
    saved,
    token: 'tok en',
    fetch: async (url, init) => {
      calls.push(`${init.method} ${url}`);
      return { ok: status < 400, status, text: async () => body };
    },
    save: (url, name) => saved.push([url, name]),
  };
}

describe('browser downloads', () => {
  it('are for the browser only: the desktop app (window.layerforge) writes its files itself', () => {
    expect(browserDownloads({})).toBe(true);
    expect(browserDownloads({ layerforge: {} })).toBe(false);
    expect(browserDownloads(undefined)).toBe(false);
  });

  it('fetch the id with the token, checked by HEAD first, saved under the engine’s file name', async () => {
    const asked: DownloadRequest[] = [];
    const d = deps(200);
    const got = await downloadFromEngine({ prepareDownload: async (req) => (asked.push(req), prepared) }, { kind: 'run', runId: 'run-1' }, d);
    expect(got).toBe(prepared);
    expect(asked).toEqual([{ kind: 'run', runId: 'run-1' }]);
    expect(d.calls).toEqual(['HEAD /download/abcdefghijklmnopqrstuv?token=tok%20en']);
    expect(d.saved).toEqual([['/download/abcdefghijklmnopqrstuv?token=tok%20en', 'iris-mlp.zip']]);
    expect(downloadUrl(prepared, null)).toBe('/download/abcdefghijklmnopqrstuv?token=');
  });

  it('a refused download is an error in the server’s words, and nothing is saved', async () => {
    const d = deps(404, 'This download link has expired: ask the app for the download again.\n');
    await expect(downloadFromEngine({ prepareDownload: async () => prepared }, { kind: 'export', exportId: 'export-1' }, d)).rejects.toThrow(/^This download link has expired/);
    expect(d.saved).toEqual([]);
    const silent = deps(500);
    await expect(downloadFromEngine({ prepareDownload: async () => prepared }, { kind: 'export', exportId: 'export-1' }, silent)).rejects.toThrow('the engine refused the download (HTTP 500)');
  });

  it('say what they fetch', () => {
    expect(describeDownload(prepared)).toBe('iris-mlp.zip (3 files, 1.2 MB)');
    expect(describeDownload({ fileName: 'model.onnx', zip: false, files: 1, bytes: 999 })).toBe('model.onnx (999 bytes)');
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(840_000)).toBe('840 kB');
    expect(formatBytes(512 * 2 ** 20)).toBe('537 MB');
    expect(formatBytes(5e12)).toBe('5.0 TB');
  });
});
