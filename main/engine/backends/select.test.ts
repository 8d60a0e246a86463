import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Tensor4D } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { assertSingleTfjsCore, BackendUnavailableError, selectBackend } from './index';

describe('selectBackend', () => {
  it('reports why each better backend was skipped and picks wasm here', async () => {
    const r = await selectBackend();
    const names = r.tried.map((t) => t.name);
    // The native packages cannot be installed on this machine; wherever they are, they win.
    const gpu = r.tried.find((t) => t.name === 'tensorflow-gpu')!;
    expect(gpu).toBeDefined();
    if (!gpu.ok) expect(gpu.reason).toMatch(/tfjs-node-gpu (is not installed|failed|loaded but)/);
    if (r.name === 'wasm') {
      expect(names).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']);
      // webgpu: no adapter, no package, or a software adapter (never taken automatically).
      expect(r.tried[1]!.reason).toMatch(/no WebGPU adapter|webgpu is not installed|only GPU adapter is software|failed/);
      expect(r.tried[2]!.reason).toMatch(/@tensorflow\/tfjs-node (is not installed|failed)/);
      expect(r.reason).toContain('skipped tensorflow-gpu (');
      expect(r.wasm?.simd).toBe(true);
      expect(r.tf.getBackend()).toBe('wasm');
      expect(r.tried[3]!.reason).toMatch(/threaded-simd|simd/);
    }
    expect(r.tried.filter((t) => t.ok).map((t) => t.name)).toEqual([r.name]);
    // The namespace is live: it computes on the chosen backend.
    expect(Array.from(r.tf.add(r.tf.tensor1d([1, 2]), 1).dataSync())).toEqual([2, 3]);
  });

  it('threaded wasm keeps only the pthread workers XNNPACK runs on (not Emscripten\'s pool of 8)', async () => {
    const r = await selectBackend({ force: 'wasm' });
    if (r.wasm?.build !== 'threaded-simd') return; // one core, or no SIMD: no pthreads at all
    const pthread = (r.tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers: unknown[]; unusedWorkers: unknown[] } } }).wasm?.PThread;
    expect(pthread?.unusedWorkers).toHaveLength(0);
    expect(pthread?.runningWorkers).toHaveLength(r.wasm.threads - 1);
    // and XNNPACK still computes on them
    const x = r.tf.randomNormal([8, 16, 16, 8]) as Tensor4D;
    const w = r.tf.randomNormal([3, 3, 8, 16]) as Tensor4D;
    expect(r.tf.conv2d(x, w, 1, 'same').isFinite().all().dataSync()[0]).toBe(1);
  });

  it('forcing cpu works and says so', async () => {
    const r = await selectBackend({ force: 'cpu' });
    expect(r.name).toBe('cpu');
    expect(r.reason).toMatch(/^forced: /);
    expect(r.tried.map((t) => t.name)).toEqual(['cpu']);
    expect(r.tf.getBackend()).toBe('cpu');
    // Switching back to wasm after cpu works (both live in the same engine).
    const w = await selectBackend({ force: 'wasm' });
    expect(w.tf.getBackend()).toBe('wasm');
    expect(w.tf).toBe(r.tf);
  });

  it('forcing an unavailable backend is a clear error', async () => {
    await expect(selectBackend({ force: 'tensorflow' })).rejects.toThrow(/backend 'tensorflow' is not available: tensorflow: @tensorflow\/tfjs-node is not installed/);
    await expect(selectBackend({ force: 'tensorflow-gpu' })).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(selectBackend({ force: 'metal' as never })).rejects.toThrow(/unknown backend 'metal'; expected one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu/);
  });

  it('finds a single tfjs-core', () => {
    expect(() => assertSingleTfjsCore()).not.toThrow();
  });

  it('works inside a worker thread (wasm, with training kernels)', async () => {
    const url = new URL('./index.ts', import.meta.url).href;
    const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    // The worker imports our TypeScript through tsx's API (the CLI runs through tsx too).
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const { register } = await import(${JSON.stringify(tsxApi)});
        register();
        const { selectBackend } = await import(${JSON.stringify(url)});
        const r = await selectBackend();
        const tf = r.tf;
        const x = tf.randomNormal([2, 6, 6, 3]);
        const g = tf.grad((w) => tf.conv2d(x, w, 1, 'valid').square().sum())(tf.randomNormal([3, 3, 3, 4]));
        parentPort.postMessage({ name: r.name, threads: r.wasm ? r.wasm.threads : 0, grad: Array.from(g.shape), finite: g.isFinite().all().dataSync()[0] });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    const worker = new Worker(code, { eval: true });
    const msg = await new Promise<{ name?: string; threads?: number; grad?: number[]; finite?: number; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(msg.error).toBeUndefined();
    expect(msg.name).toBe('wasm');
    expect(msg.grad).toEqual([3, 3, 3, 4]);
    expect(msg.finite).toBe(1);
    expect(msg.threads).toBeGreaterThanOrEqual(1);
  });
});
