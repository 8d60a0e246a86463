import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../index';
import type { CliIO } from '../command';

/** Writes a tiny CIFAR-10 binary folder: 5 × 60 train records + 60 test records (label + R,G,B planes). */
function tinyCifar(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lf-cifar-'));
  let seed = 5;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const file = (records: number) => {
    const buf = new Uint8Array(records * 3073);
    for (let r = 0; r < records; r++) {
      const label = Math.floor(rand() * 10);
      buf[r * 3073] = label;
      for (let j = 1; j < 3073; j++) buf[r * 3073 + j] = Math.min(255, label * 25 + Math.floor(rand() * 30));
    }
    return buf;
  };
  for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `data_batch_${i}.bin`), file(60));
  writeFileSync(join(dir, 'test_batch.bin'), file(60));
  return dir;
}

/** A small project (pure-JS cpu trains it in a blink). */
function tinyProject(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lf-proj-')), 'tiny.json');
  const node = (id: string, type: string, name: string, params: object) => ({ id, type, name, params, position: { x: 0, y: 0 } });
  writeFileSync(
    file,
    JSON.stringify({
      format: 'layerforge-project',
      version: 1,
      name: 'tiny',
      graph: {
        nodes: [
          node('in', 'Input', 'input_1', { kind: 'image', height: 32, width: 32, channels: 3 }),
          node('p', 'MaxPool2D', 'pool_1', { poolSize: 4 }),
          node('f', 'Flatten', 'flatten_1', {}),
          node('o', 'Dense', 'dense_1', { units: 10, activation: 'softmax' }),
        ],
        edges: [
          { id: 'e1', source: 'in', target: 'p', targetPort: 0 },
          { id: 'e2', source: 'p', target: 'f', targetPort: 0 },
          { id: 'e3', source: 'f', target: 'o', targetPort: 0 },
        ],
      },
      training: { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.01 },
      dataset: 'cifar10',
    }),
  );
  return file;
}

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false };
}

describe('layerforge train', () => {
  it('--json prints one object per event, then a summary; --limit and --out work', async () => {
    const data = tinyCifar();
    const out = join(mkdtempSync(join(tmpdir(), 'lf-out-')), 'model');
    const io = capture();
    const code = await main(['train', tinyProject(), '--dataset', 'cifar10', '--data-dir', data, '--epochs', '2', '--batch-size', '32', '--limit', '200', '--backend', 'cpu', '--out', out, '--json'], io);
    expect(code, io.stderr.join('\n')).toBe(0);
    const lines = io.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]!.type).toBe('started');
    expect(lines.filter((l) => l.type === 'epoch')).toHaveLength(2);
    expect(lines.filter((l) => l.type === 'ended')).toHaveLength(1);
    const summary = lines.at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary).toMatchObject({ backend: 'cpu', epochs: 2, trainImages: 200, testImages: 60, reason: 'completed' });
    expect(typeof summary.testAccuracy).toBe('number');
    expect(summary.trainImagesPerSecond as number).toBeGreaterThan(0);
    // Honest speed: the steady-state rate is over training steps only; the rest of the wall time is told apart.
    const t = summary as Record<string, number>;
    for (const k of ['startupSeconds', 'trainSeconds', 'wallSeconds']) expect(t[k], k).toBeGreaterThan(0);
    expect(t.evalSeconds).toBeGreaterThanOrEqual(0);
    expect(t.wallSeconds! + 0.2).toBeGreaterThanOrEqual(t.startupSeconds! + t.trainSeconds! + t.evalSeconds!);
    expect(t.trainImagesPerSecond! * t.trainSeconds!).toBeGreaterThan(t.imagesTrained! * 0.8);
    expect(t.trainImagesPerSecond! * t.trainSeconds!).toBeLessThan(t.imagesTrained! * 1.25);
    for (const f of ['model.json', 'weights.bin', 'project.json', 'metrics.json']) expect(existsSync(join(out, f))).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics.testAccuracy).toBe(summary.testAccuracy);
  });

  it('prints a human summary and reports a missing dataset folder clearly', async () => {
    const io = capture();
    const code = await main(['train', tinyProject(), '--dataset', 'cifar10', '--data-dir', tinyCifar(), '--backend', 'cpu', '--limit', '64'], io);
    expect(code, io.stderr.join('\n')).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/Test accuracy: +\d+\.\d+% on 60 images/);
    expect(io.stderr.join('\n')).toMatch(/Backend: cpu/);

    const bad = capture();
    const empty = mkdtempSync(join(tmpdir(), 'lf-empty-'));
    expect(await main(['train', tinyProject(), '--dataset', 'cifar10', '--data-dir', empty, '--backend', 'cpu'], bad)).toBe(1);
    expect(bad.stderr.join('\n')).toMatch(/dataset 'cifar10' is not ready/);
  });

  it('rejects bad options with usage', async () => {
    const io = capture();
    expect(await main(['train', tinyProject(), '--dataset', 'cifar10', '--epochs', '0'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/--epochs must be a whole number >= 1/);
  });
});
