/**
 * Backend choice, best first: tensorflow-gpu (@tensorflow/tfjs-node-gpu, when it loads and sees a
 * CUDA device), tensorflow (@tensorflow/tfjs-node), wasm (@tensorflow/tfjs-backend-wasm, threaded
 * SIMD, plus our training kernels), cpu (pure JS). Each one tried or skipped is reported with its
 * reason. A forced backend that is not available is an error naming why.
 *
 * Every backend registers into the one engine of the single @tensorflow/tfjs-core that
 * @tensorflow/tfjs uses; `assertSingleTfjsCore` checks that no second copy is installed.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import { registerTileGradient } from './tile';
import type { Tf } from './inventory';
import { initWasmBackend, type WasmOptions, type WasmSetup } from './wasm';

export { registerWasmTrainingKernels, SUPPLIED_KERNELS } from './kernels';
export { initWasmBackend, type WasmSetup } from './wasm';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface SelectedBackend {
  name: BackendName;
  /** Why this one: e.g. "best available: ..." or "forced by --backend". */
  reason: string;
  /** Every backend considered, in order, with why it was or was not taken. */
  tried: BackendAttempt[];
  /** The @tensorflow/tfjs namespace, with this backend active. */
  tf: Tf;
  /** For wasm: threads, SIMD, build. */
  wasm?: WasmSetup;
}

export interface SelectOptions {
  force?: BackendName;
  /** wasm threads (default: all cores). */
  threads?: number;
}

export class BackendUnavailableError extends Error {
  constructor(
    message: string,
    readonly tried: BackendAttempt[],
  ) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

const require = createRequire(import.meta.url);

/** Throws when @tensorflow/tfjs and a backend package would load different copies of tfjs-core. */
export function assertSingleTfjsCore(packages = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']): void {
  const cores = new Set<string>();
  for (const p of packages) {
    let dir: string;
    try {
      dir = path.dirname(require.resolve(`${p}/package.json`));
    } catch {
      continue;
    }
    const fromPkg = createRequire(path.join(dir, 'package.json'));
    cores.add(path.dirname(fromPkg.resolve('@tensorflow/tfjs-core/package.json')));
  }
  if (cores.size > 1) {
    throw new Error(`several copies of @tensorflow/tfjs-core are installed (${[...cores].join(', ')}); backends would register into different engines. Run npm dedupe.`);
  }
}

function describeImportError(pkg: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? String(e);
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') {
    if (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`) || msg.includes(pkg)) return `${pkg} is not installed`;
  }
  return `${pkg} failed to load: ${msg.split('\n')[0]}`;
}

/** Dynamic import whose specifier bundlers and TypeScript leave alone (the package may be absent). */
async function importOptional(pkg: string): Promise<unknown> {
  const specifier = pkg;
  return import(/* @vite-ignore */ specifier);
}

interface TfNodeBinding {
  isUsingGpuDevice?: () => boolean;
}

async function tryTensorflow(tf: Tf, gpu: boolean): Promise<BackendAttempt> {
  const name: BackendName = gpu ? 'tensorflow-gpu' : 'tensorflow';
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    await importOptional(pkg);
  } catch (e) {
    return { name, ok: false, reason: describeImportError(pkg, e) };
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) {
      return { name, ok: false, reason: `${pkg} loaded but its 'tensorflow' backend did not initialise in this copy of tfjs` };
    }
    if (gpu) {
      const binding = (tf.backend() as unknown as { binding?: TfNodeBinding }).binding;
      const usingGpu = binding?.isUsingGpuDevice?.();
      if (usingGpu !== true) {
        return { name, ok: false, reason: usingGpu === false ? `${pkg} loaded but TensorFlow sees no CUDA device` : `${pkg} loaded but cannot tell whether a CUDA device is in use` };
      }
      return { name, ok: true, reason: `${pkg} with a CUDA device` };
    }
    return { name, ok: true, reason: `${pkg} (TensorFlow C library, CPU)` };
  } catch (e) {
    return { name, ok: false, reason: `${pkg} failed to initialise: ${e instanceof Error ? e.message : String(e)}` };
  }
}

async function tryWasm(tf: Tf, opts: WasmOptions): Promise<{ attempt: BackendAttempt; setup?: WasmSetup }> {
  const pkg = '@tensorflow/tfjs-backend-wasm';
  let wasm: typeof wasmPkg;
  try {
    wasm = (await importOptional(pkg)) as typeof wasmPkg;
  } catch (e) {
    return { attempt: { name: 'wasm', ok: false, reason: describeImportError(pkg, e) } };
  }
  try {
    const setup = await initWasmBackend(tf, wasm, opts);
    const threads = setup.threads > 1 ? `${setup.threads} threads` : '1 thread';
    return {
      attempt: { name: 'wasm', ok: true, reason: `${pkg} (${setup.build}, ${threads}${setup.note ? `; ${setup.note}` : ''})` },
      setup,
    };
  } catch (e) {
    return { attempt: { name: 'wasm', ok: false, reason: `${pkg} failed to initialise: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

async function tryCpu(tf: Tf): Promise<BackendAttempt> {
  try {
    if (!(await tf.setBackend('cpu'))) return { name: 'cpu', ok: false, reason: 'the cpu backend failed to initialise' };
    return { name: 'cpu', ok: true, reason: 'pure JavaScript (slowest)' };
  } catch (e) {
    return { name: 'cpu', ok: false, reason: `the cpu backend failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Chooses and activates a backend. Without `force`, the first that works of
 * tensorflow-gpu > tensorflow > wasm > cpu; with it, exactly that one or an error.
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<SelectedBackend> {
  if (opts.force !== undefined && !isBackendName(opts.force)) {
    throw new BackendUnavailableError(`unknown backend '${String(opts.force)}'; expected one of ${BACKEND_NAMES.join(', ')}`, []);
  }
  assertSingleTfjsCore();
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // tfjs's Tile gradient slices and adds once per repetition (BatchNorm/LayerNorm training): ours on every backend.
  registerTileGradient(tf);
  const order: BackendName[] = opts.force ? [opts.force] : [...BACKEND_NAMES];
  const tried: BackendAttempt[] = [];
  let wasmSetup: WasmSetup | undefined;
  for (const name of order) {
    let attempt: BackendAttempt;
    if (name === 'tensorflow-gpu') attempt = await tryTensorflow(tf, true);
    else if (name === 'tensorflow') attempt = await tryTensorflow(tf, false);
    else if (name === 'wasm') {
      const r = await tryWasm(tf, { ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
      attempt = r.attempt;
      wasmSetup = r.setup;
    } else attempt = await tryCpu(tf);
    tried.push(attempt);
    if (attempt.ok) {
      await tf.ready();
      const skipped = tried.filter((t) => !t.ok);
      const reason = opts.force
        ? `forced: ${attempt.reason}`
        : skipped.length === 0
          ? `best available: ${attempt.reason}`
          : `${attempt.reason}; skipped ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`;
      return { name, reason, tried, tf, ...(name === 'wasm' && wasmSetup ? { wasm: wasmSetup } : {}) };
    }
  }
  const why = tried.map((t) => `${t.name}: ${t.reason}`).join('; ');
  throw new BackendUnavailableError(opts.force ? `backend '${opts.force}' is not available: ${why}` : `no backend is available: ${why}`, tried);
}
