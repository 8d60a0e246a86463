import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph, GraphNode } from '../../../../shared/graph';
import { setBatchNormTrainEnabled } from '../../backends/batchNorm';
import { randomValues, seededRandom } from '../../backends/inventory';
import { setNativeKernelsEnabled } from '../../backends/native';
import { expectClose, oneThread, profiled, wasmWithHelper, withoutNativeKernels } from '../../backends/testing';
import { initWasmBackend } from '../../backends/wasm';
import { compileGraph } from '..';
import { customLayerFactories, registerCustomLayers } from '.';

beforeAll(async () => {
  await initWasmBackend(tf, wasm);
});
afterAll(() => {
  setBatchNormTrainEnabled(true);
  setNativeKernelsEnabled(true);
});

interface Step {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

let uid = 0;

/**
 * One training call of a BatchNormalization (ours or tfjs's own class) with the given weights: y, the
 * gradients of sum(y·w) with respect to x, γ and β, and the moving statistics after the call.
 */
function trainCall(ours: boolean, shape: number[], seed: number): Step {
  const rand = seededRandom(seed);
  const c = shape.at(-1)!;
  const n = shape.reduce((a, b) => a * b, 1);
  const xv = randomValues(n, rand, 2).map((v) => v + 3);
  const wv = randomValues(n, rand);
  const weights = [randomValues(c, rand).map((v) => 1 + v / 2), randomValues(c, rand), randomValues(c, rand), randomValues(c, rand).map((v) => 1 + Math.abs(v))];
  const config = { name: `bn_${ours ? 'ours' : 'tfjs'}_${++uid}`, momentum: 0.9, epsilon: 1e-3, center: true, scale: true };
  const layer = ours ? customLayerFactories(tf).batchNormalization(config) : tf.layers.batchNormalization({ ...config, axis: -1 });
  expect(layer.getClassName()).toBe('BatchNormalization');
  const out = tf.tidy(() => {
    const xVar = tf.variable(tf.tensor(xv, shape), true, `x_${uid}`);
    layer.apply(xVar, { training: false }); // builds the layer
    layer.setWeights(weights.map((v) => tf.tensor1d(v)));
    const w = tf.tensor(wv, shape);
    let y: tf.Tensor | null = null;
    const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(xVar, { training: true }) as tf.Tensor);
      return tf.sum(tf.mul(y, w)) as tf.Scalar;
    }, [xVar, gamma!, beta!]);
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    const [movingMean, movingVariance] = layer.getWeights().slice(2).map(read);
    const result = { y: read(y!), dx: read(grads[xVar.name]!), dgamma: read(grads[gamma!.name]!), dbeta: read(grads[beta!.name]!), movingMean: movingMean!, movingVariance: movingVariance! };
    tf.dispose([y!, xVar]);
    return result;
  });
  layer.dispose();
  return out;
}

function expectStep(got: Step, want: Step, label: string): void {
  for (const key of ['y', 'dx', 'dgamma', 'dbeta', 'movingMean', 'movingVariance'] as const) expectClose(got[key], want[key], `${label} ${key}`);
}

describe('our BatchNormalization (tfjs class name, config and weights; fused training op)', () => {
  // SIMD tails (c = 6, 20 = 16 + 4, 12); the helper thread's half of the rows: backends/batchNorm.test.ts.
  for (const [i, shape] of [[4, 5, 5, 6], [2, 6, 6, 20], [40, 12]].entries()) {
    it(`${JSON.stringify(shape)}: one training call equals tfjs's own layer on cpu (y, dx, dγ, dβ, moving mean and variance) on cpu, wasm (module on two threads, one, off)`, async () => {
      await tf.setBackend('cpu');
      const want = trainCall(false, shape, 7 + i);
      expectStep(trainCall(true, shape, 7 + i), want, 'cpu');
      const k = await wasmWithHelper(tf);
      const { result: step, kernels } = await profiled(tf, () => trainCall(true, shape, 7 + i));
      expect([...kernels]).toContain('LayerforgeBatchNormTrainGrad');
      expect([...kernels]).not.toContain('Square');
      expectStep(step, want, k.helper ? 'wasm two threads' : 'wasm one thread (no helper here)');
      expectStep(oneThread(k, () => trainCall(true, shape, 7 + i)), want, 'wasm one thread');
      expectStep(withoutNativeKernels(() => trainCall(true, shape, 7 + i)), want, 'wasm without our module');
    });
  }

  it('in inference, frozen (trainable: false), switched off, or saved and loaded, it is tfjs\'s layer', async () => {
    await tf.setBackend('wasm');
    const graph: Graph = {
      nodes: [
        { id: 'x', type: 'Input', name: 'x', params: { kind: 'features', features: 4 }, position: { x: 0, y: 0 } },
        { id: 'bn', type: 'BatchNormalization', name: 'bn', params: { momentum: 0.5 }, position: { x: 0, y: 0 } },
        { id: 'frozen', type: 'BatchNormalization', name: 'frozen', params: {}, position: { x: 0, y: 0 }, trainable: false },
      ],
      edges: [
        { id: 'e1', source: 'x', target: 'bn', targetPort: 0 },
        { id: 'e2', source: 'bn', target: 'frozen', targetPort: 0 },
      ],
    };
    const { model } = compileGraph(tf, graph);
    const ours = registerCustomLayers(tf).BatchNormalization;
    expect(model.getLayer('bn')).toBeInstanceOf(ours);
    const x = tf.randomNormal([8, 4], 2, 3);
    const frozenBefore = model.getLayer('frozen').getWeights().map((w) => Array.from(w.dataSync()));
    const train = model.apply(x, { training: true }) as tf.Tensor;
    // The frozen layer normalised with its moving statistics (0 and 1) and left them alone; the first one trained.
    expect(model.getLayer('frozen').getWeights().map((w) => Array.from(w.dataSync()))).toEqual(frozenBefore);
    const moved = Array.from(model.getLayer('bn').getWeights()[2]!.dataSync());
    expect(moved.some((v) => v !== 0)).toBe(true);
    // Saved and loaded: the standard class name and config, read back into our class.
    const json = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    const saved = json.config.layers.find((l) => l.config.name === 'bn')!;
    expect(saved.class_name).toBe('BatchNormalization');
    expect(Object.keys(model.getLayer('bn').getConfig()).sort()).toEqual(Object.keys(tf.layers.batchNormalization({ axis: -1 }).getConfig()).sort());
    const loaded = await tf.models.modelFromJSON({ modelTopology: model.toJSON(undefined, false) } as unknown as tf.io.ModelJSON);
    expect(loaded.getLayer('bn')).toBeInstanceOf(ours);
    loaded.setWeights(model.getWeights());
    const a = model.apply(x, { training: false }) as tf.Tensor, b = loaded.apply(x, { training: false }) as tf.Tensor;
    expectClose(b.dataSync(), a.dataSync(), 'loaded model, inference');
    // Switched off: tfjs's own training path (same numbers).
    setBatchNormTrainEnabled(false);
    let off: tf.Tensor;
    try {
      const profile = await tf.profile(() => (off = loaded.apply(x, { training: true }) as tf.Tensor));
      expect(profile.kernelNames).not.toContain('LayerforgeBatchNormTrain');
    } finally {
      setBatchNormTrainEnabled(true);
    }
    const on = loaded.apply(x, { training: true }) as tf.Tensor;
    expectClose(on.dataSync(), off!.dataSync(), 'ours vs tfjs training path');
    tf.dispose([x, train, a, b, on, off!]);
    model.dispose();
    loaded.dispose();
  });
});

