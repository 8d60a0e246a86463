/**
 * Async reads only: the webgpu backend in Node cannot read a tensor synchronously (`dataSync()`,
 * `arraySync()`, `bufferSync()` need an OffscreenCanvas, which Node lacks, and throw), so every
 * engine path that can run on it (metrics, evaluation, prediction, checkpoints, exports, text) uses
 * `await data()` / `await array()`. This scan fails when a sync read appears in the engine outside
 * the short list below, each with why it is safe; and when a listed one goes away (so the list
 * stays true). The webgpu parity test (backends/webgpu.parity.test.ts) trains, evaluates, predicts
 * and saves on webgpu for real, where a sync read would throw.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['main/engine', 'shared'];
const SYNC_READ = /\.(dataSync|arraySync|bufferSync)\s*\(/g;

/** file -> [number of sync reads, why each is safe]. */
const ALLOWED: Record<string, [number, string]> = {
  'main/engine/training/fastMlp.ts': [2, 'our own dense loop reads the weights once on cpu or wasm only: SYNC_BACKENDS declines every other backend (webgpu trains through tfjs)'],
  'main/engine/export/exportGraph.ts': [1, 'exports read a model loaded from its folder in the exporting process (service wiring, CLI export) on tfjs\'s default cpu backend: webgpu is only registered inside a training worker'],
  'main/engine/export/fixtures.ts': [1, 'test fixtures (expected outputs of exports), run on cpu in tests'],
  'main/engine/export/textDocs.ts': [1, 'text of the generated README of an export (JavaScript for the user\'s browser), not engine code'],
  'main/engine/export/tableDocs.ts': [1, 'text of the generated README of an export (JavaScript for the user\'s browser), not engine code'],
  'main/engine/backends/bench-kernels.ts': [1, 'a wasm kernel benchmark script, never part of a run'],
  'main/engine/backends/bench-convGradSmall.ts': [1, 'a wasm kernel benchmark script (few-channel filter gradient), never part of a run'],
  'main/engine/backends/bench-gemm.ts': [1, 'a wasm kernel benchmark script (GEMM GFLOP/s per shape), never part of a run'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : sources(p);
    return /\.(ts|tsx|mts)$/.test(f) && !/\.test\.(ts|tsx)$/.test(f) ? [p] : [];
  });
}

/** Sync reads in code (comments stripped: a comment may say "never dataSync"). */
function syncReads(text: string): number {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(SYNC_READ)].length;
}

describe('engine paths read tensors asynchronously (webgpu has no sync reads in Node)', () => {
  const found = new Map<string, number>();
  for (const root of ROOTS) for (const f of sources(root)) {
    const n = syncReads(readFileSync(f, 'utf8'));
    if (n > 0) found.set(relative('.', f), n);
  }

  it('no sync read outside the allow-list', () => {
    const unexpected = [...found].filter(([f, n]) => !ALLOWED[f] || n > ALLOWED[f]![0]).map(([f, n]) => `${f}: ${n} dataSync/arraySync/bufferSync call(s)`);
    expect(unexpected, 'use await tensor.data() / array() (webgpu throws on sync reads in Node), or add the file to ALLOWED saying why it never runs on webgpu').toEqual([]);
  });

  it('the allow-list is current', () => {
    const stale = Object.entries(ALLOWED).filter(([f, [n]]) => (found.get(f) ?? 0) !== n).map(([f, [n]]) => `${f}: listed with ${n}, found ${found.get(f) ?? 0}`);
    expect(stale).toEqual([]);
  });

  it('the scan sees a sync read and ignores comments', () => {
    expect(syncReads('const v = t.dataSync();\n// never t.arraySync()\n/* nor t.bufferSync() */')).toBe(1);
  });
});
