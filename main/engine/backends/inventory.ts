/**
 * The training inventory: small, deterministic training problems that together exercise every
 * kernel that training our layer registry (forward, gradients, optimizers) can reach. Used to
 * (1) list the kernels training needs and check which ones a backend lacks, and (2) check that a
 * backend's gradients match the cpu backend's.
 *
 * Each case builds its tensors from a seeded generator, so the same case built on two backends
 * computes the same maths.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { mulberry32 } from '../../../shared/random';

export type Tf = typeof tfjs;

/** Mulberry32: a tiny seeded PRNG, so every backend sees the same numbers. */
/** Every backend sees the same numbers. */
export const seededRandom = mulberry32;

export function randomValues(n: number, rand: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export function randomTensor(tf: Tf, shape: number[], rand: () => number, scale = 1): tfjs.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), rand, scale), shape);
}

/** Sets every weight of a model to seeded values (scaled to keep activations tame). */
export function seedWeights(tf: Tf, model: tfjs.LayersModel, rand: () => number): void {
  const weights = model.getWeights().map((w) => {
    const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 4;
    return randomTensor(tf, w.shape, rand, 1 / Math.sqrt(fanIn));
  });
  model.setWeights(weights);
  tf.dispose(weights);
}

export interface CaseResult {
  loss: tfjs.Scalar;
  /** Gradients (or, for optimizer cases, updated variable values), in a fixed order. */
  grads: tfjs.Tensor[];
}

export interface TrainingCase {
  name: string;
  /**
   * False when the case is random by nature (dropout), so results differ between backends;
   * such a case still takes part in the kernel inventory.
   */
  deterministic: boolean;
  /** Builds and runs the case on the current backend. The caller disposes the result. */
  run(tf: Tf): CaseResult;
}

type Loss = 'mse' | 'cce' | 'scce';

function lossOf(tf: Tf, kind: Loss, pred: tfjs.Tensor, target: tfjs.Tensor): tfjs.Scalar {
  if (kind === 'mse') return tf.losses.meanSquaredError(target, pred) as tfjs.Scalar;
  if (kind === 'cce') return tf.metrics.categoricalCrossentropy(target, pred).mean() as tfjs.Scalar;
  // What tfjs-layers' sparseCategoricalCrossentropy loss does: one-hot the labels, then cce.
  const depth = pred.shape[pred.shape.length - 1]!;
  const oneHot = tf.oneHot(target.flatten().cast('int32'), depth).reshape(pred.shape).cast('float32');
  return tf.metrics.categoricalCrossentropy(oneHot, pred).mean() as tfjs.Scalar;
}

/**
 * A case from a layers model: loss of model(inputs) against a seeded target, gradients with
 * respect to every trainable weight (and, when `inputGrads`, the inputs too).
 */
function modelCase(
  name: string,
  make: (tf: Tf) => tfjs.LayersModel,
  opts: { inputs: number[][]; loss?: Loss; intInputs?: number; deterministic?: boolean; seed?: number } = { inputs: [] },
): TrainingCase {
  return {
    name,
    deterministic: opts.deterministic ?? true,
    run(tf) {
      return tf.tidy(() => {
        const rand = seededRandom(opts.seed ?? 1234);
        const model = make(tf);
        seedWeights(tf, model, rand);
        const inputs = opts.inputs.map((shape) =>
          opts.intInputs ? tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * opts.intInputs!)), shape, 'int32') : randomTensor(tf, shape, rand),
        );
        const outShape = model.outputs[0]!.shape.slice(1) as number[];
        const batch = opts.inputs[0]![0]!;
        const loss = opts.loss ?? 'mse';
        let target: tfjs.Tensor;
        const classes = outShape[outShape.length - 1]!;
        const labels = Array.from({ length: batch }, () => Math.floor(rand() * classes));
        if (loss === 'mse') target = randomTensor(tf, [batch, ...outShape], rand);
        else if (loss === 'cce') target = tf.oneHot(tf.tensor1d(labels, 'int32'), classes).cast('float32');
        else target = tf.tensor1d(labels, 'float32');
        const vars = model.trainableWeights.map((w) => (w as unknown as { val: tfjs.Variable }).val);
        const { value, grads } = tf.variableGrads(() => {
          const out = model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: true }) as tfjs.Tensor;
          return lossOf(tf, loss, out, target);
        }, vars);
        const ordered = vars.map((v) => grads[v.name]!);
        tf.keep(value);
        ordered.forEach((g) => tf.keep(g));
        model.dispose();
        return { loss: value, grads: ordered };
      });
    },
  };
}

