/**
 * Reads Keras HDF5 files in a worker thread with a deadline. HDF5 is C compiled to WebAssembly (h5wasm),
 * and on some damaged files (about one byte-mutated fixture in a thousand) it loops forever inside one
 * synchronous call, which nothing in the calling thread can interrupt: the read runs in a worker
 * (readWorker.ts), and a worker that misses its deadline is terminated (terminate() stops running wasm)
 * and the import fails with a ModelImportError. What the worker prints comes back as messages
 * (readWorker.ts), so what h5wasm prints on damaged files ('Aborted(native code called abort())') stays
 * out of the user's terminal and goes into the error message instead. A worker that did its job is kept for the next read (unref'd,
 * ended after a short idle time); one that saw an abort is not reused.
 *
 * Entry of the worker: readWorker.mjs beside this file (it registers tsx: the CLI, `layerforge serve`,
 * vitest), which the Electron build's bundle names out/main/hdf5-worker.js instead (electron.vite.config.ts).
 * If the worker cannot start at all (the entry missing, worker threads unavailable), the read falls back to
 * this thread, as before the worker existed: it works, but a file that hangs the library hangs the caller.
 */
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ModelImportError } from '../errors';
import { readKerasHdf5, type FromReader, type ReadReply, type ReadRequest } from './source';

export interface Hdf5ReadSettings {
  /** Milliseconds a read may take for a file of `bytes` bytes (default: 20 s + 1 s per 10 MB). */
  deadlineMs: (bytes: number) => number;
  /** The worker's entry module (default: readWorker.mjs here, or the build's hdf5-worker.js). */
  workerEntry: string | URL;
  /** How long a worker may take to start (load tsx and h5wasm) before the read falls back to this thread. */
  startMs: number;
  /** How long an idle worker is kept for the next read. */
  idleMs: number;
}

/** 20 s, plus 1 s per 10 MB of file (1 ms per 10 kB): a complete 100 MB file reads in about a second. */
export const defaultDeadlineMs = (bytes: number): number => 20_000 + Math.round(bytes / 10_000);

const DEFAULTS: Hdf5ReadSettings = {
  deadlineMs: defaultDeadlineMs,
  // The Electron build rewrites this file name to the bundle's own worker entry (electron.vite.config.ts).
  workerEntry: new URL('./readWorker.mjs', import.meta.url),
  startMs: 60_000,
  idleMs: 10_000,
};
let settings: Hdf5ReadSettings = { ...DEFAULTS };

/** Changes how HDF5 files are read (tests: a short deadline, a missing entry); no argument restores the defaults. Ends the idle worker. */
export function configureHdf5Reading(changes?: Partial<Hdf5ReadSettings>): void {
  settings = changes ? { ...settings, ...changes } : { ...DEFAULTS };
  idle?.end();
  idle = undefined;
}

/** How reads went in this process (tests check the worker path was taken). */
export const hdf5ReadStats = { inWorker: 0, inProcess: 0, timedOut: 0, workersStarted: 0 };

/** The worker could not be started: the caller reads in this thread instead. */
class StartFailure extends Error {}

const OUTPUT_KEPT = 4000;
let nextId = 1;
let warned = false;

class ReaderWorker {
  readonly worker: Worker;
  /** The tail of what the worker printed since its last request began. */
  output = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private gone: string | undefined;
  private onGone: ((why: string) => void) | undefined;

  private constructor(entry: string | URL) {
    // Not { stdout: true, stderr: true }: a piped worker stream that is read keeps the process alive even
    // after unref() (Node 20), so the worker sends what it prints as messages instead.
    this.worker = new Worker(entry);
    hdf5ReadStats.workersStarted++;
    this.worker.on('message', (m: FromReader) => {
      if (m.type === 'output') this.output = (this.output + m.text).slice(-OUTPUT_KEPT);
    });
    this.worker.on('error', (error: Error) => this.lost(`it failed: ${error.message}`));
    this.worker.on('exit', (code) => this.lost(`it exited (code ${code})`));
  }

  private lost(why: string): void {
    this.gone ??= why;
    this.onGone?.(this.gone);
  }

