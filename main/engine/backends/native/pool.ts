/**
 * A second thread for our wasm kernels. Our module is single-threaded (no pthreads of its own), so
 * a kernel that can split its work (e.g. the filter gradient over output channels) hands one half
 * to a helper worker that runs the same module on the same shared tfjs memory, does the other half
 * itself, and waits. Hand-off and wait use Atomics on a small shared control block, so a call costs
 * microseconds, not a message round trip. Only with tfjs's threaded build (shared memory) and 2+
 * cores. The kernels are stack-free leaf functions working on disjoint output ranges, so two
 * instances can run at once on one memory.
 *
 * Hand-off protocol (control[0]): the caller writes the job and stores POSTED (+ notify, if the helper
 * sleeps: below); the helper
 * claims it with compareExchange(POSTED -> RUNNING), runs it, stores DONE (+ notify). When the caller
 * has finished its own half and the helper has not claimed the job yet (it was asleep and not yet
 * scheduled: on 2 cores, right after an XNNPACK operator, tfjs's pthreadpool worker spins on the other
 * core for a few ms), the caller takes it back with compareExchange(POSTED -> IDLE) and runs the
 * helper's half itself (a steal), so a late helper costs at most one-thread time, never a wait.
 * Waiting, on both sides bounded so that an idle process burns no CPU: after a job the helper spins
 * LAYERFORGE_HELPER_SPIN_US (30 µs: back-to-back hand-offs), then checks for a job every
 * LAYERFORGE_HELPER_POLL_US (25 µs, in timed Atomics.waits) for LAYERFORGE_HELPER_POLL_WINDOW_US (5 ms),
 * then announces that it sleeps (control[MODE] = ASLEEP) and sleeps in Atomics.wait until notified. A
 * post notifies only a helper that announced its sleep: on this kind of VM, Atomics.notify of a thread
 * whose core has gone idle costs the caller ~33 µs (the host's wake-up of a halted vCPU; ~6 µs while it
 * is still awake) and the hand-off ~80 µs in all, which was lenet5's largest cost outside our kernels
 * (5 hand-offs a step: ~0.2 ms of notifies). Polling moves that cost to the idle helper's core. Measured
 * alternating in one process (bench-handoff-step.ts, 10-20 rounds): lenet5 1.05-1.09x a step, resnet-small
 * 1.07x, lstm-classifier 1.07x, cifar10-cnn and transformer-classifier 1.01x, at equal CPU; a 400 µs spin
 * instead gained lenet5 1.03-1.05x at +1.2-1.4 ms of CPU a step. The caller spins
 * LAYERFORGE_HELPER_WAIT_SPIN_US (10 µs) for the helper's result before it sleeps. 0 turns any of them off;
 * LAYERFORGE_HELPER_STEAL=0 turns stealing off.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';

/** An export of one of our modules (native/*.c) that the helper runs. */
export type PoolFunction = string;

/** An export on this thread's instances (for a steal: the caller runs the helper's half itself). */
export type LocalFunction = (...args: number[]) => unknown;

const IDLE = 0, POSTED = 1, DONE = 2, STOP = 3, FAILED = 4, STARTING = 5, RUNNING = 6;
/** The helper's MODE: AWAKE (running, spinning or polling: a post needs no notify) or ASLEEP (in an untimed wait). */
const AWAKE = 0, ASLEEP = 1;
/** control: [state, function index, argument count, helper spin (µs), poll (µs), poll window (µs), helper mode, arguments…]. */
const STATE = 0, FN = 1, COUNT = 2, SPIN = 3, POLL = 4, WINDOW = 5, MODE = 6, ARGS = 7;
const MAX_ARGS = 32;
/** A kernel half takes milliseconds; far longer means the helper is gone. */
const WAIT_MS = 120_000;

