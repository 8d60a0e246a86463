/**
 * Where a training step spends its time, per kernel and per phase (forward, backward, optimizer).
 *
 * `startKernelProfile(tf)` wraps the kernelFunc of every kernel registered for the active backend with a
 * timer (self time: a kernel built from other kernels, called as tf ops inside it, is charged only for what
 * those did not take, so the rows add up to the time spent in kernels) and wraps `Optimizer.minimize`:
 * only kernels run inside a `minimize` call are recorded (the Trainer's step; evaluation, health and the
 * epoch's sample are not). The phase is read from tfjs's own scope names: `engine.gradients` runs the loss
 * function in a tidy named 'forward' and backpropagation in one named 'backward'; whatever else runs inside
 * `minimize` is the optimizer's update. Kernels are synchronous on cpu and wasm, so wall time is their time
 * (on webgpu it would be dispatch time only). `stop()` restores every kernel and `minimize`.
 *
 * Used by `npm run bench -- --only profile [--template resnet-small]` (scripts/bench/profile.ts).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from './inventory';

export type Phase = 'forward' | 'backward' | 'optimizer';
export const PHASES: readonly Phase[] = ['forward', 'backward', 'optimizer'];

export interface KernelRow {
  kernel: string;
  phase: Phase;
  /** Self time per step (ms). */
  ms: number;
  /** Calls per step. */
  calls: number;
  /** A few distinct input shapes seen, e.g. '[64,32,32,16] [3,3,16,16]'. */
  shapes: string[];
}

export interface KernelProfile {
  /** minimize calls recorded. */
  steps: number;
  /** Wall time inside minimize, per step (ms). */
  minimizeMs: number;
  /** Self time of all kernels per step, per phase (ms). */
  phaseMs: Record<Phase, number>;
  /** Every (kernel, phase), slowest first, per step. */
  rows: KernelRow[];
}

export interface KernelProfiler {
  /** Forget what was recorded so far (after warm-up). */
  reset(): void;
  /** What was recorded since the last reset, per step. */
  read(): KernelProfile;
  /** Unwrap every kernel and minimize. */
  stop(): void;
}

interface Acc {
  ms: number;
  calls: number;
  shapes: Set<string>;
}

type MutableKernelConfig = { kernelName: string; kernelFunc: tfjs.KernelFunc };
type ScopeStack = Array<{ name?: string }>;

const MAX_SHAPES = 4;

export function startKernelProfile(tf: Tf, backendName: string = tf.getBackend()): KernelProfiler {
  const acc = new Map<string, Acc>();
  let steps = 0;
  let minimizeMs = 0;
  let depth = 0; // minimize nesting
  // Time taken by kernels nested in the running one (self time = own wall time - children's).
  const childMs: number[] = [];
  const scopes = (): ScopeStack => (tf.engine() as unknown as { state: { scopeStack: ScopeStack } }).state.scopeStack;
  const phaseNow = (): Phase => {
    const s = scopes();
    for (let i = s.length - 1; i >= 0; i--) {
      const n = s[i]!.name;
      if (n === 'backward') return 'backward';
      if (n === 'forward') return 'forward';
    }
    return 'optimizer';
  };

  const restore: Array<() => void> = [];
  for (const config of tf.getKernelsForBackend(backendName) as unknown as MutableKernelConfig[]) {
    const original = config.kernelFunc;
    const name = config.kernelName;
    const timed = ((args: Parameters<tfjs.KernelFunc>[0]) => {
      if (depth === 0) return original(args);
      childMs.push(0);
      const t0 = performance.now();
      let ok = false;
      try {
        const out = original(args);
        ok = true;
        return out;
      } finally {
        const wall = performance.now() - t0;
        const children = childMs.pop()!;
        if (childMs.length > 0) childMs[childMs.length - 1]! += wall;
        if (ok) {
          const key = `${name}\u0000${phaseNow()}`;
          let a = acc.get(key);
          if (!a) acc.set(key, (a = { ms: 0, calls: 0, shapes: new Set() }));
          a.ms += wall - children;
          a.calls++;
          if (a.shapes.size < MAX_SHAPES) a.shapes.add(Object.values(args.inputs).map((t) => (t ? `[${(t as tfjs.TensorInfo).shape.join(',')}]` : '-')).join(' '));
        }
      }
    }) as tfjs.KernelFunc;
    config.kernelFunc = timed;
    restore.push(() => {
      config.kernelFunc = original;
    });
  }

  const proto = tf.Optimizer.prototype as unknown as { minimize: (...a: unknown[]) => unknown };
  const minimize = proto.minimize;
  proto.minimize = function (this: unknown, ...a: unknown[]) {
    depth++;
    const t0 = performance.now();
    try {
      return minimize.apply(this, a);
    } finally {
      depth--;
      if (depth === 0) {
        minimizeMs += performance.now() - t0;
        steps++;
      }
    }
  };
  restore.push(() => {
    proto.minimize = minimize;
  });

  return {
    reset() {
      acc.clear();
      steps = 0;
      minimizeMs = 0;
    },
    read() {
      const per = Math.max(1, steps);
      const phaseMs: Record<Phase, number> = { forward: 0, backward: 0, optimizer: 0 };
      const rows: KernelRow[] = [];
      for (const [key, a] of acc) {
        const [kernel, phase] = key.split('\u0000') as [string, Phase];
        rows.push({ kernel, phase, ms: a.ms / per, calls: a.calls / per, shapes: [...a.shapes] });
        phaseMs[phase] += a.ms / per;
      }
      rows.sort((x, y) => y.ms - x.ms);
      return { steps, minimizeMs: minimizeMs / per, phaseMs, rows };
    },
    stop() {
      for (const r of restore.splice(0)) r();
    },
  };
}

/** The profile as a text table: per-phase totals, then the `top` slowest (kernel, phase) rows with their share of the step. */
export function formatKernelProfile(p: KernelProfile, stepMs: number, top = 25): string {
  const pct = (ms: number) => `${((ms / stepMs) * 100).toFixed(1)}%`;
  const kernelMs = PHASES.reduce((s, ph) => s + p.phaseMs[ph], 0);
  const lines = [
    `step ${stepMs.toFixed(1)} ms (minimize ${p.minimizeMs.toFixed(1)} ms, kernels ${kernelMs.toFixed(1)} ms = ${pct(kernelMs)}; ${p.steps} steps)`,
    `  ${PHASES.map((ph) => `${ph} ${p.phaseMs[ph].toFixed(1)} ms (${pct(p.phaseMs[ph])})`).join(', ')}, outside kernels ${(stepMs - kernelMs).toFixed(1)} ms (${pct(stepMs - kernelMs)})`,
    `  ${'kernel'.padEnd(34)} ${'phase'.padEnd(9)} ${'ms/step'.padStart(8)} ${'share'.padStart(6)} ${'calls'.padStart(6)}  input shapes`,
  ];
  for (const r of p.rows.slice(0, top)) {
    lines.push(`  ${r.kernel.padEnd(34)} ${r.phase.padEnd(9)} ${r.ms.toFixed(2).padStart(8)} ${pct(r.ms).padStart(6)} ${(Math.round(r.calls * 10) / 10).toString().padStart(6)}  ${r.shapes.join(' | ').slice(0, 110)}`);
  }
  if (p.rows.length > top) {
    const rest = p.rows.slice(top).reduce((s, r) => s + r.ms, 0);
    lines.push(`  ${`(${p.rows.length - top} more)`.padEnd(34)} ${''.padEnd(9)} ${rest.toFixed(2).padStart(8)} ${pct(rest).padStart(6)}`);
  }
  return lines.join('\n');
}
