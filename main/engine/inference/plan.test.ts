import type * as tfjs from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { selectBackend } from '../backends';
import { customLayerFactories } from '../compile/custom';
import { Trainer } from '../training/trainer';
import { shrinkImages } from '../training/testing/shrink';
import { syntheticDataset } from '../training/testing/synthetic';
import { gemmConvCalls, winogradCalls } from '../backends/conv';
import { nativeKernels } from '../backends/native';
import { planInference } from './plan';

type Tf = typeof tfjs;

/** max |a − b| / max |b|: the difference relative to the output's scale. */
async function relativeDiff(a: tfjs.Tensor, b: tfjs.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [await a.data(), await b.data()];
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}

/** Moving statistics, scale and shift far from their initial 0 / 1 (and other weights random), so a wrong fold shows. */
function randomiseWeights(tf: Tf, model: tfjs.LayersModel, seed: number): void {
  for (const l of model.layers) {
    const ws = l.getWeights();
    if (!ws.length) continue;
    const bn = l.getClassName() === 'BatchNormalization';
    const names = l.weights.map((w) => w.originalName.split('/').pop());
    l.setWeights(
      ws.map((w, i) => {
        const name = names[i];
        if (bn && name === 'moving_variance') return tf.randomUniform(w.shape, 0.3, 3, 'float32', seed++);
        if (bn && name === 'gamma') return tf.randomUniform(w.shape, -1.5, 1.5, 'float32', seed++);
        return tf.randomUniform(w.shape, -0.6, 0.6, 'float32', seed++);
      }),
    );
  }
}

