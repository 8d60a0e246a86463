import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tinyCifar } from '../../engine/datasets/testData';
import { io } from '../testing';
import { main } from '../index';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lf-cli-ds-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('layerforge datasets', () => {
  it('imports a CIFAR-10 folder and lists it as ready', async () => {
    const src = join(root, 'cifar-10-batches-bin');
    mkdirSync(src);
    for (const [n, b] of Object.entries(tinyCifar(2).bytes)) writeFileSync(join(src, n), b);
    const data = join(root, 'data');
    const a = io();
    expect(await main(['datasets', 'import', src, '--data-dir', data], a.x)).toBe(0);
    expect(a.out.join('\n')).toMatch(/Imported cifar10: 10 train \/ 2 test images, 10 classes, 32x32x3/);
    const b = io();
    expect(await main(['datasets', 'list', '--json', '--data-dir', data], b.x)).toBe(0);
    const list = JSON.parse(b.out.join('\n')) as { id: string; status: string; trainSize: number }[];
    expect(list.find((d) => d.id === 'cifar10')).toMatchObject({ status: 'ready', trainSize: 10 });
    const c = io();
    expect(await main(['datasets', 'list', '--data-dir', data], c.x)).toBe(0);
    expect(c.out[0]).toMatch(/^ID\s+STATUS\s+TRAIN\s+TEST\s+SHAPE\s+WHERE/);
    expect(c.out.join('\n')).toMatch(/cifar10\s+ready\s+10\s+2\s+32x32x3/);
  });

  it('gives usage errors (exit 2) and clear failures (exit 1)', async () => {
    const a = io();
    expect(await main(['datasets', 'import', root, '--as', 'gif'], a.x)).toBe(2);
    expect(a.err.join('\n')).toMatch(/--as must be one of cifar10, mnist, fashion-mnist, folder/);
    const b = io();
    expect(await main(['datasets', 'prepare', 'nope', '--data-dir', root], b.x)).toBe(1);
    expect(b.err.join('\n')).toMatch(/Unknown dataset 'nope'/);
    const c = io();
    expect(await main(['datasets'], c.x)).toBe(2);
  });
});
