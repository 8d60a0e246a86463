// Entry of the HDF5 reader's worker thread (remote.ts) when Layerforge runs from its TypeScript sources
// (the CLI and `layerforge serve` through tsx, vitest): registers tsx, as bin/layerforge.mjs does, then
// runs readWorker.ts. The Electron build compiles readWorker.ts to its own entry, out/main/hdf5-worker.js,
// and points remote.ts there instead (electron.vite.config.ts rewrites this file's name in the bundle).
import { register } from 'tsx/esm/api';

// h5wasm first, before tsx is registered: its 4 MB module (the wasm inlined) loads in 0.3 s as it is but
// takes 4 s through tsx's loader. readWorker.ts's own import of it then finds it loaded.
await (await import('h5wasm/node')).ready;
register();
await import('./readWorker.ts');
