/**
 * Serve-mode downloads: ids (opaque, short-lived), the guards of GET /download/<id> (token, Host, Origin,
 * cross-site), no way to a path the engine did not offer, folders as zips that unzip to the same bytes
 * (weights stored, text deflated), large files streamed without being held in memory, and the Engine's
 * prepareDownload over a real server (an export and a run folder).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type EngineApi, type PreparedDownload } from '../../shared/api';
import { Engine } from '../engine/service';
import { exportDownloadSource, ExportLog, runDownloadSource } from '../engine/service/downloads';
import { fileSlug } from '../../shared/fileSlug';
import type { DatasetsPort, DownloadsPort, TrainingPort } from '../engine/service/ports';
import { contentDisposition, DownloadRegistry, safeFileName, type DownloadError } from './downloads';
import { startServer, type RunningServer } from './index';

const TOKEN = 'download-test-token';
let dir: string;
let server: RunningServer;
let port: DownloadsPort | undefined;
/** A fake engine: only what the server's download hook needs. */
const fakeEngine = { attachDownloads: (p: DownloadsPort | undefined) => (port = p) } as unknown as EngineApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lf-downloads-'));
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>LF</title>');
  writeFileSync(join(dir, 'secret.txt'), 'top secret');
  server = await startServer({ engine: fakeEngine, staticDir: join(dir, 'web'), token: TOKEN });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

function get(path: string, opts: { headers?: Record<string, string>; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const withToken = (d: PreparedDownload, token = TOKEN) => `${d.url}?token=${encodeURIComponent(token)}`;

/** A model folder as the engine writes it: text (deflated) and weights (stored), in sub-folders. */
function modelFolder(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'run.json': Buffer.from(JSON.stringify({ id: 'run-1', history: Array.from({ length: 200 }, (_, i) => ({ epoch: i, loss: 1 / (i + 1) })) })),
    'model/model.json': Buffer.from(JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'] }] })),
    'model/weights.bin': randomBytes(3 * 2 ** 20 + 17),
    'model/metrics.json': Buffer.from('{"reason":"completed"}'),
    'model/empty.txt': Buffer.alloc(0),
    'model/données ü.json': Buffer.from('{"é":1}'),
  };
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), bytes);
  }
  return files;
}

/** The central directory of a zip: each entry's name and compression method (0 stored, 8 deflated). */
function zipMethods(zip: Buffer): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])), at = zip.readUInt32LE(i + 16), n = zip.readUInt16LE(i + 10); n > 0; n--) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const nameLen = zip.readUInt16LE(at + 28);
    out[zip.subarray(at + 46, at + 46 + nameLen).toString('utf8')] = zip.readUInt16LE(at + 10);
    at += 46 + nameLen + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return out;
}

describe('download ids', () => {
  it('are opaque, 128-bit, and expire: then a request hears why (404)', async () => {
    let now = 1_000_000;
    const reg = new DownloadRegistry({ ttlMs: 60_000, now: () => now });
    const f = join(dir, 'a.bin');
    writeFileSync(f, 'abc');
    const d = await reg.offer({ type: 'file', path: f, fileName: 'a.bin' });
    expect(d.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(d.url).toBe(`/download/${d.id}`);
    expect(d.url).not.toContain(dir);
    expect(d).toMatchObject({ fileName: 'a.bin', zip: false, bytes: 3, files: 1, expiresAt: new Date(now + 60_000).toISOString() });
    const other = await reg.offer({ type: 'file', path: f, fileName: 'a.bin' });
    expect(other.id).not.toBe(d.id);
    expect(reg.lookup(d.id)).toEqual({ type: 'file', path: f, fileName: 'a.bin' });
    now += 60_001;
    expect(() => reg.lookup(d.id)).toThrow(/expired/);
    expect(() => reg.lookup('A'.repeat(22))).toThrow(/Unknown download id/);
    expect(() => reg.lookup('../../etc/passwd')).toThrow(/Unknown download id/);
    try {
      reg.lookup(d.id);
    } catch (error) {
      expect((error as DownloadError).status).toBe(404);
    }
  });

  it('are refused at once for what cannot be sent: a missing file, a symbolic link, a file outside the export', async () => {
    const reg = new DownloadRegistry();
    await expect(reg.offer({ type: 'file', path: join(dir, 'missing.bin'), fileName: 'm' })).rejects.toThrow(/cannot read .*missing\.bin: ENOENT/);
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'link.txt'));
    await expect(reg.offer({ type: 'file', path: join(dir, 'link.txt'), fileName: 'l' })).rejects.toThrow(/symbolic link/);
    await expect(reg.offer({ type: 'files', root: join(dir, 'web'), files: [join(dir, 'secret.txt')], fileName: 'x.zip' })).rejects.toThrow(/not inside/);
  });
});

