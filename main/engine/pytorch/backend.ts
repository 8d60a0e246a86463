/**
 * The `pytorch` backend's entry in the backend report: is there a Python with PyTorch here, which one,
 * which torch, CPU or CUDA (how many GPUs), and which process-group backends (gloo, nccl) it has; or why
 * it cannot run, in one sentence (never a stack trace).
 *
 * Pythons tried, in order: $LAYERFORGE_PYTHON (when set, only that one), `python3` on PATH, then
 * /usr/bin/python3 (a pyenv or venv python3 often has no torch while the system's has). Each one that is
 * skipped is named with why. The probe starts Python (1-2 s with torch), so its answer is cached per
 * (LAYERFORGE_PYTHON, PATH).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** torchrun (torch.distributed.run) arrived in torch 1.10. */
export const MIN_TORCH: readonly [number, number] = [1, 10];

export interface PythonProbe {
  /** The command as found (LAYERFORGE_PYTHON, python3 on PATH, /usr/bin/python3) and its resolved file. */
  path: string;
  source: 'LAYERFORGE_PYTHON' | 'PATH' | 'system';
  /** sys.version's first word, when Python ran. */
  pythonVersion?: string;
  torch?: string;
  /** Why this Python cannot train (null when it can). */
  problem: string | null;
}

export interface TorchReport {
  available: boolean;
  /** One sentence: what it runs on, or why it cannot run. */
  reason: string;
  /** The Python used (absolute path) and its version. */
  python?: string;
  pythonVersion?: string;
  torch?: string;
  cuda: boolean;
  gpus: number;
  gpuNames: string[];
  gloo: boolean;
  nccl: boolean;
  /** Every Python looked at, in order. */
  tried: PythonProbe[];
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  /** Ignore the cache (and replace its entry). */
  refresh?: boolean;
  /** Seconds one probe may take (default 60: importing torch on a loaded machine can take 10 s and more). */
  timeoutSeconds?: number;
  /** The system Python looked at last (default /usr/bin/python3); tests point it elsewhere. */
  systemPython?: string;
}

/** What the probe prints: one JSON object. Kept to what torch 1.x and 2.x both have. */
const PROBE = `
import json, sys
out = {"python": sys.version.split()[0], "executable": sys.executable}
try:
    import torch
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out)); sys.exit(0)
out["torch"] = torch.__version__
try:
    out["cuda"] = bool(torch.cuda.is_available())
    out["gpus"] = torch.cuda.device_count() if out["cuda"] else 0
    out["gpuNames"] = [torch.cuda.get_device_name(i) for i in range(out["gpus"])]
except Exception as e:
    out["cuda"] = False; out["gpus"] = 0; out["gpuNames"] = []; out["cudaError"] = str(e)
d = getattr(torch, "distributed", None)
out["distributed"] = bool(d is not None and d.is_available())
out["gloo"] = bool(out["distributed"] and d.is_gloo_available())
out["nccl"] = bool(out["distributed"] and d.is_nccl_available())
try:
    import torch.distributed.run
    out["run"] = True
except Exception as e:
    out["run"] = False; out["runError"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
`;

interface ProbeOutput {
  python?: string;
  executable?: string;
  error?: string;
  torch?: string;
  cuda?: boolean;
  gpus?: number;
  gpuNames?: string[];
  distributed?: boolean;
  gloo?: boolean;
  nccl?: boolean;
  run?: boolean;
  runError?: string;
}

/** The command's file on PATH (like `which`), or null. */
export function onPath(command: string, env: NodeJS.ProcessEnv): string | null {
  if (command.includes('/')) return isExecutable(command) ? command : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, command);
    if (isExecutable(file)) return file;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function resolved(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** "1.13.0a0+git..." -> [1, 13]. */
export function torchVersionAtLeast(version: string, min: readonly [number, number] = MIN_TORCH): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

function runProbe(python: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ out?: ProbeOutput; problem?: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE], { env: { ...env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: timeoutMs, maxBuffer: 1 << 20, encoding: 'utf8' }, (error, stdout, stderr) => {
      const line = stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('{'))
        .at(-1);
      if (line) {
        try {
          resolve({ out: JSON.parse(line) as ProbeOutput });
          return;
        } catch {
          // fall through: not our JSON
        }
      }
      if (error && (error as { killed?: boolean }).killed) {
        resolve({ problem: `did not answer within ${Math.round(timeoutMs / 1000)} s` });
        return;
      }
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'ENOENT') resolve({ problem: 'does not exist' });
      else if (code === 'EACCES') resolve({ problem: 'is not executable' });
      else {
        const why = lastLine(stderr) || lastLine(stdout) || (error ? error.message.split('\n')[0]! : 'printed nothing');
        resolve({ problem: `did not run as Python (${typeof code === 'number' ? `exit code ${code}: ` : ''}${why})` });
      }
    });
  });
}

/** Why a probed Python cannot train, or null. */
function problemOf(out: ProbeOutput): string | null {
  if (out.error) {
    return out.error.startsWith('ModuleNotFoundError') ? 'has no torch module' : `cannot import torch (${out.error})`;
  }
  if (!out.torch) return 'has no torch module';
  if (!torchVersionAtLeast(out.torch)) return `has torch ${out.torch}, too old (torchrun needs torch ${MIN_TORCH.join('.')} or newer)`;
  if (!out.distributed) return `has torch ${out.torch} built without torch.distributed`;
  if (!out.run) return `has torch ${out.torch} without torch.distributed.run (${out.runError ?? 'import failed'})`;
  if (!out.gloo && !out.nccl) return `has torch ${out.torch} with neither gloo nor nccl`;
  return null;
}

