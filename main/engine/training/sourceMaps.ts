/**
 * Node's source maps while tfjs loads in the training worker (worker.ts). tsx turns source maps on, and
 * Node then reads, parses and keeps the source map of every module it compiles from then on: for tfjs's
 * bundles (loaded when the backend first starts) ~17 MB of V8 heap, ~25 MB of RSS, held for the whole
 * run only to map stack frames inside tfjs. `withoutSourceMaps` turns them off in this thread while
 * `load` runs and back on after; our own modules, loaded before, keep theirs.
 * LAYERFORGE_TFJS_SOURCE_MAPS=1 keeps them on (stack traces into tfjs's TypeScript sources).
 */

interface SourceMapsProcess {
  sourceMapsEnabled?: boolean;
  setSourceMapsEnabled?(enabled: boolean): void;
  env: Record<string, string | undefined>;
}

export async function withoutSourceMaps<T>(load: () => Promise<T>, proc: SourceMapsProcess = process): Promise<T> {
  // Only when they are known to be on (Node >= 20.7 says so): never turn them on where they were off.
  if (proc.env.LAYERFORGE_TFJS_SOURCE_MAPS === '1' || proc.sourceMapsEnabled !== true || !proc.setSourceMapsEnabled) return load();
  proc.setSourceMapsEnabled(false);
  try {
    return await load();
  } finally {
    proc.setSourceMapsEnabled(true);
  }
}
