/**
 * Training runs. `startRun` trains a graph in a worker thread, so an exception, a NaN loss, an
 * out-of-memory error or a crash in tfjs ends that run with an 'ended' event (reason 'error', naming
 * the cause) and never the caller. The worker keeps the trained model for evaluate / predict / save
 * until `dispose()`.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { AttentionMap } from '../../../shared/api/engine';
import type { Graph } from '../../../shared/graph';
import type { ProjectFile, TrainingSettings } from '../../../shared/project';
import type { LoadedDataset } from '../datasets/types';
import type { InsightOp, InsightReply } from '../insight/types';
import { CONTROL_PAUSE, CONTROL_RUN, CONTROL_STOP, CONTROL_STOP_NOW, type FromWorker, type GenerateReply, type ToWorker, type WorkerOp, type WorkerReplyValue } from './protocol';
import { isOutOfMemory, OOM_HINT } from './oom';
import { workerHeapLimits } from './workerHeap';
import type { BackendName, DatasetRef, EndedEvent, EvaluationResult, GenerateRequest, PredictRequest, RunResult, TrainingEvent } from './types';

export type * from './types';
export type { GenerateReply } from './protocol';

export interface WorkerOptions {
  /** The worker's entry module (default: worker.mjs beside this file). Bundled builds pass their own. */
  workerEntry?: string | URL;
  /** V8 heap limits for the worker (an overrun ends the run with an out-of-memory error). */
  resourceLimits?: ResourceLimits;
}

export interface StartRunRequest extends WorkerOptions {
  graph: Graph;
  settings: TrainingSettings;
  /** The data, decoded, or a dataset id (+ the folder it is in) for the worker to load. */
  dataset: LoadedDataset | DatasetRef;
  /** Train on the first `limit` training images only. */
  limit?: number;
  /** Overrides settings.backend. */
  backend?: BackendName | 'auto';
  /** Project / model name. */
  name?: string;
}

export interface ModelHandle {
  readonly id: string;
  /** The task's metrics on a split of the run's dataset (accuracy, per-class accuracy and confusion matrix; or R², MAE, RMSE), with per-sample predictions when asked. */
  evaluate(split?: 'train' | 'test', limit?: number, withPredictions?: boolean): Promise<EvaluationResult>;
  /** Class probabilities (or [value] for regression) for uint8 samples in the dataset's layout, or standardised table features. */
  predict(samples: PredictRequest): Promise<number[][]>;
  /**
   * Language models: continues a prompt, calling `onPiece` with each piece of text as it is written, and
   * resolves with the whole continuation. An abort of `signal` ends it early (stopped: true). A model that
   * is not a language model (or has no tokenizer) rejects with an Error saying so.
   */
  generate(req: GenerateRequest, onPiece?: (piece: string) => void, signal?: AbortSignal): Promise<GenerateReply>;
  /**
   * Text models with attention: every MultiHeadAttention layer's weights for a text, read with the model's
   * tokenizer (main/engine/text/attention.ts). Rejects (an Error saying why) for a model without a tokenizer
   * or attention layer, or a text without tokens.
   */
  attention(req: { text: string; maxTokens?: number }): Promise<AttentionMap>;
  /**
   * Insight on the model (insight/model.ts): a test sample, a node's activations, Grad-CAM, embeddings, a confusion
   * cell. A run answers between batches while it trains (live: true). Rejects with the worker's message (an
   * InsightError's is encoded: insight/types.ts decodeInsightError).
   */
  insight(op: InsightOp): Promise<InsightReply>;
  /** Writes a model folder (project.json, model.json, weights.bin, metrics.json). */
  save(dir: string, opts?: { project?: ProjectFile; metrics?: Record<string, unknown> }): Promise<void>;
  /** tf.memory() inside the worker. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  /** Ends the worker (and the run, if it is still going). */
  dispose(): Promise<void>;
  /** The worker thread, for fault-injection tests. */
  readonly worker: Worker;
}

export interface RunHandle extends ModelHandle {
  /**
   * Finish the current batch, then end the run keeping the weights. `quick` (a shutdown) also skips the
   * validation of the partial epoch, which can take seconds on a large validation split.
   */
  stop(options?: { quick?: boolean }): void;
  pause(): void;
  resume(): void;
  /** Resolves when the run ends, however it ends (never rejects). */
  readonly done: Promise<RunResult>;
}

