/**
 * The `webgpu` backend in Node: Dawn's Node bindings (npm `webgpu`, its native `dawn.node` inside the
 * package: dist/<platform>-<arch>/) under @tensorflow/tfjs-backend-webgpu. Any vendor's GPU through
 * Vulkan (Linux, Windows), D3D12 (Windows) or Metal (macOS).
 *
 * We pick the adapter ourselves (tfjs's own registration asks for 'high-performance' and takes whatever
 * comes, a software rasteriser included) and report it: vendor, architecture, description, and whether
 * it is a software (fallback) adapter such as Mesa's llvmpipe/lavapipe, SwiftShader or Microsoft WARP.
 * Only async reads work (`data()`, `array()`): `dataSync()` needs an OffscreenCanvas that Node lacks.
 * The Dawn device must be destroyed (`releaseWebgpu`) or a process may not exit.
 */
import type { Tf } from './inventory';

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software (fallback/CPU) adapter: llvmpipe, lavapipe, SwiftShader, WARP. Never chosen automatically. */
  software: boolean;
}

export interface WebgpuProbe {
  ok: boolean;
  /** Why it is not usable (package missing, no adapter …), or what it is. */
  reason: string;
  adapter?: GpuAdapterReport;
}

/** The part of WebGPU's adapter/device that we use (the `webgpu` package ships full types; it is optional). */
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface DeviceLike {
  destroy(): void;
}
interface AdapterLike {
  info?: AdapterInfoLike;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power'; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface WebgpuBackendModule {
  WebGPUBackend: new (device: DeviceLike, adapterInfo?: AdapterInfoLike) => object;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

/** Whether an adapter is a software rasteriser (its own fallback flag, or what its names say). */
export function isSoftwareAdapter(info: AdapterInfoLike, fallbackFlag?: boolean): boolean {
  if (info.isFallbackAdapter === true || fallbackFlag === true) return true;
  return SOFTWARE.test(`${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`);
}

export function adapterReport(adapter: AdapterLike): GpuAdapterReport {
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: isSoftwareAdapter(info, adapter.isFallbackAdapter),
  };
}

/** One line for a report: "nvidia ampere (NVIDIA GeForce RTX 3080 …)", "mesa software (llvmpipe: Mesa 25 …), a software adapter (…)". */
export function describeAdapter(a: GpuAdapterReport, sayIfSoftware = true): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const desc = a.description || a.device;
  return `${name}${desc ? ` (${desc})` : ''}${a.software && sayIfSoftware ? ', a software adapter (runs on the CPU)' : ''}`;
}

/** What Linux needs for a GPU adapter: said when Dawn finds none. */
const NO_ADAPTER_HINT =
  process.platform === 'linux'
    ? 'Dawn found no usable Vulkan adapter (install the GPU vendor\'s Vulkan driver; for a software GPU, Mesa >= 23 lavapipe, e.g. Debian 12\'s mesa-vulkan-drivers from bookworm-backports: Debian 12\'s own Mesa 22.3 is refused by Dawn)'
    : process.platform === 'darwin'
      ? 'Dawn found no Metal adapter'
      : 'Dawn found no D3D12 or Vulkan adapter (update the GPU driver)';

let dawn: DawnModule | null = null;
let gpu: GpuLike | null = null;
let device: DeviceLike | null = null;
let chosen: GpuAdapterReport | null = null;

async function loadDawn(): Promise<DawnModule> {
  if (dawn) return dawn;
  const pkg = 'webgpu';
  dawn = (await import(/* @vite-ignore */ pkg)) as DawnModule;
  return dawn;
}

/** Why an import of an optional package failed, in words. */
function importFailure(pkg: string, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? String(e);
  if ((err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && msg.includes(pkg)) return `${pkg} is not installed`;
  return `${pkg} failed to load: ${msg.split('\n')[0]}`;
}

/** The best adapter Dawn offers (high-performance first), or why there is none. Creates no device. */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  let mod: DawnModule;
  try {
    mod = await loadDawn();
  } catch (e) {
    return { ok: false, reason: importFailure('webgpu', e) };
  }
  try {
    gpu ??= mod.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { ok: false, reason: `no WebGPU adapter: ${NO_ADAPTER_HINT}` };
    const report = adapterReport(adapter);
    return { ok: true, reason: `Dawn on ${describeAdapter(report)}`, adapter: report };
  } catch (e) {
    return { ok: false, reason: `Dawn failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** The adapter the active webgpu backend runs on (null before initWebgpuBackend). */
export function webgpuAdapter(): GpuAdapterReport | null {
  return chosen;
}

/**
 * Registers and activates tfjs's webgpu backend on Dawn's best adapter. Throws (a clear message) when
 * there is none. Software adapters are accepted here: the caller decides (auto never takes one).
 */
export async function initWebgpuBackend(tf: Tf): Promise<GpuAdapterReport> {
  const mod = await loadDawn();
  gpu ??= mod.create([]);
  // tfjs-backend-webgpu looks for navigator.gpu and the GPU* constants (GPUBufferUsage …) as globals.
  const g = globalThis as unknown as Record<string, unknown> & { navigator?: { gpu?: unknown } };
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
  if (!g.navigator) g.navigator = { gpu };
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const pkg = '@tensorflow/tfjs-backend-webgpu';
  let wg: WebgpuBackendModule;
  try {
    wg = (await import(/* @vite-ignore */ pkg)) as WebgpuBackendModule;
  } catch (e) {
    throw new Error(importFailure(pkg, e));
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`no WebGPU adapter: ${NO_ADAPTER_HINT}`);
  const report = adapterReport(adapter);
  if (!device) {
    // The limits and features tfjs's own registration asks for.
    const a = adapter as AdapterLike & { features: Set<string>; limits: Record<string, number>; requestDevice(d: unknown): Promise<DeviceLike> };
    const requiredFeatures = ['timestamp-query'].filter((f) => a.features.has(f));
    const keys = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
    device = await a.requestDevice({ requiredFeatures, requiredLimits: Object.fromEntries(keys.map((k) => [k, a.limits[k]])) });
    const dev = device;
    const info = adapter.info;
    // Replaces the registration tfjs made at import (its own adapter choice) with ours, on our device.
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new wg.WebGPUBackend(dev, info) as ReturnType<Parameters<Tf['registerBackend']>[1]>, 3);
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs\'s webgpu backend did not initialise on Dawn\'s device');
  chosen = report;
  return report;
}

/**
 * Frees the webgpu backend and destroys the Dawn device (Dawn's threads otherwise keep a process
 * alive). Safe to call when webgpu was never used.
 */
export function releaseWebgpu(tf: Tf | null): void {
  if (!device) return;
  try {
    if (tf?.findBackend('webgpu')) tf.removeBackend('webgpu');
  } catch {
    // already gone
  }
  try {
    device.destroy();
  } catch {
    // destroyed already
  }
  device = null;
  chosen = null;
}
