/** The peer: ../shared/bench/pytorch-reference.py throughput, run by Debian's PyTorch in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const REFERENCE = resolve('../shared/bench/pytorch-reference.py');

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
  const r = spawnSync(PYTHON, [REFERENCE, 'throughput'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { why: `pytorch-reference.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}` };
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { train_img_s?: number; infer_img_s?: number };
  return { train: j.train_img_s ?? null, infer: j.infer_img_s ?? null };
}
