/**
 * Setting up tfjs's wasm backend in Node, multi-threaded.
 *
 * Finding (tfjs-backend-wasm 4.22, Node 20): tfjs never uses its threaded build in Node. Its flag
 * WASM_HAS_MULTITHREAD_SUPPORT returns false whenever IS_NODE (tfjs issue #3830), and its loader
 * hands Emscripten the pthread worker script as a Blob URL, which Node's worker_threads cannot
 * load. The threaded build itself is fine in Node: Emscripten's pthreads use worker_threads there.
 * So we load it ourselves: the factory from wasm-out/tfjs-backend-wasm-threaded-simd.js, the worker
 * script written once to a temporary .cjs file (its text ships inside the package as a string),
 * the main script given by path, and the result wrapped in tfjs's own BackendWasm and registered
 * as 'wasm' in place of tfjs's registration. All wasm kernels keep working (they are registered
 * per backend name and set up per backend instance).
 *
 * Second catch: the C++ side caps the thread pool at emscripten_num_logical_cores() / 2 (it
 * assumes hyper-threading), which is 1 on a 2-core machine. Emscripten answers that question in
 * Node from os.cpus().length, so while the module initialises we let os.cpus() report twice the
 * cores; the pool size itself is what setThreadsCount asks for (default: all cores).
 *
 * The pthread workers are unref'd so that they never keep a finished process alive.
 * If anything in this path fails we fall back to tfjs's own single-threaded SIMD build and say why.
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import type { Tf } from './inventory';
import { registerFusedReluGrad } from './reluGrad';
import { registerLayerNormKernels } from './layerNorm';
import { registerGeluKernels } from './gelu';
import { registerSparseSoftmaxCrossEntropy } from './softmaxCrossEntropy';
import { registerAttentionSoftmaxKernels } from './attentionSoftmax';
import { registerTileGradient, registerWasmTile } from './tile';
import { registerWasmTrainingKernels } from './kernels';
import { registerBatchNormKernels } from './batchNorm';
import { registerRecurrentKernels } from './recurrent';
import { registerConvKernels } from './conv';
import { registerSmallOps } from './smallOps';
import { registerPoolingKernels } from './pooling';
import { installFastSaveClone } from './fastSaveClone';

type WasmPkg = typeof wasmPkg;

export interface WasmSetup {
  /** Threads XNNPACK uses (1 = single-threaded). */
  threads: number;
  simd: boolean;
  /** 'threaded-simd' (our loader), or 'simd' / 'plain' (tfjs's own single-threaded loader). */
  build: 'threaded-simd' | 'simd' | 'plain';
  /** Why we did not get more threads, when we did not. */
  note?: string;
}

export interface WasmOptions {
  /** XNNPACK threads; default: the number of CPU cores (os.availableParallelism()). 1 = single-threaded build. */
  threads?: number;
}

const require = createRequire(import.meta.url);

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { runningWorkers: Array<{ unref(): void }>; unusedWorkers: Array<{ unref(): void; terminate(): Promise<number> }> };
  tfjs?: unknown;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

function packageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

