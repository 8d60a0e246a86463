/**
 * The measured automatic choice: candidates (never cpu, never a software GPU adapter), the fastest
 * wins with a sentence saying by how much, results cached per machine and model size; on a machine
 * whose only GPU adapter is software (CI's lavapipe), auto takes wasm and says why.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Graph, GraphNode } from '../../../shared/graph';
import { describeImportError, selectBackend, type BackendAttempt } from '../backends';
import { measureForModel, pickFastest, probeCandidates } from './probe';

const software = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25', software: true };
const hardware = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3080', software: false };

const node = (id: string, type: string, params: GraphNode['params']): GraphNode => ({ id, type, name: `${type.toLowerCase()}_${id}`, params, position: { x: 0, y: 0 } });
const graph: Graph = {
  nodes: [node('in', 'Input', { kind: 'image', height: 8, width: 8, channels: 1 }), node('f', 'Flatten', {}), node('o', 'Dense', { units: 3, activation: 'softmax' })],
  edges: [
    { id: 'e1', source: 'in', target: 'f', targetPort: 0 },
    { id: 'e2', source: 'f', target: 'o', targetPort: 0 },
  ],
};

describe('backend probe', () => {
  it('candidates: working backends, never cpu nor a software GPU adapter (wasm is preferred to lavapipe)', () => {
    const tried: BackendAttempt[] = [
      { name: 'tensorflow-gpu', ok: false, reason: 'not installed' },
      { name: 'webgpu', ok: true, reason: 'Dawn on llvmpipe', adapter: software },
      { name: 'wasm', ok: true, reason: 'wasm' },
      { name: 'cpu', ok: true, reason: 'cpu' },
    ];
    expect(probeCandidates(tried).map((c) => c.name)).toEqual(['wasm']);
    expect(probeCandidates([{ name: 'webgpu', ok: true, reason: 'Dawn on RTX', adapter: hardware }, ...tried.slice(2)]).map((c) => c.name)).toEqual(['webgpu', 'wasm']);
  });

  it('the fastest wins, with the ratio to the next and every timing', () => {
    const attempts: BackendAttempt[] = [
      { name: 'webgpu', ok: true, reason: 'Dawn on nvidia ampere (NVIDIA GeForce RTX 3080)', adapter: hardware },
      { name: 'wasm', ok: true, reason: 'wasm, 2 threads' },
    ];
    const pick = pickFastest([{ name: 'webgpu', msPerStep: 10 }, { name: 'wasm', msPerStep: 31 }], attempts);
    expect(pick.name).toBe('webgpu');
    expect(pick.reason).toBe('webgpu: Dawn on nvidia ampere (NVIDIA GeForce RTX 3080), 3.1x wasm on this model (probe: webgpu 10.0 ms/step, wasm 31.0 ms/step)');
    const slowGpu = pickFastest([{ name: 'webgpu', msPerStep: 50 }, { name: 'wasm', msPerStep: 31 }], attempts, true);
    expect(slowGpu.name).toBe('wasm');
    expect(slowGpu.reason).toMatch(/^wasm: wasm, 2 threads, 1\.6x webgpu on this model \(cached probe/);
    expect(() => pickFastest([{ name: 'wasm', msPerStep: null, error: 'boom' }], attempts)).toThrow(/failed on every candidate: wasm: boom/);
  });

  it('a software adapter is never timed: the probe takes wasm without measuring', async () => {
    const { tf } = await selectBackend({ force: 'cpu' });
    const r = await measureForModel({ graph, batchSize: 4 })(tf, [
      { name: 'webgpu', ok: true, reason: 'Dawn on llvmpipe', adapter: software },
      { name: 'wasm', ok: true, reason: 'wasm' },
    ]);
    expect(r.name).toBe('wasm');
  });

  it('times the model on each candidate, notes one that fails, and caches the result per machine and model size', async () => {
    const { tf } = await selectBackend({ force: 'wasm' });
    const dir = mkdtempSync(join(tmpdir(), 'lf-probe-'));
    const attempts: BackendAttempt[] = [
      { name: 'tensorflow', ok: true, reason: 'pretend tfjs-node' }, // not registered here: setBackend fails, the probe says so
      { name: 'wasm', ok: true, reason: 'wasm' },
    ];
    const first = await measureForModel({ graph, batchSize: 4, cacheDir: dir, steps: 2 })(tf, attempts);
    expect(first.name).toBe('wasm');
    expect(first.reason).toMatch(/^wasm: wasm \(probe: wasm [\d.]+ ms\/step\); tensorflow failed the probe/);
    const cache = JSON.parse(readFileSync(join(dir, 'backend-probe.json'), 'utf8')) as { entries: Record<string, unknown> };
    const keys = Object.keys(cache.entries);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/params 195\|/);
    const again = await measureForModel({ graph, batchSize: 4, cacheDir: dir })(tf, attempts);
    expect(again.reason).toMatch(/cached probe/);
    await measureForModel({ graph, batchSize: 8, cacheDir: dir, steps: 1 })(tf, attempts);
    expect(Object.keys((JSON.parse(readFileSync(join(dir, 'backend-probe.json'), 'utf8')) as { entries: object }).entries)).toHaveLength(2);
  }, 60_000);

  it('auto on this machine: measures only when two or more candidates work, and says why a software GPU was passed over', async () => {
    const measure = vi.fn(async () => ({ name: 'wasm' as const, reason: 'measured' }));
    const r = await selectBackend({ measure });
    const webgpu = r.tried.find((t) => t.name === 'webgpu')!;
    const candidates = probeCandidates(r.tried);
    if (candidates.length < 2) expect(measure).not.toHaveBeenCalled();
    else expect(measure).toHaveBeenCalledOnce();
    expect(r.name).not.toBe('cpu');
    if (webgpu.adapter?.software) {
      expect(r.name).toBe('wasm');
      expect(r.reason).toMatch(/^wasm: the only GPU adapter is software \(llvmpipe.*\): never chosen automatically/);
    } else {
      console.warn(`probe test: no software adapter here (webgpu: ${webgpu.reason}); the lavapipe case is not checked`);
    }
  }, 60_000);
});

describe('describeImportError: a backend package that is missing, or installed but unable to load', () => {
  it('names the missing CUDA library of tfjs-node-gpu', () => {
    const e = Object.assign(new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' });
    expect(describeImportError('@tensorflow/tfjs-node-gpu', e)).toMatch(/^@tensorflow\/tfjs-node-gpu is installed but cannot load: the CUDA runtime \(libcudart\.so\.11\.0\) is missing/);
  });
  it('a package that is not installed', () => {
    const e = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node-gpu' imported from /app/main/engine/backends/index.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(describeImportError('@tensorflow/tfjs-node-gpu', e)).toBe('@tensorflow/tfjs-node-gpu is not installed');
  });
  it('a dependency of the package missing is not "not installed"', () => {
    const e = Object.assign(new Error("Cannot find module '/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node'"), { code: 'MODULE_NOT_FOUND' });
    expect(describeImportError('@tensorflow/tfjs-node-gpu', e)).toMatch(/native binding \(tfjs_binding\.node\) was not built/);
  });
});