function seq(tf: Tf, inputShape: number[], layers: tfjs.layers.Layer[]): tfjs.LayersModel {
  const input = tf.input({ shape: inputShape });
  let x: tfjs.SymbolicTensor = input;
  for (const l of layers) x = l.apply(x) as tfjs.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

function merge(tf: Tf, kind: 'add' | 'concatenate' | 'multiply' | 'average'): tfjs.LayersModel {
  const a = tf.input({ shape: [4, 4, 3] });
  const b = tf.input({ shape: [4, 4, 3] });
  const ca = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(a) as tfjs.SymbolicTensor;
  const cb = tf.layers.conv2d({ filters: 4, kernelSize: 1 }).apply(b) as tfjs.SymbolicTensor;
  const m = tf.layers[kind]().apply([ca, cb]) as tfjs.SymbolicTensor;
  const out = tf.layers.dense({ units: 3 }).apply(tf.layers.flatten().apply(m) as tfjs.SymbolicTensor) as tfjs.SymbolicTensor;
  return tf.model({ inputs: [a, b], outputs: out });
}

/** Multi-head self-attention written with ops (what our custom layer computes). */
function attentionCase(causal: boolean): TrainingCase {
  return {
    name: causal ? 'attention (causal)' : 'attention',
    deterministic: true,
    run(tf) {
      return tf.tidy(() => {
        const rand = seededRandom(99);
        const [B, T, D, H, K] = [2, 5, 8, 2, 4];
        const x = randomTensor(tf, [B, T, D], rand);
        const target = randomTensor(tf, [B, T, D], rand);
        const vars = ['wq', 'wk', 'wv', 'wo'].map((n) => tf.variable(randomTensor(tf, n === 'wo' ? [H * K, D] : [D, H * K], rand, 0.4), true, `${n}_${causal}`));
        const bias = tf.variable(randomTensor(tf, [H * K], rand, 0.1), true, `bq_${causal}`);
        const [wq, wk, wv, wo] = vars as [tfjs.Variable, tfjs.Variable, tfjs.Variable, tfjs.Variable];
        const heads = (t: tfjs.Tensor) => t.reshape([B, T, H, K]).transpose([0, 2, 1, 3]);
        const { value, grads } = tf.variableGrads(() => {
          const flat = x.reshape([B * T, D]);
          const q = heads(tf.matMul(flat, wq).add(bias));
          const k = heads(tf.matMul(flat, wk));
          const v = heads(tf.matMul(flat, wv));
          let scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(K));
          if (causal) {
            const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
            scores = scores.add(tf.sub(1, mask).mul(-1e9));
          }
          const att = tf.softmax(scores);
          const ctx = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, H * K]);
          const out = tf.matMul(ctx, wo).reshape([B, T, D]);
          return tf.losses.meanSquaredError(target, out) as tfjs.Scalar;
        }, [...vars, bias]);
        const ordered = [...vars, bias].map((v) => tf.keep(grads[v.name]!));
        tf.keep(value);
        [...vars, bias].forEach((v) => v.dispose());
        return { loss: value, grads: ordered };
      });
    },
  };
}

/** An optimizer step: the updated variable values after a few steps on a quadratic loss. */
function optimizerCase(name: string, make: (tf: Tf) => tfjs.Optimizer): TrainingCase {
  return {
    name: `optimizer ${name}`,
    deterministic: true,
    run(tf) {
      const rand = seededRandom(7);
      const w = tf.variable(randomTensor(tf, [3, 4], rand), true, `opt_${name}_w`);
      const b = tf.variable(randomTensor(tf, [4], rand), true, `opt_${name}_b`);
      const x = randomTensor(tf, [5, 3], rand);
      const y = randomTensor(tf, [5, 4], rand);
      const opt = make(tf);
      let loss: tfjs.Scalar | null = null;
      for (let i = 0; i < 3; i++) {
        loss?.dispose();
        loss = opt.minimize(() => tf.losses.meanSquaredError(y, tf.matMul(x, w).add(b)) as tfjs.Scalar, true, [w, b]);
      }
      const grads = [w.clone(), b.clone()];
      tf.dispose([w, b, x, y]);
      opt.dispose();
      return { loss: loss!, grads };
    },
  };
}

