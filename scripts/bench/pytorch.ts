/** The peer: ../shared/bench/pytorch-reference.py throughput, run by Debian's PyTorch in the same run. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchModule, Figure } from './types';

export const PYTHON = '/usr/bin/python3';
export const REFERENCE = resolve('../shared/bench/pytorch-reference.py');

export const pytorchBench: BenchModule = {
  name: 'pytorch',
  async run({ log }) {
    const skip = (why: string): Figure[] => {
      log(`PyTorch reference skipped: ${why}`);
      return [
        { id: 'pytorch.train', label: 'PyTorch cifar10-cnn training', value: null, unit: 'img/s', note: why },
        { id: 'pytorch.infer', label: 'PyTorch cifar10-cnn inference', value: null, unit: 'img/s', note: why },
      ];
    };
    if (!existsSync(REFERENCE)) return skip(`${REFERENCE} not found`);
    if (!existsSync(PYTHON)) return skip(`${PYTHON} not found`);
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) return skip('PyTorch is not installed for /usr/bin/python3 (apt-get install -y python3-torch)');
    log('PyTorch reference: running pytorch-reference.py throughput ...');
    const r = spawnSync(PYTHON, [REFERENCE, 'throughput'], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) return skip(`pytorch-reference.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}`);
    const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
    const j = JSON.parse(last) as { train_img_s?: number; infer_img_s?: number };
    return [
      { id: 'pytorch.train', label: 'PyTorch cifar10-cnn training (batch 64)', value: j.train_img_s ?? null, unit: 'img/s' },
      { id: 'pytorch.infer', label: 'PyTorch cifar10-cnn inference (batch 256)', value: j.infer_img_s ?? null, unit: 'img/s' },
    ];
  },
};
