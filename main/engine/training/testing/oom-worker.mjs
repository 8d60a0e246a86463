// Test-only worker entry (startRun's workerEntry option): the real worker, which after reporting its
// first batch keeps allocating JavaScript objects until V8 hits the heap limit that startRun's
// `resourceLimits` gave it, as a model or data too big for memory would. Node then ends the worker
// with ERR_WORKER_OUT_OF_MEMORY; nothing is thrown inside the worker that it could catch.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const post = parentPort.postMessage.bind(parentPort);
const hoard = [];
parentPort.postMessage = (msg) => {
  post(msg);
  if (msg && msg.type === 'event' && msg.event.type === 'batch') {
    for (;;) hoard.push(new Array(1024).fill({ batch: hoard.length }));
  }
};
await import('../worker.ts');
