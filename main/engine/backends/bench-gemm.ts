/**
 * Times our GEMM exports on the shapes of mini-GPT's dense layers (forward, dx = dy·Wᵀ, dW = xᵀ·dy),
 * calling the module directly (no tfjs dispatch): GFLOP/s per shape, one thread and two, each export
 * alternating in one process, median of --rounds rounds.
 * Run: npx tsx main/engine/backends/bench-gemm.ts [--rounds 5] [--fns gemm,gemm_pk] [--threads 1,2]
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { initWasmBackend } from './wasm';
import { heapOffset, nativeKernels } from './native';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const rounds = Number(arg('rounds', '40'));
const fns = arg('fns', 'gemm,gemm_pk').split(',');
const threadCounts = arg('threads', '1,2').split(',').map(Number);
const only = arg('only', '');

type Shape = [label: string, m: number, n: number, k: number, ta: number, tb: number, batch?: number];
const R = 4096;
const shapes: Shape[] = [];
for (const [i, o] of [[128, 384], [128, 128], [128, 512], [512, 128], [128, 96]] as const) {
  shapes.push([`fwd ${R}x${i}·${i}x${o}`, R, o, i, 0, 0]);
  shapes.push([`dx  ${R}x${o}·(${i}x${o})T`, R, i, o, 0, 1]);
  shapes.push([`dW  (${R}x${i})T·${R}x${o}`, i, o, R, 1, 0]);
}
// lenet5's dense forward products (batch 64) and transformer-classifier's (1024 rows)
for (const [k, n] of [[400, 120], [120, 84], [84, 10]] as const) shapes.push([`lenet5 64x${k}·${k}x${n}`, 64, n, k, 0, 0]);
for (const [k, n] of [[32, 96], [32, 32], [32, 64], [64, 32]] as const) shapes.push([`tc 1024x${k}·${k}x${n}`, 1024, n, k, 0, 0]);
// transformer-classifier's small products
shapes.push(['small [32,2]T·[32,2]', 2, 2, 32, 1, 0]);
shapes.push(['small 1024x32·(64x32)T', 1024, 64, 32, 0, 1]);
shapes.push(['small (1024x32)T·1024x64', 32, 64, 1024, 1, 0]);

async function main(): Promise<void> {
  await initWasmBackend(tf, wasm);
  await tf.setBackend('wasm');
  const native = nativeKernels(tf.backend())!;
  for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  const backend = tf.backend();
  console.log(`variant ${native.variant}; helper ${native.helper ? 'yes' : 'no'}`);
  for (const [label, m, n, k, ta, tb] of shapes) {
    if (only && !label.includes(only)) continue;
    const a = tf.randomNormal(ta ? [k, m] : [m, k]);
    const b = tf.randomNormal(tb ? [n, k] : [k, n]);
    const c = tf.zeros([m, n]);
    const pack = tf.zeros([2 * (k + 8) * (n + 8) + 65536]);
    const at = (t: tf.Tensor) => heapOffset(backend, t.dataId);
    const flop = 2 * m * n * k;
    const results = new Map<string, number[]>();
    const cpuRates = new Map<string, number[]>();
    const ref = new Float32Array(m * n);
    const runs: { key: string; once: () => void }[] = [];
    for (const t of threadCounts)
      for (const name of fns) {
        if (!native.has(name)) continue;
        const f = native.fn(name);
        const pk = name !== 'gemm';
        const args = (packAt: number, rb: number, re: number, cb = 0, ce = n) => [at(a), at(b), at(c), packAt, m, n, k, ta, tb, 0, 0, 0, 1, rb, re, ...(pk ? [cb, ce, 0, 0] : [])];
        const other = at(pack) + 4 * ((k + 8) * (n + 8) + 16384);
        const once = () => {
          if (t === 1 || !native.helper) f(...args(at(pack), 0, m));
          else if (pk && n > m && n >= 16) {
            const half = Math.floor(n / 16) * 8;
            native.helper.alongside(name, args(other, 0, m, half, n), () => f(...args(at(pack), 0, m, 0, half)));
          } else {
            const half = Math.floor(m / 8) * 4;
            native.helper.alongside(name, args(other, half, m), () => f(...args(at(pack), 0, half)));
          }
        };
        runs.push({ key: `${name}@${t}`, once });
      }
    for (const [ri, { key, once }] of runs.entries()) {
      once();
      const out = c.dataSync() as Float32Array;
      if (ri === 0) ref.set(out);
      else {
        let worst = 0, scale = 1e-3;
        for (let i = 0; i < ref.length; i++) { worst = Math.max(worst, Math.abs(out[i]! - ref[i]!)); scale = Math.max(scale, Math.abs(ref[i]!)); }
        if (worst / scale > 1e-4) console.log(`  MISMATCH ${key} ${label}: ${worst / scale}`);
      }
    }
    const reps = Math.max(1, Math.round(2e7 / flop));
    for (let r = 0; r < rounds; r++)
      for (const { key, once } of runs) {
        const t0 = performance.now(), c0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) once();
        const ms = (performance.now() - t0) / reps;
        const cu = process.cpuUsage(c0);
        const cpuMs = (cu.user + cu.system) / 1000 / reps;
        results.set(key, [...(results.get(key) ?? []), flop / ms / 1e6]);
        cpuRates.set(key, [...(cpuRates.get(key) ?? []), flop / cpuMs / 1e6]);
      }
    // Noise (other processes) only slows a call down: report the best and the 80th percentile of the rates.
    const pct = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
    // Per CPU-second of the process (both threads when two run): robust to time slicing by other processes.
    console.log(`${label.padEnd(30)} ${[...results].map(([key, v]) => `${key} ${pct(v, 1).toFixed(1)}/${pct(v, 0.8).toFixed(1)}/${pct(cpuRates.get(key)!, 0.5).toFixed(1)}`).join('  ')}  GFLOP/s wall best / wall p80 / per CPU-s median`);
    tf.dispose([a, b, c, pack]);
  }
}
void main();
