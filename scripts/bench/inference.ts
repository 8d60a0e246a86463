/**
 * Inference against ONNX Runtime (issue #16): cifar10-cnn and resnet-small, batch 256. Ours: the
 * template compiled by the engine (compileGraph through Trainer.fromGraph) on wasm, the engine's own
 * inference path (Trainer.predictionOf: the whole batch in one forward pass; tfjs's `model.predict`
 * would split it into batches of 32) on float32 batches with the result read back. The peer: onnxruntime-node (CPU execution provider,
 * 2 intra-op threads) on OUR OWN ONNX export of the same model and weights (buildOnnx), fed the same
 * float32 batches. The two alternate for `rounds` rounds (LAYERFORGE_BENCH_ROUNDS, default 3) and
 * each reports its best round. Ours runs the inference plan (main/engine/inference: BatchNorm folded
 * into the convolution before it, activations fused); the same model through tfjs's own executor
 * (`model.apply`, the path before the plan) is timed in the same rounds as a third figure. Before timing, the outputs are compared (the export's parity, < 1e-4).
 *
 * PyTorch's inference figures for the same models are printed by the `training` (cifar10-cnn) and
 * `templates` (resnet-small) modules of the same run.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type * as tfjs from '@tensorflow/tfjs';
import { defaultTrainingSettings, parseProjectText } from '../../shared/project';
import { selectBackend, type SelectedBackend } from '../../main/engine/backends';
import { Trainer } from '../../main/engine/training/trainer';
import { syntheticDataset } from '../../main/engine/training/testing/synthetic';
import { exportGraphOf } from '../../main/engine/export/exportGraph';
import { buildOnnx } from '../../main/engine/export/onnx';
import type { BenchModule, Figure } from './types';

export const INFERENCE_TEMPLATES = ['cifar10-cnn', 'resnet-small'] as const;
const BATCH = 256;
const BATCHES = 4;

interface OrtTensor {
  data: Float32Array;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, opts: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** onnxruntime-node, or why it cannot be used here. */
async function loadOrt(): Promise<Ort | string> {
  try {
    const specifier = 'onnxruntime-node';
    return (await import(/* @vite-ignore */ specifier)) as Ort;
  } catch (error) {
    return `onnxruntime-node is not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); npm install installs it as a dev dependency`;
  }
}

interface Setup {
  trainer: Trainer;
  session: OrtSession;
  batches: Float32Array[];
  shape: number[];
  maxDiff: number;
}

async function setUp(selected: SelectedBackend, ort: Ort, name: string): Promise<Setup> {
  const file = `resources/templates/${name}.json`;
  const project = parseProjectText(readFileSync(file, 'utf8'), file);
  const input = project.graph.nodes.find((n) => n.type === 'Input');
  const p = (input?.params ?? {}) as Record<string, number>;
  const shape = [Number(p.height ?? 32), Number(p.width ?? 32), Number(p.channels ?? 3)];
  const ds = syntheticDataset({ shape: shape as [number, number, number], classes: 10, train: 2, test: 2 });
  const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 64 };
  const trainer = Trainer.fromGraph(selected.tf, project.graph, settings, ds, selected.name);
  const bytes = buildOnnx(exportGraphOf(project.graph, trainer.model, name));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const size = shape[0]! * shape[1]! * shape[2]!;
  const batches = Array.from({ length: BATCHES }, () => Float32Array.from({ length: BATCH * size }, rand));
  // Parity first: a ratio between two different functions would mean nothing.
  const ours = await predictOurs(selected.tf, trainer, batches[0]!, shape);
  const theirs = await predictOrt(ort, session, batches[0]!, shape);
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
  if (!(maxDiff < 1e-4)) throw new Error(`${name}: ONNX Runtime's outputs differ from ours by ${maxDiff} (parity broken): no figure`);
  return { trainer, session, batches, shape, maxDiff };
}

/** The engine's own inference path (Trainer.predictionOf: one forward pass of the whole batch, then the task's prediction, here softmax). */
async function predictOurs(tf: typeof tfjs, trainer: Trainer, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const xt = tf.tensor(x, [x.length / (shape[0]! * shape[1]! * shape[2]!), ...shape]);
  const y = trainer.predictionOf(xt);
  const out = (await y.data()) as Float32Array;
  tf.dispose([xt, y]);
  return out;
}

async function predictOrt(ort: Ort, session: OrtSession, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const n = x.length / (shape[0]! * shape[1]! * shape[2]!);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [n, ...shape]) });
  return out[session.outputNames[0]!]!.data;
}

