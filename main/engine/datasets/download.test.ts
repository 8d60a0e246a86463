import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ChecksumError, DownloadError, download, type DownloadProgress } from './download';
import { startServer, type TestServer } from './testServer';

const body = randomBytes(300_000);
const sha256 = createHash('sha256').update(body).digest('hex');
const md5 = createHash('md5').update(body).digest('hex');

let dir: string;
let server: TestServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lf-dl-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  it('downloads, reports progress and verifies sha256 and md5', async () => {
    server = await startServer(body);
    const events: DownloadProgress[] = [];
    const dest = join(dir, 'f.bin');
    await download(`${server.url}/file`, dest, { sha256, md5, onProgress: (p) => events.push(p), progressIntervalMs: 0 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    const last = events.at(-1)!;
    expect(last.bytes).toBe(body.length);
    expect(last.total).toBe(body.length);
    expect(events.every((e) => e.speed >= 0)).toBe(true);
    expect(events.some((e) => e.etaSeconds !== undefined)).toBe(true);
  });

  it('follows redirects', async () => {
    server = await startServer(body);
    const dest = join(dir, 'f.bin');
    await download(`${server.url}/r1`, dest, { sha256 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(server.requests).toEqual(['/r1', '/r2', '/file']);
  });

  it('a dropped connection leaves a partial file that the next call resumes with Range', async () => {
    server = await startServer(body, { kind: 'drop', after: 120_000 });
    const dest = join(dir, 'f.bin');
    await expect(download(`${server.url}/file`, dest, { sha256, retries: 0 })).rejects.toBeInstanceOf(DownloadError);
    expect(existsSync(dest)).toBe(false);
    const partSize = statSync(`${dest}.part`).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(body.length);
    await download(`${server.url}/file`, dest, { sha256, retries: 0 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(server.ranges).toEqual([undefined, `bytes=${partSize}-`]);
  });

  it('retries by itself, resuming, after a drop', async () => {
    server = await startServer(body, { kind: 'drop', after: 50_000, times: 2 });
    const dest = join(dir, 'f.bin');
    await download(`${server.url}/file`, dest, { sha256, retries: 3 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    // Both drops happen on non-range requests only in our server, so the ranges show a resume at the end.
    expect(server.ranges.at(-1)).toMatch(/^bytes=\d+-$/);
  });

  it('restarts from zero when the server ignores Range', async () => {
    server = await startServer(body, { kind: 'noRange' });
    const dest = join(dir, 'f.bin');
    writeFileSync(`${dest}.part`, body.subarray(0, 1000));
    await download(`${server.url}/file`, dest, { sha256 });
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('corrupt bytes fail the checksum, and nothing is left behind', async () => {
    server = await startServer(body, { kind: 'corrupt' });
    const dest = join(dir, 'f.bin');
    await expect(download(`${server.url}/file`, dest, { sha256 })).rejects.toBeInstanceOf(ChecksumError);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    await expect(download(`${server.url}/file`, dest, { md5 })).rejects.toThrow(/MD5 mismatch/);
  });

  it('a wrong size fails like a bad checksum', async () => {
    server = await startServer(body);
    await expect(download(`${server.url}/file`, join(dir, 'f.bin'), { size: body.length + 1 })).rejects.toThrow(/expected 300001/);
  });

  it('cancels through an AbortSignal and keeps the partial file', async () => {
    server = await startServer(body, { kind: 'ok', chunkDelayMs: 20 });
    const dest = join(dir, 'f.bin');
    const ctl = new AbortController();
    const p = download(`${server.url}/file`, dest, {
      sha256,
      signal: ctl.signal,
      progressIntervalMs: 0,
      onProgress: (e) => {
        if (e.bytes > 50_000) ctl.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(dest)).toBe(false);
    const partSize = statSync(`${dest}.part`).size;
    expect(partSize).toBeLessThan(body.length);
    // And a later call completes it.
    await download(`${server.url}/file`, dest, { sha256 });
    expect(readFileSync(dest).equals(body)).toBe(true);
  });

  it('reports HTTP errors and bad URLs clearly', async () => {
    server = await startServer(body, { kind: 'status', code: 404 });
    await expect(download(`${server.url}/file`, join(dir, 'a'), { retries: 0 })).rejects.toThrow(/HTTP 404/);
    await expect(download('ftp://example.com/x', join(dir, 'b'))).rejects.toThrow(/Unsupported URL scheme/);
  });
});