let counter = 0;
const newId = () => `run-${Date.now().toString(36)}-${(++counter).toString(36)}`;

function isRef(d: LoadedDataset | DatasetRef): d is DatasetRef {
  return !('train' in d);
}

function crashMessage(error: Error & { code?: string }): string {
  if (isOutOfMemory(error)) return `out of memory: the training worker reached its memory limit and was ended (${error.message}). ${OOM_HINT}`;
  return `the training worker crashed: ${error.message}`;
}

/** Names the run in an out-of-memory message ("run 'Run 3' ran out of memory …", or its id when unnamed), so a log says which one. */
function nameRunInOom(message: string, label: string): string {
  return message.startsWith('out of memory') ? `run ${label} ran ${message}` : message;
}

class WorkerClient {
  readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: WorkerReplyValue) => void; reject: (e: Error) => void; onText?: (piece: string) => void }>();
  exited = false;
  failure: string | null = null;
  /** When idle (run ended, no request pending) the worker does not keep the process alive. */
  idle = false;

  constructor(opts: WorkerOptions, onMessage: (m: FromWorker) => void, onGone: (message: string) => void) {
    const entry = opts.workerEntry ?? new URL('./worker.mjs', import.meta.url);
    // A small young generation by default (workerHeap.ts); limits the caller passes take precedence.
    this.worker = new Worker(entry, { resourceLimits: { ...workerHeapLimits(process.env), ...opts.resourceLimits } });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'reply') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0 && this.idle) this.worker.unref();
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error));
        return;
      }
      if (m.type === 'text') {
        const onText = this.pending.get(m.id)?.onText;
        try {
          onText?.(m.piece);
        } catch (error) {
          console.error('a generation listener failed:', error);
        }
        return;
      }
      onMessage(m);
    });
    this.worker.on('error', (error: Error) => {
      this.failure ??= crashMessage(error);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      const message = (this.failure ??= `the training worker exited unexpectedly (exit code ${code})`);
      for (const p of this.pending.values()) p.reject(new Error(message));
      this.pending.clear();
      onGone(message);
    });
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  /** Sends an op; `onText` gets the 'text' messages the worker posts for it before its reply. */
  request(op: WorkerOp, onText?: (piece: string) => void): Promise<WorkerReplyValue> {
    if (this.exited) return Promise.reject(new Error(this.failure ?? 'the training worker has ended'));
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onText ? { onText } : {}) });
      this.post({ type: 'request', id, op });
    });
  }
}

function modelHandle(id: string, client: WorkerClient, disposeHook: () => void): ModelHandle {
  return {
    id,
    worker: client.worker,
    evaluate: async (split = 'test', limit, withPredictions) =>
      (await client.request({ op: 'evaluate', split, ...(limit ? { limit } : {}), ...(withPredictions ? { withPredictions } : {}) })) as EvaluationResult,
    predict: async (samples) => (await client.request({ op: 'predict', samples })) as number[][],
    generate: async (request, onPiece, signal) => {
      // The worker reads the stop flag between tokens (it never yields to its event loop while writing).
      const cancel = new SharedArrayBuffer(4);
      const flag = new Int32Array(cancel);
      const abort = () => Atomics.store(flag, 0, 1);
      if (signal?.aborted) abort();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        return (await client.request({ op: 'generate', request, cancel }, onPiece)) as GenerateReply;
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    },
    attention: async ({ text, maxTokens }) => (await client.request({ op: 'attention', text, ...(maxTokens ? { maxTokens } : {}) })) as AttentionMap,
    insight: async (request) => (await client.request({ op: 'insight', request })) as InsightReply,
    save: async (dir, opts = {}) => {
      await client.request({ op: 'save', dir, ...opts });
    },
    memory: async () => (await client.request({ op: 'memory' })) as { numTensors: number; numBytes: number },
    dispose: async () => {
      disposeHook();
      if (!client.exited) await client.worker.terminate();
    },
  };
}

/**
 * Starts a training run in a worker thread. `onEvent` gets 'started', throttled 'batch', every 'epoch',
 * 'paused'/'resumed' and exactly one 'ended' (plain data, safe to forward over IPC).
 */
