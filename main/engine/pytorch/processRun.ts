/**
 * A training run as a process: the generated train.py under torchrun (or any command that speaks its
 * protocol), watched from Node. Its rank 0 prints one JSON object per line on stdout, the fields of our
 * TrainingEvent (started, batch, epoch, paused, resumed, ended) plus {"type":"checkpoint"}; other output never
 * starts with '{'. Those lines become the same events a tfjs run sends, so the run store, the live charts and
 * the CLI never know which engine ran.
 *
 * Control goes through a file, OUT/control, holding `run`, `pause`, `stop` or `stop-now` (read by rank 0
 * between batches and broadcast to every rank). The process runs in its own process group: dispose (and this
 * Node process exiting) ends the whole group, torchrun and every rank, so nothing is left behind.
 *
 * When the process ends, the weights come back (OUT/weights.safetensors -> a model folder) and the handle
 * answers evaluate / predict / save through openModel on that folder, exactly as a tfjs run's handle does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Graph } from '../../../shared/graph';
import { analyzeGraph } from '../../../shared/graph';
import type { TrainingSettings } from '../../../shared/project';
import { getTask, outputInfo } from '../../../shared/tasks';
import type { ModelHandle, RunHandle, WorkerOptions } from '../training';
import type { BatchEvent, DatasetRef, EndedEvent, EndReason, EpochEvent, EpochMetrics, ModelSummary, RunResult, StartedEvent, TrainingEvent } from '../training/types';
import { withPytorchMalloc } from './mallocEnv';

export type ControlWord = 'run' | 'pause' | 'stop' | 'stop-now';

/** A RunHandle whose model lives in a process until it ends (then in a worker, through openModel). */
export type ProcessRunHandle = RunHandle & {
  /** The run folder: the bundle, train.log, the checkpoints, the weights and the model folder. */
  readonly dir: string;
  /** The process id of torchrun (the leader of its process group), once started. */
  readonly pid: () => number | undefined;
};

export interface ProcessRunRequest extends WorkerOptions {
  runId?: string;
  graph: Graph;
  settings: TrainingSettings;
  /** The dataset the process reads (by id and folder); evaluate later opens the same. */
  dataset: DatasetRef;
  name?: string;
  /** The run folder (created). */
  dir: string;
  /** Removes `dir` on dispose (a temporary folder). */
  removeDirOnDispose?: boolean;
  /** The backend string shown for the run, e.g. "pytorch (torch 1.13.1, CPU, gloo, 2 processes)", and why. */
  backend: string;
  backendReason: string;
  /**
   * Writes what the command needs into `dir` and returns the command: argv, argv[0] an executable (absolute or
   * on PATH), run with `dir` as its working folder. `--out DIR` in it says where OUT is (default: `dir`).
   * It may name the backend better than the request could (after finding Python and torch). A throw ends the
   * run with its message.
   */
  prepare(dir: string): Promise<{ command: string[]; backend?: string; backendReason?: string; notes?: string[] }>;
  /** Turns OUT/weights.safetensors into our model folder at `outDir`. */
  weightsBack(opts: { bundleDir: string; weights: string; outDir: string }): Promise<void>;
  /** Opens the model folder for evaluate / predict / save (main/engine/training openModel). */
  openModel(opts: WorkerOptions & { dir: string; dataset?: DatasetRef }): Promise<ModelHandle>;
  env?: NodeJS.ProcessEnv;
  /** Lines of the process' output that are not metrics, and metrics lines that could not be read. */
  onLog?(line: string): void;
  /** Seconds between SIGTERM and SIGKILL when the process group is ended (default 5). */
  killGraceSeconds?: number;
}

/** Most batch events passed on per second (the last batch of an epoch always is). */
const BATCH_EVENTS_PER_SECOND = 5;
/** Lines of stderr kept for the error message. */
const STDERR_TAIL = 200;

let counter = 0;
const newId = () => `run-${Date.now().toString(36)}-py${(++counter).toString(36)}`;

// ---- the process group: started, ended, never left behind ---------------------------------------------------

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A Node process that exits (normally, or through process.exit) takes its training processes with it.
  process.on('exit', () => {
    for (const pid of liveGroups) killTree(pid, 'SIGKILL');
  });
}