  /** A started worker that has loaded h5wasm; StartFailure if it cannot get there in time. */
  static async start(): Promise<ReaderWorker> {
    let w: ReaderWorker;
    try {
      w = new ReaderWorker(settings.workerEntry);
    } catch (error) {
      throw new StartFailure(error instanceof Error ? error.message : String(error));
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`it did not start within ${settings.startMs / 1000} s`), settings.startMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        w.worker.off('message', onReady);
        w.onGone = undefined;
        void w.worker.terminate();
        reject(new StartFailure(`${why}${w.output.trim() ? `: ${w.output.trim().slice(-500)}` : ''}`));
      };
      const onReady = (m: FromReader) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        w.worker.off('message', onReady);
        w.onGone = undefined;
        resolve();
      };
      w.worker.on('message', onReady);
      w.onGone = fail;
      if (w.gone) fail(w.gone);
    });
    return w;
  }

  /** Sends one request; rejects with a ModelImportError when the worker misses `deadline` or dies meanwhile. */
  read(request: ReadRequest, deadline: number): Promise<ReadReply> {
    clearTimeout(this.idleTimer);
    this.worker.ref();
    this.output = '';
    const id = nextId++;
    return new Promise<ReadReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.worker.off('message', onMessage);
        this.onGone = undefined;
      };
      const timer = setTimeout(() => {
        done();
        hdf5ReadStats.timedOut++;
        this.end();
        reject(
          new ModelImportError(
            `${request.label ?? request.path} could not be read in time: the HDF5 reader was still busy after ${+(deadline / 1000).toFixed(1)} s and was stopped. The file is probably damaged (a complete file of this size reads in well under that); save it again from Keras, or check that it was copied whole.`,
          ),
        );
      }, deadline);
      const onMessage = (m: FromReader) => {
        if (m.type !== 'reply' || m.id !== id) return;
        done();
        if (m.ok) resolve(m.value);
        else reject(this.failure(m.error));
      };
      this.onGone = (why) => {
        done();
        reject(new ModelImportError(`${request.label ?? request.path}: the HDF5 reader stopped while reading the file (${why}); the file is probably damaged${this.printed()}`));
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ id, request });
      if (this.gone) this.onGone(this.gone);
    });
  }

  /** What the library printed (its abort message), as the end of an error message. */
  private printed(): string {
    const text = this.output.trim();
    return text ? `. The reader said: ${text.slice(-500)}` : '';
  }

  private failure(error: { name: string; message: string; layers?: ModelImportError['layers'] }): Error {
    const printed = this.output.trim();
    const message = printed && !error.message.includes(printed.split('\n')[0]!) ? `${error.message}${this.printed()}` : error.message;
    if (error.name === 'ModelImportError') return new ModelImportError(message, error.layers);
    // Not a problem of the file: a bug, kept as it is (name and message) so that it shows as one.
    const e = new Error(message);
    e.name = error.name;
    return e;
  }

  /** Whether this worker may read another file: alive, and the library did not abort (its state is then undefined). */
  get reusable(): boolean {
    return !this.gone && !/Aborted\(/.test(this.output);
  }

  /** Keeps the worker for the next read without holding the process open; ends it after settings.idleMs. */
  park(): void {
    this.worker.unref();
    this.idleTimer = setTimeout(() => {
      if (idle === this) idle = undefined;
      this.end();
    }, settings.idleMs);
    this.idleTimer.unref();
  }

  end(): void {
    clearTimeout(this.idleTimer);
    this.gone ??= 'ended';
    void this.worker.terminate();
  }
}

/** The worker kept from the last read, if any. */
let idle: ReaderWorker | undefined;

/**
 * Reads a Keras HDF5 file (see source.ts) in a worker thread, within settings.deadlineMs(the file's size).
 * Every problem of the file is a ModelImportError, including a read that does not finish in time.
 */
export async function readHdf5(request: ReadRequest): Promise<ReadReply> {
  const size = await stat(request.path).then(
    (s) => s.size,
    () => 0,
  );
  let worker = idle;
  idle = undefined;
  if (!worker) {
    try {
      worker = await ReaderWorker.start();
    } catch (error) {
      if (!(error instanceof StartFailure)) throw error;
      // Fallback: no worker, so no deadline either (a file that hangs the library would hang this thread).
      if (!warned) console.warn(`layerforge: the HDF5 reader's worker thread could not start (${error.message}); reading HDF5 files in the main thread instead, without a time limit.`);
      warned = true;
      hdf5ReadStats.inProcess++;
      return readKerasHdf5(request);
    }
  }
  hdf5ReadStats.inWorker++;
  try {
    return await worker.read(request, settings.deadlineMs(size));
  } finally {
    if (worker.reusable && !idle) {
      idle = worker;
      worker.park();
    } else worker.end();
  }
}
