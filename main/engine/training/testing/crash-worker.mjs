// Test-only worker entry (startRun's workerEntry option): the real worker, which then dies with
// process.exit(7) right after it reports its first batch, as a crashing native backend would.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = (msg) => {
  post(msg);
  if (msg && msg.type === 'event' && msg.event.type === 'batch') process.exit(7);
};
await import('../worker.ts');