export function trainingCases(): TrainingCase[] {
  return [
    modelCase('conv2d valid s1', (tf) => seq(tf, [7, 7, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3 })]), { inputs: [[2, 7, 7, 3]] }),
    modelCase('conv2d same s2 relu', (tf) => seq(tf, [8, 7, 2], [tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })]), { inputs: [[2, 8, 7, 2]] }),
    modelCase('conv2dTranspose', (tf) => seq(tf, [4, 4, 3], [tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' })]), { inputs: [[2, 4, 4, 3]] }),
    modelCase('depthwiseConv2d', (tf) => seq(tf, [7, 7, 3], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' })]), { inputs: [[2, 7, 7, 3]] }),
    modelCase('depthwiseConv2d s2 valid', (tf) => seq(tf, [8, 8, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2 })]), { inputs: [[2, 8, 8, 2]] }),
    modelCase('maxPool2d', (tf) => seq(tf, [6, 6, 3], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.maxPooling2d({ poolSize: 2 })]), { inputs: [[2, 6, 6, 3]] }),
    modelCase('maxPool2d same s1', (tf) => seq(tf, [5, 5, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' })]), { inputs: [[2, 5, 5, 2]] }),
    modelCase('avgPool2d', (tf) => seq(tf, [6, 6, 3], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.averagePooling2d({ poolSize: 2 })]), { inputs: [[2, 6, 6, 3]] }),
    modelCase('global pools', (tf) => {
      const input = tf.input({ shape: [5, 5, 3] });
      const c = tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input) as tfjs.SymbolicTensor;
      const a = tf.layers.globalAveragePooling2d({}).apply(c) as tfjs.SymbolicTensor;
      const m = tf.layers.globalMaxPooling2d({}).apply(c) as tfjs.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.add().apply([a, m]) as tfjs.SymbolicTensor });
    }, { inputs: [[3, 5, 5, 3]] }),
    modelCase('dense softmax cce', (tf) => seq(tf, [6], [tf.layers.dense({ units: 5, activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })]), { inputs: [[4, 6]], loss: 'cce' }),
    modelCase('dense softmax scce', (tf) => seq(tf, [6], [tf.layers.dense({ units: 4, activation: 'softmax' })]), { inputs: [[4, 6]], loss: 'scce' }),
    modelCase('batchNormalization', (tf) => seq(tf, [4, 4, 3], [tf.layers.conv2d({ filters: 3, kernelSize: 1 }), tf.layers.batchNormalization({})]), { inputs: [[4, 4, 4, 3]] }),
    modelCase('batchNormalization dense', (tf) => seq(tf, [5], [tf.layers.dense({ units: 4 }), tf.layers.batchNormalization({})]), { inputs: [[6, 5]] }),
    modelCase('layerNormalization', (tf) => seq(tf, [3, 6], [tf.layers.dense({ units: 6 }), tf.layers.layerNormalization({})]), { inputs: [[2, 3, 6]] }),
    modelCase('dropout', (tf) => seq(tf, [8], [tf.layers.dense({ units: 8 }), tf.layers.dropout({ rate: 0.5 })]), { inputs: [[4, 8]], deterministic: false }),
    ...(['relu', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'swish', 'gelu', 'relu6', 'softsign', 'hardSigmoid', 'mish', 'linear'] as const).map((a) =>
      modelCase(`activation ${a}`, (tf) => seq(tf, [6], [tf.layers.dense({ units: 5 }), tf.layers.activation({ activation: a })]), { inputs: [[4, 6]] }),
    ),
    modelCase('leakyReLU + prelu', (tf) => seq(tf, [6], [tf.layers.dense({ units: 5 }), tf.layers.leakyReLU({ alpha: 0.2 }), tf.layers.dense({ units: 5 }), tf.layers.prelu({})]), { inputs: [[4, 6]] }),
    modelCase('reshape + permute + flatten', (tf) => seq(tf, [4, 6], [tf.layers.reshape({ targetShape: [6, 4] }), tf.layers.permute({ dims: [2, 1] }), tf.layers.flatten(), tf.layers.dense({ units: 3 })]), { inputs: [[2, 4, 6]] }),
    // Batch 1: tfjs's cpu ResizeNearestNeighborGrad (the reference) is wrong for batch > 1.
    modelCase('upSampling2d', (tf) => seq(tf, [3, 3, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.upSampling2d({ size: [2, 2] }), tf.layers.conv2d({ filters: 2, kernelSize: 3 })]), { inputs: [[1, 3, 3, 2]] }),
    modelCase('upSampling2d bilinear', (tf) => seq(tf, [3, 3, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 1 }), tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' })]), { inputs: [[2, 3, 3, 2]] }),
    modelCase('zeroPadding2d', (tf) => seq(tf, [4, 4, 2], [tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }), tf.layers.conv2d({ filters: 2, kernelSize: 3 })]), { inputs: [[2, 4, 4, 2]] }),
    modelCase('simpleRNN', (tf) => seq(tf, [5, 3], [tf.layers.simpleRNN({ units: 4, returnSequences: true })]), { inputs: [[2, 5, 3]] }),
    modelCase('lstm', (tf) => seq(tf, [5, 3], [tf.layers.lstm({ units: 4 })]), { inputs: [[2, 5, 3]] }),
    modelCase('gru', (tf) => seq(tf, [5, 3], [tf.layers.gru({ units: 4, returnSequences: true })]), { inputs: [[2, 5, 3]] }),
    modelCase('bidirectional lstm', (tf) => seq(tf, [4, 3], [tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }) as tfjs.RNN })]), { inputs: [[2, 4, 3]] }),
    modelCase('embedding', (tf) => seq(tf, [5], [tf.layers.embedding({ inputDim: 7, outputDim: 4 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })]), { inputs: [[3, 5]], intInputs: 7 }),
    modelCase('add', (tf) => merge(tf, 'add'), { inputs: [[2, 4, 4, 3], [2, 4, 4, 3]] }),
    modelCase('concatenate', (tf) => merge(tf, 'concatenate'), { inputs: [[2, 4, 4, 3], [2, 4, 4, 3]] }),
    modelCase('multiply', (tf) => merge(tf, 'multiply'), { inputs: [[2, 4, 4, 3], [2, 4, 4, 3]] }),
    modelCase('average', (tf) => merge(tf, 'average'), { inputs: [[2, 4, 4, 3], [2, 4, 4, 3]] }),
    attentionCase(false),
    attentionCase(true),
    modelCase('cifar10-cnn (small)', (tf) => seq(tf, [12, 12, 3], [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 8, activation: 'relu' }),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ]), { inputs: [[3, 12, 12, 3]], loss: 'cce' }),
    optimizerCase('sgd', (tf) => tf.train.sgd(0.1)),
    optimizerCase('momentum', (tf) => tf.train.momentum(0.1, 0.9)),
    optimizerCase('nesterov', (tf) => tf.train.momentum(0.1, 0.9, true)),
    optimizerCase('adam', (tf) => tf.train.adam(0.01)),
    optimizerCase('adamax', (tf) => tf.train.adamax(0.01)),
    optimizerCase('rmsprop', (tf) => tf.train.rmsprop(0.01)),
    optimizerCase('rmsprop centered', (tf) => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-7, true)),
    optimizerCase('adagrad', (tf) => tf.train.adagrad(0.1)),
    optimizerCase('adadelta', (tf) => tf.train.adadelta(0.5)),
  ];
}

