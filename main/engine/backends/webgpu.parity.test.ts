/**
 * The webgpu backend on whatever adapter Dawn finds (in CI: Mesa's lavapipe, a software Vulkan GPU):
 * one SGD step of every template equals cpu's to 1e-5 (the weights after the step), a small model
 * trains in a worker with falling loss and evaluates, predicts and saves there (paths that would throw
 * on a sync read: webgpu in Node has no dataSync), and the backend report names the adapter.
 * Skipped, saying why, where there is no adapter. Kept small for CI's 2 cores: 8-px images, 8-token
 * contexts, batch 2, one process (each shader compiles once per shape), LLVM without optimisation passes.
 */
import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph, GraphNode } from '../../../shared/graph';
import { defaultTrainingSettings, parseProjectText } from '../../../shared/project';
import { compileGraph } from '../compile';
import { startRun, type TrainingEvent } from '../training';
import { shrink } from '../training/testing/shrink';
import { syntheticDataset } from '../training/testing/synthetic';
import { reportBackends, selectBackend } from './index';
import { releaseWebgpu } from './webgpu';

// On Mesa's software GPU (llvmpipe/lavapipe) most of this file's time is compiling shaders with LLVM:
// without optimisation passes it takes ~30% less CPU (read when Dawn loads the driver; no effect elsewhere).
process.env.GALLIVM_PERF ??= 'nopt';

const { tf } = await selectBackend({ force: 'cpu' });
let skipped: string | null = null;
try {
  await selectBackend({ force: 'webgpu' });
} catch (e) {
  skipped = e instanceof Error ? e.message : String(e);
  console.warn(`webgpu parity tests SKIPPED: no usable WebGPU adapter here (${skipped})`);
}

const TEMPLATES = 'resources/templates';
const templates = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, graph: parseProjectText(readFileSync(join(TEMPLATES, f), 'utf8'), f).graph }));

