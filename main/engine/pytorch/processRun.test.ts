/**
 * The process runner against a fake train.py (testing/fake_train.py: the protocol without torch): metrics lines
 * become TrainingEvents, pause / resume / stop go through the control file, a crash ends the run with the
 * Python exception, and dispose leaves no process behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import type { ModelHandle } from '../training';
import type { EvaluationResult, TrainingEvent } from '../training/types';
import { onPath } from './backend';
import { startProcessRun, TracebackReader, type ProcessRunRequest } from './processRun';
import { PYTORCH_MALLOC_ENV } from './mallocEnv';

const FAKE = fileURLToPath(new URL('./testing/fake_train.py', import.meta.url));
const PYTHON = ['/usr/bin/python3', onPath('python3', process.env)].find((p): p is string => Boolean(p && existsSync(p)));
const root = mkdtempSync(join(tmpdir(), 'lf-procrun-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const graph = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8')).graph;
let n = 0;

const fakeEvaluation: EvaluationResult = { split: 'test', task: 'classification', count: 8, loss: 1, accuracy: 0.5, metrics: { accuracy: 0.5 }, classNames: ['a', 'b'], perClassAccuracy: [0.5, 0.5], confusion: [[2, 2], [2, 2]], imagesPerSecond: 1 };

function request(mode: string, extra: Partial<ProcessRunRequest> & { fakeEnv?: Record<string, string> } = {}) {
  const calls = { weightsBack: [] as { weights: string; outDir: string }[], opened: [] as string[], logs: [] as string[] };
  const { fakeEnv, ...rest } = extra;
  const req: ProcessRunRequest = {
    graph,
    settings: { ...defaultTrainingSettings(), epochs: 2 },
    dataset: { id: 'cifar10', dataDir: root },
    name: 'fake',
    dir: join(root, `run-${++n}`),
    backend: 'pytorch (torch 0.0-fake, CPU, gloo, 1 process)',
    backendReason: 'forced: the fake',
    prepare: async () => ({ command: [PYTHON!, FAKE, '--out', 'out', '--metrics', '-'] }),
    weightsBack: async ({ weights, outDir }) => {
      calls.weightsBack.push({ weights, outDir });
    },
    openModel: async ({ dir }) => {
      calls.opened.push(dir);
      return { evaluate: async () => fakeEvaluation, dispose: async () => {} } as unknown as ModelHandle;
    },
    env: { ...process.env, FAKE_MODE: mode, ...fakeEnv },
    onLog: (l) => calls.logs.push(l),
    ...rest,
  };
  return { req, calls };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (dead, not yet reaped by its new parent) counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const t = Date.now();
  while (!check()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!PYTHON)('startProcessRun with a fake train.py', () => {
  it('turns the metrics lines into events, brings the weights back and evaluates through the model folder', async () => {
    const { req, calls } = request('normal');
    const events: TrainingEvent[] = [];
    const run = startProcessRun(req, (e) => events.push(e));
    const result = await run.done;
    expect(result).toMatchObject({ reason: 'completed', backend: req.backend, epochsCompleted: 2, batchesCompleted: 10, trainImagesPerSecond: 123, trainMs: 50 });
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2]);
    const started = events.find((e) => e.type === 'started');
    expect(started).toMatchObject({ backend: req.backend, backendReason: 'forced: the fake', trainImages: 20, batchesPerEpoch: 5, dataset: { classNames: ['a', 'b', 'c'] } });
    // Our model summary, from the graph: train.py does not know our names and shapes.
    expect(started?.type === 'started' && started.model.params).toBeGreaterThan(100_000);
    expect(started?.type === 'started' && started.model.inputShape).toEqual([32, 32, 3]);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'batch').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'ended')).toEqual([{ type: 'ended', reason: 'completed', message: 'completed', epochsCompleted: 2, batchesCompleted: 10 }]);
    expect(events.at(-1)!.type).toBe('ended');
    expect(calls.weightsBack).toEqual([{ weights: join(req.dir, 'out', 'weights.safetensors'), outDir: join(req.dir, 'model') }]);
    expect(calls.logs).toContain('fake train.py starting (this line is not metrics)');
    // PyTorch is started with glibc malloc keeping freed tensor memory mapped (mallocEnv.ts).
    expect(calls.logs).toContain(`malloc: MALLOC_MMAP_THRESHOLD_=${PYTORCH_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_} MALLOC_TRIM_THRESHOLD_=${PYTORCH_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_}`);
    expect(readFileSync(join(req.dir, 'train.log'), 'utf8')).toContain('"type": "epoch"');
    expect(await run.evaluate('test')).toEqual(fakeEvaluation);
    expect(calls.opened).toEqual([join(req.dir, 'model')]);
    await run.dispose();
  });

  it("keeps the user's own malloc settings over ours", async () => {
    const { req, calls } = request('normal', { fakeEnv: { MALLOC_MMAP_THRESHOLD_: '65536' } });
    const result = await startProcessRun(req, () => {}).done;
    expect(result.reason).toBe('completed');
    expect(calls.logs).toContain(`malloc: MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=${PYTORCH_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_}`);
  });

  it('logs bad metrics lines and goes on', async () => {
    const { req, calls } = request('garbage', { fakeEnv: { FAKE_EPOCHS: '1' } });
    const run = startProcessRun(req);
    expect((await run.done).reason).toBe('completed');
    expect(calls.logs.some((l) => l.startsWith('a metrics line could not be read (ignored): {not json'))).toBe(true);
    expect(calls.logs.some((l) => l.startsWith('a metrics line has no type'))).toBe(true);
    expect(calls.logs.some((l) => l.startsWith('an unknown metrics line (ignored): {"type": "mystery"}'))).toBe(true);
    await run.dispose();
  });

  it('pauses, resumes and stops through the control file', async () => {
    const { req, calls } = request('normal', { fakeEnv: { FAKE_EPOCHS: '3', FAKE_BATCHES: '200', FAKE_DELAY: '0.03' } });
    const events: TrainingEvent[] = [];
    const run = startProcessRun(req, (e) => events.push(e));
    await until('a batch', () => events.some((e) => e.type === 'batch'));
    run.pause();
    await until('paused', () => events.some((e) => e.type === 'paused'));
    expect(readFileSync(join(req.dir, 'out', 'control'), 'utf8').trim()).toBe('pause');
    run.resume();
    await until('resumed', () => events.some((e) => e.type === 'resumed'));
    run.stop();
    run.resume(); // a stop is final
    const result = await run.done;
    expect(result.reason).toBe('stopped');
    expect(result.batchesCompleted).toBeLessThan(600);
    expect(readFileSync(join(req.dir, 'out', 'control'), 'utf8').trim()).toBe('stop');
    expect(calls.weightsBack).toHaveLength(1); // a stopped run keeps its weights
    await run.dispose();
  });

  it('a stop before the process starts is written into the control file it starts with', async () => {
    const { req } = request('normal', { fakeEnv: { FAKE_EPOCHS: '5', FAKE_BATCHES: '100' } });
    const run = startProcessRun(req);
    run.stop({ quick: true });
    const result = await run.done;
    expect(result).toMatchObject({ reason: 'stopped', batchesCompleted: 0 });
    await run.dispose();
  });

  it('a Python exception ends the run with its last line', async () => {
    const { req, calls } = request('crash');
    const events: TrainingEvent[] = [];
    const run = startProcessRun(req, (e) => events.push(e));
    const result = await run.done;
    expect(result.reason).toBe('error');
    expect(result.message).toBe("train.py failed: ModuleNotFoundError: No module named 'nonexistent_module_for_the_test'");
    expect(events.at(-1)).toMatchObject({ type: 'ended', reason: 'error' });
    expect(calls.weightsBack).toHaveLength(0);
    await expect(run.evaluate()).rejects.toThrow(/has no trained model \(error: train\.py failed: ModuleNotFoundError/);
    await run.dispose();
  });

  it('an exit without a traceback says the exit code and where the log is', async () => {
    const { req } = request('exit-silent');
    const run = startProcessRun(req);
    const result = await run.done;
    expect(result.reason).toBe('error');
    // The last stderr line is the warning the fake printed: the best clue there is.
    expect(result.message).toBe('train.py failed: a warning on stderr');
    await run.dispose();
  });

  it('a command that is not there, or a bundle that fails, is a clear error', async () => {
    const missing = startProcessRun(request('normal', { prepare: async () => ({ command: ['/nonexistent/python3', 'train.py'] }) }).req);
    expect(await missing.done).toMatchObject({ reason: 'error', message: 'could not start the PyTorch run: /nonexistent/python3 was not found' });
    await missing.dispose();
    const bad = startProcessRun(request('normal', { prepare: async () => { throw new Error('Flatten2 has no PyTorch lowering'); } }).req);
    expect(await bad.done).toMatchObject({ reason: 'error', message: 'the PyTorch run could not start: Flatten2 has no PyTorch lowering' });
    await bad.dispose();
  });

  it('dispose ends the whole process group: no process is left behind', async () => {
    const { req, calls } = request('hang');
    const events: TrainingEvent[] = [];
    const run = startProcessRun({ ...req, killGraceSeconds: 2 }, (e) => events.push(e));
    await until('the child pid', () => calls.logs.some((l) => l.startsWith('child pid ')));
    const child = Number(calls.logs.find((l) => l.startsWith('child pid '))!.slice('child pid '.length));
    const leader = run.pid()!;
    expect(alive(leader) && alive(child)).toBe(true);
    await run.dispose();
    await until('the processes to go', () => !alive(leader) && !alive(child), 10_000);
    expect(events.at(-1)).toMatchObject({ type: 'ended', reason: 'stopped', message: 'the run was disposed before it ended' });
  });
});

describe('TracebackReader', () => {
  it("finds the worker's exception under torchrun's ChildFailedError summary", () => {
    const r = new TracebackReader();
    const stderr = `WARNING:torch.distributed.run:
*****************************************
Setting OMP_NUM_THREADS environment variable for each process to be 1 in default
*****************************************
Traceback (most recent call last):
  File "/run/train.py", line 3, in <module>
    import model
  File "/run/model.py", line 9, in <module>
    raise ValueError("Conv2d: bad padding 'foo'")
ValueError: Conv2d: bad padding 'foo'
ERROR:torch.distributed.elastic.multiprocessing.api:failed (exitcode: 1) local_rank: 0 (pid: 12) of binary: /usr/bin/python3
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/torch/distributed/run.py", line 762, in main
    run(args)
torch.distributed.elastic.multiprocessing.errors.ChildFailedError: 
============================================================
train.py FAILED`;
    for (const l of stderr.split('\n')) r.push(l);
    expect(r.error).toBe("ValueError: Conv2d: bad padding 'foo'");
    expect(r.exceptions).toHaveLength(2);
  });

  it('skips chained "During handling" lines', () => {
    const r = new TracebackReader();
    for (const l of ['Traceback (most recent call last):', '  File "x", line 1', 'KeyError: 3', '', 'During handling of the above exception, another exception occurred:', '', 'Traceback (most recent call last):', '  File "x", line 2', 'RuntimeError: boom']) r.push(l);
    expect(r.exceptions).toEqual(['KeyError: 3', 'RuntimeError: boom']);
  });
});
