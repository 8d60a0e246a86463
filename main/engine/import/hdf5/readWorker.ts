/**
 * The HDF5 reader's worker thread (remote.ts starts it): loads h5wasm, says 'ready', then answers one
 * read request at a time with plain data, the weight arrays' buffers transferred, not copied. A file on
 * which the HDF5 library loops forever keeps this thread busy until remote.ts terminates it.
 */
import { parentPort } from 'node:worker_threads';
import { ModelImportError } from '../errors';
import { loadH5wasm } from './reader';
import { readKerasHdf5, type FromReader, type ReadReply, type ToReader } from './source';

const port = parentPort;
if (!port) throw new Error('main/engine/import/hdf5/readWorker.ts must run in a worker thread');

// What the worker prints goes to the parent as messages, not to the terminal: h5wasm prints
// 'Aborted(native code called abort())' (console.error) on some damaged files, and remote.ts puts it in
// the error message. Posted at once, so it arrives before the reply, and even if the library then hangs.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    port.postMessage({ type: 'output', text: typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk) } satisfies FromReader);
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    if (callback) queueMicrotask(callback);
    return true;
  }) as typeof stream.write;
}

/** The arrays' buffers, each a buffer of its own (a view into a larger buffer is copied first). */
function transferable(reply: ReadReply): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const [, array] of reply.arrays) {
    let v = array.values;
    if (!(v.buffer instanceof ArrayBuffer) || v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength || buffers.has(v.buffer)) v = array.values = v.slice();
    buffers.add(v.buffer as ArrayBuffer);
  }
  return [...buffers];
}

port.on('message', (m: ToReader) => {
  readKerasHdf5(m.request).then(
    (value) => port.postMessage({ type: 'reply', id: m.id, ok: true, value } satisfies FromReader, transferable(value)),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({ type: 'reply', id: m.id, ok: false, error: { name: e.name, message: e.message, ...(e instanceof ModelImportError ? { layers: e.layers } : {}) } } satisfies FromReader);
    },
  );
});

await loadH5wasm();
port.postMessage({ type: 'ready' } satisfies FromReader);
