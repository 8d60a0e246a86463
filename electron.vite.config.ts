/**
 * electron-vite build of the desktop app. Our processes live in top-level main/, preload/ and
 * renderer/ (not electron-vite's default src/…), so every entry is explicit (Vite 8's
 * build.rolldownOptions, formerly rollupOptions). Output: out/main (ESM: index.js + the training
 * worker and the HDF5 reader's worker as their own entries, worker.js and hdf5-worker.js), out/preload/index.cjs (CommonJS, everything bundled: sandboxed
 * preloads cannot load modules), out/renderer (the React app).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The PyTorch backend's Python templates (main/engine/pytorch/python/*.py) are read at run time through
 * `new URL('./python/…', import.meta.url)` from main/engine/pytorch/trainPy.ts: ship them beside whichever
 * chunk that module ends up in.
 */
function pythonTemplates(): Plugin {
  const dir = r('main/engine/pytorch/python');
  return {
    name: 'layerforge-python-templates',
    generateBundle(_options, bundle) {
      const files = readdirSync(dir).filter((f) => f.endsWith('.py'));
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.code.includes('./python/train.py')) continue;
        const base = posix.dirname(chunk.fileName);
        for (const f of files) this.emitFile({ type: 'asset', fileName: posix.join(base, 'python', f), source: readFileSync(`${dir}/${f}`) });
      }
    },
  };
}

/**
 * The HDF5 reader's worker thread (main/engine/import/hdf5/readWorker.ts) is its own entry, hdf5-worker.js.
 * main/engine/import/hdf5/remote.ts starts it from `new URL('./readWorker.mjs', import.meta.url)`, the
 * entry that registers tsx when running from sources: in the bundle that name becomes the path from the
 * chunk holding remote.ts to hdf5-worker.js. The build fails if the name is no longer found.
 */
function hdf5WorkerEntry(): Plugin {
  const source = /(["'`])\.\/readWorker\.mjs\1/g;
  let rewritten = 0;
  return {
    name: 'layerforge-hdf5-worker-entry',
    buildStart() {
      rewritten = 0;
    },
    renderChunk(code, chunk) {
      if (!source.test(code)) return null;
      source.lastIndex = 0;
      const relative = posix.relative(posix.dirname(chunk.fileName), HDF5_WORKER_FILE);
      rewritten++;
      return { code: code.replace(source, (_m, quote: string) => `${quote}${relative.startsWith('.') ? relative : `./${relative}`}${quote}`), map: null };
    },
    generateBundle(_options, bundle) {
      if (!(HDF5_WORKER_FILE in bundle)) return; // not the main-process build
      if (rewritten === 0) this.error(`no chunk names './readWorker.mjs' (main/engine/import/hdf5/remote.ts): the HDF5 worker entry would not be found at run time`);
    },
  };
}
const HDF5_WORKER_FILE = 'hdf5-worker.js';

export default defineConfig({
  main: {
    plugins: [pythonTemplates(), hdf5WorkerEntry()],
    build: {
      outDir: r('out/main'),
      // Dependencies stay in node_modules (tfjs, ws, pngjs…); native addons must never be bundled.
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: r('main/index.ts'),
          // The training worker runs in a worker thread: its own entry (main/index.ts passes its path to startRun).
          worker: r('main/engine/training/worker.ts'),
          // Keras .h5 / .keras files are read in a worker thread that can be stopped (import/hdf5/remote.ts).
          'hdf5-worker': r('main/engine/import/hdf5/readWorker.ts'),
        },
        external: [/^@tensorflow\/tfjs-node(-gpu)?(\/.*)?$/, /\.node$/, 'onnxruntime-node'],
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: r('out/preload'),
      externalizeDeps: false,
      isolatedEntries: true,
      rolldownOptions: {
        input: { index: r('preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: r('renderer'),
    plugins: [react()],
    build: {
      outDir: r('out/renderer'),
      chunkSizeWarningLimit: 4000,
      rolldownOptions: { input: { index: r('renderer/index.html') } },
    },
  },
});