/**
 * The kernels a case executes (forward, backward, optimizer), recorded with tf.profile on the
 * current backend (use one that has every kernel, i.e. cpu).
 */
export async function kernelsUsed(tf: Tf, c: TrainingCase): Promise<Set<string>> {
  let result: CaseResult | null = null;
  const info = await tf.profile(() => {
    result = c.run(tf);
    return [];
  });
  const r = result as CaseResult | null;
  if (r) tf.dispose([r.loss, ...r.grads]);
  // kernelNames also lists customGrad scopes (e.g. 'fusedConv2d__op'); keep only real kernels.
  return new Set(info.kernelNames.filter((k) => tf.getKernel(k, tf.getBackend()) != null));
}

export interface KernelInventory {
  /** kernel name -> the cases that use it */
  used: Map<string, string[]>;
  /** kernels used by training that `backend` has no kernel for */
  missing: string[];
}

/** Runs every case on the current backend (use cpu) and checks each kernel against `backend`. */
export async function kernelInventory(tf: Tf, backend: string, cases = trainingCases()): Promise<KernelInventory> {
  const used = new Map<string, string[]>();
  for (const c of cases) {
    for (const k of await kernelsUsed(tf, c)) (used.get(k) ?? used.set(k, []).get(k)!).push(c.name);
  }
  const missing = [...used.keys()].filter((k) => !tf.getKernel(k, backend)).sort();
  return { used, missing };
}
