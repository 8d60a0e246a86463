/**
 * In-process tests of the training loop (the worker runs the same Trainer): optimizers, schedules, AdamW decay, early stopping,
 * no tensor growth across epochs, evaluate/predict.
 */
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { selectBackend } from '../backends';
import { fillBatch, planSplit, range, seededRandom } from './data';
import { learningRateAt } from './optimizers';
import { syntheticDataset } from './testing/synthetic';
import { settings, train } from './testing/helpers';
import { Trainer, type TrainControl } from './trainer';

/** A small dense model: fast everywhere, for the loop's behaviours. */
const mlp: Graph = {
  nodes: [
    { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'image', height: 4, width: 4, channels: 1 }, position: { x: 0, y: 0 } },
    { id: 'f', type: 'Flatten', name: 'flatten_1', params: {}, position: { x: 0, y: 0 } },
    { id: 'h', type: 'Dense', name: 'dense_1', params: { units: 16, activation: 'relu' }, position: { x: 0, y: 0 } },
    { id: 'o', type: 'Dense', name: 'dense_2', params: { units: 3, activation: 'softmax' }, position: { x: 0, y: 0 } },
  ],
  edges: [
    { id: 'e1', source: 'in', target: 'f', targetPort: 0 },
    { id: 'e2', source: 'f', target: 'h', targetPort: 0 },
    { id: 'e3', source: 'h', target: 'o', targetPort: 0 },
  ],
};