/** Linux: every descendant of `pid` (from /proc), so ranks that left the group are found too. */
function descendants(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  const parent = new Map<number, number>();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        parent.set(Number(name), ppid);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const frontier = [pid];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [child, pp] of parent) {
      if (pp === p && !out.includes(child)) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

/** Signals the process group led by `pid` and every descendant of it. */
export function killTree(pid: number, signal: NodeJS.Signals): void {
  const kids = descendants(pid);
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone (or was never one)
  }
  for (const p of [pid, ...kids]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

// ---- reading the process' output ------------------------------------------------------------------------------

/**
 * Finds the Python exception in stderr lines: the line that ends a traceback ("ModuleNotFoundError: No module
 * named 'x'"). torchrun's own ChildFailedError summary (and the SignalException of a stop) are passed over in
 * favour of the worker's real error, the first one seen.
 */
export class TracebackReader {
  private inTraceback = false;
  readonly exceptions: string[] = [];

  push(line: string): void {
    const text = line.replace(/^\[(?:default)?\d+\]:?\s?/, ''); // torchrun --tee prefixes ("[0]:" or "[default0]:")
    if (/^Traceback \(most recent call last\):/.test(text)) {
      this.inTraceback = true;
      return;
    }
    if (!this.inTraceback) return;
    if (/^\s/.test(text) || text === '') return; // frames and source lines
    this.inTraceback = false;
    if (/^(During handling|The above exception)/.test(text)) return;
    this.exceptions.push(text.trim());
  }

  /** The root cause: the first exception that is not torchrun's summary of a child's failure. */
  get error(): string | null {
    const real = this.exceptions.filter((e) => !/ChildFailedError|SignalException|elastic\.multiprocessing/.test(e));
    return real[0] ?? this.exceptions[0] ?? null;
  }
}

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const record = (v: unknown): Record<string, number> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number'));
};
const recordOrNull = (v: unknown): Record<string, number> | null => (v && typeof v === 'object' && !Array.isArray(v) ? record(v) : null);
const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Our summary of the model, from the graph (train.py knows its PyTorch modules, not our names and shapes). */
export function modelSummaryOf(graph: Graph, settings: TrainingSettings, name: string, taskId: string | undefined, classes: number): ModelSummary {
  const analysis = analyzeGraph(graph);
  const task = getTask(taskId);
  const inputId = analysis.inputs[0];
  const outputId = analysis.outputs[0];
  const out = outputId ? outputInfo(graph, analysis, outputId) : undefined;
  let loss = task.id === 'regression' ? 'mean squared error' : 'cross-entropy';
  if (out) {
    try {
      loss = task.plan(out, { classes, mean: 0, std: 1 }, settings.loss).describe;
    } catch {
      // the task check reports this before a run starts
    }
  }
  return {
    name,
    params: analysis.totals.params,
    trainableParams: analysis.totals.params,
    layers: graph.nodes.filter((n) => n.type !== 'Input').length,
    inputShape: [...((inputId ? analysis.nodes[inputId]?.shape : undefined) ?? [])],
    outputShape: [...(out?.shape ?? [])],
    classes: task.id === 'classification' ? classes : 0,
    task: task.id,
    loss,
  };
}

interface Tally {
  started: StartedEvent | null;
  lastEpoch: number;
  batches: number;
  history: EpochMetrics[];
  ended: { reason: EndReason; message: string; epochsCompleted: number; batchesCompleted: number } | null;
  checkpoint: string | null;
  lastBatchSent: number;
}

/**
 * One parsed metrics line as a TrainingEvent (null: not an event: a checkpoint, or a line that is not ours,
 * said through `log`). Missing optional fields get the neutral values a tfjs run would send.
 */
export interface EventContext {
  runId: string;
  backend: string;
  backendReason: string;
  graph: Graph;
  settings: TrainingSettings;
  name: string;
  dataset: DatasetRef;
  /** Added to the 'started' event's notes (e.g. where the run folder is). */
  notes: string[];
}

export function toTrainingEvent(o: Record<string, unknown>, ctx: EventContext, tally: Tally): TrainingEvent | null {
  switch (o.type) {
    case 'started': {
      const ds = isObject(o.dataset) ? o.dataset : {};
      const classNames = Array.isArray(ds.classNames) ? ds.classNames.map(String) : [];
      const task = typeof o.task === 'string' ? o.task : 'classification';
      const ours = modelSummaryOf(ctx.graph, ctx.settings, ctx.name, task, classNames.length);
      const fromPy = isObject(o.model) ? o.model : {};
      const notes = [...ctx.notes, ...(Array.isArray(o.notes) ? o.notes.map(String) : [])];
      const e: StartedEvent = {
        type: 'started',
        runId: ctx.runId,
        backend: ctx.backend,
        // Ours names the Python and torch found; train.py's says the same from inside.
        backendReason: ctx.backendReason || (typeof o.backendReason === 'string' ? o.backendReason : ''),
        model: { ...ours, ...(typeof fromPy.params === 'number' ? { params: fromPy.params } : {}), ...(typeof fromPy.trainableParams === 'number' ? { trainableParams: fromPy.trainableParams } : {}) },
        dataset: {
          id: typeof ds.id === 'string' ? ds.id : ctx.dataset.id,
          name: typeof ds.name === 'string' ? ds.name : ctx.dataset.id,
          classNames,
          kind: ds.kind === 'table' ? 'table' : 'image',
          ...(typeof ds.target === 'string' ? { target: ds.target } : {}),
        },
        task: ours.task,
        trainImages: num(o.trainImages),
        valImages: num(o.valImages),
        validation: o.validation === 'validation-split' || o.validation === 'none' ? o.validation : 'test',
        epochs: num(o.epochs, ctx.settings.epochs),
        batchSize: num(o.batchSize, ctx.settings.batchSize),
        batchesPerEpoch: num(o.batchesPerEpoch),
        settings: ctx.settings,
        notes,
      };
      tally.started = e;
      return e;
    }
    case 'batch': {
      const epochs = num(o.epochs, tally.started?.epochs ?? ctx.settings.epochs);
      const batches = num(o.batches, tally.started?.batchesPerEpoch ?? 0);
      const e: BatchEvent = {
        type: 'batch',
        epoch: num(o.epoch, 1),
        epochs,
        batch: num(o.batch, 1),
        batches,
        loss: num(o.loss, NaN),
        accuracy: numOrNull(o.accuracy),
        metrics: record(o.metrics),
        batchLoss: num(o.batchLoss, num(o.loss, NaN)),
        imagesPerSecond: num(o.imagesPerSecond),
        elapsedMs: num(o.elapsedMs),
        etaMs: num(o.etaMs),
        learningRate: num(o.learningRate, ctx.settings.learningRate),
      };
      if (e.accuracy !== null && e.metrics.accuracy === undefined) e.metrics.accuracy = e.accuracy;
      tally.batches = Math.max(tally.batches, (e.epoch - 1) * e.batches + e.batch);
      return e;
    }
    case 'epoch': {
      const e: EpochEvent = {
        type: 'epoch',
        epoch: num(o.epoch, tally.lastEpoch + 1),
        epochs: num(o.epochs, tally.started?.epochs ?? ctx.settings.epochs),
        loss: num(o.loss, NaN),
        accuracy: numOrNull(o.accuracy),
        valLoss: numOrNull(o.valLoss),
        valAccuracy: numOrNull(o.valAccuracy),
        metrics: record(o.metrics),
        valMetrics: recordOrNull(o.valMetrics),
        imagesPerSecond: num(o.imagesPerSecond),
        elapsedMs: num(o.elapsedMs),
        etaMs: num(o.etaMs),
        learningRate: num(o.learningRate, ctx.settings.learningRate),
        numTensors: num(o.numTensors),
      };
      if (e.accuracy !== null && e.metrics.accuracy === undefined) e.metrics.accuracy = e.accuracy;
      if (e.valAccuracy !== null && e.valMetrics && e.valMetrics.accuracy === undefined) e.valMetrics.accuracy = e.valAccuracy;
      if (e.valAccuracy !== null && !e.valMetrics) e.valMetrics = { accuracy: e.valAccuracy };
      tally.lastEpoch = e.epoch;
      tally.history.push({
        epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, valLoss: e.valLoss, valAccuracy: e.valAccuracy, metrics: e.metrics, valMetrics: e.valMetrics,
        learningRate: e.learningRate, imagesPerSecond: e.imagesPerSecond, elapsedMs: e.elapsedMs,
      });
      return e;
    }
    case 'paused':
      return { type: 'paused', epoch: num(o.epoch, tally.lastEpoch + 1), batch: num(o.batch) };
    case 'resumed':
      return { type: 'resumed' };
    case 'checkpoint':
      if (typeof o.path === 'string') tally.checkpoint = o.path;
      return null;
    case 'ended': {
      const reasons: EndReason[] = ['completed', 'stopped', 'early-stopped', 'error'];
      const reason = reasons.includes(o.reason as EndReason) ? (o.reason as EndReason) : 'completed';
      tally.ended = {
        reason,
        message: typeof o.message === 'string' ? o.message : reason,
        epochsCompleted: num(o.epochsCompleted, tally.lastEpoch),
        batchesCompleted: num(o.batchesCompleted, tally.batches),
      };
      return null; // sent once, when the process has ended and the weights are back
    }
    default:
      return null;
  }
}

/** `--out X` in a command (relative to `cwd`), else `cwd`. */
export function outDirOf(command: string[], cwd: string): string {
  const i = command.indexOf('--out');
  if (i >= 0 && command[i + 1]) return resolve(cwd, command[i + 1]!);
  const eq = command.find((a) => a.startsWith('--out='));
  return eq ? resolve(cwd, eq.slice('--out='.length)) : cwd;
}

/**
 * Starts a training process and returns its handle. `onEvent` gets 'started', batch events (at most a few per
 * second), every 'epoch', 'paused'/'resumed', and exactly one 'ended' after the process has exited and its
 * weights are back. Never throws: a failure to start ends the run with reason 'error'.
 */
export function startProcessRun(request: ProcessRunRequest, onEvent: (event: TrainingEvent) => void = () => {}): ProcessRunHandle {
  const runId = request.runId ?? newId();
  const dir = resolve(request.dir);
  const t0 = performance.now();
  const tally: Tally = { started: null, lastEpoch: 0, batches: 0, history: [], ended: null, checkpoint: null, lastBatchSent: 0 };
  const ctx: EventContext = { runId, backend: request.backend, backendReason: request.backendReason, graph: request.graph, settings: request.settings, name: request.name ?? 'model', dataset: request.dataset, notes: [] };
  const log = (line: string) => {
    try {
      request.onLog?.(line);
    } catch {
      // a logger must not end the run
    }
  };
  const traceback = new TracebackReader();
  const stderrTail: string[] = [];
  let child: ChildProcess | null = null;
  let controlWord: ControlWord = 'run';
  let controlFile: string | null = null;
  let controlWrite: Promise<void> = Promise.resolve();
  let disposing = false;
  let ended = false;
  let model: Promise<ModelHandle> | null = null;
  let openedModel: ModelHandle | null = null;
  let modelDir: string | null = null;
  let logFile: WriteStream | null = null;

  const emit = (e: TrainingEvent) => {
    try {
      onEvent(e);
    } catch (error) {
      console.error('a training event listener failed:', error);
    }
  };

  const writeControl = (word: ControlWord) => {
    // stop-now is final; stop is only overridden by stop-now (as the tfjs run's control word).
    if (controlWord === 'stop-now' || (controlWord === 'stop' && word !== 'stop-now')) return;
    controlWord = word;
    const file = controlFile;
    if (!file) return; // written before the process starts
    controlWrite = controlWrite.then(async () => {
      // Atomic: rank 0 never reads half a word.
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${controlWord}\n`);
      await rename(tmp, file);
    }).catch((error: unknown) => log(`writing the control file failed: ${error instanceof Error ? error.message : String(error)}`));
  };

  const result = (reason: EndReason, message: string): RunResult => {
    const elapsedMs = performance.now() - t0;
    const trainImages = tally.started?.trainImages ?? 0;
    return {
      runId,
      reason,
      message,
      backend: ctx.backend,
      epochsCompleted: tally.ended?.epochsCompleted ?? tally.lastEpoch,
      batchesCompleted: tally.ended?.batchesCompleted ?? tally.batches,
      trainImages,
      imagesTrained: 0,
      trainImagesPerSecond: 0,
      elapsedMs,
      history: tally.history,
    };
  };

  /** RunResult fields train.py wrote to OUT/result.json (numbers and its history), over ours. */
  const readResultFile = async (outDir: string, base: RunResult): Promise<RunResult> => {
    const file = join(outDir, 'result.json');
    if (!existsSync(file)) return base;
    try {
      const r = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      const merged: RunResult = { ...base };
      for (const k of ['epochsCompleted', 'batchesCompleted', 'trainImages', 'imagesTrained', 'trainImagesPerSecond', 'trainMs', 'validationMs'] as const) {
        if (typeof r[k] === 'number' && Number.isFinite(r[k])) (merged as unknown as Record<string, number>)[k] = r[k];
      }
      if (Array.isArray(r.history) && r.history.length >= base.history.length) merged.history = r.history as EpochMetrics[];
      return merged;
    } catch (error) {
      log(`result.json could not be read: ${error instanceof Error ? error.message : String(error)}`);
      return base;
    }
  };

  const run = async (): Promise<RunResult> => {
    let command: string[];
    try {
      await mkdir(dir, { recursive: true });
      const prepared = await request.prepare(dir);
      command = prepared.command;
      if (!command.length) throw new Error('the bundle gave no command to run');
      if (prepared.backend) ctx.backend = prepared.backend;
      if (prepared.backendReason) ctx.backendReason = prepared.backendReason;
      if (prepared.notes) ctx.notes.push(...prepared.notes);
    } catch (error) {
      return result('error', `the PyTorch run could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
    const outDir = outDirOf(command, dir);
    await mkdir(outDir, { recursive: true });
    controlFile = join(outDir, 'control');
    await writeFile(controlFile, `${controlWord}\n`);
    if (disposing) return result('stopped', 'the run was disposed before it started');
    logFile = createWriteStream(join(dir, 'train.log'), { flags: 'a' });
    logFile.on('error', () => {});

    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: string }>((res) => {
      try {
        child = spawn(command[0]!, command.slice(1), {
          cwd: dir,
          detached: true, // its own process group, ended as one
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...withPytorchMalloc(request.env ?? process.env), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
        });
      } catch (error) {
        res({ code: null, signal: null, spawnError: error instanceof Error ? error.message : String(error) });
        return;
      }
      const c = child;
      c.on('error', (error: Error & { code?: string }) => res({ code: null, signal: null, spawnError: error.code === 'ENOENT' ? `${command[0]} was not found` : error.message }));
      let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      c.on('exit', (code, signal) => {
        exited = { code, signal };
        // Ranks that outlive torchrun (it was killed) go with it; they may hold the output pipes open, so the
        // end is taken from 'exit' when 'close' does not follow within a few seconds.
        if (c.pid !== undefined) killTree(c.pid, 'SIGKILL');
        setTimeout(() => res(exited!), 3000).unref();
      });
      c.on('close', (code, signal) => res(exited ?? { code, signal }));
      if (c.pid !== undefined) {
        liveGroups.add(c.pid);
        installExitHook();
      }
      lines(c.stdout!, (line) => {
        logFile?.write(`${line}\n`);
        if (!line.startsWith('{')) {
          log(line);
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          log(`a metrics line could not be read (ignored): ${line.slice(0, 200)}`);
          return;
        }
        if (!isObject(parsed) || typeof parsed.type !== 'string') {
          log(`a metrics line has no type (ignored): ${line.slice(0, 200)}`);
          return;
        }
        if (ended) return;
        const e = toTrainingEvent(parsed, ctx, tally);
        if (!e) {
          if (!['checkpoint', 'ended'].includes(parsed.type)) log(`an unknown metrics line (ignored): ${line.slice(0, 200)}`);
          return;
        }
        if (e.type === 'batch') {
          const now = performance.now();
          if (e.batch !== e.batches && now - tally.lastBatchSent < 1000 / BATCH_EVENTS_PER_SECOND) return;
          tally.lastBatchSent = now;
        }
        emit(e);
      });
      lines(c.stderr!, (line) => {
        logFile?.write(`${line}\n`);
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
        traceback.push(line);
        log(line);
      });
    });
    const pid = (child as ChildProcess | null)?.pid;
    const outcome = await exit;
    if (pid !== undefined) liveGroups.delete(pid);
    await new Promise<void>((r) => (logFile ? logFile.end(r) : r()));
    if (outcome.spawnError) return result('error', `could not start the PyTorch run: ${outcome.spawnError}`);
    if (disposing && !tally.ended) return result('stopped', 'the run was disposed before it ended');

    const weights = join(outDir, 'weights.safetensors');
    const failed = outcome.code !== 0 || tally.ended?.reason === 'error';
    if (failed) {
      const why =
        (tally.ended?.reason === 'error' ? tally.ended.message : null) ??
        traceback.error ??
        stderrTail.filter((l) => l.trim()).at(-1) ??
        null;
      const how = outcome.signal ? `was ended by ${outcome.signal}` : `exited with code ${outcome.code}`;
      return result('error', why ? `train.py failed: ${why}` : `train.py ${how} without saying why (see ${join(dir, 'train.log')})`);
    }
    if (!existsSync(weights)) return result('error', `train.py ended without writing ${weights}`);
    const base = result(tally.ended?.reason ?? 'completed', tally.ended?.message ?? 'completed');
    const final = await readResultFile(outDir, base);
    try {
      modelDir = join(dir, 'model');
      await request.weightsBack({ bundleDir: dir, weights, outDir: modelDir });
    } catch (error) {
      modelDir = null;
      return { ...final, reason: 'error', message: `bringing the PyTorch weights back failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    return final;
  };

  const done: Promise<RunResult> = run()
    .catch((error: unknown) => result('error', `the PyTorch run failed: ${error instanceof Error ? error.message : String(error)}`))
    .then((r) => {
      ended = true;
      const ev: EndedEvent = { type: 'ended', reason: r.reason, message: r.message, epochsCompleted: r.epochsCompleted, batchesCompleted: r.batchesCompleted };
      emit(ev);
      return r;
    });

  const opened = (): Promise<ModelHandle> => {
    model ??= done.then((r) => {
      if (!modelDir) throw new Error(`the PyTorch run has no trained model (${r.reason}: ${r.message})`);
      return request.openModel({ dir: modelDir, dataset: request.dataset, ...(request.workerEntry ? { workerEntry: request.workerEntry } : {}), ...(request.resourceLimits ? { resourceLimits: request.resourceLimits } : {}) });
    }).then((m) => (openedModel = m));
    return model;
  };

  const base = {
    id: runId,
    dir,
    pid: () => (child as ChildProcess | null)?.pid,
    done,
    stop: (options?: { quick?: boolean }) => writeControl(options?.quick ? 'stop-now' : 'stop'),
    pause: () => writeControl('pause'),
    resume: () => writeControl('run'),
    evaluate: async (...args: Parameters<ModelHandle['evaluate']>) => (await opened()).evaluate(...args),
    predict: async (...args: Parameters<ModelHandle['predict']>) => (await opened()).predict(...args),
    generate: async (...args: Parameters<ModelHandle['generate']>) => (await opened()).generate(...args),
    attention: async (...args: Parameters<ModelHandle['attention']>) => (await opened()).attention(...args),
    save: async (...args: Parameters<ModelHandle['save']>) => (await opened()).save(...args),
    memory: async () => (model ? (await model).memory() : { numTensors: 0, numBytes: 0 }),
    dispose: async () => {
      disposing = true;
      const c = child as ChildProcess | null;
      if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        const pid = c.pid;
        killTree(pid, 'SIGTERM');
        const grace = setTimeout(() => killTree(pid, 'SIGKILL'), (request.killGraceSeconds ?? 5) * 1000);
        await done;
        clearTimeout(grace);
      } else if (!ended && !c) {
        await done;
      }
      if (model) await model.then((m) => m.dispose()).catch(() => {});
      if (request.removeDirOnDispose) await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
  };
  // Requests a tfjs ModelHandle gains later (insight ops, …) go to the opened model too.
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'worker') return openedModel?.worker; // the model's worker, once the weights are back and opened
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return async (...args: unknown[]) => {
        const m = (await opened()) as unknown as Record<string, unknown>;
        const f = m[prop];
        if (typeof f !== 'function') throw new Error(`a PyTorch run's model has no '${prop}'`);
        return (f as (...a: unknown[]) => unknown).apply(m, args);
      };
    },
  }) as unknown as ProcessRunHandle & { worker: Worker };
}

/** Calls `onLine` with each line of a stream (without its newline), the last one too. */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
    buf = '';
  });
}
