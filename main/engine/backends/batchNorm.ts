/**
 * (Work in progress: a stub the kernel family fills; see native/batchNorm.c.)
 */
import type { Tf } from './inventory';

/** Registers this family's wasm kernels and gradients (idempotent per tf instance). */
export function registerBatchNormKernels(tf: Tf): void {
  void tf;
}
