/**
 * Insight on a model in-process (the worker runs the same class): samples are the dataset's own test records,
 * activations equal a tfjs sub-model cut at the layer (conv, dense, sequence and attention models), Grad-CAM
 * equals a reference computed from the layers after the convolution, and the errors say what is wrong.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { selectBackend } from '../backends';
import { cifar10Info, readCifarBinaryDir } from '../datasets/cifar10';
import type { LoadedDataset } from '../datasets/types';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { settings, syntheticFor } from '../training/testing/helpers';
import { Trainer } from '../training/trainer';
import { decodePngDataUrl } from './images';
import { ModelInsight } from './model';
import { InsightError } from './types';

const root = mkdtempSync(join(tmpdir(), 'lf-insight-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const template = (name: string): Graph => parseProjectText(readFileSync(new URL(`../../../resources/templates/${name}.json`, import.meta.url), 'utf8')).graph;

let tf: typeof tfjs;
let bin = '';
let cifar: LoadedDataset;
beforeAll(async () => {
  ({ tf } = await selectBackend({ force: 'cpu' }));
  bin = writeTinyCifar10(root, 4, 12);
  const { train, test } = await readCifarBinaryDir(bin);
  cifar = { info: { ...cifar10Info, status: 'ready' }, shape: [32, 32, 3], train, test };
});

/** Record n of test_batch.bin: its label byte and its pixels as the model reads them (H×W×C, /255). */
function record(n: number): { label: number; x: Float32Array; rgb: Uint8Array } {
  const buf = readFileSync(join(bin, 'test_batch.bin'));
  const o = n * 3073;
  const x = new Float32Array(32 * 32 * 3);
  const rgb = new Uint8Array(32 * 32 * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 1024; p++) {
      rgb[p * 3 + c] = buf[o + 1 + c * 1024 + p]!;
      x[p * 3 + c] = buf[o + 1 + c * 1024 + p]! / 255;
    }
  }
  return { label: buf[o]!, x, rgb };
}

