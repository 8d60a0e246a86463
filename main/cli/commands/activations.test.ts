/**
 * `layerforge activations` and `layerforge explain` on a tiny trained model folder: the folder remembers its
 * data (metrics.json), sample N is record N of test_batch.bin, the values equal a tfjs sub-model cut at the
 * layer, and explain writes the overlay PNG.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../engine/backends';
import { loadModelFolder } from '../../engine/export/modelFolder';
import { writeTinyCifar10 } from '../../engine/service/tinyCifar';
import { main } from '../index';
import { io } from '../testing';

const root = mkdtempSync(join(tmpdir(), 'lf-cli-insight-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bin = writeTinyCifar10(join(root, 'src'), 8, 12);
const model = join(root, 'model');

/** A small conv net (pure-JS cpu trains it in a blink): pool 32→8, conv 3×3×4 (relu), dense 10. */
function tinyProject(): string {
  const file = join(root, 'tiny.json');
  const node = (id: string, type: string, name: string, params: object) => ({ id, type, name, params, position: { x: 0, y: 0 } });
  const chain = ['in', 'pool', 'conv1', 'flat', 'out'];
  writeFileSync(
    file,
    JSON.stringify({
      format: 'layerforge-project',
      version: 1,
      name: 'tiny',
      graph: {
        nodes: [
          node('in', 'Input', 'input_1', { kind: 'image', height: 32, width: 32, channels: 3 }),
          node('pool', 'MaxPool2D', 'max_pooling2d_1', { poolSize: 4 }),
          node('conv1', 'Conv2D', 'conv2d_1', { filters: 4, kernelSize: 3, activation: 'relu' }),
          node('flat', 'Flatten', 'flatten_1', {}),
          node('out', 'Dense', 'dense_2', { units: 10, activation: 'softmax' }),
        ],
        edges: chain.slice(1).map((target, i) => ({ id: `e${i}`, source: chain[i]!, target, targetPort: 0 })),
      },
      training: { epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 0.01 },
      dataset: 'cifar10',
    }),
  );
  return file;
}

async function run(args: string[]) {
  const c = io();
  const code = await main(args, c.x);
  return { code, out: c.out, err: c.err };
}

beforeAll(async () => {
  const t = await run(['train', tinyProject(), '--dataset', 'cifar10', '--data-dir', bin, '--epochs', '1', '--limit', '16', '--batch-size', '8', '--backend', 'cpu', '--out', model]);
  expect(t.code, t.err.join('\n')).toBe(0);
}, 30_000);

describe('layerforge activations / explain', () => {
  it('the model folder remembers its data; --json gives the values of a sub-model cut at the layer for record N', async () => {
    const metrics = JSON.parse(readFileSync(join(model, 'metrics.json'), 'utf8')) as { data?: { datasetId: string; dataDir: string } };
    expect(metrics.data).toEqual({ datasetId: 'cifar10', dataDir: resolve(bin) });

    const r = await run(['activations', model, '--sample', '5', '--layer', 'conv1', '--backend', 'cpu', '--json']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = JSON.parse(r.out.at(-1)!) as { layer: string; node: string; shape: number[]; values: number[]; label: number };
    const buf = readFileSync(join(bin, 'test_batch.bin'));
    // conv1 reads the 8×8×3 max-pooled image: 6×6×4 out.
    expect(got).toMatchObject({ layer: 'conv2d_1', node: 'conv1', shape: [6, 6, 4], label: buf[5 * 3073] });
    const { tf } = await selectBackend({ force: 'cpu' });
    const folder = await loadModelFolder(tf, model);
    const x = new Float32Array(3072);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) x[p * 3 + c] = buf[5 * 3073 + 1 + c * 1024 + p]! / 255;
    const sub = tf.model({ inputs: folder.model.inputs, outputs: folder.model.getLayer('conv2d_1').output as tfjs.SymbolicTensor });
    const want = (sub.predict(tf.tensor4d(x, [1, 32, 32, 3])) as tfjs.Tensor).dataSync();
    expect(got.values).toHaveLength(want.length);
    expect(Math.max(...got.values.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-5);
    folder.model.dispose();

    const human = await run(['activations', model, '--sample', '5', '--layer', 'dense_2', '--backend', 'cpu']);
    expect(human.code, human.err.join('\n')).toBe(0);
    expect(human.out[0]).toMatch(/^dense_2 \(node out\) · test sample 5 of 12 · label \w+ \(\d\) · predicted \w+ \(\d\)$/);
    expect(human.out[1]).toMatch(/^output 10 \(10 values\): min/);
    expect(human.out[2]).toMatch(/^values: airplane /);
  });

  it('errors: a sample out of range, an unknown layer, data that is not there', async () => {
    const far = await run(['activations', model, '--sample', '12', '--layer', 'conv1', '--backend', 'cpu']);
    expect(far.code).toBe(1);
    expect(far.err.join('\n')).toMatch(/sample 12 is out of range: the test split has 12 samples \(0 … 11\)/);
    const layer = await run(['activations', model, '--sample', '1', '--layer', 'conv9', '--backend', 'cpu']);
    expect(layer.err.join('\n')).toMatch(/no node 'conv9' in this model: its nodes are in \(input_1\), pool \(max_pooling2d_1\), conv1 \(conv2d_1\)/);
    const data = await run(['activations', model, '--sample', '1', '--layer', 'conv1', '--backend', 'cpu', '--data-dir', join(root, 'nowhere')]);
    expect(data.code).toBe(1);
    expect(data.err.join('\n')).toMatch(/cannot load the test split of 'cifar10' from .*nowhere \(pass --data-dir/);
    expect((await run(['activations', model, '--layer', 'conv1'])).code).toBe(2);
  });

  it('explain writes the heat map over the image: Grad-CAM on the last conv by default, saliency for a class', async () => {
    const png = join(root, 'cam.png');
    const g = await run(['explain', model, '--sample', '3', '--out', png, '--backend', 'cpu']);
    expect(g.code, g.err.join('\n')).toBe(0);
    expect(g.out[0]).toMatch(/^Grad-CAM on conv2d_1 \(node conv1\) for class \w+ \(\d\) · test sample 3 of 12/);
    expect(existsSync(png)).toBe(true);
    const img = PNG.sync.read(readFileSync(png));
    expect([img.width, img.height]).toEqual([32, 32]);

    const s = await run(['explain', model, '--sample', '3', '--method', 'saliency', '--class', '7', '--out', join(root, 'sal.png'), '--backend', 'cpu', '--json']);
    expect(s.code, s.err.join('\n')).toBe(0);
    const j = JSON.parse(s.out.at(-1)!) as { classIndex: number; className: string; heatmap: number[][] };
    expect(j).toMatchObject({ classIndex: 7, className: 'horse' });
    expect(j.heatmap).toHaveLength(32);

    const bad = await run(['explain', model, '--sample', '3', '--class', '10', '--out', png, '--backend', 'cpu']);
    expect(bad.err.join('\n')).toMatch(/class 10 is out of range: the model has 10 classes/);
    expect((await run(['explain', model, '--sample', '3', '--method', 'lime', '--out', png])).code).toBe(2);
  });
});