export function startRun(request: StartRunRequest, onEvent: (event: TrainingEvent) => void = () => {}): RunHandle {
  const runId = newId();
  const sab = new SharedArrayBuffer(4);
  const control = new Int32Array(sab);
  let ended = false;
  let disposing = false;
  let lastEpoch = 0;
  let batches = 0;
  let backend = '';
  let resolveDone!: (r: RunResult) => void;
  const done = new Promise<RunResult>((r) => (resolveDone = r));
  const t0 = performance.now();

  const finish = (r: RunResult) => {
    if (ended) return;
    ended = true;
    const result = r.reason === 'error' ? { ...r, message: nameRunInOom(r.message, request.name ? `'${request.name}'` : runId) } : r;
    const ev: EndedEvent = { type: 'ended', reason: result.reason, message: result.message, epochsCompleted: result.epochsCompleted, batchesCompleted: result.batchesCompleted };
    client.idle = true;
    if (client.pendingCount === 0) client.worker.unref();
    onEvent(ev);
    resolveDone(result);
  };

  const client = new WorkerClient(
    request,
    (m) => {
      if (m.type === 'event') {
        if (ended) return;
        if (m.event.type === 'started') backend = m.event.backend;
        if (m.event.type === 'epoch') lastEpoch = m.event.epoch;
        if (m.event.type === 'batch') batches = Math.max(batches, (m.event.epoch - 1) * m.event.batches + m.event.batch);
        onEvent(m.event);
      } else if (m.type === 'done') {
        finish(m.result);
      }
    },
    (message) => {
      finish({
        runId,
        reason: disposing ? 'stopped' : 'error',
        message: disposing ? 'the run was disposed before it ended' : message,
        backend,
        epochsCompleted: lastEpoch,
        batchesCompleted: batches,
        trainImages: 0,
        imagesTrained: 0,
        trainImagesPerSecond: 0,
        elapsedMs: performance.now() - t0,
        history: [],
      });
    },
  );
  const { graph, settings, limit, name } = request;
  client.post({
    type: 'start',
    runId,
    control: sab,
    request: { graph, settings, ...(limit ? { limit } : {}), ...(request.backend ? { backend: request.backend } : {}), ...(name ? { name } : {}) },
    dataset: isRef(request.dataset) ? null : request.dataset,
    datasetRef: isRef(request.dataset) ? request.dataset : null,
  });
  const set = (v: number) => {
    const now = Atomics.load(control, 0);
    if (now === CONTROL_STOP_NOW || (now === CONTROL_STOP && v !== CONTROL_STOP_NOW)) return;
    Atomics.store(control, 0, v);
    Atomics.notify(control, 0);
  };
  return {
    ...modelHandle(runId, client, () => {
      disposing = true;
    }),
    stop: (options) => set(options?.quick ? CONTROL_STOP_NOW : CONTROL_STOP),
    pause: () => set(CONTROL_PAUSE),
    resume: () => set(CONTROL_RUN),
    done,
  };
}

/** Opens a saved model folder in a worker, for evaluate / predict / save (and to check a checkpoint round trip). */
export async function openModel(opts: WorkerOptions & { dir: string; dataset?: LoadedDataset | DatasetRef; backend?: BackendName | 'auto' }): Promise<ModelHandle & { backend: string }> {
  let settle!: (m: Extract<FromWorker, { type: 'opened' }>) => void;
  const opened = new Promise<Extract<FromWorker, { type: 'opened' }>>((r) => (settle = r));
  const client = new WorkerClient(
    opts,
    (m) => {
      if (m.type === 'opened') settle(m);
    },
    (message) => settle({ type: 'opened', ok: false, error: message }),
  );
  const ds = opts.dataset ?? null;
  client.post({ type: 'open', runId: newId(), dir: opts.dir, backend: opts.backend ?? 'auto', dataset: ds && !isRef(ds) ? ds : null, datasetRef: ds && isRef(ds) ? ds : null });
  const m = await opened;
  if (!m.ok) {
    if (!client.exited) await client.worker.terminate();
    throw new Error(`cannot open the model in ${opts.dir}: ${m.error}`);
  }
  return { ...modelHandle(newId(), client, () => {}), backend: m.backend ?? '' };
}