/** The same function as model.apply in inference mode, to 1e-5 of the output's scale, and no tensor left behind. */
async function expectSameFunction(tf: Tf, model: tfjs.LayersModel, x: tfjs.Tensor): Promise<void> {
  const plan = planInference(tf, model)!;
  expect(plan).not.toBeNull();
  const want = model.apply(x, { training: false }) as tfjs.Tensor;
  const got = plan.run(x) as tfjs.Tensor;
  expect(await relativeDiff(got, want)).toBeLessThan(1e-5);
  got.dispose();
  const before = tf.memory().numTensors;
  tf.dispose(plan.run(x));
  expect(tf.memory().numTensors).toBe(before);
  // New weights (as after a training step): the plan refolds them.
  randomiseWeights(tf, model, 99);
  const want2 = model.apply(x, { training: false }) as tfjs.Tensor;
  const got2 = plan.run(x) as tfjs.Tensor;
  expect(await relativeDiff(got2, want2)).toBeLessThan(1e-5);
  plan.dispose();
  tf.dispose([want, want2, got2]);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`inference plan on ${backend}: BatchNorm folded, activations fused, same outputs`, () => {
    const tfOf = async () => (await selectBackend({ force: backend })).tf;

    it('resnet-small and vgg-cnn (the engine path: Trainer.inferenceLogits vs logits)', async () => {
      const tf = await tfOf();
      for (const name of ['resnet-small', 'vgg-cnn']) {
        const file = `resources/templates/${name}.json`;
        const graph = shrinkImages(parseProjectText(readFileSync(file, 'utf8'), file).graph, 16);
        const ds = syntheticDataset({ shape: [16, 16, 3], classes: 10, train: 2, test: 2 });
        const trainer = Trainer.fromGraph(tf, graph, { ...defaultTrainingSettings(), batchSize: 4 }, ds, backend);
        try {
          randomiseWeights(tf, trainer.model, 1);
          if (name === 'resnet-small') {
            expect(trainer.inferencePlan).toMatch(/^7 BatchNormalizations folded, 4 activations fused .*, 3 residual Adds \+ ReLU in one pass, 1 global average pool/);
            // Each residual Add + ReLU is taken by the conv (+ BN) step before it (conv3, conv5, conv7).
            expect(trainer.inferencePlan).toMatch(/(\+add_\d+\+activation_\d+.*){3}/);
          } else {
            // Conv2D(relu) -> BatchNormalization: the activation comes first, so nothing folds; a MaxPool follows each BN.
            expect(trainer.inferencePlan).toBeNull();
          }
          const x = tf.randomUniform([3, 16, 16, 3], -1, 1, 'float32', 5);
          const want = trainer.logits(x, false);
          const got = trainer.inferenceLogits(x);
          expect(await relativeDiff(got, want), name).toBeLessThan(1e-5);
          // The prediction (softmax head) goes through the plan too.
          const p = trainer.predictionOf(x);
          expect(await relativeDiff(p, tf.softmax(want))).toBeLessThan(1e-5);
          tf.dispose([x, want, got, p]);
        } finally {
          trainer.dispose();
        }
      }
    });

    it('Dense + BatchNormalization (with and without bias, scale, center), on rank 2 and rank 3, fused ReLU / LeakyReLU', async () => {
      const tf = await tfOf();
      const input = tf.input({ shape: [6] });
      let h = tf.layers.dense({ units: 8, name: 'd1' }).apply(input) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.activation({ activation: 'relu', name: 'a1' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.dense({ units: 5, useBias: false, name: 'd2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ scale: false, name: 'bn2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.leakyReLU({ alpha: 0.1, name: 'a2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.dense({ units: 4, name: 'd3' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ center: false, name: 'bn3' }).apply(h) as tfjs.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: h });
      randomiseWeights(tf, model, 3);
      const plan = planInference(tf, model)!;
      expect(plan.folds.map((f) => [f.layer, f.batchNorm, f.activation?.fused ?? null])).toEqual([
        ['d1', 'bn1', 'relu'],
        ['d2', 'bn2', 'leakyrelu'],
        ['d3', 'bn3', null],
      ]);
      plan.dispose();
      const x = tf.randomUniform([7, 6], -2, 2, 'float32', 11);
      await expectSameFunction(tf, model, x);

      const seqIn = tf.input({ shape: [4, 6] });
      let s = tf.layers.dense({ units: 5, name: 'ds' }).apply(seqIn) as tfjs.SymbolicTensor;
      s = tf.layers.batchNormalization({ name: 'bns' }).apply(s) as tfjs.SymbolicTensor;
      s = tf.layers.activation({ activation: 'sigmoid', name: 'as' }).apply(s) as tfjs.SymbolicTensor;
      s = tf.layers.flatten().apply(s) as tfjs.SymbolicTensor;
      s = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(s) as tfjs.SymbolicTensor;
      const seq = tf.model({ inputs: seqIn, outputs: s });
      randomiseWeights(tf, seq, 7);
      const xs = tf.randomUniform([3, 4, 6], -2, 2, 'float32', 13);
      await expectSameFunction(tf, seq, xs);
      tf.dispose([x, xs]);
      model.dispose();
      seq.dispose();
    });

    it('Conv2D / DepthwiseConv2D + BatchNormalization, ReLU(6) / ELU / sigmoid fused, a shared tensor and the output layer left alone', async () => {
      const tf = await tfOf();
      const custom = customLayerFactories(tf);
      const input = tf.input({ shape: [9, 9, 3] });
      let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tfjs.SymbolicTensor;
      h = custom.relu({ maxValue: 6, negativeSlope: 0, threshold: 0, name: 'r6' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, name: 'dw' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ name: 'bn2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.activation({ activation: 'elu', name: 'elu' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'c2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.activation({ activation: 'sigmoid', name: 'sig' }).apply(h) as tfjs.SymbolicTensor;
      // c3's output is read twice (its BN and the Add): not folded.
      const c3 = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2, useBias: false, name: 'c3' }).apply(h) as tfjs.SymbolicTensor;
      const b3 = tf.layers.batchNormalization({ name: 'bn3' }).apply(c3) as tfjs.SymbolicTensor;
      h = tf.layers.add().apply([c3, b3]) as tfjs.SymbolicTensor;
      h = tf.layers.conv2d({ filters: 2, kernelSize: 2, strides: 2, padding: 'same', dilationRate: 1, name: 'c4' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ name: 'bn4' }).apply(h) as tfjs.SymbolicTensor;
      const out = tf.layers.activation({ activation: 'sigmoid', name: 'head' }).apply(h) as tfjs.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: out });
      randomiseWeights(tf, model, 5);
      const plan = planInference(tf, model)!;
      expect(plan.folds.map((f) => [f.layer, f.batchNorm, f.activation?.fused ?? null])).toEqual([
        ['c1', 'bn1', 'relu6'],
        ['dw', 'bn2', 'elu'],
        ['c2', null, 'sigmoid'],
        ['c4', 'bn4', null], // 'head' is the output layer: its activation stays a layer (the trainer may run it as linear)
      ]);
      plan.dispose();
      const x = tf.randomUniform([2, 9, 9, 3], -2, 2, 'float32', 17);
      await expectSameFunction(tf, model, x);
      x.dispose();
      model.dispose();
    });

    it('a 2x2 MaxPool after a Conv2D (its own relu, or BN + activation folded) in the convolution\'s pass: cifar10-cnn, odd sizes, same outputs', async () => {
      const tf = await tfOf();
      const file = 'resources/templates/cifar10-cnn.json';
      const graph = parseProjectText(readFileSync(file, 'utf8'), file).graph;
      const ds = syntheticDataset({ shape: [32, 32, 3], classes: 10, train: 2, test: 2 });
      const trainer = Trainer.fromGraph(tf, graph, { ...defaultTrainingSettings(), batchSize: 4 }, ds, backend);
      try {
        randomiseWeights(tf, trainer.model, 2);
        expect(trainer.inferencePlan).toMatch(/2 max pools in the convolution's pass/);
        const x = tf.randomUniform([5, 32, 32, 3], -1, 1, 'float32', 6);
        const want = trainer.logits(x, false);
        const ran = winogradCalls() + gemmConvCalls();
        const got = trainer.inferenceLogits(x);
        // On wasm both convolutions ran with their pool (conv1 on the GEMM path, conv2 by Winograd).
        const ours = backend === 'wasm' && nativeKernels(tf.backend()) !== null && !['LAYERFORGE_CONV=xnnpack', 'LAYERFORGE_CONV_POOL=0', 'LAYERFORGE_CONV_GEMM=0'].some((e) => { const [k, v] = e.split('='); return process.env[k!] === v; });
        if (ours) expect(winogradCalls() + gemmConvCalls()).toBe(ran + 2);
        expect(await relativeDiff(got, want)).toBeLessThan(1e-5);
        const p = trainer.predictionOf(x);
        const predicted = trainer.model.predict(x) as tfjs.Tensor;
        expect(await relativeDiff(p, predicted)).toBeLessThan(1e-5);
        tf.dispose([x, want, got, p, predicted]);
      } finally {
        trainer.dispose();
      }
      const input = tf.input({ shape: [13, 11, 16] });
      let h = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tfjs.SymbolicTensor;
      h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.activation({ activation: 'relu', name: 'r1' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu6', name: 'c2' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.maxPooling2d({ poolSize: 2, name: 'p2' }).apply(h) as tfjs.SymbolicTensor;
      // A 3x3 pool and an elu conv: not fused.
      h = tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'elu', name: 'c3' }).apply(h) as tfjs.SymbolicTensor;
      h = tf.layers.flatten().apply(h) as tfjs.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3 }).apply(h) as tfjs.SymbolicTensor });
      randomiseWeights(tf, model, 31);
      const plan = planInference(tf, model)!;
      expect(plan.folds.map((f) => [f.layer, f.batchNorm, f.activation?.fused ?? null, f.maxPool])).toEqual([
        ['c1', 'bn1', 'relu', 'p1'],
        ['c2', null, null, 'p2'],
      ]);
      plan.dispose();
      const x = tf.randomUniform([3, 13, 11, 16], -2, 2, 'float32', 37);
      await expectSameFunction(tf, model, x);
      x.dispose();
      model.dispose();
    });

    it('a residual Add and its ReLU in one pass, global average pooling as one pooling op; nothing to change gives no plan', async () => {
      const tf = await tfOf();
      const input = tf.input({ shape: [5, 7, 3] });
      const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tfjs.SymbolicTensor;
      const merged = tf.layers.add({ name: 'res' }).apply([input, c]) as tfjs.SymbolicTensor;
      const r = tf.layers.activation({ activation: 'relu', name: 'res_relu' }).apply(merged) as tfjs.SymbolicTensor;
      const pooled = tf.layers.globalAveragePooling2d({}).apply(r) as tfjs.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(pooled) as tfjs.SymbolicTensor });
      randomiseWeights(tf, model, 23);
      const plan = planInference(tf, model)!;
      expect(plan.pools).toHaveLength(1);
      expect(plan.merges).toEqual(['res+res_relu']);
      expect(plan.folds).toEqual([]);
      plan.dispose();
      const x = tf.randomUniform([3, 5, 7, 3], -2, 2, 'float32', 19);
      await expectSameFunction(tf, model, x);
      const plain = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'relu' })] });
      expect(planInference(tf, plain)).toBeNull();
      tf.dispose([x]);
      model.dispose();
      plain.dispose();
    });
  });
}

describe('the trainer and a failing plan', () => {
  it('a plan that throws is turned off once, with a message, and the model predicts', async () => {
    const { tf } = await selectBackend({ force: 'cpu' });
    const file = 'resources/templates/resnet-small.json';
    const graph = shrinkImages(parseProjectText(readFileSync(file, 'utf8'), file).graph, 16);
    const trainer = Trainer.fromGraph(tf, graph, { ...defaultTrainingSettings(), batchSize: 4 }, syntheticDataset({ shape: [16, 16, 3], classes: 10, train: 2, test: 2 }), 'cpu');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(trainer.inferencePlan).not.toBeNull();
      const broken = { run: () => { throw new Error('boom'); }, dispose: () => {} };
      (trainer as unknown as { inference: unknown }).inference = broken;
      const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 3);
      const got = trainer.inferenceLogits(x);
      const want = trainer.logits(x, false);
      expect(await relativeDiff(got, want)).toBe(0);
      expect(errors).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]![0])).toMatch(/inference plan turned off .*boom/);
      expect(trainer.inferencePlan).toBeNull();
      tf.dispose([x, got, want]);
    } finally {
      errors.mockRestore();
      trainer.dispose();
    }
  });
});