describe('GET /download/<id>', () => {
  it('needs the token, a loopback Host, our own Origin, no cross-site fetch; GET or HEAD only', async () => {
    const f = join(dir, 'guarded.bin');
    writeFileSync(f, 'guarded bytes');
    const d = await port!.offer({ type: 'file', path: f, fileName: 'guarded.bin' });
    expect((await get(d.url)).status).toBe(401);
    expect((await get(withToken(d, 'wrong-token-xxxxxxxx'))).status).toBe(401);
    expect((await get(withToken(d, TOKEN.slice(0, -1)))).status).toBe(401);
    expect((await get(withToken(d), { headers: { host: 'evil.example:80' } })).status).toBe(403);
    expect((await get(withToken(d), { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await get(withToken(d), { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await get(withToken(d), { headers: { 'sec-fetch-site': 'same-site' } })).status).toBe(403);
    const post = await get(withToken(d), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    for (const r of [await get(d.url), await get(withToken(d), { headers: { origin: 'http://evil.example' } })]) expect(r.body.toString()).not.toContain('guarded bytes');
    // Allowed: our page's own fetch (same-origin), a typed URL (none), a plain client (no header).
    const allowed: Record<string, string>[] = [{ 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${server.port}` }, { 'sec-fetch-site': 'none' }, {}];
    for (const headers of allowed) {
      const ok = await get(withToken(d), { headers });
      expect(ok.status).toBe(200);
      expect(ok.body.toString()).toBe('guarded bytes');
    }
  });

  it('has no way to a path: traversal, encoded slashes and unknown ids are 404s that leak nothing', async () => {
    const d = await port!.offer({ type: 'file', path: join(dir, 'guarded.bin'), fileName: 'g.bin' });
    for (const p of ['/download/../secret.txt', '/download/%2e%2e%2fsecret.txt', '/download/..%2f..%2fsecret.txt', `/download/${d.id}/../../secret.txt`, `/download/${d.id}%2f..%2fsecret.txt`, '/download/', '/download/secret.txt', `/download/${encodeURIComponent(join(dir, 'secret.txt'))}`]) {
      const r = await get(`${p}?token=${TOKEN}`);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.body.toString(), p).not.toContain('top secret');
    }
    const unknown = await get(`/download/${'x'.repeat(22)}?token=${TOKEN}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toMatch(/Unknown download id: ask the app for the download again/);
  });

  it('sends one file with its length and a safe Content-Disposition; HEAD gives the headers only', async () => {
    const bytes = randomBytes(100_000);
    const f = join(dir, 'model.onnx');
    writeFileSync(f, bytes);
    const d = await port!.offer({ type: 'file', path: f, fileName: 'model.onnx' });
    const r = await get(withToken(d));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['content-length']).toBe(String(bytes.length));
    expect(r.headers['content-disposition']).toBe(`attachment; filename="model.onnx"; filename*=UTF-8''model.onnx`);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body.equals(bytes)).toBe(true);
    const head = await get(withToken(d), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(head.body.length).toBe(0);
  });

  it('streams a folder as a zip that unzips to the same bytes: weights stored, text deflated, links left out', async () => {
    const root = join(dir, 'run-20260101-120000-abcdef');
    const files = modelFolder(root);
    symlinkSync(join(dir, 'secret.txt'), join(root, 'model', 'secret-link.txt'));
    symlinkSync(dir, join(root, 'outside'));
    const d = await port!.offer({ type: 'folder', root, fileName: 'My run ü.zip' });
    expect(d).toMatchObject({ zip: true, files: Object.keys(files).length, bytes: Object.values(files).reduce((n, b) => n + b.length, 0), fileName: 'My run ü.zip' });
    const r = await get(withToken(d));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/zip');
    expect(r.headers['content-disposition']).toBe(`attachment; filename="My run _.zip"; filename*=UTF-8''My%20run%20%C3%BC.zip`);
    const unzipped = unzipSync(new Uint8Array(r.body));
    expect(Object.keys(unzipped).sort()).toEqual(Object.keys(files).map((n) => `My run ü/${n}`).sort());
    for (const [name, bytes] of Object.entries(files)) expect(Buffer.from(unzipped[`My run ü/${name}`]!).equals(bytes), name).toBe(true);
    expect(r.body.toString('latin1')).not.toContain('top secret');
    const methods = zipMethods(r.body);
    expect(methods['My run ü/model/weights.bin']).toBe(0);
    expect(methods['My run ü/run.json']).toBe(8);
    // Weights are most of it and stored: the zip is about the folder's size.
    expect(r.body.length).toBeLessThan(d.bytes + 4096);
  });

  it('says which file it cannot read (500), and that a folder is gone (404)', async () => {
    const root = join(dir, 'export-gone');
    mkdirSync(root);
    writeFileSync(join(root, 'model.py'), 'x = 1');
    writeFileSync(join(root, 'weights.safetensors'), 'w');
    const d = await port!.offer({ type: 'files', root, files: [join(root, 'model.py'), join(root, 'weights.safetensors')], fileName: 'export-gone.zip' });
    rmSync(join(root, 'weights.safetensors'));
    const r = await get(withToken(d));
    expect(r.status).toBe(500);
    expect(r.body.toString()).toContain(`cannot read ${join(root, 'weights.safetensors')}: ENOENT`);
    const folder = await port!.offer({ type: 'folder', root, fileName: 'x.zip' });
    rmSync(root, { recursive: true });
    const gone = await get(withToken(folder));
    expect(gone.status).toBe(404);
    expect(gone.body.toString()).toContain(`${root} no longer exists`);
  });

  it('streams a large file and a large folder without holding them in memory (a slow reader holds the server back)', async () => {
    const root = join(dir, 'large');
    mkdirSync(root);
    const big = join(root, 'weights.bin');
    const SIZE = 128 * 2 ** 20;
    writeFileSync(big, '');
    truncateSync(big, SIZE); // sparse: no disk, real reads
    writeFileSync(join(root, 'model.json'), '{}');
    // The reader pauses for twice the time this machine takes to read the file (at least 300 ms): a server that
    // did not wait for it would have queued the whole file by then.
    const t0 = performance.now();
    for await (const chunk of createReadStream(big, { highWaterMark: 2 ** 20 })) void chunk;
    const pauseMs = Math.min(10_000, Math.max(300, 2 * (performance.now() - t0)));
    for (const source of [{ type: 'file', path: big, fileName: 'weights.bin' }, { type: 'folder', root, fileName: 'large.zip' }] as const) {
      const d = await port!.offer(source);
      const base = process.memoryUsage().arrayBuffers;
      let peak = 0;
      const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - base));
      const timer = setInterval(sample, 5);
      let pausedPeak = 0;
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.port, path: withToken(d) }, (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            // The reader stops: the server must wait for it, not read the file into its queue.
            res.pause();
            setTimeout(() => {
              pausedPeak = process.memoryUsage().arrayBuffers - base;
              res.resume();
            }, pauseMs);
          });
          res.on('data', (c: Buffer) => (received += c.length));
          res.on('end', resolve);
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      });
      clearInterval(timer);
      sample();
      expect(received).toBeGreaterThanOrEqual(SIZE);
      expect(pausedPeak, `${source.type}: bytes held while the reader paused`).toBeLessThan(48 * 2 ** 20);
      expect(peak, `${source.type}: peak`).toBeLessThan(SIZE / 2);
    }
  }, 90_000);
});

