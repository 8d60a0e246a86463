/**
 * Accuracy is not traded for speed: cifar10-cnn on real CIFAR-10 through the real CLI
 * (`layerforge train ... --backend wasm --json`, a child process), against the same network in
 * PyTorch (`../shared/bench/pytorch-reference.py cifar DIR`) on the same images.
 *
 * Default: 1 epoch on the first 10,000 training images (target >= 35%, PyTorch ~39%).
 * LAYERFORGE_BENCH_ACCURACY_FULL=1 adds 10 epochs on all 50,000 (target >= 66%, PyTorch ~68%; about
 * 15 minutes for ours and 10 for PyTorch on an idle 2-core machine).
 *
 * Data: the official binaries in $LAYERFORGE_BENCH_CIFAR or /tmp/cifar/cifar-10-batches-bin; else
 * they are built once from ../shared/datasets/cifar10-jpg.tar.gz with its to-cifar-binary.py
 * (needs python3-pil) into /tmp/cifar.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { PYTHON, REFERENCE, speedPeerEnv } from './pytorch';
import type { BenchModule, Figure } from './types';

const TEMPLATE = 'resources/templates/cifar10-cnn.json';
const DEFAULT_ROOT = '/tmp/cifar';
const DEFAULT_DIR = `${DEFAULT_ROOT}/cifar-10-batches-bin`;
const JPG_ARCHIVE = resolve('../shared/datasets/cifar10-jpg.tar.gz');
const TO_BINARY = resolve('../shared/datasets/to-cifar-binary.py');

const hasBinaries = (d: string) => ['data_batch_1.bin', 'data_batch_5.bin', 'test_batch.bin'].every((f) => existsSync(`${d}/${f}`));

/** A folder with CIFAR-10's binaries, building it from ../shared/datasets when needed; or why not. */
export function cifarBinaries(log: (l: string) => void): { dir: string } | { why: string } {
  const found = [process.env.LAYERFORGE_BENCH_CIFAR, DEFAULT_DIR].filter((d): d is string => Boolean(d)).find(hasBinaries);
  if (found) return { dir: found };
  if (!existsSync(JPG_ARCHIVE) || !existsSync(TO_BINARY)) return { why: `no CIFAR-10 binaries and no ${JPG_ARCHIVE} to build them from` };
  log(`accuracy: building CIFAR-10 binaries in ${DEFAULT_DIR} from ${JPG_ARCHIVE} ...`);
  mkdirSync(DEFAULT_ROOT, { recursive: true });
  const tar = spawnSync('tar', ['xzf', JPG_ARCHIVE, '-C', DEFAULT_ROOT], { encoding: 'utf8' });
  if (tar.status !== 0) return { why: `extracting ${JPG_ARCHIVE} failed: ${tar.stderr.trim()}` };
  const conv = spawnSync(PYTHON, [TO_BINARY, DEFAULT_ROOT, DEFAULT_DIR], { encoding: 'utf8', timeout: 600_000 });
  if (conv.status !== 0) return { why: `to-cifar-binary.py failed (needs python3-pil): ${(conv.stderr || '').trim().split('\n').at(-1)}` };
  return hasBinaries(DEFAULT_DIR) ? { dir: DEFAULT_DIR } : { why: `to-cifar-binary.py wrote no binaries to ${DEFAULT_DIR}` };
}

interface Outcome {
  accuracy: number | null;
  imagesPerSecond: number | null;
  why?: string;
}

function ours(dir: string, epochs: number, limit: number | null, log: (l: string) => void): Outcome {
  const args = ['bin/layerforge.mjs', 'train', TEMPLATE, '--dataset', 'cifar10', '--data-dir', dir, '--epochs', String(epochs), '--batch-size', '64', '--optimizer', 'adam', '--lr', '0.001', '--backend', 'wasm', '--seed', '1', '--json'];
  if (limit) args.push('--limit', String(limit));
  log(`accuracy: layerforge ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 3 * 3600_000, maxBuffer: 256 * 1024 * 1024 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const s = JSON.parse(last) as { testAccuracy?: number; trainImagesPerSecond?: number };
    if (r.status === 0 && typeof s.testAccuracy === 'number') return { accuracy: s.testAccuracy, imagesPerSecond: s.trainImagesPerSecond ?? null };
  } catch {
    /* reported below */
  }
  return { accuracy: null, imagesPerSecond: null, why: `layerforge train exited ${r.status}: ${(r.stderr || '').trim().split('\n').at(-1)}` };
}

function pytorch(dir: string, epochs: number, limit: number | null, log: (l: string) => void): Outcome {
  if (!existsSync(REFERENCE)) return { accuracy: null, imagesPerSecond: null, why: `${REFERENCE} not found` };
  if (spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) return { accuracy: null, imagesPerSecond: null, why: 'PyTorch is not installed (apt-get install -y python3-torch)' };
  const args = [REFERENCE, 'cifar', dir, '--epochs', String(epochs), ...(limit ? ['--limit', String(limit)] : [])];
  log(`accuracy: python3 ${args.join(' ')}`);
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 3 * 3600_000, env: speedPeerEnv() });
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { test_accuracy?: number; train_img_s?: number };
    if (r.status === 0 && typeof j.test_accuracy === 'number') return { accuracy: j.test_accuracy, imagesPerSecond: j.train_img_s ?? null };
  } catch {
    /* reported below */
  }
  return { accuracy: null, imagesPerSecond: null, why: `pytorch-reference.py exited ${r.status}: ${(r.stderr || '').trim().split('\n').at(-1)}` };
}

const pct = (v: number | null) => (v == null ? null : Math.round(v * 1000) / 10);

export const accuracyBench: BenchModule = {
  name: 'accuracy',
  async run({ log }) {
    const runs: Array<{ key: string; label: string; epochs: number; limit: number | null; target: number }> = [
      { key: '1x10k', label: '1 epoch on 10,000 images', epochs: 1, limit: 10_000, target: 35 },
    ];
    if (process.env.LAYERFORGE_BENCH_ACCURACY_FULL === '1') runs.push({ key: '10x50k', label: '10 epochs on 50,000 images', epochs: 10, limit: null, target: 66 });
    const data = cifarBinaries(log);
    const figures: Figure[] = [];
    for (const run of runs) {
      const id = `accuracy.${run.key}`;
      if ('why' in data) {
        figures.push({ id, label: `cifar10-cnn test accuracy, ${run.label} (target >= ${run.target}%)`, value: null, unit: '%', peer: `pytorch.${id}`, note: data.why });
        continue;
      }
      const load = loadavg()[0]!.toFixed(2);
      const peer = pytorch(data.dir, run.epochs, run.limit, log);
      const mine = ours(data.dir, run.epochs, run.limit, log);
      log(`accuracy ${run.key}: ours ${pct(mine.accuracy)}% (${mine.imagesPerSecond?.toFixed(0)} img/s), PyTorch ${pct(peer.accuracy)}% (${peer.imagesPerSecond?.toFixed(0)} img/s)`);
      figures.push(
        { id: `pytorch.${id}`, label: `PyTorch cifar10-cnn test accuracy, ${run.label}`, value: pct(peer.accuracy), unit: '%', ...(peer.why ? { note: peer.why } : {}) },
        { id, label: `cifar10-cnn test accuracy on wasm, ${run.label} (target >= ${run.target}%)`, value: pct(mine.accuracy), unit: '%', peer: `pytorch.${id}`, note: mine.why ?? `real CIFAR-10 from ${data.dir}; load ${load}` },
      );
    }
    return figures;
  },
};
