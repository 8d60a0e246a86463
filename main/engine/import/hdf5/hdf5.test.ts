/**
 * Keras .h5 / .keras import: every fixture of corpus/keras-h5 (written in Keras' own layout by make.py,
 * with a reference output computed by a numpy forward pass from the same weights) imports with its
 * weights and predicts the reference to < 1e-5 relative to the output's scale; a weights-only file is
 * refused; import -> model folder -> our tfjs export -> reload predicts the same.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, saveModelFolder } from '../../export/modelFolder';
import { ModelImportError } from '../errors';
import { kerasH5Importer, kerasV3Importer } from '.';
import { H5Reader } from './reader';

const CORPUS = join(__dirname, '..', 'corpus', 'keras-h5');
const dir = mkdtempSync(join(tmpdir(), 'lf-h5-test-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ref {
  input: { shape: number[]; dtype: string; values: number[] };
  output: { shape: number[]; values: number[] };
}
const ref = (name: string): Ref => JSON.parse(readFileSync(join(CORPUS, `${name}.ref.json`), 'utf8')) as Ref;

/** max |ours - reference| / max |reference|. */
function relError(model: tf.LayersModel, r: Ref): number {
  const y = tf.tidy(() => (model.predict(tf.tensor(r.input.values, r.input.shape, 'float32')) as tf.Tensor).dataSync());
  expect(y.length).toBe(r.output.values.length);
  const scale = Math.max(...r.output.values.map(Math.abs));
  return Math.max(...r.output.values.map((v, i) => Math.abs(v - y[i]!))) / scale;
}

const FIXTURES: [file: string, refName: string, params: number][] = [
  ['mlp.h5', 'mlp', 8 * 16 + 16 + 16 * 3 + 3],
  ['cnn.h5', 'cnn', 3 * 3 * 3 * 4 + 4 + 4 * 4 + 3 * 3 * 4 * 6 + 6 + 24 * 5 + 5],
  ['cnn.keras', 'cnn', 3 * 3 * 3 * 4 + 4 + 4 * 4 + 3 * 3 * 4 * 6 + 6 + 24 * 5 + 5],
  ['lstm_text.h5', 'lstm_text', 50 * 8 + 8 * 24 + 6 * 24 + 24 + 6 * 2 + 2],
  ['lstm_text.keras', 'lstm_text', 50 * 8 + 8 * 24 + 6 * 24 + 24 + 6 * 2 + 2],
  ['nested.h5', 'nested', 6 * 8 + 8 + 4 * 8 + 8 * 4 + 4 + 4 * 2 + 2],
  ['nested.keras', 'nested', 6 * 8 + 8 + 4 * 8 + 8 * 4 + 4 + 4 * 2 + 2],
  ['gru.h5', 'gru', 4 * 15 + 5 * 15 + 2 * 15 + 5 + 1],
];

describe('Keras .h5 / .keras import', () => {
  for (const [file, refName, params] of FIXTURES) {
    it(`${file}: weights in, predictions match the numpy reference`, async () => {
      const importer = file.endsWith('.keras') ? kerasV3Importer : kerasH5Importer;
      const { result, folder } = await importer.readWithWeights!(tf, join(CORPUS, file), {});
      try {
        expect(result.kind).toBe(importer.id);
        expect(result.hasWeights).toBe(true);
        expect(result.sourceParams).toBe(params);
        expect(relError(folder.model, ref(refName))).toBeLessThan(1e-5);
      } finally {
        folder.model.dispose();
      }
    });
  }

  it('nested models come in flattened, as a named group', async () => {
    const result = await kerasH5Importer.read(join(CORPUS, 'nested.h5'), {});
    const names = result.project.graph.nodes.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(['inner_d1', 'inner_bn', 'inner_d2', 'head']));
    expect(result.project.graph.groups?.some((g) => g.name === 'base')).toBe(true);
  });

  it('a weights-only file (model.save_weights) is refused, saying so', async () => {
    await expect(kerasH5Importer.read(join(CORPUS, 'weights_only.h5'), {})).rejects.toThrow(/weights only \(model\.save_weights\)/);
  });

  it('detects by magic bytes and extension', () => {
    const h5 = readFileSync(join(CORPUS, 'mlp.h5')).subarray(0, 512);
    const zip = readFileSync(join(CORPUS, 'cnn.keras')).subarray(0, 512);
    const probe = (head: Uint8Array, ext: string) => ({ path: 'x', isDirectory: false, entries: [], head, ext });
    expect(kerasH5Importer.detect(probe(h5, '.bin'))).toBe(true);
    expect(kerasH5Importer.detect(probe(zip, '.zip'))).toBe(false);
    expect(kerasV3Importer.detect(probe(zip, '.zip'))).toBe(true);
    expect(kerasV3Importer.detect(probe(h5, '.h5'))).toBe(false);
  });

  it('round trip: .h5 -> model folder -> tfjs export -> reload predicts the same', async () => {
    const { folder } = await kerasH5Importer.readWithWeights!(tf, join(CORPUS, 'cnn.h5'), {});
    const out = join(dir, 'cnn-folder');
    await saveModelFolder(tf, out, folder);
    folder.model.dispose();
    const again = await loadModelFolder(tf, out);
    try {
      expect(relError(again.model, ref('cnn'))).toBeLessThan(1e-5);
    } finally {
      again.model.dispose();
    }
  });

  it('reads HDF5 attributes and arrays (the reader alone)', async () => {
    const r = await H5Reader.open(join(CORPUS, 'nested.h5'));
    try {
      expect(r.attrString('', 'keras_version')).toBe('2.15.0');
      expect(r.attrStrings('model_weights', 'layer_names')).toEqual(['base', 'head']);
      expect(r.read('model_weights/head/head/kernel:0').shape).toEqual([4, 2]);
    } finally {
      r.close();
    }
    await expect(H5Reader.open(join(CORPUS, 'make.py'))).rejects.toBeInstanceOf(ModelImportError);
  });
});