describe('training loop', () => {
  for (const optimizer of ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'] as const) {
    it(`${optimizer} lowers the loss`, async () => {
      const lr = optimizer === 'sgd' || optimizer === 'momentum' ? 0.1 : 0.01;
      const { result, epochs, trainer } = await train('cpu', mlp, settings({ optimizer, learningRate: lr, epochs: 4 }), 96);
      expect(result.reason, result.message).toBe('completed');
      expect(epochs[3]!.loss).toBeLessThan(epochs[0]!.loss);
      trainer.dispose();
    });
  }

  it('AdamW decays kernels but not biases (decoupled weight decay)', async () => {
    // Zero gradient: the loss of a frozen input path is constant, so only the decay moves weights.
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const ds = syntheticDataset({ shape: [4, 4, 1], classes: 3, train: 16, test: 8 });
    const s = settings({ optimizer: 'adamw', learningRate: 0.1, weightDecay: 0.5, epochs: 1, batchSize: 16 });
    const a = Trainer.fromGraph(tf, mlp, s, ds, name);
    const b = Trainer.fromGraph(tf, mlp, { ...s, optimizer: 'adam' }, ds, name);
    await a.train('a', undefined, () => {});
    await b.train('b', undefined, () => {});
    // One step: adamw = adam's result with the kernel shrunk by (1 - lr * wd) = 0.95 (decay after the step).
    const ka = a.model.getLayer('dense_1').getWeights()[0]!.arraySync() as number[][];
    const kb = b.model.getLayer('dense_1').getWeights()[0]!.arraySync() as number[][];
    expect(ka[0]![0]!).toBeCloseTo(kb[0]![0]! * 0.95, 5);
    const ba = a.model.getLayer('dense_1').getWeights()[1]!.dataSync();
    const bb = b.model.getLayer('dense_1').getWeights()[1]!.dataSync();
    expect(Array.from(ba)).toEqual(Array.from(bb));
    a.dispose();
    b.dispose();
  });

  it('does not grow the tensor count from epoch to epoch', async () => {
    const { epochs, trainer, tf } = await train('cpu', mlp, settings({ epochs: 5, validationSplit: 0.25, augmentFlip: true, augmentCrop: true, optimizer: 'adam' }));
    const counts = epochs.map((e) => e.numTensors);
    expect(counts.length).toBe(5);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(counts[4]).toBe(counts[0]);
    const before = tf.memory().numTensors;
    await trainer.evaluate('test');
    await trainer.predict({ images: new Uint8Array(16 * 3), count: 3 });
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  });

  it('is reproducible with the same seed and differs with another', async () => {
    const r1 = await train('cpu', mlp, settings({ epochs: 1, seed: 7 }));
    const r2 = await train('cpu', mlp, settings({ epochs: 1, seed: 7 }));
    const r3 = await train('cpu', mlp, settings({ epochs: 1, seed: 8 }));
    expect(r1.epochs[0]!.loss).toBe(r2.epochs[0]!.loss);
    expect(r3.epochs[0]!.loss).not.toBe(r1.epochs[0]!.loss);
    for (const r of [r1, r2, r3]) r.trainer.dispose();
  });

  it('early-stops when validation loss stops improving', async () => {
    // A learning rate of ~0 cannot improve the validation loss after the first epoch.
    const { result, epochs, trainer } = await train('cpu', mlp, settings({ epochs: 20, earlyStoppingPatience: 2, learningRate: 1e-12, optimizer: 'sgd' }));
    expect(result.reason).toBe('early-stopped');
    expect(epochs.length).toBe(3);
    trainer.dispose();
  });

  it('ends with an error naming NaN when the loss diverges', async () => {
    // Linear hidden units (no dead ReLUs to stall it): weights and logits blow up to Infinity, then NaN.
    const linear: Graph = { ...mlp, nodes: mlp.nodes.map((n) => (n.id === 'h' ? { ...n, params: { ...n.params, activation: 'linear' } } : n)) };
    const { result, trainer } = await train('cpu', linear, settings({ optimizer: 'sgd', learningRate: 1e6, epochs: 20 }));
    expect(result.reason).toBe('error');
    expect(result.message).toMatch(/loss became (NaN|infinite)/);
    trainer.dispose();
  });

  it('stops after the current batch and keeps the weights', async () => {
    let stop = false;
    const control: TrainControl = { stopRequested: () => stop, pauseRequested: () => false, waitWhilePaused: async () => {} };
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const ds = syntheticDataset({ shape: [4, 4, 1], classes: 3, train: 64, test: 8 });
    const trainer = Trainer.fromGraph(tf, mlp, settings(), ds, name);
    const w0 = trainer.model.getWeights()[0]!.dataSync().slice();
    const result = await trainer.train('s', undefined, (e) => {
      if (e.type === 'batch') stop = true;
    }, control);
    expect(result.reason).toBe('stopped');
    expect(result.batchesCompleted).toBe(1);
    expect(Array.from(trainer.model.getWeights()[0]!.dataSync())).not.toEqual(Array.from(w0));
    expect((await trainer.evaluate()).count).toBe(8);
    trainer.dispose();
  });

  it('evaluates with per-class accuracy and a confusion matrix, and predicts probabilities', async () => {
    const { trainer, ds } = await train('cpu', mlp, settings({ epochs: 6, learningRate: 0.01 }), 96);
    const ev = await trainer.evaluate('test');
    expect(ev.count).toBe(32);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(32);
    const diag = ev.confusion.reduce((a, row, i) => a + row[i]!, 0);
    expect(ev.accuracy).toBeCloseTo(diag / 32, 10);
    expect(ev.accuracy).toBeGreaterThan(0.6);
    ev.perClassAccuracy.forEach((acc, i) => {
      const total = ev.confusion[i]!.reduce((a, b) => a + b, 0);
      expect(acc).toBe(total ? ev.confusion[i]![i]! / total : null);
    });
    const probs = await trainer.predict({ images: ds.test.images.subarray(0, 5 * 16), count: 5 });
    expect(probs.length).toBe(5);
    for (const p of probs) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await expect(trainer.predict({ images: new Uint8Array(10), count: 1 })).rejects.toThrow(/expected 1 samples of 16 values/);
    trainer.dispose();
  });

  it('gives the same evaluation and predictions when repeated and when calls overlap (their batch buffers are reused)', async () => {
    const { trainer, ds } = await train('cpu', mlp, settings({ epochs: 2, learningRate: 0.01 }), 96);
    const images = ds.test.images.subarray(0, 7 * 16);
    const ev = { ...(await trainer.evaluate('test')), imagesPerSecond: 0 };
    const probs = await trainer.predict({ images, count: 7 });
    expect({ ...(await trainer.evaluate('test')), imagesPerSecond: 0 }).toEqual(ev);
    expect(await trainer.predict({ images, count: 7 })).toEqual(probs);
    const [ev2, probs2, ev3] = await Promise.all([trainer.evaluate('test'), trainer.predict({ images, count: 7 }), trainer.evaluate('train', 40)]);
    expect({ ...ev2, imagesPerSecond: 0 }).toEqual(ev);
    expect(probs2).toEqual(probs);
    expect(ev3.count).toBe(40);
    expect({ ...(await trainer.evaluate('train', 40)), imagesPerSecond: 0 }).toEqual({ ...ev3, imagesPerSecond: 0 });
    trainer.dispose();
  });

  it('rejects a dataset whose samples do not fit the model input', async () => {
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const ds = syntheticDataset({ shape: [5, 5, 1], classes: 3, train: 8, test: 8 });
    expect(() => Trainer.fromGraph(tf, mlp, settings(), ds, name)).toThrow(/bad data shape: .* 5×5×1 \(25 values\) .* 'input_1' expects 4×4×1 \(16 values\)/);
  });
});

