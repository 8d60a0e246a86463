/**
 * The pytorch backend's detection with fake Pythons (shell scripts that answer the probe as a given install
 * would), and with the real one where this machine has torch.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDevices, describeTorchRun, detectTorch, pytorchBackendInfo, torchVersionAtLeast } from './backend';

const root = mkdtempSync(join(tmpdir(), 'lf-torchdetect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fake python: a shell script that prints `stdout` (and `stderr`) and exits with `code`, whatever it is asked. */
function fakePython(opts: { stdout?: string; stderr?: string; code?: number; name?: string; dir?: string }): string {
  const dir = opts.dir ?? join(root, `bin-${++n}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, opts.name ?? 'python3');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(file, `#!/bin/sh\n${opts.stdout !== undefined ? `printf '%s\\n' ${q(opts.stdout)}\n` : ''}${opts.stderr !== undefined ? `printf '%s\\n' ${q(opts.stderr)} >&2\n` : ''}exit ${opts.code ?? 0}\n`);
  chmodSync(file, 0o755);
  return file;
}

const torchOk = (extra: Record<string, unknown> = {}) => JSON.stringify({ python: '3.11.2', executable: '/opt/py/bin/python3', torch: '2.3.0', cuda: false, gpus: 0, gpuNames: [], distributed: true, gloo: true, nccl: false, run: true, ...extra });
const env = (vars: Record<string, string>) => ({ PATH: join(root, 'empty-path'), ...vars });
const noSystem = join(root, 'no-such-python3');

describe('detectTorch with fake Pythons', () => {
  it('LAYERFORGE_PYTHON that fails to run: one sentence with its last stderr line, no trace', async () => {
    const py = fakePython({ stderr: 'Traceback (most recent call last):\n  File "<string>", line 1\nSyntaxError: boom', code: 1 });
    const r = await detectTorch({ env: env({ LAYERFORGE_PYTHON: py }), systemPython: noSystem });
    expect(r.available).toBe(false);
    expect(r.reason).toBe(`LAYERFORGE_PYTHON (${py}) did not run as Python (exit code 1: SyntaxError: boom)`);
    expect(r.reason).not.toMatch(/Traceback|\n/);
  });

  it('LAYERFORGE_PYTHON without torch, or missing', async () => {
    const py = fakePython({ stdout: JSON.stringify({ python: '3.12.1', executable: '/x/python3', error: "ModuleNotFoundError: No module named 'torch'" }) });
    expect((await detectTorch({ env: env({ LAYERFORGE_PYTHON: py }) })).reason).toBe(`LAYERFORGE_PYTHON (${py}) has no torch module`);
    expect((await detectTorch({ env: env({ LAYERFORGE_PYTHON: join(root, 'nope') }) })).reason).toBe(`LAYERFORGE_PYTHON (${join(root, 'nope')}) does not exist`);
  });

  it('a torch that is too old, or cannot import, says so', async () => {
    const old = fakePython({ stdout: torchOk({ torch: '1.8.1' }) });
    expect((await detectTorch({ env: env({ LAYERFORGE_PYTHON: old }) })).reason).toBe(`LAYERFORGE_PYTHON (${old}) has torch 1.8.1, too old (torchrun needs torch 1.10 or newer)`);
    const broken = fakePython({ stdout: JSON.stringify({ python: '3.11.2', error: 'OSError: libgomp.so.1: cannot open shared object file' }) });
    expect((await detectTorch({ env: env({ LAYERFORGE_PYTHON: broken }) })).reason).toBe(`LAYERFORGE_PYTHON (${broken}) cannot import torch (OSError: libgomp.so.1: cannot open shared object file)`);
    const nodist = fakePython({ stdout: torchOk({ distributed: false, gloo: false }) });
    expect((await detectTorch({ env: env({ LAYERFORGE_PYTHON: nodist }) })).reason).toContain('built without torch.distributed');
  });

  it('skips python3 on PATH without torch and takes the system one, saying so', async () => {
    const shim = fakePython({ stdout: JSON.stringify({ python: '3.11.7', error: "ModuleNotFoundError: No module named 'torch'" }) });
    const system = fakePython({ stdout: torchOk({ torch: '1.13.1' }), name: 'python3-system' });
    const r = await detectTorch({ env: { PATH: join(shim, '..') }, systemPython: system });
    expect(r).toMatchObject({ available: true, python: '/opt/py/bin/python3', torch: '1.13.1', cuda: false, gloo: true, nccl: false });
    expect(r.reason).toBe(`${system}: Python 3.11.2 with torch 1.13.1, CPU only (no CUDA device), gloo; skipped python3 on PATH (${shim}): has no torch module`);
    expect(r.tried.map((t) => t.source)).toEqual(['PATH', 'system']);
    expect(describeTorchRun(r, 2)).toBe('pytorch (torch 1.13.1, CPU, gloo, 2 processes)');
  });

  it('reports CUDA, the GPUs and nccl', async () => {
    const py = fakePython({ stdout: torchOk({ cuda: true, gpus: 2, gpuNames: ['NVIDIA H200', 'NVIDIA H200'], nccl: true }) });
    const r = await detectTorch({ env: env({ LAYERFORGE_PYTHON: py }) });
    expect(r).toMatchObject({ available: true, cuda: true, gpus: 2, nccl: true, gloo: true });
    expect(r.reason).toBe(`LAYERFORGE_PYTHON (${py}): Python 3.11.2 with torch 2.3.0, CUDA, 2 GPUs (NVIDIA H200), nccl and gloo`);
    expect(describeTorchRun(r, 1)).toBe('pytorch (torch 2.3.0, CUDA, nccl, 1 process)');
  });

  it('no Python at all', async () => {
    const r = await detectTorch({ env: env({}), systemPython: noSystem });
    expect(r).toMatchObject({ available: false });
    expect(r.reason).toMatch(/^no Python found: neither python3 on PATH nor \/usr\/bin\/python3/);
  });

  it('caches per environment; refresh asks again', async () => {
    const dir = join(root, 'cache-bin');
    const py = fakePython({ stdout: torchOk(), dir });
    const e = env({ LAYERFORGE_PYTHON: py });
    const first = detectTorch({ env: e });
    expect(detectTorch({ env: e })).toBe(first);
    expect((await first).available).toBe(true);
    fakePython({ stdout: torchOk({ torch: '1.2.0' }), dir }); // the same file, now too old
    expect((await detectTorch({ env: e })).available).toBe(true);
    expect((await detectTorch({ env: e, refresh: true })).available).toBe(false);
  });

  it('pytorchBackendInfo is the report entry', async () => {
    const py = fakePython({ stdout: torchOk() });
    expect(await pytorchBackendInfo({ env: env({ LAYERFORGE_PYTHON: py }) })).toEqual({
      name: 'pytorch',
      available: true,
      reason: `process engine (torchrun, DDP): LAYERFORGE_PYTHON (${py}): Python 3.11.2 with torch 2.3.0, CPU only (no CUDA device), gloo`,
    });
  });

  it('helpers', () => {
    expect(torchVersionAtLeast('1.13.0a0+gitabc')).toBe(true);
    expect(torchVersionAtLeast('1.9.1')).toBe(false);
    expect(torchVersionAtLeast('2.0.0')).toBe(true);
    expect(torchVersionAtLeast('nightly')).toBe(false);
    expect(describeDevices({ cuda: false, gpus: 0, gpuNames: [], gloo: true, nccl: false })).toBe('CPU only (no CUDA device), gloo');
  });
});

const systemTorch = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!systemTorch)('detectTorch on this machine (/usr/bin/python3 has torch; CI installs python3-torch)', () => {
  it('finds a Python with torch and gloo', async () => {
    const r = await detectTorch({ env: { ...process.env, LAYERFORGE_PYTHON: '' } });
    expect(r.available).toBe(true);
    expect(r.gloo).toBe(true);
    expect(r.reason).toMatch(/Python 3\.\d+\.\d+ with torch \d+\.\d+/);
  });
});
