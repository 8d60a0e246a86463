/**
 * Backend choice, best first: tensorflow-gpu (@tensorflow/tfjs-node-gpu, when it loads and sees a
 * CUDA device), webgpu (Dawn + @tensorflow/tfjs-backend-webgpu on a hardware adapter: a software one
 * is taken only when forced), tensorflow (@tensorflow/tfjs-node), wasm (@tensorflow/tfjs-backend-wasm,
 * threaded SIMD, plus our training kernels), cpu (pure JS). Each one tried or skipped is reported with
 * its reason. A forced backend that is not available is an error naming why. With `measure`, every
 * available candidate is started and the caller times them (training/probe.ts) to pick the fastest.
 *
 * Every backend registers into the one engine of the single @tensorflow/tfjs-core that
 * @tensorflow/tfjs uses; `assertSingleTfjsCore` checks that no second copy is installed.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as wasmPkg from '@tensorflow/tfjs-backend-wasm';
import { registerTileGradient } from './tile';
import { registerCpuKernels } from './cpuKernels';
import type { Tf } from './inventory';
import { initWasmBackend, type WasmOptions, type WasmSetup } from './wasm';
import { explainNativeLoadError } from './nativeLoad';
import { nativeKernels, nativeKernelsFailure } from './native';
import { describeAdapter, initWebgpuBackend, probeWebgpu, releaseWebgpu, type GpuAdapterReport } from './webgpu';

export { registerWasmTrainingKernels, SUPPLIED_KERNELS } from './kernels';
export { initWasmBackend, type WasmSetup } from './wasm';
export { describeAdapter, releaseWebgpu, webgpuAdapter, type GpuAdapterReport } from './webgpu';
export { explainNativeLoadError } from './nativeLoad';

export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
  /** webgpu: the adapter Dawn offers (with `software` for llvmpipe, SwiftShader, WARP …), when there is one. */
  adapter?: GpuAdapterReport;
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

/** Times the available candidates (each already initialised) and says which to use and why. */
export type MeasureBackends = (tf: Tf, candidates: BackendAttempt[]) => Promise<{ name: BackendName; reason: string }>;

