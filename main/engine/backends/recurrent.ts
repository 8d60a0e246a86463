/**
 * (Work in progress: a stub the kernel family fills; see native/recurrent.c.)
 */
import type { Tf } from './inventory';

/** Registers this family's wasm kernels and gradients (idempotent per tf instance). */
export function registerRecurrentKernels(tf: Tf): void {
  void tf;
}
