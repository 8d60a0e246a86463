/**
 * electron-vite build of the desktop app. Our processes live in top-level main/, preload/ and
 * renderer/ (not electron-vite's default src/…), so every entry is explicit (Vite 8's
 * build.rolldownOptions, formerly rollupOptions). Output: out/main (ESM: index.js + the training
 * worker as its own entry, worker.js), out/preload/index.cjs (CommonJS, everything bundled: sandboxed
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

export default defineConfig({
  main: {
    plugins: [pythonTemplates()],
    build: {
      outDir: r('out/main'),
      // Dependencies stay in node_modules (tfjs, ws, pngjs…); native addons must never be bundled.
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: r('main/index.ts'),
          // The training worker runs in a worker thread: its own entry (main/index.ts passes its path to startRun).
          worker: r('main/engine/training/worker.ts'),
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