describe('data plan and schedules', () => {
  it('holds out a seeded validation split after --limit', () => {
    const a = planSplit(100, 40, 0.25, 3);
    expect(a.train.length + a.val.length).toBe(40);
    expect(a.val.length).toBe(10);
    expect(Math.max(...a.train, ...a.val)).toBeLessThan(40);
    expect(new Set([...a.train, ...a.val]).size).toBe(40);
    expect(Array.from(planSplit(100, 40, 0.25, 3).val)).toEqual(Array.from(a.val));
    expect(planSplit(10, undefined, 0, 1).train.length).toBe(10);
  });

  it('normalises to 0-1 and flips horizontally', () => {
    const images = new Uint8Array([0, 255, 51, 102]); // one 2x2x1 sample
    const split = { count: 1, images, labels: new Uint8Array([2]) };
    const out = new Float32Array(4);
    const labels = new Int32Array(1);
    fillBatch(split, [2, 2, 1], range(1), 0, 1, out, labels, null, Math.random);
    expect(Array.from(out)).toEqual([0, 1, 51 / 255, 102 / 255].map((v) => Math.fround(v)));
    expect(labels[0]).toBe(2);
    fillBatch(split, [2, 2, 1], range(1), 0, 1, out, labels, { flip: true, crop: false }, () => 0.1);
    expect(Array.from(out)).toEqual([1, 0, 102 / 255, 51 / 255].map((v) => Math.fround(v)));
    const rand = seededRandom(1);
    fillBatch(split, [2, 2, 1], range(1), 0, 1, out, labels, { flip: false, crop: true, pad: 1 }, rand);
    expect(out.every((v) => [0, 1, 51 / 255, 102 / 255].map(Math.fround).includes(v))).toBe(true);
  });

  it('computes constant, step and cosine learning rates', () => {
    const s = settings({ learningRate: 0.1, schedule: 'step', stepEpochs: 2, stepGamma: 0.5 });
    expect(learningRateAt(s, 0, 0)).toBe(0.1);
    expect(learningRateAt(s, 2, 0.5)).toBe(0.05);
    expect(learningRateAt(s, 5, 0.9)).toBe(0.025);
    const c = { ...s, schedule: 'cosine' as const };
    expect(learningRateAt(c, 0, 0)).toBeCloseTo(0.1, 10);
    expect(learningRateAt(c, 0, 0.5)).toBeCloseTo(0.05, 10);
    expect(learningRateAt(c, 0, 1)).toBeCloseTo(0, 10);
    expect(learningRateAt({ ...s, schedule: 'constant' }, 9, 0.9)).toBe(0.1);
  });
});
