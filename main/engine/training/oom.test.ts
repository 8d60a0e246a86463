/**
 * Out of memory in training, injected for real (issue #8, point 4; other faults are in run.test.ts and
 * datasetLoss.test.ts): a worker that exhausts its V8 heap limit (`resourceLimits`), a model too big
 * to allocate (tfjs's own RangeError), and the allocation-failure messages of tfjs / wasm / V8. Each
 * must end only the affected run with a message naming it and what to try; other runs go on.
 */
import { describe, expect, it } from 'vitest';
import type { Graph, GraphNode } from '../../../shared/graph';
import { defaultTrainingSettings, type TrainingSettings } from '../../../shared/project';
import { startRun, type EndedEvent, type TrainingEvent } from './index';
import { isOutOfMemory, OOM_HINT } from './oom';
import { syntheticDataset } from './testing/synthetic';
import { describeError } from './trainer';

const node = (id: string, type: string, name: string, params: GraphNode['params']): GraphNode => ({ id, type, name, params, position: { x: 0, y: 0 } });
const chain = (nodes: GraphNode[]): Graph => ({
  nodes,
  edges: nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id, targetPort: 0 })),
});
const small = chain([
  node('in', 'Input', 'input_1', { kind: 'image', height: 8, width: 8, channels: 1 }),
  node('f', 'Flatten', 'flatten_1', {}),
  node('o', 'Dense', 'dense_1', { units: 3, activation: 'softmax' }),
]);
const settings = (over: Partial<TrainingSettings> = {}): TrainingSettings => ({ ...defaultTrainingSettings(), epochs: 2, batchSize: 16, backend: 'cpu', learningRate: 0.01, ...over });
const data = (train = 64) => syntheticDataset({ shape: [8, 8, 1], classes: 3, train, test: 16 });
const OOM_RUN = /^run 'oom-run' ran out of memory/;

describe('out of memory', () => {
  it('allocation failures of V8, tfjs-backend-wasm / Emscripten and TensorFlow are all reported as out of memory, with what to try', () => {
    const oom: unknown[] = [
      new RangeError('Array buffer allocation failed'),
      new RangeError('Invalid typed array length: 12288000000'),
      new RangeError('Invalid array buffer length'),
      new Error('Out of memory'),
      new Error('Cannot allocate Wasm memory for new instance'),
      Object.assign(new Error('Aborted(Cannot enlarge memory arrays to size 4294967296 bytes (OOM).)'), { name: 'RuntimeError' }),
      Object.assign(new Error('Aborted(OOM)'), { name: 'RuntimeError' }),
      new Error('OOM when allocating tensor with shape[64,1000000] and type float'),
      new Error('std::bad_alloc'),
      Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' }),
      'Out of memory',
    ];
    for (const e of oom) {
      expect(isOutOfMemory(e), String(e)).toBe(true);
      const m = describeError(e);
      expect(m).toMatch(/^out of memory \(/);
      expect(m.endsWith(OOM_HINT)).toBe(true);
      expect(OOM_HINT).toMatch(/smaller batch size or a smaller model/);
    }
    expect(describeError(new RangeError('Array buffer allocation failed'))).toBe(`out of memory (RangeError: Array buffer allocation failed). ${OOM_HINT}`);
    // Not out of memory: left as they are.
    for (const e of [new RangeError('Maximum call stack size exceeded'), new TypeError('x is not a function'), new Error("Kernel 'Foo' not registered for backend 'wasm'"), new Error('memoryless')]) {
      expect(isOutOfMemory(e), String(e)).toBe(false);
      expect(describeError(e)).not.toMatch(/out of memory/);
    }
  });

  it('a worker that exhausts its heap limit ends only its own run with an out-of-memory message naming it; a run beside it and one after it complete', { timeout: 60_000 }, async () => {
    const events: TrainingEvent[] = [];
    // Real exhaustion: the worker gets a 64 MB old-generation limit and, after its first batch, allocates until V8 gives up.
    const oomRun = startRun(
      { graph: small, settings: settings({ epochs: 50 }), dataset: data(512), name: 'oom-run', resourceLimits: { maxOldGenerationSizeMb: 64 }, workerEntry: new URL('./testing/oom-worker.mjs', import.meta.url) },
      (e) => events.push(e),
    );
    const beside = startRun({ graph: small, settings: settings({ epochs: 3 }), dataset: data(256), name: 'beside' });
    const [r, b] = await Promise.all([oomRun.done, beside.done]);
    expect(r.reason).toBe('error');
    expect(r.message).toMatch(OOM_RUN);
    expect(r.message).toContain('the training worker reached its memory limit and was ended (Worker terminated due to reaching memory limit: JS heap out of memory)');
    expect(r.message.endsWith(OOM_HINT)).toBe(true);
    expect(events.filter((e): e is EndedEvent => e.type === 'ended')).toEqual([{ type: 'ended', reason: 'error', message: r.message, epochsCompleted: 0, batchesCompleted: 1 }]);
    expect(events.filter((e) => e.type === 'batch').length).toBeGreaterThanOrEqual(1);
    await expect(oomRun.evaluate()).rejects.toThrow(/ran out of memory|memory limit/);
    expect(b.reason, b.message).toBe('completed');
    expect((await beside.evaluate('test')).count).toBe(16);
    await beside.dispose();

    const after = startRun({ graph: small, settings: settings(), dataset: data(), name: 'after' });
    const a = await after.done;
    expect(a.reason, a.message).toBe('completed');
    expect(a.epochsCompleted).toBe(2);
    await after.dispose();
  });

  it('a model too big to allocate (tfjs throws a real RangeError building its weights) ends the run as out of memory', { timeout: 60_000 }, async () => {
    const huge = chain([
      node('in', 'Input', 'input_1', { kind: 'image', height: 8, width: 8, channels: 1 }),
      node('c', 'Conv2D', 'conv2d_1', { filters: 1024, kernelSize: 3, activation: 'relu' }),
      node('f', 'Flatten', 'flatten_1', {}),
      node('o', 'Dense', 'dense_1', { units: 1_000_000, activation: 'softmax' }), // 36,864 x 1,000,000 weights
    ]);
    const run = startRun({ graph: huge, settings: settings(), dataset: data(), name: 'oom-run' });
    const r = await run.done;
    expect(r.reason).toBe('error');
    expect(r.message).toMatch(OOM_RUN);
    expect(r.message).toMatch(/ran out of memory \(RangeError: (Invalid typed array length|Array buffer allocation failed)/);
    expect(r.message.endsWith(OOM_HINT)).toBe(true);
    await run.dispose();
  });
});
