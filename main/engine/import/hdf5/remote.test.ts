/**
 * The HDF5 reading runs in a worker thread with a deadline (remote.ts). fixtures/hangs-h5wasm.h5 is
 * corpus/keras-h5/mlp.h5 with 3 bytes changed (the fuzz test's mutate() with seed 375): h5wasm 0.10.3 loops
 * forever inside one synchronous call reading its keras_version attribute (still busy after 60 s).
 * fixtures/aborts-h5wasm.h5 (mlp.h5, seed 1025) makes h5wasm call abort(), which prints
 * 'Aborted(native code called abort())' on stderr.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelImportError } from '../errors';
import { kerasH5Importer, kerasV3Importer } from '.';
import { configureHdf5Reading, defaultDeadlineMs, hdf5ReadStats } from './remote';

const CORPUS = join(__dirname, '..', 'corpus', 'keras-h5');
const HANGS = join(__dirname, 'fixtures', 'hangs-h5wasm.h5');
const ABORTS = join(__dirname, 'fixtures', 'aborts-h5wasm.h5');

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => {
  configureHdf5Reading();
  vi.restoreAllMocks();
});
afterAll(() => configureHdf5Reading());

const failure = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected the import to fail');
    },
    (e: unknown) => e as Error,
  );

describe('HDF5 reading in a worker thread', () => {
  it('the deadline scales with the file: 20 s + 1 s per 10 MB', () => {
    expect(defaultDeadlineMs(0)).toBe(20_000);
    expect(defaultDeadlineMs(5e6)).toBe(20_500);
    expect(defaultDeadlineMs(100e6)).toBe(30_000);
  });

  it('a file on which h5wasm loops forever fails at the deadline with a ModelImportError; the next import works', async () => {
    configureHdf5Reading({ deadlineMs: () => 1000 });
    const before = { ...hdf5ReadStats };
    const t0 = Date.now();
    const error = await failure(kerasH5Importer.read(HANGS, {}));
    const took = Date.now() - t0;
    expect(error).toBeInstanceOf(ModelImportError);
    expect(error.message).toMatch(/hangs-h5wasm\.h5 could not be read in time: the HDF5 reader was still busy after 1 s and was stopped\. The file is probably damaged/);
    expect(hdf5ReadStats.timedOut).toBe(before.timedOut + 1);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(10_000); // the deadline plus the worker's start (under 1 s unloaded)

    const { result, folder } = await kerasH5Importer.readWithWeights!(tf, join(CORPUS, 'mlp.h5'), {});
    folder.model.dispose();
    expect(result.sourceParams).toBe(8 * 16 + 16 + 16 * 3 + 3);
    expect(hdf5ReadStats.workersStarted).toBe(before.workersStarted + 2); // the stopped worker was replaced
    expect(hdf5ReadStats.inProcess).toBe(before.inProcess);
  });

  it("h5wasm's abort message goes into the error, not to the terminal; the aborted worker is not reused", async () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const before = { ...hdf5ReadStats };
    const error = await failure(kerasH5Importer.read(ABORTS, {}));
    expect(error).toBeInstanceOf(ModelImportError);
    expect(error.message).toMatch(/aborts-h5wasm\.h5: cannot read .*Aborted\(native code called abort\(\)\)/);
    await kerasH5Importer.read(join(CORPUS, 'mlp.h5'), {});
    vi.restoreAllMocks();
    expect(written.filter((w) => /Aborted/.test(w))).toEqual([]);
    expect(hdf5ReadStats.workersStarted - before.workersStarted).toBeGreaterThanOrEqual(2);
  });

  it('reads files concurrently (one worker each), the idle one reused', async () => {
    const before = { ...hdf5ReadStats };
    const results = await Promise.all([
      kerasH5Importer.read(join(CORPUS, 'cnn.h5'), {}),
      kerasV3Importer.read(join(CORPUS, 'nested.keras'), {}),
    ]);
    expect(results.map((r) => r.kind)).toEqual(['keras-h5', 'keras-v3']);
    await kerasH5Importer.read(join(CORPUS, 'mlp.h5'), {});
    expect(hdf5ReadStats.inWorker - before.inWorker).toBe(3);
    expect(hdf5ReadStats.workersStarted - before.workersStarted).toBe(2);
  });

  it('falls back to reading in this thread, saying so once, when the worker cannot start', async () => {
    configureHdf5Reading({ workerEntry: new URL('./no-such-worker.mjs', import.meta.url) });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const before = { ...hdf5ReadStats };
    const { result, folder } = await kerasH5Importer.readWithWeights!(tf, join(CORPUS, 'mlp.h5'), {});
    folder.model.dispose();
    expect(result.hasWeights).toBe(true);
    await kerasV3Importer.read(join(CORPUS, 'cnn.keras'), {});
    expect(hdf5ReadStats.inProcess - before.inProcess).toBe(2);
    expect(hdf5ReadStats.inWorker).toBe(before.inWorker);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/worker thread could not start .*reading HDF5 files in the main thread instead, without a time limit/);
  });
});
