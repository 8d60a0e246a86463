/**
 * The bench helpers (no timing here: figures come from `npm run bench`): the PyTorch equivalents of the
 * templates have exactly our parameter counts, and the memory sampler reads this process tree's RSS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../shared/graph';
import { parseProjectText } from '../../shared/project';
import { readCifarBinaryDir } from '../../main/engine/datasets/cifar10';
import { PYTHON } from './pytorch';
import { bestOf, PEER_SCRIPT, TEMPLATES, templateBatches } from './templates';
import { procMemory, processTree, TreeSampler, writeSyntheticCifar } from './memory';

const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('pytorch-templates.py', () => {
  it.skipIf(!hasTorch)('builds every template with our parameter count (Keras-style: trainable + BatchNorm moving stats)', () => {
    const r = spawnSync(PYTHON, [PEER_SCRIPT, 'params'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const peers = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { templates: Record<string, { params: number }> }).templates;
    expect(Object.keys(peers).sort()).toEqual([...TEMPLATES].sort());
    for (const name of TEMPLATES) {
      const file = `resources/templates/${name}.json`;
      const ours = analyzeGraph(parseProjectText(readFileSync(file, 'utf8'), file).graph).totals.params;
      expect(peers[name]!.params, name).toBe(ours);
    }
  });

  it.skipIf(hasTorch)('needs /usr/bin/python3 with torch (apt-get install -y python3-torch)', () => {});

  it('takes the best of the peer runs per figure', () => {
    const a = { params: 5, batch: 64, train_img_s: 100, infer_img_s: 900 };
    const b = { params: 5, batch: 64, train_img_s: 120, infer_img_s: 800 };
    expect(bestOf([a, b])).toEqual({ params: 5, batch: 64, train_img_s: 120, infer_img_s: 900 });
    expect(bestOf([a])).toEqual(a);
  });

  it('scales the timed batches with --batches', () => {
    expect(templateBatches(32)).toBe(8);
    expect(templateBatches(1)).toBe(2);
    expect(templateBatches(9)).toBe(3);
  });
});

describe('memory sampling', () => {
  it('reads VmRSS / VmHWM of this process and finds a child process in the tree', () => {
    const me = procMemory(process.pid)!;
    expect(me.rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(me.hwm).toBeGreaterThanOrEqual(me.rss);
    expect(procMemory(2 ** 30)).toBeNull();
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      expect(processTree(process.pid)[0]).toBe(process.pid);
      expect(processTree(process.pid)).toContain(child.pid);
    } finally {
      child.kill();
    }
    const s = new TreeSampler(process.pid);
    const total = s.sample();
    expect(total).toBeGreaterThanOrEqual(me.rss / 2);
    expect(s.hwmSum()).toBeGreaterThanOrEqual(total);
  });

  it('writes synthetic CIFAR-10 binaries that the CIFAR-10 reader accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
    try {
      writeSyntheticCifar(dir, 20);
      const { train, test } = await readCifarBinaryDir(dir);
      expect(train.count).toBe(100);
      expect(test.count).toBe(20);
      expect(Array.from(train.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      expect(train.images.length).toBe(100 * 3072);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
