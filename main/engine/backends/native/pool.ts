/**
 * A second thread for our wasm kernels. Our module is single-threaded (no pthreads of its own), so
 * a kernel that can split its work (e.g. the filter gradient over output channels) hands one half
 * to a helper worker that runs the same module on the same shared tfjs memory, does the other half
 * itself, and waits. Hand-off and wait use Atomics on a small shared control block, so a call costs
 * microseconds, not a message round trip. Only with tfjs's threaded build (shared memory) and 2+
 * cores. The kernels are stack-free leaf functions working on disjoint output ranges, so two
 * instances can run at once on one memory.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';

/** An export of one of our modules (native/*.c) that the helper runs. */
export type PoolFunction = string;

const IDLE = 0, POSTED = 1, DONE = 2, STOP = 3, FAILED = 4, STARTING = 5;
const MAX_ARGS = 32;
/** A kernel half takes milliseconds; far longer means the helper is gone. */
const WAIT_MS = 120_000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, modules, control, names } = workerData;
const c = new Int32Array(control);
const fns = [];
try {
  const byName = new Map();
  for (const module of modules) {
    const { exports } = new WebAssembly.Instance(module, { env: { memory } });
    for (const [name, f] of Object.entries(exports)) if (typeof f === 'function') byName.set(name, f);
  }
  for (const name of names) fns.push(byName.get(name));
} catch (e) {
  Atomics.store(c, 0, ${FAILED}); Atomics.notify(c, 0); throw e;
}
Atomics.store(c, 0, ${IDLE}); Atomics.notify(c, 0);
for (;;) {
  const state = Atomics.load(c, 0);
  if (state === ${STOP}) break;
  if (state !== ${POSTED}) {
    Atomics.wait(c, 0, state);
    continue;
  }
  try {
    const args = Array.from(c.subarray(3, 3 + c[2]));
    fns[c[1]](...args);
    Atomics.store(c, 0, ${DONE});
  } catch (e) {
    Atomics.store(c, 0, ${FAILED});
  }
  Atomics.notify(c, 0);
}
`;

export class NativeHelper {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (3 + MAX_ARGS)));
  private readonly worker: Worker;
  private dead: string | null = null;

  private readonly names: string[];

  /** modules: our compiled modules, shared with the helper (V8 shares the compiled, tiered-up code). */
  constructor(memory: WebAssembly.Memory, modules: readonly WebAssembly.Module[]) {
    Atomics.store(this.control, 0, STARTING);
    this.names = modules.flatMap((m) => WebAssembly.Module.exports(m).filter((e) => e.kind === 'function').map((e) => e.name));
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, modules, control: this.control.buffer, names: this.names } });
    this.worker.unref();
    this.worker.on('error', (e) => {
      this.dead = `helper thread failed: ${e.message}`;
    });
    this.worker.on('exit', () => {
      this.dead ??= 'helper thread exited';
    });
  }

  /** Ready for a job (started and idle, not dead). Never blocks: until it has started, callers work alone. */
  get ready(): boolean {
    return this.dead === null && Atomics.load(this.control, 0) === IDLE;
  }

  /** Starts fn(...args) on the helper. Call only when ready; then always call wait(). */
  post(fn: PoolFunction, args: readonly number[]): void {
    if (args.length > MAX_ARGS) throw new Error(`native helper: too many arguments (${args.length})`);
    const index = this.names.indexOf(fn);
    if (index < 0) throw new Error(`native helper: no module exports '${fn}'`);
    const c = this.control;
    c[1] = index;
    c[2] = args.length;
    for (let i = 0; i < args.length; i++) c[3 + i] = args[i]! | 0;
    Atomics.store(c, 0, POSTED);
    Atomics.notify(c, 0);
  }

  /** Waits for the posted job. Throws if the helper failed or did not answer. */
  wait(): void {
    const c = this.control;
    const until = Date.now() + WAIT_MS;
    while (Atomics.load(c, 0) === POSTED) {
      if (Atomics.wait(c, 0, POSTED, Math.max(1, until - Date.now())) === 'timed-out' && Atomics.load(c, 0) === POSTED) {
        this.dead = 'helper thread did not answer';
        throw new Error(`Layerforge's wasm kernel helper thread did not answer within ${WAIT_MS / 1000} s`);
      }
    }
    const state = Atomics.load(c, 0);
    Atomics.store(c, 0, IDLE);
    if (state === FAILED) {
      this.dead = 'a kernel failed on the helper thread';
      throw new Error("a Layerforge wasm kernel failed on its helper thread");
    }
  }

  /** Runs fn(...args) on the helper while `here` runs on this thread, and waits for both (post + wait). */
  alongside(fn: PoolFunction, args: readonly number[], here: () => void): void {
    this.post(fn, args);
    try {
      here();
    } finally {
      this.wait();
    }
  }

  dispose(): void {
    Atomics.store(this.control, 0, STOP);
    Atomics.notify(this.control, 0);
    void this.worker.terminate();
  }
}

/** Whether a helper thread makes sense here (shared memory and at least 2 cores). */
export function helperWanted(memory: WebAssembly.Memory): boolean {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores >= 2 && typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer && process.env.LAYERFORGE_NATIVE_THREADS !== '1';
}
