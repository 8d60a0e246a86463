// Entry of a training worker thread: registers tsx (so the worker can load TypeScript, as
// bin/layerforge.mjs does for the CLI), then runs worker.ts. Bundled builds point startRun's
// `workerEntry` option at their own compiled worker instead.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
