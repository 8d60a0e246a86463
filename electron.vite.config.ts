/**
 * electron-vite build of the desktop app. Our processes live in top-level main/, preload/ and
 * renderer/ (not electron-vite's default src/…), so every entry is explicit (Vite 8's
 * build.rolldownOptions, formerly rollupOptions). Output: out/main (ESM: index.js + the training
 * worker as its own entry, worker.js), out/preload/index.cjs (CommonJS, everything bundled: sandboxed
 * preloads cannot load modules), out/renderer (the React app).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  main: {
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
