/** Out-of-memory errors of a training run: how to recognise them and what to tell the user. */

export const OOM_PATTERN = /out of memory|cannot allocate|allocation failed|cannot enlarge memory|Aborted\(OOM\)|OOM when allocating|bad_alloc|heap out of memory|reaching memory limit/i;

/** What to try after an out-of-memory error (appended to its message). */
export const OOM_HINT = 'Try a smaller batch size or a smaller model (fewer filters, units or layers), or train on fewer images.';

/**
 * True for the ways an allocation failure surfaces: V8 ("Array buffer allocation failed", "Invalid typed
 * array length", a worker's ERR_WORKER_OUT_OF_MEMORY), tfjs-backend-wasm / Emscripten ("Out of memory",
 * "Cannot enlarge memory arrays", "Aborted(OOM)", "Cannot allocate Wasm memory") and TensorFlow
 * ("OOM when allocating tensor", std::bad_alloc).
 */
export function isOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error)) return typeof error === 'string' && OOM_PATTERN.test(error);
  if ((error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') return true;
  const msg = error.message || '';
  if (error instanceof RangeError && /allocation|memory|Array buffer|Invalid typed array length|Invalid array buffer length/i.test(msg)) return true;
  return OOM_PATTERN.test(msg);
}