/** No dropout (its masks come from each backend's own random numbers); everything else is the template's. */
function withoutDropout(graph: Graph): Graph {
  const g = structuredClone(graph);
  for (const n of g.nodes) {
    if (n.type === 'Dropout') n.params = { ...n.params, rate: 0 };
    if ('dropout' in n.params) n.params = { ...n.params, dropout: 0 };
  }
  return g;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** The weights after one SGD step (lr 0.05, mean squared error to fixed targets) from `initial`, on the active backend. */
async function oneStep(graph: Graph, initial: Float32Array[] | null, batch: number): Promise<{ before: Float32Array[]; after: Float32Array[] }> {
  const { model } = compileGraph(tf, graph, 'parity');
  try {
    if (initial) model.setWeights(model.weights.map((w, i) => tf.tensor(initial[i]!, w.shape as number[])));
    const before = await Promise.all(model.getWeights().map(async (w) => new Float32Array(await w.data())));
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
    const input = model.inputs[0]!;
    const inShape = [batch, ...(input.shape.slice(1) as number[])];
    const outShape = [batch, ...(model.outputs[0]!.shape.slice(1) as number[])];
    const rnd = lcg(7);
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const x = input.dtype === 'int32' ? tf.tensor(Int32Array.from({ length: size(inShape) }, () => Math.floor(rnd() * 50)), inShape, 'int32') : tf.tensor(Float32Array.from({ length: size(inShape) }, () => rnd()), inShape);
    const y = tf.tensor(Float32Array.from({ length: size(outShape) }, () => rnd()), outShape);
    await model.trainOnBatch(x, y);
    const after = await Promise.all(model.getWeights().map(async (w) => new Float32Array(await w.data())));
    tf.dispose([x, y]);
    return { before, after };
  } finally {
    model.optimizer?.dispose();
    model.dispose();
  }
}

afterAll(() => releaseWebgpu(tf as typeof tfjs));

describe.skipIf(skipped !== null)(`webgpu backend${skipped ? ` (SKIPPED: ${skipped})` : ''}`, () => {
  it('the report names the adapter, and says when it is a software one', async () => {
    const webgpu = (await reportBackends()).find((b) => b.name === 'webgpu')!;
    expect(webgpu.ok).toBe(true);
    expect(webgpu.adapter).toBeDefined();
    const a = webgpu.adapter!;
    expect(`${a.vendor}${a.description}`.length).toBeGreaterThan(0);
    if (/llvmpipe|lavapipe|swiftshader/i.test(a.description + a.device)) {
      expect(a.software).toBe(true);
      expect(webgpu.reason).toMatch(/software/);
      expect(webgpu.reason).toMatch(/never automatically/);
    }
  });

  it('a sync read throws on webgpu in Node (why the engine reads asynchronously: asyncReads.test.ts)', async () => {
    await tf.setBackend('webgpu');
    // Big enough to run on the GPU (tfjs-webgpu computes tiny tensors on the CPU, where dataSync works).
    const t = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
    try {
      expect(() => t.dataSync()).toThrow(/OffscreenCanvas/);
      expect((await t.data())[0]).toBe(64);
    } finally {
      t.dispose();
      await tf.setBackend('cpu');
    }
  });

  for (const { file, graph } of templates) {
    it(`${file}: one SGD step on webgpu equals cpu to 1e-5`, async () => {
      const g = shrink(withoutDropout(graph), 8);
      await tf.setBackend('cpu');
      const cpu = await oneStep(g, null, 2);
      await tf.setBackend('webgpu');
      const gpu = await oneStep(g, cpu.before, 2);
      await tf.setBackend('cpu');
      let maxDiff = 0;
      let maxStep = 0;
      for (let i = 0; i < cpu.after.length; i++) {
        const a = cpu.after[i]!;
        const b = gpu.after[i]!;
        const w0 = cpu.before[i]!;
        expect(b.length).toBe(a.length);
        for (let j = 0; j < a.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[j]! - b[j]!));
          maxStep = Math.max(maxStep, Math.abs(a[j]! - w0[j]!));
        }
      }
      expect(maxStep, 'the step moved the weights').toBeGreaterThan(1e-5);
      expect(maxDiff, `max |webgpu - cpu| over the weights (step up to ${maxStep.toExponential(2)})`).toBeLessThanOrEqual(1e-5);
    }, 120_000);
  }

  it('a small model trains in a worker on webgpu (loss falls), then evaluates, predicts and saves there', async () => {
    const node = (id: string, type: string, params: GraphNode['params']): GraphNode => ({ id, type, name: `${type.toLowerCase()}_${id}`, params, position: { x: 0, y: 0 } });
    const graph: Graph = {
      nodes: [node('in', 'Input', { kind: 'image', height: 8, width: 8, channels: 1 }), node('c', 'Conv2D', { filters: 4, kernelSize: 3, activation: 'relu' }), node('f', 'Flatten', {}), node('o', 'Dense', { units: 3, activation: 'softmax' })],
      edges: [
        { id: 'e1', source: 'in', target: 'c', targetPort: 0 },
        { id: 'e2', source: 'c', target: 'f', targetPort: 0 },
        { id: 'e3', source: 'f', target: 'o', targetPort: 0 },
      ],
    };
    const ds = syntheticDataset({ shape: [8, 8, 1], classes: 3, train: 64, test: 16 });
    const events: TrainingEvent[] = [];
    const run = startRun({ graph, settings: { ...defaultTrainingSettings(), epochs: 3, batchSize: 16, learningRate: 0.01, backend: 'webgpu' }, dataset: ds }, (e) => events.push(e));
    try {
      const result = await run.done;
      expect(result.reason, result.message).toBe('completed');
      expect(result.backend).toBe('webgpu');
      const started = events.find((e) => e.type === 'started');
      expect(started?.type === 'started' && started.backendReason).toMatch(/Dawn on/);
      const losses = events.flatMap((e) => (e.type === 'epoch' ? [e.loss] : []));
      expect(losses).toHaveLength(3);
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);
      const ev = await run.evaluate('test', undefined, true);
      expect(ev.count).toBe(16);
      const probs = await run.predict({ images: ds.test.images.subarray(0, 2 * 64), count: 2 });
      expect(probs).toHaveLength(2);
      expect(probs[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      const dir = mkdtempSync(join(tmpdir(), 'lf-webgpu-'));
      await run.save(dir);
      expect(existsSync(join(dir, 'weights.bin'))).toBe(true);
    } finally {
      await run.dispose();
    }
  }, 180_000);
});
