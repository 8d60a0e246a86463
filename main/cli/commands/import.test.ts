import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProjectText } from '../../../shared/project';
import { folderSaveHandler } from '../../engine/export/modelFolder';
import { main } from '..';
import type { CliIO } from '../command';
import { parseDims } from './import';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIO = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false };
  return { cli, out, err };
}

const work = mkdtempSync(join(tmpdir(), 'lf-cli-import-'));
const src = join(work, 'mlp');
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential({ layers: [tf.layers.dense({ name: 'hidden', inputShape: [6], units: 5, activation: 'relu' }), tf.layers.dense({ name: 'out', units: 3, activation: 'softmax' })] });
  await m.save(folderSaveHandler(tf, src));
  m.dispose();
});

describe('layerforge import', () => {
  it('says the format found, the parameters, and keeps the weights with --model-out (the project fine-tunes from them)', async () => {
    const text = io();
    expect(await main(['import', join(src, 'model.json'), '--out', join(work, 'a.lfproj')], text.cli)).toBe(0);
    expect(text.out[0]).toMatch(/^Found: TensorFlow\.js .*\(tfjs-layers\)\.$/);
    expect(text.out[1]).toMatch(/^Imported 3 layers, 53 parameters/);
    expect(text.err).toContain('The source has trained weights: add --model-out DIR to keep them.');

    const j = io();
    const modelOut = join(work, 'weights');
    expect(await main(['import', src, '--out', join(work, 'b.lfproj'), '--model-out', modelOut, '--json'], j.cli)).toBe(0);
    expect(JSON.parse(j.out.join('\n'))).toMatchObject({ format: 'tfjs-layers', hasWeights: true, modelOut, params: 53, assumed: [], warnings: [] });
    expect(existsSync(join(modelOut, 'weights.bin'))).toBe(true);
    expect(parseProjectText(readFileSync(join(work, 'b.lfproj'), 'utf8')).training.initialWeights).toBe(resolve(modelOut));

    // The model folder itself imports again (a Layerforge model folder, its weights its own).
    const again = io();
    expect(await main(['import', modelOut, '--out', join(work, 'c.lfproj'), '--model-out', join(work, 'weights2')], again.cli)).toBe(0);
    expect(again.out[0]).toBe('Found: Layerforge model folder (layerforge-model-folder).');
  });

  it('refuses what it cannot read: an unknown file (formats listed), --model-out with --no-weights, bad --dims', async () => {
    const junk = join(work, 'notes.bin');
    writeFileSync(junk, new Uint8Array([1, 2, 3]));
    const a = io();
    expect(await main(['import', junk, '--out', join(work, 'x.lfproj')], a.cli)).toBe(1);
    expect(a.err.join('\n')).toMatch(/notes\.bin is not a model file Layerforge recognises\. Supported: Layerforge model folder, Layerforge project/);
    const b = io();
    expect(await main(['import', src, '--out', join(work, 'y.lfproj'), '--model-out', join(work, 'w'), '--no-weights'], b.cli)).toBe(2);
    expect(b.err.join('\n')).toMatch(/cannot go with --no-weights/);
    expect(parseDims('input_1:0=128, seq:1=4')).toEqual({ 'input_1:0': 128, 'seq:1': 4 });
    expect(() => parseDims('input_1=128')).toThrow(/'input_1=128' is not INPUT:AXIS=N/);
    expect(() => parseDims('x:0=0')).toThrow(/x:0 must be a size from 1 to 1000000/);
  });
});
