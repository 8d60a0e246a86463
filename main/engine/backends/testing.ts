/**
 * For tests only (imports vitest): what the kernel tests share to check our wasm kernels against tfjs.
 *
 * - `expectClose(got, want, label, tol = 1e-4)`: every value finite, and the largest absolute
 *   difference relative to the largest |want| (at least 1e-3) within tol.
 * - `wasmWithHelper(tf)`: the wasm backend with our module loaded and its helper thread (if any) up.
 * - `oneThread(native, f)` / `withoutNativeKernels(f)`: run f with the helper thread hidden / our module off.
 * - `profiled(tf, f)`: f's result and the names of the kernels it ran.
 * - `onCpu(tf, f)`: f's result on cpu (the reference), the backend then back on wasm.
 * - `expectCloseOnThreads(native, f, want, label)`: f() ≈ want on two threads (where there is a helper) and on one.
 *
 * A kernel test: the reference on cpu, then on wasm with our module on two threads (checking with
 * `profiled` that our kernels ran), on one thread, and without our module (tfjs ops).
 */
import { expect } from 'vitest';
import type { Tf } from './inventory';
import { nativeKernels, setNativeKernelsEnabled, type NativeKernels } from './native';

/** got ≈ want: every got finite; max |got − want| ≤ tol · max(1e-3, max |want|). */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string, tol = 1e-4): void {
  expect(got.length, label).toBe(want.length);
  let scale = 1e-3, worst = 0, bad = -1;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    if (!Number.isFinite(got[i]!) && bad < 0) bad = i;
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  expect(bad, `${label}[${bad}] = ${got[bad]}`).toBe(-1);
  expect(worst / scale, `${label}: max abs diff ${worst} vs scale ${scale}`).toBeLessThanOrEqual(tol);
}

/** Switches to wasm, expects our module loaded there, and waits (up to 2 s) for its helper thread when it has one. */
export async function wasmWithHelper(tf: Tf): Promise<NativeKernels> {
  await tf.setBackend('wasm');
  const native = nativeKernels(tf.backend());
  expect(native, 'our wasm kernels on the wasm backend').not.toBeNull();
  for (let i = 0; i < 100 && native!.helper && !native!.helper.ready; i++) await new Promise((r) => setTimeout(r, 20));
  return native!;
}

/** f() (synchronous) with our helper thread hidden: every kernel runs on one thread. */
export function oneThread<T>(native: NativeKernels, f: () => T): T {
  const helper = native.helper;
  (native as { helper: unknown }).helper = null;
  try {
    return f();
  } finally {
    (native as { helper: unknown }).helper = helper;
  }
}

/** f() (synchronous) with our wasm module off: the tfjs-op fallbacks run. */
export function withoutNativeKernels<T>(f: () => T): T {
  setNativeKernelsEnabled(false);
  try {
    return f();
  } finally {
    setNativeKernelsEnabled(true);
  }
}

/** f()'s result and the names of the kernels it ran (tf.profile). */
export async function profiled<T>(tf: Tf, f: () => T): Promise<{ result: T; kernels: Set<string> }> {
  let result: T | undefined;
  const profile = await tf.profile(() => {
    result = f();
    return [];
  });
  return { result: result as T, kernels: new Set(profile.kernels.map((k) => k.name)) };
}

/** f()'s result on the cpu backend (the reference), then the backend switched back to wasm. */
export async function onCpu<T>(tf: Tf, f: () => T): Promise<T> {
  await tf.setBackend('cpu');
  const result = f();
  await tf.setBackend('wasm');
  return result;
}

/** f() ≈ want (expectClose) on two threads where our helper thread is up, then on one thread. */
export function expectCloseOnThreads(native: NativeKernels, f: () => ArrayLike<number>, want: ArrayLike<number>, label: string, tol = 1e-4): void {
  expectClose(f(), want, `${label}, ${native.helper ? 'two threads' : 'one thread (no helper here)'}`, tol);
  expectClose(oneThread(native, f), want, `${label}, one thread`, tol);
}