function cut(model: tfjs.LayersModel, layer: string, x: tfjs.Tensor): Float32Array {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tfjs.SymbolicTensor });
  const y = sub.predict(x) as tfjs.Tensor;
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('insight on an image classifier (cifar10-cnn)', () => {
  let trainer: Trainer;
  let insight: ModelInsight;
  const graph = template('cifar10-cnn');
  beforeAll(() => {
    trainer = Trainer.fromGraph(tf, graph, settings({ seed: 5 }), cifar, 'cpu');
    insight = new ModelInsight({ trainer, graph });
  });

  it('sample N is record N of test_batch.bin (label and pixels), with the prediction', async () => {
    for (const n of [0, 5, 11]) {
      const s = await insight.sample(n);
      const r = record(n);
      expect(s).toMatchObject({ index: n, count: 12, label: r.label });
      expect(s.probabilities).toHaveLength(10);
      expect(s.predicted).toBe(s.probabilities!.indexOf(Math.max(...s.probabilities!)));
      if (s.view.kind !== 'image') throw new Error('not an image');
      const png = decodePngDataUrl(s.view.image);
      expect([png.width, png.height]).toEqual([32, 32]);
      for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) expect(png.data[p * 4 + c]).toBe(r.rgb[p * 3 + c]);
    }
    await expect(insight.sample(12)).rejects.toThrow(/sample 12 is out of range: the test split has 12 samples \(0 … 11\)/);
  });

  it('conv, pooling and dense outputs equal a tfjs sub-model cut at the layer (1e-5)', async () => {
    const r = record(7);
    const x = tf.tensor4d(r.x, [1, 32, 32, 3]);
    for (const [node, layer] of [['conv1', 'conv2d_1'], ['pool2', 'max_pooling2d_2'], ['fc1', 'dense_1'], ['out', 'dense_2']] as const) {
      const got = await insight.layerValues(7, node);
      expect(got.layerName).toBe(layer);
      expect(maxDiff(got.values, cut(trainer.model, layer, x))).toBeLessThan(1e-5);
    }
    // A layer name works as well as a node id (the CLI's --layer).
    expect((await insight.layerValues(7, 'conv2d_2')).nodeId).toBe('conv2');
    x.dispose();
  });

  it('feature maps: one PNG per channel, sorted by mean (largest first), stats from the values', async () => {
    const a = await insight.activations(3, 'conv1', 8);
    expect(a.shape).toEqual([30, 30, 32]);
    if (a.view.kind !== 'feature-maps') throw new Error(a.view.kind);
    expect(a.view).toMatchObject({ height: 30, width: 30, totalChannels: 32 });
    expect(a.view.channels).toHaveLength(8);
    const means = a.view.channels.map((c) => c.mean);
    expect([...means].sort((p, q) => q - p)).toEqual(means);
    const values = (await insight.layerValues(3, 'conv1')).values;
    for (const ch of a.view.channels) {
      let sum = 0;
      let max = -Infinity;
      for (let i = 0; i < 900; i++) {
        sum += values[i * 32 + ch.channel]!;
        max = Math.max(max, values[i * 32 + ch.channel]!);
      }
      expect(ch.mean).toBeCloseTo(sum / 900, 5);
      expect(ch.max).toBeCloseTo(max, 6);
      expect(decodePngDataUrl(ch.image)).toMatchObject({ width: 30, height: 30 });
    }
    const out = await insight.activations(3, 'out', 64);
    expect(out.view).toMatchObject({ kind: 'vector', labels: cifar10Info.classNames });
    await expect(insight.activations(3, 'nope', 8)).rejects.toThrow(/no node 'nope' in this model: its nodes are input \(input_1\), conv1 \(conv2d_1\)/);
  });

  it('Grad-CAM equals a reference from the layers after the convolution; saliency is normalised', async () => {
    const e = await insight.explain({ kind: 'explain', sample: 4, method: 'gradcam', classIndex: 3 });
    expect(e).toMatchObject({ method: 'gradcam', classIndex: 3, className: 'cat', nodeId: 'conv2', layerName: 'conv2d_2' });
    expect(e.heatmap).toHaveLength(32);
    expect(e.heatmap[0]).toHaveLength(32);
    // Reference: A = conv2's output, the head (pool2 → flat → fc1 → out, logits) applied to it by hand.
    const m = trainer.model;
    const x = tf.tensor4d(record(4).x, [1, 32, 32, 3]);
    const A = tf.model({ inputs: m.inputs, outputs: m.getLayer('conv2d_2').output as tfjs.SymbolicTensor }).predict(x) as tfjs.Tensor;
    const head = (a: tfjs.Tensor) => {
      const h = m.getLayer('dense_1').apply(m.getLayer('flatten_1').apply(m.getLayer('max_pooling2d_2').apply(a))) as tfjs.Tensor;
      const out = m.getLayer('dense_2') as unknown as { getWeights(): tfjs.Tensor[] };
      const [k, b] = out.getWeights();
      return tf.squeeze(tf.slice(tf.add(tf.matMul(h, k!), b!), [0, 3], [1, 1])) as tfjs.Scalar;
    };
    const g = tf.grad(head)(A);
    const cam = tf.relu(tf.sum(tf.mul(A, tf.mean(g, [1, 2], true)), -1));
    const up = tf.image.resizeBilinear(tf.reshape(cam, [1, 13, 13, 1]) as tfjs.Tensor4D, [32, 32]);
    const lo = up.min().dataSync()[0]!;
    const hi = up.max().dataSync()[0]!;
    const ref = Array.from(up.dataSync(), (v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
    expect(maxDiff(e.heatmap.flat(), ref)).toBeLessThan(2e-4); // the heat map is rounded to 4 decimals
    tf.dispose([x, A, g, cam, up]);
    expect(decodePngDataUrl(e.overlay)).toMatchObject({ width: 32, height: 32 });

    const s = await insight.explain({ kind: 'explain', sample: 4, method: 'saliency' });
    expect(s.classIndex).toBe(s.sample.predicted);
    expect(s.nodeId).toBeUndefined();
    expect(Math.max(...s.heatmap.flat())).toBe(1);
    expect(Math.min(...s.heatmap.flat())).toBeGreaterThanOrEqual(0);

    await expect(insight.explain({ kind: 'explain', sample: 4, method: 'gradcam', classIndex: 10 })).rejects.toThrow(/class 10 is out of range: the model has 10 classes \(0 … 9\)/);
    await expect(insight.explain({ kind: 'explain', sample: 4, method: 'gradcam', nodeId: 'fc1' })).rejects.toThrow(/Grad-CAM needs a convolution layer .*node 'fc1' is a Dense/);
  });

  it('embeddings of the penultimate layer: PCA and seeded UMAP give the same picture twice', async () => {
    const p1 = await insight.embeddings({ kind: 'embeddings', method: 'pca', samples: 12, seed: 1 });
    expect(p1).toMatchObject({ nodeId: 'fc1', layerName: 'dense_1', dimensions: 128 });
    expect(p1.points).toHaveLength(12);
    expect(p1.points[5]).toMatchObject({ index: 5, label: record(5).label });
    const u1 = await insight.embeddings({ kind: 'embeddings', method: 'umap', samples: 12, seed: 1 });
    const u2 = await insight.embeddings({ kind: 'embeddings', method: 'umap', samples: 12, seed: 1 });
    expect(u2.points).toEqual(u1.points);
  });

  it('confusion cells: the samples whose truth and prediction are the cell', async () => {
    const ev = await trainer.evaluate('test', undefined, true);
    const p = ev.predictions!;
    const [a, b] = [p.truth[0]!, p.predicted[0]!];
    const c = await insight.confusion({ kind: 'confusion', actual: a, predicted: b, limit: 50 }, true);
    const want = p.truth.map((t, i) => (t === a && p.predicted[i] === b ? i : -1)).filter((i) => i >= 0);
    expect(c.total).toBe(want.length);
    expect(c.items.map((i) => i.index).sort((x, y) => x - y)).toEqual(want);
    expect(c.items.every((i) => i.label === a && i.predicted === b && i.view.kind === 'image')).toBe(true);
    await expect(insight.confusion({ kind: 'confusion', actual: 10, predicted: 0, limit: 5 }, true)).rejects.toThrow(/actual class 10 is out of range/);
  });
});

describe('insight errors on other models', () => {
  it('a model without convolutions: Grad-CAM says so and points to saliency', async () => {
    const graph: Graph = {
      nodes: [
        { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'image', height: 32, width: 32, channels: 3 }, position: { x: 0, y: 0 } },
        { id: 'flat', type: 'Flatten', name: 'flatten_1', params: {}, position: { x: 0, y: 0 } },
        { id: 'out', type: 'Dense', name: 'dense_1', params: { units: 10, activation: 'softmax' }, position: { x: 0, y: 0 } },
      ],
      edges: [
        { id: 'e1', source: 'in', target: 'flat', targetPort: 0 },
        { id: 'e2', source: 'flat', target: 'out', targetPort: 0 },
      ],
    } as Graph;
    const trainer = Trainer.fromGraph(tf, graph, settings(), cifar, 'cpu');
    const insight = new ModelInsight({ trainer, graph });
    const err = await insight.explain({ kind: 'explain', sample: 0, method: 'gradcam' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsightError);
    expect((err as Error).message).toBe('Grad-CAM needs a convolution layer; this model has none: use saliency');
    expect((await insight.explain({ kind: 'explain', sample: 0, method: 'saliency' })).heatmap).toHaveLength(32);
  });

  it('a sequence model: Embedding and attention outputs equal a sub-model; attention as heads × tokens × tokens', async () => {
    const graph = template('transformer-classifier');
    const ds = syntheticFor(graph, 8, 6);
    const trainer = Trainer.fromGraph(tf, graph, settings(), ds, 'cpu');
    const insight = new ModelInsight({ trainer, graph });
    const T = 32;
    const ids = ds.test.images.subarray(2 * T, 3 * T); // synthetic token ids are stored as bytes
    const x = tf.tensor2d(Int32Array.from(ids), [1, T], 'int32');
    for (const [node, layer] of [['embed', 'embedding_1'], ['pos', 'positional_embedding_1'], ['ln2', 'layer_normalization_2']] as const) {
      const got = await insight.layerValues(2, node);
      expect(got.shape).toEqual([T, 32]);
      expect(maxDiff(got.values, cut(trainer.model, layer, x))).toBeLessThan(1e-5);
    }
    x.dispose();
    const seq = await insight.activations(2, 'ln1', 64);
    if (seq.view.kind !== 'sequence') throw new Error(seq.view.kind);
    expect(seq.view).toMatchObject({ steps: T, features: 32 });
    expect(seq.view.tokens?.length).toBe(seq.view.values.length);
    const att = await insight.activations(2, 'attn', 64);
    if (att.view.kind !== 'attention') throw new Error(att.view.kind);
    expect(att.view.heads).toBe(2);
    const n = att.view.tokens.length;
    expect(att.view.weights[0]).toHaveLength(n);
    expect(att.view.weights[1]![0]).toHaveLength(n);
    for (const row of att.view.weights[0]!) expect(row.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-5);
    await expect(insight.explain({ kind: 'explain', sample: 0, method: 'saliency' })).rejects.toThrow(/explain image classifiers; this model reads 32 token ids/);
  });
});