const envNumber = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? '');
  return process.env[name] !== undefined && process.env[name] !== '' && Number.isFinite(v) && v >= 0 ? v : dflt;
};
/** Bounds of the spins: microseconds, never more (an idle app must not burn a core). */
const MAX_SPIN_US = 1000;
/** Bound of the poll window: µs (polling costs a timer wake-up per poll, far less than a spin). */
const MAX_POLL_WINDOW_US = 100_000;

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
  Atomics.store(c, ${STATE}, ${FAILED}); Atomics.notify(c, ${STATE}); throw e;
}
Atomics.store(c, ${STATE}, ${IDLE}); Atomics.notify(c, ${STATE});
let idleSince = performance.now();
for (;;) {
  const state = Atomics.load(c, ${STATE});
  if (state === ${POSTED}) {
    if (Atomics.compareExchange(c, ${STATE}, ${POSTED}, ${RUNNING}) !== ${POSTED}) continue; // taken back by the caller
    let ok = true;
    try {
      const n = c[${COUNT}];
      const args = new Array(n);
      for (let i = 0; i < n; i++) args[i] = c[${ARGS} + i];
      fns[c[${FN}]](...args);
    } catch (e) {
      ok = false;
    }
    Atomics.store(c, ${STATE}, ok ? ${DONE} : ${FAILED});
    Atomics.notify(c, ${STATE});
    idleSince = performance.now();
    continue;
  }
  if (state === ${STOP}) break;
  // A bounded spin for the next job, then short timed waits (a post finds the helper without waking it),
  // then an announced sleep until a post notifies.
  const idle = performance.now() - idleSince;
  const spin = c[${SPIN}];
  if (spin > 0 && idle < spin * 1e-3) continue;
  const poll = c[${POLL}];
  if (poll > 0 && idle < c[${WINDOW}] * 1e-3) {
    Atomics.wait(c, ${STATE}, state, poll * 1e-3);
    continue;
  }
  Atomics.store(c, ${MODE}, ${ASLEEP});
  if (Atomics.load(c, ${STATE}) === state) Atomics.wait(c, ${STATE}, state);
  Atomics.store(c, ${MODE}, ${AWAKE});
  idleSince = performance.now();
}
`;

/** How hand-offs wait (benchmarks compare settings in one process; defaults from the environment). */
export interface HandoffSettings {
  /** µs the helper spins for its next job after one (and after a wake-up without one) before it sleeps. */
  helperSpinUs: number;
  /** µs the caller spins for the helper's result before it sleeps. */
  callerSpinUs: number;
  /** Whether the caller runs the helper's half itself when the helper has not started it by then. */
  steal: boolean;
  /**
   * µs of each timed wait after the spin (0: none): the helper checks for a job that often, and a post
   * finds it without a wake-up (Atomics.notify of a sleeping thread costs the caller ~33 µs on this VM).
   */
  helperPollUs: number;
  /** µs after its last job that the helper keeps polling before it sleeps until notified. */
  helperPollWindowUs: number;
}

const defaults = (): HandoffSettings => ({
  helperSpinUs: Math.min(MAX_SPIN_US, envNumber('LAYERFORGE_HELPER_SPIN_US', 30)),
  callerSpinUs: Math.min(MAX_SPIN_US, envNumber('LAYERFORGE_HELPER_WAIT_SPIN_US', 10)),
  steal: process.env.LAYERFORGE_HELPER_STEAL !== '0',
  helperPollUs: Math.min(MAX_SPIN_US, envNumber('LAYERFORGE_HELPER_POLL_US', 25)),
  helperPollWindowUs: Math.min(MAX_POLL_WINDOW_US, envNumber('LAYERFORGE_HELPER_POLL_WINDOW_US', 5000)),
});

/** Counts of hand-offs (benchmarks, tests). */
export interface HandoffStats {
  posted: number;
  /** Jobs the caller took back and ran itself. */
  stolen: number;
  /** Waits that ended in Atomics.wait (the caller's spin ran out). */
  slept: number;
  /** Posts that had to wake the helper (it had announced its sleep). */
  notified: number;
}

export class NativeHelper {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_ARGS)));
  private readonly worker: Worker;
  private dead: string | null = null;
  private readonly names: string[];
  private settings: HandoffSettings = defaults();
  /** The posted job, for a steal. */
  private pending: { fn: PoolFunction; args: readonly number[] } | null = null;
  readonly stats: HandoffStats = { posted: 0, stolen: 0, slept: 0, notified: 0 };

  /**
   * modules: our compiled modules, shared with the helper (V8 shares the compiled, tiered-up code).
   * local: this thread's export by name (the caller's instances on the same memory), for steals; absent: no steals.
   */
  constructor(
    memory: WebAssembly.Memory,
    modules: readonly WebAssembly.Module[],
    private readonly local?: (name: string) => LocalFunction,
  ) {
    Atomics.store(this.control, STATE, STARTING);
    this.storeSettings();
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

  /** The hand-off settings in force. */
  get handoff(): Readonly<HandoffSettings> {
    return this.settings;
  }

  /** Changes hand-off settings (spins clamped to [0, 1000] µs); returns the old ones. */
  setHandoff(change: Partial<HandoffSettings>): HandoffSettings {
    const old = this.settings;
    const clamp = (us: number) => Math.max(0, Math.min(MAX_SPIN_US, Math.round(us)));
    this.settings = {
      ...old,
      ...change,
      helperSpinUs: clamp(change.helperSpinUs ?? old.helperSpinUs),
      callerSpinUs: clamp(change.callerSpinUs ?? old.callerSpinUs),
      helperPollUs: clamp(change.helperPollUs ?? old.helperPollUs),
      helperPollWindowUs: Math.max(0, Math.min(MAX_POLL_WINDOW_US, Math.round(change.helperPollWindowUs ?? old.helperPollWindowUs))),
    };
    this.storeSettings();
    return old;
  }

  private storeSettings(): void {
    Atomics.store(this.control, SPIN, this.settings.helperSpinUs);
    Atomics.store(this.control, POLL, this.settings.helperPollUs);
    Atomics.store(this.control, WINDOW, this.settings.helperPollWindowUs);
  }

  /** Ready for a job (started and idle, not dead). Never blocks: until it has started, callers work alone. */
  get ready(): boolean {
    return this.dead === null && Atomics.load(this.control, STATE) === IDLE;
  }

  /** Starts fn(...args) on the helper. Call only when ready; then always call wait(). */
  post(fn: PoolFunction, args: readonly number[]): void {
    if (args.length > MAX_ARGS) throw new Error(`native helper: too many arguments (${args.length})`);
    const index = this.names.indexOf(fn);
    if (index < 0) throw new Error(`native helper: no module exports '${fn}'`);
    const c = this.control;
    c[FN] = index;
    c[COUNT] = args.length;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i]! | 0;
    this.pending = { fn, args };
    this.stats.posted++;
    Atomics.store(c, STATE, POSTED);
    // Only a sleeping helper needs the wake-up (a running, spinning or polling one finds the job itself).
    if (Atomics.load(c, MODE) === ASLEEP) {
      this.stats.notified++;
      Atomics.notify(c, STATE);
    }
  }

  /** Whether the helper has announced that it sleeps until a post notifies it (tests). */
  get asleep(): boolean {
    return Atomics.load(this.control, MODE) === ASLEEP;
  }

  /**
   * Waits for the posted job: runs it here if the helper has not started it (steal on), else spins
   * briefly, then sleeps. With `cancel`, a job not yet started is dropped (not run). Throws if the
   * helper failed or did not answer.
   */
  wait(cancel = false): void {
    const c = this.control;
    const job = this.pending;
    this.pending = null;
    if ((cancel || (this.settings.steal && this.local)) && Atomics.compareExchange(c, STATE, POSTED, IDLE) === POSTED) {
      if (cancel || !job) return;
      this.stats.stolen++;
      this.local!(job.fn)(...job.args.map((a) => a | 0));
      return;
    }
    const spinMs = this.settings.callerSpinUs * 1e-3;
    if (spinMs > 0 && isBusy(Atomics.load(c, STATE))) {
      const t0 = performance.now();
      while (isBusy(Atomics.load(c, STATE)) && performance.now() - t0 < spinMs);
    }
    const until = Date.now() + WAIT_MS;
    for (let state = Atomics.load(c, STATE); isBusy(state); state = Atomics.load(c, STATE)) {
      this.stats.slept++;
      if (Atomics.wait(c, STATE, state, Math.max(1, until - Date.now())) === 'timed-out' && isBusy(Atomics.load(c, STATE))) {
        this.dead = 'helper thread did not answer';
        throw new Error(`Layerforge's wasm kernel helper thread did not answer within ${WAIT_MS / 1000} s`);
      }
    }
    const state = Atomics.load(c, STATE);
    Atomics.store(c, STATE, IDLE);
    if (state === FAILED) {
      this.dead = 'a kernel failed on the helper thread';
      throw new Error('a Layerforge wasm kernel failed on its helper thread');
    }
  }

  /** Runs fn(...args) on the helper while `here` runs on this thread, and waits for both (post + wait). */
  alongside(fn: PoolFunction, args: readonly number[], here: () => void): void {
    this.post(fn, args);
    let threw = true;
    try {
      here();
      threw = false;
    } finally {
      // If `here` threw, the call fails anyway: drop the helper's half if it has not started.
      this.wait(threw);
    }
  }

  dispose(): void {
    Atomics.store(this.control, STATE, STOP);
    Atomics.notify(this.control, STATE);
    void this.worker.terminate();
  }
}

/** The helper holds the job (posted, not yet taken back, or running). */
const isBusy = (state: number) => state === POSTED || state === RUNNING;

/** Whether a helper thread makes sense here (shared memory and at least 2 cores). */
export function helperWanted(memory: WebAssembly.Memory): boolean {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores >= 2 && typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer && process.env.LAYERFORGE_NATIVE_THREADS !== '1';
}
