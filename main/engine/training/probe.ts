/**
 * The measured automatic backend choice: when two or more backends can train here (a hardware GPU
 * through webgpu or tensorflow-gpu, tensorflow, wasm), a few training steps of the model about to
 * train run on each, and the fastest is taken. Software GPU adapters (llvmpipe, SwiftShader, WARP)
 * and cpu are never candidates. Results are cached per machine and model size in the data folder
 * (backend-probe.json), so the probe runs once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import type { Graph } from '../../../shared/graph';
import type { BackendAttempt, BackendName, MeasureBackends } from '../backends';
import { compileGraph } from '../compile';
import type { Tf } from './backend';

export interface ProbeContext {
  graph: Graph;
  batchSize: number;
  /** Folder for backend-probe.json (the data folder); no cache without it. */
  cacheDir?: string;
  /** Timed steps per backend after one warm-up step (default 3). */
  steps?: number;
}

export interface ProbeTiming {
  name: BackendName;
  /** Median milliseconds per training step (after the warm-up), or null when it failed. */
  msPerStep: number | null;
  error?: string;
}

interface ProbeCache {
  version: 1;
  entries: Record<string, { at: string; timings: ProbeTiming[] }>;
}

/** The backends worth timing: those that work, neither cpu nor a software GPU adapter. */
export function probeCandidates(attempts: BackendAttempt[]): BackendAttempt[] {
  return attempts.filter((a) => a.ok && a.name !== 'cpu' && a.adapter?.software !== true);
}

/** The fastest timed backend and a sentence saying so: "webgpu: Dawn on NVIDIA …, 3.1x wasm on this model (…)". */
export function pickFastest(timings: ProbeTiming[], attempts: BackendAttempt[], cached = false): { name: BackendName; reason: string } {
  const ok = timings.filter((t): t is ProbeTiming & { msPerStep: number } => t.msPerStep !== null).sort((a, b) => a.msPerStep - b.msPerStep);
  const failed = timings.filter((t) => t.msPerStep === null);
  const why = (n: BackendName) => attempts.find((a) => a.name === n)?.reason ?? '';
  if (ok.length === 0) throw new Error(`the backend probe failed on every candidate: ${failed.map((f) => `${f.name}: ${f.error ?? 'failed'}`).join('; ')}`);
  const best = ok[0]!;
  const second = ok[1];
  const each = ok.map((t) => `${t.name} ${t.msPerStep.toFixed(1)} ms/step`).join(', ');
  const vs = second ? `, ${(second.msPerStep / best.msPerStep).toFixed(1)}x ${second.name} on this model` : '';
  const fails = failed.length ? `; ${failed.map((f) => `${f.name} failed the probe (${f.error ?? 'error'})`).join('; ')}` : '';
  return { name: best.name, reason: `${best.name}: ${why(best.name)}${vs} (${cached ? 'cached ' : ''}probe: ${each})${fails}` };
}

/** Which machine and which model size a probe result is for. */
export function probeKey(graph: Graph, batchSize: number, attempts: BackendAttempt[], params: number): string {
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  const machine = `${os.hostname()}|${process.platform}-${process.arch}|${cpu}x${os.cpus().length}`;
  const inputs = graph.nodes.filter((n) => n.type === 'Input').map((n) => JSON.stringify(n.params)).join(',');
  return `${machine}|${attempts.map((a) => `${a.name}:${a.reason}`).join(';')}|params ${params}|input ${inputs}|batch ${batchSize}`;
}

function readCache(file: string): ProbeCache {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as ProbeCache;
    if (c.version === 1 && c.entries && typeof c.entries === 'object') return c;
  } catch {
    // none yet, or unreadable: start again
  }
  return { version: 1, entries: {} };
}

function writeCache(file: string, cache: ProbeCache): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(cache, null, 1));
    fs.renameSync(tmp, file);
  } catch {
    // a cache we cannot write only means probing again next time
  }
}

/** Random inputs (zeros for integer ids) and zero targets of the model's shapes: only the speed matters. */
async function timeSteps(tf: Tf, graph: Graph, batchSize: number, steps: number): Promise<{ ms: number; params: number }> {
  const { model } = compileGraph(tf, graph, 'probe');
  try {
    model.compile({ optimizer: tf.train.sgd(1e-3), loss: 'meanSquaredError' });
    const input = model.inputs[0]!;
    const shape = [batchSize, ...(input.shape.slice(1) as number[])];
    const x = input.dtype === 'int32' ? tf.zeros(shape, 'int32') : tf.randomUniform(shape);
    const y = tf.zeros([batchSize, ...(model.outputs[0]!.shape.slice(1) as number[])]);
    const step = async () => {
      const loss = (await model.trainOnBatch(x, y)) as number | number[];
      return loss;
    };
    await step(); // shaders, kernels, memory pools
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    tf.dispose([x, y]);
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(times.length / 2)]!, params: model.countParams() };
  } finally {
    model.optimizer?.dispose();
    model.dispose();
  }
}

/** The `measure` hook of selectBackend for this model: times every candidate (or reads the cache). */
export function measureForModel(ctx: ProbeContext): MeasureBackends {
  return async (tf: typeof tfjs, attempts: BackendAttempt[]) => {
    const candidates = probeCandidates(attempts);
    if (candidates.length === 0) throw new Error('no backend to probe');
    if (candidates.length === 1) return { name: candidates[0]!.name, reason: `${candidates[0]!.name}: ${candidates[0]!.reason}` };
    const { model } = compileGraph(tf, ctx.graph, 'probe-size');
    const params = model.countParams();
    model.dispose();
    const key = probeKey(ctx.graph, ctx.batchSize, candidates, params);
    const file = ctx.cacheDir ? path.join(ctx.cacheDir, 'backend-probe.json') : null;
    const cache = file ? readCache(file) : null;
    const hit = cache?.entries[key];
    if (hit) return pickFastest(hit.timings, candidates, true);
    const timings: ProbeTiming[] = [];
    for (const c of candidates) {
      try {
        await tf.setBackend(c.name === 'tensorflow-gpu' ? 'tensorflow' : c.name);
        timings.push({ name: c.name, msPerStep: (await timeSteps(tf, ctx.graph, ctx.batchSize, ctx.steps ?? 3)).ms });
      } catch (e) {
        timings.push({ name: c.name, msPerStep: null, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
      }
    }
    if (file && cache) {
      cache.entries[key] = { at: new Date().toISOString(), timings };
      writeCache(file, cache);
    }
    return pickFastest(timings, candidates);
  };
}
