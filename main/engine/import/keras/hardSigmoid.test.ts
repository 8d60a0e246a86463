import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../shared/random';
import { folderLoadHandler, folderSaveHandler } from '../../export/modelFolder';
import { KERAS_IMPORTERS, UNKNOWN_KERAS } from '../keras';
import { tfjsLayersImporter } from './tfjs';
import { importKerasTopology, kerasSourceOf } from './topology';

/**
 * LSTM / GRU gates with a hard sigmoid (Keras's default before 2.3, TensorFlow.js's default): imported
 * exactly, as the file's Keras computes it (Keras 1 / 2 and tfjs: clip(0.2x + 0.5, 0, 1); Keras 3:
 * relu6(x + 3) / 6), the version read from the file.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const L = tf.layers;
const [N, T, F] = [3, 6, 4];
const opts = { kind: 'keras-json' as const, hasWeights: false };

/** Weights uniform in ±1.5 and inputs in ±3, so that the gates reach both clipped ends of the hard sigmoids. */
function randomize(model: tf.LayersModel, seed: number): void {
  const r = mulberry32(seed);
  for (const w of model.weights) {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    w.write(tf.tensor(Float32Array.from({ length: n }, () => (r() * 2 - 1) * 1.5), w.shape as number[]));
  }
}
const input = (seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: N * T * F }, () => (r() * 2 - 1) * 3);
};

