/** The peer: ../shared/bench/pytorch-reference.py throughput, run by Debian's PyTorch in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const REFERENCE = resolve('../shared/bench/pytorch-reference.py');

/**
 * glibc malloc settings for every PyTorch *speed* peer (training and inference throughput).
 *
 * With glibc's defaults, PyTorch gives the memory of its large tensors back to the kernel when they are
 * freed (blocks above the mmap threshold are munmap'd; freed heap tops are trimmed; the OpenMP threads'
 * arenas are madvise'd away) and faults it in again, zeroed, in the next step. Measured here
 * (2026-12-03, this VM): cifar10-cnn took ~13,000 minor page faults a step and 25-45% of its CPU time in
 * the kernel, and trained at 575-1,580 img/s depending on the host's mood; with these two settings it
 * took ~0 faults a step and trained at 4,670-5,190 img/s. resnet-small: 490-530 -> 1,700; vgg-cnn:
 * 475-490 -> 900-960. Models with small tensors (lenet5, the LSTMs, the transformer) did not change.
 * PyTorch's own performance tuning guide tells users to use a caching allocator (jemalloc or TCMalloc)
 * for this reason; glibc's two settings do the same without a package (TCMalloc measured the same here;
 * Debian's jemalloc, with its default decay, was slower still than glibc's defaults). A peer that
 * spends half its time zeroing pages would flatter every ratio against it, so the speed peers run
 * with these settings. `LAYERFORGE_BENCH_PEER_MALLOC=default` runs them with glibc's defaults, to
 * reproduce the old figures. The memory module keeps glibc's defaults: they give PyTorch its lowest RSS.
 */
export const PEER_MALLOC_ENV: Readonly<Record<string, string>> = {
  /** Fixed (not dynamic) threshold at glibc's 64-bit maximum: tensors up to 32 MiB come from the heap. */
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  /** Freed memory at the top of a heap stays mapped up to 1 GiB. */
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
};

/** Whether the speed peers run with glibc's defaults (LAYERFORGE_BENCH_PEER_MALLOC=default). */
function peerMallocDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LAYERFORGE_BENCH_PEER_MALLOC === 'default';
}

/** The environment of a PyTorch speed peer: ours plus PEER_MALLOC_ENV (see there). */
export function speedPeerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return peerMallocDefault(env) ? { ...env } : { ...env, ...PEER_MALLOC_ENV };
}

/** The environment of a PyTorch memory peer: glibc's malloc defaults, whatever ours has. */
export function memoryPeerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of Object.keys(PEER_MALLOC_ENV)) delete out[k];
  return out;
}

/** How the speed peers' malloc is set, for the figures' notes. */
export function speedPeerMallocNote(env: NodeJS.ProcessEnv = process.env): string {
  return peerMallocDefault(env) ? 'glibc malloc defaults (LAYERFORGE_BENCH_PEER_MALLOC=default: the peer page-faults its tensors every step)' : 'glibc malloc: mmap threshold 32 MiB, trim threshold 1 GiB';
}

export type PytorchThroughput = { train: number | null; infer: number | null } | { why: string };

/** Why the PyTorch peer cannot run here, or null when it can. */
export function pytorchMissing(): string | null {
  if (!existsSync(REFERENCE)) return `${REFERENCE} not found`;
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch is not installed for /usr/bin/python3 (apt-get install -y python3-torch)';
  return null;
}

/** One run of `pytorch-reference.py throughput` (the cifar10-cnn at batch 64, inference at 256). */
export function pytorchThroughput(): PytorchThroughput {
  const missing = pytorchMissing();
  if (missing) return { why: missing };
  const r = spawnSync(PYTHON, [REFERENCE, 'throughput'], { encoding: 'utf8', timeout: 600_000, env: speedPeerEnv() });
  if (r.status !== 0) return { why: `pytorch-reference.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}` };
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { train_img_s?: number; infer_img_s?: number };
  return { train: j.train_img_s ?? null, infer: j.infer_img_s ?? null };
}