export interface SelectOptions {
  force?: BackendName;
  /** wasm threads (default: all cores). */
  threads?: number;
  /** Without `force`: start every backend that works and let this pick (when there are two or more candidates). */
  measure?: MeasureBackends;
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

/** Why an optional backend package did not load: not installed, or (native ones) which library is missing. */
export function describeImportError(pkg: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? String(e);
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') {
    const missingPkg = msg.match(/Cannot find (?:module|package) '([^']+)'/)?.[1];
    if (missingPkg === undefined || missingPkg === pkg || missingPkg.startsWith(`${pkg}/`)) return `${pkg} is not installed`;
  }
  return explainNativeLoadError(pkg, msg) ?? `${pkg} failed to load: ${msg.split('\n')[0]}`;
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
    const native = nativeKernels(tf.backend());
    const kernels = native
      ? `our kernels: ${native.variant === 'relaxed' ? 'relaxed SIMD (FMA)' : 'SIMD'}${native.helper ? ', 2 threads' : ''}`
      : `our kernels off${nativeKernelsFailure() ? ` (${nativeKernelsFailure()})` : ''}`;
    return {
      attempt: { name: 'wasm', ok: true, reason: `${pkg} (${setup.build}, ${threads}${setup.note ? `; ${setup.note}` : ''}; ${kernels})` },
      setup,
    };
  } catch (e) {
    return { attempt: { name: 'wasm', ok: false, reason: `${pkg} failed to initialise: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/** webgpu: a hardware adapter, or a software one only when `forced`. */
async function tryWebgpu(tf: Tf, forced: boolean): Promise<BackendAttempt> {
  const probe = await probeWebgpu();
  const adapter = probe.adapter ? { adapter: probe.adapter } : {};
  if (!probe.ok || !probe.adapter) return { name: 'webgpu', ok: false, reason: probe.reason, ...adapter };
  if (probe.adapter.software && !forced) {
    const what = probe.adapter.description || probe.adapter.device || 'a software rasteriser';
    return { name: 'webgpu', ok: false, reason: `the only GPU adapter is software (${what}): never chosen automatically, slower than wasm; --backend webgpu uses it`, ...adapter };
  }
  try {
    const report = await initWebgpuBackend(tf);
    return { name: 'webgpu', ok: true, reason: `Dawn on ${describeAdapter(report)}`, adapter: report };
  } catch (e) {
    return { name: 'webgpu', ok: false, reason: `webgpu failed to initialise: ${e instanceof Error ? e.message : String(e)}`, ...adapter };
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

async function tryBackend(tf: Tf, name: BackendName, opts: SelectOptions): Promise<{ attempt: BackendAttempt; wasm?: WasmSetup }> {
  if (name === 'tensorflow-gpu') return { attempt: await tryTensorflow(tf, true) };
  if (name === 'tensorflow') return { attempt: await tryTensorflow(tf, false) };
  if (name === 'webgpu') return { attempt: await tryWebgpu(tf, opts.force === 'webgpu') };
  if (name === 'wasm') {
    const r = await tryWasm(tf, { ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    return { attempt: r.attempt, ...(r.setup ? { wasm: r.setup } : {}) };
  }
  return { attempt: await tryCpu(tf) };
}

async function loadTf(): Promise<Tf> {
  assertSingleTfjsCore();
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // tfjs's Tile gradient slices and adds once per repetition (BatchNorm/LayerNorm training): ours on every backend.
  registerTileGradient(tf);
  registerCpuKernels(tf);
  return tf;
}

/** "wasm (…); skipped tensorflow-gpu (…), webgpu (…)": why the first that works was taken. */
function autoReason(attempt: BackendAttempt, tried: BackendAttempt[]): string {
  // A software GPU passed over leads the sentence: it is the question a user with "a GPU" asks.
  const soft = tried.find((t) => t.name === 'webgpu' && !t.ok && t.adapter?.software);
  const lead = soft ? `${attempt.name}: ${soft.reason}. ` : '';
  const skipped = tried.filter((t) => !t.ok && t !== soft);
  return `${lead}${skipped.length === 0 && !soft ? 'best available: ' : ''}${attempt.reason}${skipped.length ? `; skipped ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : ''}`;
}

/**
 * Chooses and activates a backend. Without `force`, the first that works of
 * tensorflow-gpu > webgpu (hardware adapter) > tensorflow > wasm > cpu, or with `measure` the fastest
 * of those that work (cpu only when nothing else does); with `force`, exactly that one or an error.
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<SelectedBackend> {
  if (opts.force !== undefined && !isBackendName(opts.force)) {
    throw new BackendUnavailableError(`unknown backend '${String(opts.force)}'; expected one of ${BACKEND_NAMES.join(', ')}`, []);
  }
  const tf = await loadTf();
  const order: BackendName[] = opts.force ? [opts.force] : [...BACKEND_NAMES];
  const tried: BackendAttempt[] = [];
  let wasmSetup: WasmSetup | undefined;
  const done = async (name: BackendName, reason: string): Promise<SelectedBackend> => {
    if (tf.getBackend() !== name && !(await tf.setBackend(name === 'tensorflow-gpu' ? 'tensorflow' : name))) throw new BackendUnavailableError(`backend '${name}' worked when tried but did not start again`, tried);
    await tf.ready();
    // A GPU device nobody uses would keep Dawn's threads (and the process) alive.
    if (name !== 'webgpu') releaseWebgpu(tf);
    return { name, reason, tried, tf, ...(name === 'wasm' && wasmSetup ? { wasm: wasmSetup } : {}) };
  };
  const measuring = !opts.force && opts.measure !== undefined;
  for (const name of order) {
    if (measuring && name === 'cpu' && tried.some((t) => t.ok)) break; // cpu is never faster: no need to start it
    const r = await tryBackend(tf, name, opts);
    if (r.wasm) wasmSetup = r.wasm;
    tried.push(r.attempt);
    if (r.attempt.ok && !measuring) return done(name, opts.force ? `forced: ${r.attempt.reason}` : autoReason(r.attempt, tried));
  }
  const ok = tried.filter((t) => t.ok);
  if (measuring && ok.length > 0) {
    if (ok.length === 1) return done(ok[0]!.name, autoReason(ok[0]!, tried));
    let pick: { name: BackendName; reason: string };
    try {
      pick = await opts.measure!(tf, ok);
    } catch (e) {
      // A failed probe must not fail the run: the first that works, in the usual order.
      pick = { name: ok[0]!.name, reason: `${autoReason(ok[0]!, tried)}; the speed probe failed (${e instanceof Error ? e.message : String(e)})` };
    }
    return done(pick.name, pick.reason);
  }
  const why = tried.map((t) => `${t.name}: ${t.reason}`).join('; ');
  throw new BackendUnavailableError(opts.force ? `backend '${opts.force}' is not available: ${why}` : `no backend is available: ${why}`, tried);
}

/**
 * Every backend, in order, with whether it can run here and why not; webgpu with its adapter (the
 * report of `layerforge backends` and the app's backend menu). Leaves no GPU device open; wasm is
 * checked by resolving its package, not by loading it or starting its threads.
 */
export async function reportBackends(): Promise<BackendAttempt[]> {
  const tf = await loadTf();
  const out: BackendAttempt[] = [];
  for (const name of BACKEND_NAMES) {
    if (name === 'webgpu') {
      const probe = await probeWebgpu();
      const software = probe.adapter?.software === true;
      out.push({
        name,
        ok: probe.ok,
        reason: probe.ok && software ? `${probe.reason}: used only when chosen (--backend webgpu), never automatically` : probe.reason,
        ...(probe.adapter ? { adapter: probe.adapter } : {}),
      });
    } else if (name === 'wasm') {
      try {
        // Resolved, not imported: importing registers the backend in this process's tfjs (a listing must not).
        require.resolve('@tensorflow/tfjs-backend-wasm');
        out.push({ name, ok: true, reason: '@tensorflow/tfjs-backend-wasm (threaded SIMD where it loads) with Layerforge\'s training kernels' });
      } catch (e) {
        out.push({ name, ok: false, reason: describeImportError('@tensorflow/tfjs-backend-wasm', e) });
      }
    } else if (name === 'cpu') out.push({ name, ok: true, reason: 'pure JavaScript (slowest)' });
    else out.push(await tryTensorflow(tf, name === 'tensorflow-gpu'));
  }
  return out;
}