async function saved(model: tf.LayersModel, edit?: (json: Record<string, unknown>) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lf-hardsig-'));
  await model.save(folderSaveHandler(tf, dir));
  if (edit) {
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(json);
    writeFileSync(file, JSON.stringify(json));
  }
  return dir;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Keras's LSTM (gates i, f, c, o) in float64 on one sample: kernel [F, 4u], recurrent [u, 4u], bias [4u]; the last state. */
function referenceLstm(x: Float64Array, W: Float64Array, U: Float64Array, b: Float64Array, u: number, gate: (v: number) => number): Float64Array {
  let h = new Float64Array(u);
  let c = new Float64Array(u);
  for (let t = 0; t < T; t++) {
    const z = Float64Array.from(b);
    for (let j = 0; j < 4 * u; j++) {
      for (let f = 0; f < F; f++) z[j]! += x[t * F + f]! * W[f * 4 * u + j]!;
      for (let k = 0; k < u; k++) z[j]! += h[k]! * U[k * 4 * u + j]!;
    }
    const nc = new Float64Array(u);
    const nh = new Float64Array(u);
    for (let k = 0; k < u; k++) {
      nc[k] = gate(z[u + k]!) * c[k]! + gate(z[k]!) * Math.tanh(z[2 * u + k]!);
      nh[k] = gate(z[3 * u + k]!) * Math.tanh(nc[k]!);
    }
    h = nh;
    c = nc;
  }
  return h;
}

describe('LSTM / GRU with hard-sigmoid gates', () => {
  it("tfjs's own hard-sigmoid LSTM, GRU (reset before) and Bidirectional LSTM import as hardSigmoid: predictions match tf.loadLayersModel", async () => {
    const m = tf.sequential({
      layers: [
        // tfjs's default recurrentActivation is 'hardSigmoid'
        L.lstm({ inputShape: [T, F], units: 4, returnSequences: true, name: 'lstm' }),
        L.bidirectional({ layer: L.lstm({ units: 3, returnSequences: true, recurrentActivation: 'hardSigmoid' }) as never, name: 'bi', mergeMode: 'concat' }),
        L.gru({ units: 3, name: 'gru' }),
      ],
    });
    randomize(m, 1);
    const dir = await saved(m);
    const { result, folder } = await tfjsLayersImporter.readWithWeights!(tf, dir, {});
    expect(result.project.graph.nodes.filter((n) => n.type !== 'Input').map((n) => [n.name, n.params.recurrentActivation])).toEqual([
      ['lstm', 'hardSigmoid'],
      ['bi', 'hardSigmoid'],
      ['gru', 'hardSigmoid'],
    ]);
    expect(result.warnings.filter((w) => /recurrent_activation/.test(w))).toEqual([]);
    const x = tf.tensor(input(2), [N, T, F]);
    const source = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    const want = (source.predict(x) as tf.Tensor).dataSync();
    const got = (folder.model.predict(x) as tf.Tensor).dataSync();
    const diff = maxDiff(got, want);
    console.log(`hard-sigmoid LSTM / BiLSTM / GRU (tfjs) imported vs tf.loadLayersModel: max abs diff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose(x);
    source.dispose();
    folder.model.dispose();
  });

  it("a Keras 3 file's hard_sigmoid is relu6(x + 3) / 6: imported as hardSigmoidKeras3, equal to the float64 formula", async () => {
    const u = 3;
    const m = tf.sequential({ layers: [L.lstm({ inputShape: [T, F], units: u, name: 'lstm' })] });
    randomize(m, 5);
    // the same files, said to come from Keras 3 (as a converter of a Keras 3 model writes them)
    const dir = await saved(m, (json) => ((json.modelTopology as Record<string, unknown>).keras_version = '3.3.3'));
    const { result, folder } = await tfjsLayersImporter.readWithWeights!(tf, dir, {});
    expect(result.project.graph.nodes.find((n) => n.name === 'lstm')!.params.recurrentActivation).toBe('hardSigmoidKeras3');
    const xs = input(6);
    const got = (folder.model.predict(tf.tensor(xs, [N, T, F])) as tf.Tensor).dataSync();
    const [W, U, b] = m.getWeights().map((w) => Float64Array.from(w.dataSync()));
    const keras3 = (v: number) => Math.min(6, Math.max(0, v + 3)) / 6;
    const keras2 = (v: number) => Math.min(1, Math.max(0, 0.2 * v + 0.5));
    let diff = 0;
    let other = 0;
    for (let n = 0; n < N; n++) {
      const x = Float64Array.from(xs.subarray(n * T * F, (n + 1) * T * F));
      diff = Math.max(diff, maxDiff(got.subarray(n * u, (n + 1) * u), referenceLstm(x, W!, U!, b!, u, keras3)));
      other = Math.max(other, maxDiff(got.subarray(n * u, (n + 1) * u), referenceLstm(x, W!, U!, b!, u, keras2)));
    }
    console.log(`Keras 3 hard-sigmoid LSTM imported vs float64 relu6(x + 3) / 6 gates: max abs diff ${diff.toExponential(2)} (vs Keras 2's gates: ${other.toExponential(2)})`);
    expect(diff).toBeLessThan(1e-5);
    expect(other).toBeGreaterThan(1e-3);
    folder.model.dispose();
  });

  it('reads the Keras version from the file: stated versions first, then the config form, else Keras 2 with a warning', () => {
    expect(kerasSourceOf({ modelTopology: { keras_version: 'tfjs-layers 4.22.0' } })).toMatchObject({ major: 2, known: true });
    expect(kerasSourceOf({ modelTopology: { keras_version: '2.1.6-tf' }, generatedBy: 'keras v2.1.6' })).toMatchObject({ major: 2, known: true });
    expect(kerasSourceOf({ modelTopology: {}, generatedBy: 'keras v3.1.0' })).toMatchObject({ major: 3, known: true });
    expect(kerasSourceOf({ class_name: 'Sequential', keras_version: '2.0.9' })).toMatchObject({ major: 2, known: true });
    // an .h5 attribute / .keras metadata version given by the HDF5 importer wins over the config form
    expect(kerasSourceOf({ class_name: 'Sequential', config: { layers: [{ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 3] } }] } }, '2.15.0')).toMatchObject({ major: 2, known: true });
    // Keras 3's config form; Keras 2.13+ .keras configs have layer module keys too, but batch_input_shape
    const k3 = { module: 'keras', class_name: 'Sequential', config: { layers: [{ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 3] } }] } };
    expect(kerasSourceOf(k3)).toMatchObject({ major: 3, known: true, from: "Keras 3's config form (batch_shape)" });
    const k215 = { class_name: 'Sequential', config: { layers: [{ module: 'keras.layers', class_name: 'LSTM', config: { batch_input_shape: [null, 3, 2], kernel_initializer: { module: 'keras.initializers', class_name: 'GlorotUniform' } } }] } };
    expect(kerasSourceOf(k215)).toMatchObject({ major: 2, known: true });
    expect(kerasSourceOf([{ class_name: 'Dense', config: {} }])).toBe(UNKNOWN_KERAS);
  });

  it('maps recurrent_activation by that version; other gate activations still become sigmoid with a warning', () => {
    const seqModel = (rec: unknown, extra: Record<string, unknown> = {}) => ({
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'LSTM', config: { name: 'l', units: 2, activation: 'tanh', recurrent_activation: rec, batch_input_shape: [null, 5, 3] } }] },
      ...extra,
    });
    const lstm = (json: unknown) => {
      const r = importKerasTopology(json, opts);
      return [r.project.graph.nodes.find((n) => n.name === 'l')!.params.recurrentActivation, r.warnings];
    };
    expect(lstm(seqModel('hard_sigmoid', { keras_version: '2.2.4' }))).toEqual(['hardSigmoid', []]);
    expect(lstm(seqModel('sigmoid', { keras_version: '2.2.4' }))).toEqual(['sigmoid', []]);
    const [rec, warnings] = lstm({ ...seqModel('hard_sigmoid'), config: { name: 's', layers: [{ class_name: 'LSTM', config: { name: 'l', units: 2, recurrent_activation: 'hard_sigmoid', input_shape: [5, 3] } }] } });
    expect(rec).toBe('hardSigmoid');
    expect(warnings).toEqual([expect.stringMatching(/^l: recurrent_activation 'hard_sigmoid' is read as Keras 2's and TensorFlow.js's clip\(0.2x \+ 0.5, 0, 1\) \(the file does not say its Keras version\)/)]);
    expect(lstm(seqModel('relu', { keras_version: '2.2.4' }))).toEqual(['sigmoid', ["l: recurrent_activation 'relu' becomes 'sigmoid' (Layerforge's LSTM gates are sigmoid or a hard sigmoid)"]]);
    // Keras 3 (function objects too), Bidirectional, and our own tfjs files' name for Keras 3's
    const keras3 = { major: 3 as const, from: 'keras_version 3.8.0', known: true };
    expect(KERAS_IMPORTERS.GRU!({ units: 2, recurrent_activation: { module: 'keras.activations', class_name: 'function', config: 'hard_sigmoid' } }, keras3).params.recurrentActivation).toBe('hardSigmoidKeras3');
    expect(KERAS_IMPORTERS.Bidirectional!({ layer: { class_name: 'LSTM', config: { units: 2, recurrent_activation: 'hard_sigmoid' } } }, keras3).params).toMatchObject({ recurrentActivation: 'hardSigmoidKeras3', bidirectional: true });
    expect(KERAS_IMPORTERS.LSTM!({ units: 2, recurrent_activation: 'hard_sigmoid_keras3' }).params.recurrentActivation).toBe('hardSigmoidKeras3');
    expect(KERAS_IMPORTERS.SimpleRNN!({ units: 2 }).params.recurrentActivation).toBeUndefined();
  });

  it("warns that a Keras 3 Dense's activation 'hard_sigmoid' (relu6(x + 3) / 6) differs from Layerforge's hardSigmoid", () => {
    const json = { module: 'keras', class_name: 'Sequential', config: { name: 's', layers: [{ module: 'keras.layers', class_name: 'InputLayer', config: { name: 'in', batch_shape: [null, 3] } }, { module: 'keras.layers', class_name: 'Dense', config: { name: 'd', units: 2, activation: 'hard_sigmoid' } }] } };
    expect(importKerasTopology(json, opts).warnings).toEqual([expect.stringMatching(/^d: activation 'hard_sigmoid' of Keras 3 is relu6\(x \+ 3\) \/ 6/)]);
  });

  it('the real Keras 2.0.9 / 2.1.6 files with hard_sigmoid gates (corpus) import them as hardSigmoid without a warning', () => {
    for (const [file, layer] of [
      ['imdb-cnn-lstm.json', 'LSTM'],
      ['chatbot-embedding-gru.json', 'GRU'],
    ] as const) {
      const json = JSON.parse(readFileSync(join(__dirname, '..', 'corpus', 'tfjs', file), 'utf8')) as unknown;
      const r = importKerasTopology(json, opts);
      expect(r.project.graph.nodes.filter((n) => n.type === layer).map((n) => n.params.recurrentActivation)).toEqual(['hardSigmoid']);
      expect(r.warnings.filter((w) => /recurrent_activation/.test(w))).toEqual([]);
    }
  });
});
