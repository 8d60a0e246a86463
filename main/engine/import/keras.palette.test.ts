/**
 * The Keras mappings of issue 15's palette gaps (GRU reset_after, TimeDistributed(Dense), Conv1D padding
 * 'causal'): a Keras 2 to_json() Sequential using all three imports to the graph and parameter total Keras
 * states, and builds; other TimeDistributed wrappers are refused naming the inner class.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph, resolvedParams } from '../../../shared/graph';
import { getLayer } from '../../../shared/layers';
import { compileGraph } from '../compile';
import { importKerasModelJson } from '.';
import { KERAS_IMPORTERS, LayerImportError } from './keras';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const gru = (name: string, units: number, seq: boolean) => ({
  class_name: 'GRU',
  config: { name, trainable: true, units, activation: 'tanh', recurrent_activation: 'sigmoid', use_bias: true, return_sequences: seq, return_state: false, go_backwards: false, stateful: false, unroll: false, dropout: 0, recurrent_dropout: 0, implementation: 2, reset_after: true },
});

/** model.to_json() of tf.keras 2: Conv1D causal (dilated) -> Bidirectional(GRU reset_after) -> TimeDistributed(Dense) -> GRU reset_after. */
const MODEL = {
  class_name: 'Sequential',
  config: {
    name: 'tcn_gru',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, 10, 3], dtype: 'float32', name: 'x' } },
      { class_name: 'Conv1D', config: { name: 'causal', filters: 8, kernel_size: [3], strides: [1], padding: 'causal', data_format: 'channels_last', dilation_rate: [2], activation: 'relu', use_bias: true } },
      { class_name: 'Bidirectional', config: { name: 'bi', merge_mode: 'concat', layer: gru('gru_inner', 5, true) } },
      { class_name: 'TimeDistributed', config: { name: 'per_step', layer: { class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'linear', use_bias: true } } } },
      gru('last', 6, false),
    ],
  },
  keras_version: '2.15.0',
  backend: 'tensorflow',
};

describe('Keras palette gaps: GRU reset_after, TimeDistributed(Dense), Conv1D causal', () => {
  it("imports a Sequential using all three with Keras's parameter count (790)", () => {
    const res = importKerasModelJson(MODEL, 'tcn');
    const g = res.project.graph;
    const byName = Object.fromEntries(g.nodes.map((n) => [n.name, { type: n.type, params: resolvedParams(getLayer(n.type)!, n.params) }]));
    expect(byName.causal).toMatchObject({ type: 'Conv1D', params: { padding: 'causal', dilation: 2, kernelSize: 3 } });
    expect(byName.bi).toMatchObject({ type: 'GRU', params: { units: 5, bidirectional: true, resetAfter: true, returnSequences: true } });
    expect(byName.per_step).toMatchObject({ type: 'Dense', params: { units: 4, activation: 'linear' } });
    expect(byName.last).toMatchObject({ type: 'GRU', params: { units: 6, resetAfter: true, bidirectional: false } });
    const a = analyzeGraph(g);
    expect(a.valid).toBe(true);
    // Keras: Conv1D 3·3·8 + 8 = 80; Bidirectional GRU 2 · 3 · (5 · (8 + 5) + 2 · 5) = 450; Dense 10 · 4 + 4 = 44; GRU 3 · (6 · (4 + 6) + 2 · 6) = 216
    expect(a.totals.params).toBe(790);
    const { model } = compileGraph(tf, g);
    expect(model.countParams()).toBe(790);
    expect(model.outputs[0]!.shape).toEqual([null, 6]);
    model.dispose();
  });

  it('reads reset_after false or absent (Keras 1, tfjs GRUs) as resetAfter false', () => {
    expect(KERAS_IMPORTERS.GRU!({ units: 3, reset_after: false }).params.resetAfter).toBe(false);
    expect(KERAS_IMPORTERS.GRU!({ units: 3 }).params.resetAfter).toBe(false);
    expect(KERAS_IMPORTERS.LSTM!({ units: 3 }).params).not.toHaveProperty('resetAfter');
  });

  it('refuses TimeDistributed around anything but Dense, naming the inner class', () => {
    const wrap = (inner: unknown) => () => KERAS_IMPORTERS.TimeDistributed!({ name: 'td', layer: inner });
    expect(wrap({ class_name: 'Conv2D', config: { filters: 2, kernel_size: 3 } })).toThrow(LayerImportError);
    expect(wrap({ class_name: 'Conv2D', config: { filters: 2, kernel_size: 3 } })).toThrow(/TimeDistributed\(Conv2D\) is not supported/);
    expect(wrap(undefined)).toThrow(/TimeDistributed\(no layer\)/);
    const model = structuredClone(MODEL);
    model.config.layers[3] = { class_name: 'TimeDistributed', config: { name: 'per_step', layer: { class_name: 'Flatten', config: { name: 'f' } } } } as never;
    expect(() => importKerasModelJson(model, 'tcn')).toThrow(/per_step.*TimeDistributed\(Flatten\)/);
  });
});
