/**
 * glibc malloc settings for every PyTorch process we start (the pytorch backend's runs, the bundle's run.sh
 * and train.sbatch, the bench's peers).
 *
 * With glibc's defaults, PyTorch on the CPU gives the memory of its large tensors back to the kernel when
 * they are freed (blocks over the mmap threshold are munmap'd, freed heap tops trimmed, the OpenMP threads'
 * arenas shrunk) and faults it in again, zeroed, in the next step. In a VM each of those faults is dear:
 * measured on a 2-core EPYC VM (2026-12-03), pytorch-reference.py's cifar10-cnn took ~13,000 minor faults a
 * step and 25-45% of its CPU time in the kernel, training at 575-1,580 img/s; with these two settings it took
 * ~0 faults a step and trained at 4,670-5,190 img/s (resnet-small 490 -> 1,700, vgg-cnn 480 -> 900-960; models
 * with small tensors did not change). PyTorch's performance tuning guide recommends a caching allocator
 * (jemalloc or TCMalloc) for the same reason; these settings do it with glibc, without a package.
 */
export const PYTORCH_MALLOC_ENV: Readonly<Record<string, string>> = {
  /** A fixed threshold at glibc's 64-bit maximum (not the dynamic one): blocks up to 32 MiB come from the heap. */
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  /** Freed memory at the top of a heap stays mapped, up to 1 GiB. */
  MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024),
};

/** `env` with PYTORCH_MALLOC_ENV beneath it: a MALLOC_* setting already in `env` is kept. */
export function withPytorchMalloc(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...PYTORCH_MALLOC_ENV, ...env };
}

/** Shell lines that export PYTORCH_MALLOC_ENV unless the caller's environment sets them (for run.sh / sbatch). */
export function pytorchMallocShell(): string {
  const sets = Object.entries(PYTORCH_MALLOC_ENV).map(([k, v]) => `${k}="\${${k}:-${v}}"`);
  return `# glibc malloc keeps freed tensor memory mapped (with its defaults PyTorch faults it in again, zeroed,
# every step: 3x slower convolutions measured in a VM). Your own settings, or LD_PRELOAD=jemalloc, win.
export ${sets.join(' ')}
`;
}