describe('safe file names', () => {
  it('keep no path, quote, control character or header break', () => {
    for (const evil of ['../../etc/passwd', 'a"b.zip', 'x\r\nSet-Cookie: a=b.zip', 'C:\\Windows\\x.zip', '\u202egnp.exe', '...', '']) {
      const h = contentDisposition(evil);
      expect(h).not.toMatch(/[\r\n]/);
      const ascii = /filename="([^"]*)"/.exec(h)![1]!;
      expect(ascii).not.toMatch(/[/\\"]/);
      expect(safeFileName(evil)).not.toMatch(/[/\\\r\n\u202e]|^\./);
      expect(safeFileName(evil).length).toBeGreaterThan(0);
    }
    expect(safeFileName('run-1-onnx.onnx')).toBe('run-1-onnx.onnx');
    expect(fileSlug('Run 3 (Adam) é', 'run')).toBe('run-3-adam-e');
  });
});

describe('what the engine offers', () => {
  it('an export: its one file as itself, or every file it wrote as <folder>.zip; a run: its folder', () => {
    expect(exportDownloadSource({ path: '/x/m.onnx', files: ['/x/m.onnx'] })).toEqual({ type: 'file', path: '/x/m.onnx', fileName: 'm.onnx' });
    expect(exportDownloadSource({ path: '/x/tfjs', files: ['/x/tfjs/model.json', '/x/tfjs/group1-shard1of1.bin'] })).toEqual({
      type: 'files', root: '/x/tfjs', files: ['/x/tfjs/model.json', '/x/tfjs/group1-shard1of1.bin'], fileName: 'tfjs.zip',
    });
    // ONNX of a table: companions beside the .onnx file.
    expect(exportDownloadSource({ path: '/x/m.onnx', files: ['/x/m.onnx', '/x/m.preprocessing.json'] })).toMatchObject({ type: 'files', root: '/x', fileName: 'm.zip' });
    expect(() => exportDownloadSource({ path: '/x/m.onnx', files: ['/x/m.onnx', '/etc/passwd'] })).toThrow(/not all inside/);
    expect(runDownloadSource({ id: 'run-20260101-120000-abcdef', name: 'Run 1' }, '/d/runs/run-20260101-120000-abcdef')).toEqual({
      type: 'folder', root: '/d/runs/run-20260101-120000-abcdef', fileName: 'run-1-20260101-120000-abcdef.zip',
    });
  });

  it('remembers the last exports by opaque id', () => {
    const log = new ExportLog(2);
    const a = log.remember({ path: '/a', files: ['/a'] });
    const b = log.remember({ path: '/b', files: ['/b'] });
    const c = log.remember({ path: '/c', files: ['/c'] });
    expect(a).toMatch(/^export-[0-9a-f]{24}$/);
    expect(log.get(a)).toBeUndefined();
    expect(log.get(b)?.path).toBe('/b');
    expect(log.get(c)?.path).toBe('/c');
  });
});