/** The same prediction through tfjs's executor (Trainer.logits: model.apply), without the inference plan. */
async function predictUnplanned(tf: typeof tfjs, trainer: Trainer, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const xt = tf.tensor(x, [x.length / (shape[0]! * shape[1]! * shape[2]!), ...shape]);
  const y = tf.tidy(() => trainer.task.predict(tf, trainer.plan, trainer.logits(xt, false), trainer.target));
  const out = (await y.data()) as Float32Array;
  tf.dispose([xt, y]);
  return out;
}

/** Images per second over every batch, after one warm-up batch. */
async function timeIt(run: (x: Float32Array) => Promise<unknown>, batches: Float32Array[]): Promise<number> {
  await run(batches[0]!);
  const t0 = performance.now();
  for (const b of batches) await run(b);
  return (batches.length * BATCH * 1000) / (performance.now() - t0);
}

const round = (v: number) => Math.round(v);

export const inferenceBench: BenchModule = {
  name: 'inference',
  async run({ backends, log }) {
    const rounds = Math.max(1, Number(process.env.LAYERFORGE_BENCH_ROUNDS ?? 3) || 3);
    const figures: Figure[] = [];
    const ort = await loadOrt();
    let selected: SelectedBackend | string;
    if (!backends.includes('wasm')) selected = 'wasm not among --backends';
    else {
      try {
        selected = await selectBackend({ force: 'wasm' });
      } catch (error) {
        selected = `wasm not available (${error instanceof Error ? error.message : String(error)})`;
      }
    }
    for (const name of INFERENCE_TEMPLATES) {
      const oursId = `inference.${name}.wasm`;
      const plainId = `inference.${name}.wasm-unplanned`;
      const plainLabel = `${name} inference on wasm through model.apply (no inference plan), batch ${BATCH}, best round`;
      const ortId = `inference.${name}.onnxruntime`;
      const oursLabel = `${name} inference on wasm vs ONNX Runtime (batch ${BATCH}, best round)`;
      const ortLabel = `ONNX Runtime ${name} inference (CPU, 2 threads, our ONNX export, batch ${BATCH})`;
      if (typeof ort === 'string' || typeof selected === 'string') {
        const why = typeof ort === 'string' ? ort : (selected as string);
        figures.push({ id: oursId, label: oursLabel, value: null, unit: 'img/s', peer: ortId, note: why }, { id: plainId, label: plainLabel, value: null, unit: 'img/s', peer: ortId, note: why }, { id: ortId, label: ortLabel, value: null, unit: 'img/s', note: why });
        continue;
      }
      let setup: Setup | null = null;
      try {
        setup = await setUp(selected, ort, name);
        const s = setup;
        const ours: number[] = [];
        const theirs: number[] = [];
        const plain: number[] = [];
        const planned = s.trainer.inferencePlan ?? 'nothing to fold';
        for (let r = 1; r <= rounds; r++) {
          theirs.push(await timeIt((x) => predictOrt(ort, s.session, x, s.shape), s.batches));
          ours.push(await timeIt((x) => predictOurs(selected.tf, s.trainer, x, s.shape), s.batches));
          plain.push(await timeIt((x) => predictUnplanned(selected.tf, s.trainer, x, s.shape), s.batches));
          log(`inference: ${name} round ${r}/${rounds}: ours ${ours.at(-1)!.toFixed(0)} img/s (model.apply ${plain.at(-1)!.toFixed(0)}), ONNX Runtime ${theirs.at(-1)!.toFixed(0)} img/s (load ${loadavg()[0]!.toFixed(2)})`);
        }
        const list = (v: number[]) => v.map(round).join(', ');
        figures.push(
          { id: oursId, label: oursLabel, value: round(Math.max(...ours)), unit: 'img/s', peer: ortId, note: `rounds: ${list(ours)}; inference plan: ${planned}; outputs equal ONNX Runtime's to ${s.maxDiff.toExponential(1)}` },
          { id: plainId, label: plainLabel, value: round(Math.max(...plain)), unit: 'img/s', peer: ortId, note: `rounds: ${list(plain)}` },
          { id: ortId, label: ortLabel, value: round(Math.max(...theirs)), unit: 'img/s', note: `rounds: ${list(theirs)}` },
        );
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        log(`inference: ${name} failed: ${why}`);
        figures.push({ id: oursId, label: oursLabel, value: null, unit: 'img/s', peer: ortId, note: why }, { id: plainId, label: plainLabel, value: null, unit: 'img/s', peer: ortId, note: why }, { id: ortId, label: ortLabel, value: null, unit: 'img/s', note: why });
      } finally {
        setup?.trainer.dispose();
        await setup?.session.release?.();
      }
    }
    return figures;
  },
};
