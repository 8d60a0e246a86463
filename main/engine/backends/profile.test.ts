import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { formatKernelProfile, startKernelProfile } from './profile';

describe('startKernelProfile', () => {
  it('times the kernels of minimize by phase, self time only, and restores every kernel', async () => {
    await tf.setBackend('cpu');
    const minimize = tf.Optimizer.prototype.minimize;
    const before = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k.kernelFunc]));
    const w = tf.variable(tf.randomNormal([8, 4], 0, 1, 'float32', 1));
    const x = tf.randomNormal([16, 8], 0, 1, 'float32', 2);
    const opt = tf.train.adam(1e-2);
    const step = () => tf.dispose(opt.minimize(() => tf.mean(tf.square(tf.relu(tf.matMul(x, w)))), true, [w]) ?? []);
    const p = startKernelProfile(tf);
    try {
      step(); // warm-up (Adam's slots)
      p.reset();
      tf.tidy(() => tf.matMul(x, w)); // outside minimize: not recorded
      step();
      step();
    } finally {
      p.stop();
    }
    const r = p.read();
    expect(r.steps).toBe(2);
    const row = (kernel: string, phase: string) => r.rows.find((k) => k.kernel === kernel && k.phase === phase);
    expect(row('BatchMatMul', 'forward')?.calls).toBe(1);
    expect(row('BatchMatMul', 'forward')?.shapes[0]).toMatch(/16,8\] \[.*8,4\]$/);
    expect(row('Relu', 'forward')?.calls).toBe(1);
    expect(row('BatchMatMul', 'backward')?.calls).toBeGreaterThanOrEqual(1);
    expect(r.rows.some((k) => k.phase === 'optimizer')).toBe(true);
    const kernelMs = r.phaseMs.forward + r.phaseMs.backward + r.phaseMs.optimizer;
    expect(kernelMs).toBeGreaterThan(0);
    expect(kernelMs).toBeLessThanOrEqual(r.minimizeMs + 1e-6);
    expect(formatKernelProfile(r, r.minimizeMs)).toMatch(/forward .* backward .* optimizer/);
    for (const k of tf.getKernelsForBackend('cpu')) expect(k.kernelFunc).toBe(before.get(k.kernelName));
    expect(tf.Optimizer.prototype.minimize).toBe(minimize);
    tf.dispose([w, x]);
    opt.dispose();
  });
});