describe('Engine.prepareDownload over a real server', () => {
  const unused = () => {
    throw new Error('not used');
  };
  function engineIn(dataDir: string) {
    return new Engine({
      dataDir,
      datasets: { list: async () => [] } as unknown as DatasetsPort,
      training: { startRun: unused } as unknown as TrainingPort,
      exporter: {
        async exportModel(_modelDir, format, outPath) {
          mkdirSync(outPath, { recursive: true });
          writeFileSync(join(outPath, 'model.json'), `{"format":"${format}"}`);
          writeFileSync(join(outPath, 'group1-shard1of1.bin'), Buffer.alloc(4096, 1));
          return { path: outPath, files: [join(outPath, 'model.json'), join(outPath, 'group1-shard1of1.bin')], notes: [] };
        },
        importModel: unused,
      },
      host: 'test',
    });
  }

  it('in the desktop app (no server): says downloads are not needed', async () => {
    const engine = engineIn(mkdtempSync(join(tmpdir(), 'lf-dl-engine-')));
    expect((await engine.getInfo()).downloads).toBe(false);
    const error = await engine.prepareDownload({ kind: 'run', runId: 'run-20260101-120000-abcdef' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'failed', details: { reason: 'no-downloads' } });
  });

  it('serves an export it made and a run folder it owns, and nothing else', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lf-dl-engine-'));
    const runId = 'run-20260101-120000-abcdef';
    const runDir = join(dataDir, 'runs', runId);
    const run = { id: runId, name: 'Iris MLP', datasetId: 'table:iris', status: 'completed', createdAt: '2026-01-01T12:00:00Z', epochs: 1, epochsDone: 1, hasModel: true, settings: {}, graph: { nodes: [], edges: [] }, classNames: [], batches: [], epochPoints: [] };
    mkdirSync(join(runDir, 'model'), { recursive: true });
    writeFileSync(join(runDir, 'run.json'), JSON.stringify(run));
    writeFileSync(join(runDir, 'model', 'weights.bin'), Buffer.alloc(10_000, 7));
    const engine = engineIn(dataDir);
    await engine.whenReady();
    const served = await startServer({ engine, staticDir: join(dir, 'web'), token: TOKEN });
    try {
      expect((await engine.getInfo()).downloads).toBe(true);
      const fetchZip = async (d: PreparedDownload) => {
        const r = await new Promise<Reply>((resolve, reject) => {
          request({ host: '127.0.0.1', port: served.port, path: withToken(d) }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          })
            .on('error', reject)
            .end();
        });
        expect(r.status).toBe(200);
        return unzipSync(new Uint8Array(r.body));
      };

      const runZip = await engine.prepareDownload({ kind: 'run', runId });
      expect(runZip).toMatchObject({ fileName: 'iris-mlp-20260101-120000-abcdef.zip', zip: true, files: 2 });
      const entries = await fetchZip(runZip);
      expect(Object.keys(entries).sort()).toEqual(['iris-mlp-20260101-120000-abcdef/model/weights.bin', 'iris-mlp-20260101-120000-abcdef/run.json']);
      expect(Buffer.from(entries['iris-mlp-20260101-120000-abcdef/model/weights.bin']!).equals(readFileSync(join(runDir, 'model', 'weights.bin')))).toBe(true);

      const out = join(dataDir, 'exports', 'iris-mlp-tfjs');
      const exported = await engine.exportModel({ runId, format: 'tfjs', outPath: out });
      expect(exported.exportId).toMatch(/^export-/);
      writeFileSync(join(out, 'not-ours.txt'), 'the user put this here'); // not written by the export: not sent
      const exportZip = await engine.prepareDownload({ kind: 'export', exportId: exported.exportId! });
      expect(exportZip).toMatchObject({ fileName: 'iris-mlp-tfjs.zip', files: 2 });
      expect(Object.keys(await fetchZip(exportZip)).sort()).toEqual(['iris-mlp-tfjs/group1-shard1of1.bin', 'iris-mlp-tfjs/model.json']);

      await expect(engine.prepareDownload({ kind: 'export', exportId: 'export-000000000000000000000000' })).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/export again/) });
      await expect(engine.prepareDownload({ kind: 'run', runId: 'run-20260101-120000-ffffff' })).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      await served.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