describe('a resnet-style block (Conv, BatchNormalization, ReLU, residual Add) trains one SGD step alike everywhere', () => {
  const node = (id: string, type: string, params: GraphNode['params']): GraphNode => ({ id, type, name: id, params, position: { x: 0, y: 0 } });
  const conv = { filters: 8, kernelSize: 3, strides: 1, padding: 'same', activation: 'linear', useBias: false };
  const graph: Graph = {
    nodes: [
      node('input', 'Input', { kind: 'image', height: 8, width: 8, channels: 3 }),
      node('stem', 'Conv2D', conv), node('stem_bn', 'BatchNormalization', {}), node('stem_relu', 'Activation', { activation: 'relu' }),
      node('conv2', 'Conv2D', conv), node('bn2', 'BatchNormalization', {}), node('relu2', 'Activation', { activation: 'relu' }),
      node('conv3', 'Conv2D', conv), node('bn3', 'BatchNormalization', {}), node('add', 'Add', {}), node('relu3', 'Activation', { activation: 'relu' }),
      node('gap', 'GlobalAvgPool2D', {}), node('out', 'Dense', { units: 4, activation: 'softmax' }),
    ],
    edges: [
      ['input', 'stem'], ['stem', 'stem_bn'], ['stem_bn', 'stem_relu'], ['stem_relu', 'conv2'], ['conv2', 'bn2'], ['bn2', 'relu2'], ['relu2', 'conv3'],
      ['conv3', 'bn3'], ['bn3', 'add'], ['stem_relu', 'add', 1], ['add', 'relu3'], ['relu3', 'gap'], ['gap', 'out'],
    ].map(([source, target, port], i) => ({ id: `e${i}`, source: source as string, target: target as string, targetPort: (port as number | undefined) ?? 0 })),
  };

  /** Every weight (moving statistics included) after one SGD step from the same start, and the loss. */
  async function oneStep(backend: 'cpu' | 'wasm', start: Float32Array[] | null): Promise<{ weights: Float32Array[]; loss: number }> {
    await tf.setBackend(backend);
    const { model } = compileGraph(tf, graph);
    if (start) model.setWeights(start.map((v, i) => tf.tensor(v, model.getWeights()[i]!.shape)));
    const rand = seededRandom(3);
    const x = tf.tensor4d(randomValues(16 * 8 * 8 * 3, rand), [16, 8, 8, 3]);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 4), 'int32'), 4);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    const loss = Number(await model.trainOnBatch(x, y));
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    tf.dispose([x, y]);
    model.dispose();
    return { weights, loss };
  }

  it("ours on wasm (module, two threads) and cpu equals tfjs's BatchNormalization on cpu", async () => {
    setBatchNormTrainEnabled(false);
    await tf.setBackend('cpu');
    const { model } = compileGraph(tf, graph);
    const start = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    let want: Awaited<ReturnType<typeof oneStep>>;
    try {
      want = await oneStep('cpu', start);
    } finally {
      setBatchNormTrainEnabled(true);
    }
    await wasmWithHelper(tf);
    for (const [label, got] of [['cpu', await oneStep('cpu', start)], ['wasm', await oneStep('wasm', start)]] as const) {
      expect(Math.abs(got.loss - want.loss) / Math.abs(want.loss), `${label} loss`).toBeLessThan(1e-5);
      got.weights.forEach((w, i) => expectClose(w, want.weights[i]!, `${label} weight ${i}`));
    }
  });
});
