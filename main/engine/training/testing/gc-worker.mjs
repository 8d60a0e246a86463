// Test-only worker entry (startRun's workerEntry option): the real worker, with V8's `gc` exposed, so
// the trainer's epoch events report `heapUsed` after a full collection (live memory, not garbage).
// Used by the soak test; V8 flags cannot be passed to a single worker through execArgv.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { register } from 'tsx/esm/api';

setFlagsFromString('--expose-gc');
globalThis.gc = runInNewContext('gc');
register();
await import('../worker.ts');
