/** The peer: ../shared/bench/pytorch-reference.py throughput, run by Debian's PyTorch in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PYTORCH_MALLOC_ENV } from '../../main/engine/pytorch/mallocEnv';

export const PYTHON = '/usr/bin/python3';
export const REFERENCE = resolve('../shared/bench/pytorch-reference.py');

/*
 * Every PyTorch *speed* peer (training and inference throughput) runs with PYTORCH_MALLOC_ENV, as our pytorch
 * backend's runs do (main/engine/pytorch/mallocEnv.ts says why and what it measured): a peer slowed by its
 * allocator would flatter every ratio against it. TCMalloc measured the same as these settings here; Debian's
 * jemalloc, with its default decay, was slower still than glibc's defaults. `LAYERFORGE_BENCH_PEER_MALLOC=default`
 * runs the peers with glibc's defaults (the figures before 2026-12-03 10:00 UTC). The memory module keeps glibc's
 * defaults: they give PyTorch its lowest RSS.
 */

/** Whether the speed peers run with glibc's defaults (LAYERFORGE_BENCH_PEER_MALLOC=default). */
function peerMallocDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LAYERFORGE_BENCH_PEER_MALLOC === 'default';
}

/** The environment of a PyTorch speed peer: ours plus PYTORCH_MALLOC_ENV (see above). */
export function speedPeerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return peerMallocDefault(env) ? { ...env } : { ...env, ...PYTORCH_MALLOC_ENV };
}

/** The environment of a PyTorch memory peer: glibc's malloc defaults, whatever ours has. */
export function memoryPeerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of Object.keys(PYTORCH_MALLOC_ENV)) delete out[k];
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
