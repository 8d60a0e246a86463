/**
 * `layerforge serve` stops on Ctrl+C (SIGINT) and SIGTERM: the real CLI is spawned, signalled, and must
 * exit with status 0 within 2 s, a running training stopped and its model saved, nothing left behind.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { signalLatch } from './serve';
import { createClient, ENGINE_NAMES, type EngineApi, type TrainingProgress } from '../../../shared/api';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { writeTinyCifar10 } from '../../engine/service/tinyCifar';
import { connectWebSocket } from '../../server/wsTransport';
import { createEngine } from '../../engine/service/wiring';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Served {
  child: ChildProcessWithoutNullStreams;
  port: number;
  dataDir: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const TOKEN = 'signal-test-token';

async function serve(): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lf-serve-signal-'));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [join(root, 'bin/layerforge.mjs'), 'serve', '--no-open', '--port', '0', '--token', TOKEN], {
    cwd: root,
    env: { ...process.env, LAYERFORGE_DATA_DIR: join(dataDir, 'data') },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m && out.includes('Press Ctrl+C to stop.')) resolve(Number(m[1]));
    });
    void exited.then((e) => reject(new Error(`serve exited before listening (${e.code ?? e.signal}): ${err}`)));
  });
  return { child, port, dataDir, stderr: () => err, exited };
}

describe('layerforge serve: Ctrl+C and SIGTERM', () => {
  it('SIGTERM with no browser connected: exits 0 within 2 s', async () => {
    const s = await serve();
    const sent = Date.now();
    s.child.kill('SIGTERM');
    const e = await s.exited;
    expect(e, s.stderr()).toMatchObject({ code: 0, signal: null });
    expect(e.at - sent).toBeLessThan(2000);
    expect(s.stderr()).toMatch(/SIGTERM: stopping/);
  }, 60_000);

  it('Ctrl+C during a training: the run is stopped and saved, the process exits 0 within 2 s', async () => {
    const s = await serve();
    const { transport, socket } = await connectWebSocket(`ws://127.0.0.1:${s.port}/api?token=${TOKEN}`, { origin: `http://127.0.0.1:${s.port}` });
    const engine = createClient<EngineApi>(ENGINE_NAMES, transport);
    await engine.importDataset({ path: writeTinyCifar10(join(s.dataDir, 'src'), 100, 50), as: 'cifar10' });
    const graph = parseProjectText(readFileSync(join(root, 'resources/templates/cifar10-cnn.json'), 'utf8')).graph;
    const batches = new Promise<void>((resolve) =>
      engine.onTrainingProgress((p: TrainingProgress) => {
        if (p.batches.length > 0) resolve();
      }),
    );
    const run = await engine.startTraining({ graph, datasetId: 'cifar10', settings: { ...defaultTrainingSettings(), epochs: 500, batchSize: 16, backend: 'wasm' } });
    await batches;
    const sent = Date.now();
    s.child.kill('SIGINT');
    const e = await s.exited;
    socket.terminate();
    expect(e, s.stderr()).toMatchObject({ code: 0, signal: null });
    expect(e.at - sent).toBeLessThan(2000);
    expect(s.stderr()).toMatch(/SIGINT: stopping/);
    expect(s.stderr()).toMatch(/stopped 1 training run\(s\); their models are saved/);
    const modelDir = join(s.dataDir, 'data', 'runs', run.id, 'model');
    expect(existsSync(modelDir) && readdirSync(modelDir).length > 0, `${modelDir} holds the saved model`).toBe(true);
    // The process is gone with every thread (training workers are threads of it): signal 0 finds nothing.
    expect(() => process.kill(s.child.pid!, 0)).toThrow();
    // The next start finds the run stopped with its model; its evaluation, skipped at shutdown, comes on first look.
    const again = createEngine({ dataDir: join(s.dataDir, 'data'), host: 'test' });
    try {
      const detail = await again.getRun({ runId: run.id });
      expect(detail).toMatchObject({ status: 'stopped', hasModel: true });
      expect(detail.evaluation?.count).toBe(50);
    } finally {
      await again.dispose();
    }
  }, 120_000);
});

describe('signalLatch', () => {
  it('keeps the first signal (also one before wait), and a second one exits at once with 130', async () => {
    const handlers = new Map<string, (sig: NodeJS.Signals) => void>();
    const proc = {
      on: (sig: string, cb: (s: NodeJS.Signals) => void) => handlers.set(sig, cb),
      off: (sig: string) => handlers.delete(sig),
      exit: vi.fn(),
    };
    const lines: string[] = [];
    const latch = signalLatch({ err: (l: string) => lines.push(l) }, proc as never);
    handlers.get('SIGTERM')!('SIGTERM');
    expect(latch.signal).toBe('SIGTERM');
    await expect(latch.wait()).resolves.toBe('SIGTERM');
    handlers.get('SIGINT')!('SIGINT');
    expect(proc.exit).toHaveBeenCalledWith(130);
    expect(lines[0]).toMatch(/SIGINT again: exiting now/);
    latch.dispose();
    expect(handlers.size).toBe(0);
  });
});