function label(p: PythonProbe): string {
  if (p.source === 'LAYERFORGE_PYTHON') return `LAYERFORGE_PYTHON (${p.path})`;
  if (p.source === 'PATH') return `python3 on PATH (${p.path})`;
  return p.path;
}

/** "CPU only, gloo" / "CUDA, 2 GPUs (NVIDIA H200), nccl and gloo". */
export function describeDevices(r: Pick<TorchReport, 'cuda' | 'gpus' | 'gpuNames' | 'gloo' | 'nccl'>): string {
  const groups = [r.nccl ? 'nccl' : '', r.gloo ? 'gloo' : ''].filter(Boolean).join(' and ');
  if (!r.cuda) return `CPU only (no CUDA device), ${groups || 'no process-group backend'}`;
  const names = [...new Set(r.gpuNames)];
  return `CUDA, ${r.gpus} GPU${r.gpus === 1 ? '' : 's'}${names.length ? ` (${names.join(', ')})` : ''}, ${groups}`;
}

/**
 * The run's backend string: "pytorch (torch 1.13.1, CPU, gloo, 2 processes)"; on CUDA
 * "pytorch (torch 2.3.0, CUDA, nccl, 4 processes)".
 */
export function describeTorchRun(r: Pick<TorchReport, 'torch' | 'cuda' | 'nccl'>, procs: number): string {
  const device = r.cuda ? 'CUDA' : 'CPU';
  const group = r.cuda && r.nccl ? 'nccl' : 'gloo';
  return `pytorch (torch ${r.torch ?? '?'}, ${device}, ${group}, ${procs} process${procs === 1 ? '' : 'es'})`;
}

async function detect(opts: DetectOptions): Promise<TorchReport> {
  const env = opts.env ?? process.env;
  const timeoutMs = (opts.timeoutSeconds ?? 60) * 1000;
  const candidates: { path: string; source: PythonProbe['source'] }[] = [];
  const override = env.LAYERFORGE_PYTHON?.trim();
  if (override) candidates.push({ path: override, source: 'LAYERFORGE_PYTHON' });
  else {
    const fromPath = onPath('python3', env);
    if (fromPath) candidates.push({ path: fromPath, source: 'PATH' });
    const system = opts.systemPython ?? '/usr/bin/python3';
    if (!fromPath || resolved(fromPath) !== resolved(system)) candidates.push({ path: system, source: 'system' });
  }
  const tried: PythonProbe[] = [];
  const none = { cuda: false, gpus: 0, gpuNames: [], gloo: false, nccl: false };
  for (const c of candidates) {
    if (c.source === 'system' && !isExecutable(c.path)) {
      tried.push({ ...c, problem: 'does not exist' });
      continue;
    }
    const r = await runProbe(c.source === 'LAYERFORGE_PYTHON' && !isAbsolute(c.path) ? (onPath(c.path, env) ?? c.path) : c.path, env, timeoutMs);
    const probe: PythonProbe = {
      ...c,
      ...(r.out?.python ? { pythonVersion: r.out.python } : {}),
      ...(r.out?.torch ? { torch: r.out.torch } : {}),
      problem: r.problem ?? problemOf(r.out ?? {}),
    };
    tried.push(probe);
    if (probe.problem === null && r.out) {
      const o = r.out;
      const found = {
        cuda: o.cuda === true,
        gpus: o.gpus ?? 0,
        gpuNames: o.gpuNames ?? [],
        gloo: o.gloo === true,
        nccl: o.nccl === true,
      };
      const python = o.executable || c.path;
      const skipped = tried.slice(0, -1);
      const reason =
        `${label(probe)}: Python ${o.python ?? '?'} with torch ${o.torch}, ${describeDevices(found)}` +
        (skipped.length ? `; skipped ${skipped.map((s) => `${label(s)}: ${s.problem}`).join('; ')}` : '');
      return { available: true, reason, python, ...(o.python ? { pythonVersion: o.python } : {}), torch: o.torch!, ...found, tried };
    }
  }
  let reason: string;
  if (override) reason = `LAYERFORGE_PYTHON (${override}) ${tried[0]?.problem ?? 'cannot be used'}`;
  else if (tried.every((t) => t.problem === 'does not exist')) reason = 'no Python found: neither python3 on PATH nor /usr/bin/python3; install Python 3 with PyTorch or set LAYERFORGE_PYTHON';
  else reason = `no Python with PyTorch found: ${tried.map((t) => `${label(t)} ${t.problem}`).join('; ')} (install torch, e.g. apt-get install python3-torch, or set LAYERFORGE_PYTHON)`;
  return { available: false, reason, ...none, tried };
}

const cache = new Map<string, Promise<TorchReport>>();

/** Finds a Python with PyTorch (cached per LAYERFORGE_PYTHON and PATH). Never rejects. */
export function detectTorch(opts: DetectOptions = {}): Promise<TorchReport> {
  const env = opts.env ?? process.env;
  const key = JSON.stringify([env.LAYERFORGE_PYTHON ?? '', env.PATH ?? '', opts.systemPython ?? '']);
  const hit = cache.get(key);
  if (hit && !opts.refresh) return hit;
  const p = detect(opts).catch(
    (error: unknown): TorchReport => ({
      available: false,
      reason: `looking for Python with PyTorch failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      cuda: false,
      gpus: 0,
      gpuNames: [],
      gloo: false,
      nccl: false,
      tried: [],
    }),
  );
  cache.set(key, p);
  return p;
}

/** The pytorch entry of the backend report (layerforge backends, the app's backend menu). */
export async function pytorchBackendInfo(opts: DetectOptions = {}): Promise<{ name: 'pytorch'; available: boolean; reason: string }> {
  const r = await detectTorch(opts);
  return { name: 'pytorch', available: r.available, reason: r.available ? `process engine (torchrun, DDP): ${r.reason}` : r.reason };
}