let workerFile: string | null = null;
function pthreadWorkerFile(dir: string): string {
  if (workerFile && fs.existsSync(workerFile)) return workerFile;
  const { wasmWorkerContents } = require(path.join(dir, 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const version = (require(path.join(dir, 'package.json')) as { version: string }).version;
  const file = path.join(os.tmpdir(), `layerforge-tfjs-wasm-${version}-pthread-worker.cjs`);
  // The same escaping tfjs applies before making its Blob: '\n' inside string literals must stay escaped.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  workerFile = file;
  return file;
}

function addTfjsBridge(module: EmscriptenModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

async function createThreadedModule(threads: number): Promise<EmscriptenModule> {
  const dir = packageDir();
  const factory = require(path.join(dir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js')) as Factory;
  const worker = pthreadWorkerFile(dir);
  // Emscripten calls require("os").cpus(): patch the CommonJS module object (the ESM namespace is frozen).
  const osModule = require('node:os') as { cpus: () => os.CpuInfo[] };
  const realCpus = osModule.cpus;
  const cpus = realCpus();
  // See the header: the C++ side allows at most logical_cores / 2 threads.
  const needed = Math.max(cpus.length, threads) * 2;
  osModule.cpus = () => Array.from({ length: needed }, (_, i) => cpus[i % cpus.length]!);
  try {
    const module = await factory({
      locateFile: (p: string, prefix: string) =>
        p.endsWith('.worker.js') ? worker : p.endsWith('.wasm') ? path.join(dir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm') : prefix + p,
      mainScriptUrlOrBlob: path.join(dir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js'),
    });
    addTfjsBridge(module);
    return module;
  } finally {
    osModule.cpus = realCpus;
  }
}

function unrefWorkers(module: EmscriptenModule): void {
  for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) w.unref();
}

/**
 * Emscripten starts a pool of 8 pthread workers (PTHREAD_POOL_SIZE, fixed in tfjs's build), each a Node
 * worker thread with its own V8 heap (~11 MB of RSS each); XNNPACK's thread pool, created when the
 * backend is constructed (init_with_threads_count), takes threads - 1 of them and nothing in tfjs starts
 * a pthread later. The idle rest are ended (~75 MB on a 2-core machine). A pthread created later would
 * get a worker started on demand, which cannot load while the main thread waits for it (pthreadpool_create
 * waits): so the backend is built once (initWasmBackend is idempotent) and a second build is refused.
 */
function endIdleWorkers(module: EmscriptenModule): void {
  const idle = module.PThread?.unusedWorkers;
  if (!idle) return;
  for (const w of idle.splice(0)) void w.terminate();
}

let setup: WasmSetup | null = null;

export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Registers the wasm backend (threaded when possible) and our training kernels, and makes it the
 * active backend. Idempotent: later calls return the first setup.
 */
export async function initWasmBackend(tf: Tf, wasm: WasmPkg, opts: WasmOptions = {}): Promise<WasmSetup> {
  if (setup && tf.getBackend() === 'wasm') return setup;
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  registerWasmTrainingKernels(tf);
  registerFusedReluGrad(tf);
  registerLayerNormKernels(tf);
  registerGeluKernels(tf);
  registerSparseSoftmaxCrossEntropy(tf);
  registerAttentionSoftmaxKernels(tf);
  registerWasmTile(tf);
  registerTileGradient(tf);
  registerBatchNormKernels(tf);
  registerRecurrentKernels(tf);
  registerConvKernels(tf);
  registerSmallOps(tf);
  registerPoolingKernels(tf);
  installFastSaveClone(tf);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  let note: string | undefined;
  if (!setup && threads > 1 && simd) {
    let module: EmscriptenModule | null = null;
    try {
      module = await createThreadedModule(threads);
    } catch (e) {
      note = `threaded wasm build failed to load (${e instanceof Error ? e.message : String(e)}); using the single-threaded SIMD build`;
    }
    if (module) {
      const m = module;
      wasm.setThreadsCount(threads);
      tf.removeBackend('wasm');
      let built = false;
      tf.registerBackend('wasm', () => {
        // Its idle pthread workers are gone after the first backend: a second XNNPACK pool would wait forever for threads.
        if (built) throw new Error('the threaded wasm module backs one tfjs backend per process; it was already built (tfjs engine reset?)');
        built = true;
        const backend = new wasm.BackendWasm(m as unknown as ConstructorParameters<WasmPkg['BackendWasm']>[0]);
        unrefWorkers(m);
        endIdleWorkers(m);
        return backend;
      }, 2);
    }
  } else if (threads > 1 && !simd) {
    note = 'this runtime has no WebAssembly SIMD, so the threaded SIMD build cannot run';
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  await tf.ready();
  const actual = wasm.getThreadsCount();
  const build: WasmSetup['build'] = actual > 1 || (note === undefined && threads > 1) ? 'threaded-simd' : simd ? 'simd' : 'plain';
  if (threads > 1 && actual < threads && !note) note = `asked for ${threads} threads, XNNPACK uses ${actual}`;
  setup = { threads: actual, simd, build, ...(note ? { note } : {}) };
  return setup;
}

/** Tensor helper for callers that want to know the backend is really the wasm one. */
export function isWasm(tf: Tf): boolean {
  return tf.getBackend() === 'wasm';
}

export type { tfjs };
