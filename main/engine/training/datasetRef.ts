/**
 * Loads a dataset named by id for a run (in the worker, so the caller never holds it twice).
 * `cifar10` + a folder with the official binary files is read directly; otherwise the decoded cache of
 * main/engine/datasets under dataDir (or the default user-data folder) is used.
 */
import { dataDir as defaultDataDir } from '../datasets/cache';
import { cifar10Info, createCifar10Source, findCifarBinaryDir, readCifarBinaryDir } from '../datasets/cifar10';
import { createDatasetRegistry } from '../datasets';
import type { LoadedDataset } from '../datasets/types';
import type { DatasetRef } from './types';

export async function loadDatasetRef(ref: DatasetRef): Promise<LoadedDataset> {
  if (ref.id === 'cifar10') {
    const bin = ref.dataDir ? findCifarBinaryDir(ref.dataDir) : undefined;
    if (bin) {
      const { train, test } = await readCifarBinaryDir(bin);
      return { info: { ...cifar10Info, status: 'ready', cachePath: bin }, shape: [32, 32, 3], train, test };
    }
    const root = ref.dataDir ?? defaultDataDir();
    const source = createCifar10Source({ root, env: process.env });
    const info = await source.info();
    if (info.status !== 'ready') {
      if (info.status === 'error' && info.message) throw new Error(`dataset 'cifar10' is not ready: ${info.message}`);
      throw new Error(
        `dataset 'cifar10' is not ready: ${ref.dataDir ? `${ref.dataDir} holds neither data_batch_1..5.bin + test_batch.bin nor a prepared cache` : `no prepared cache under ${root}`} (run \`layerforge datasets prepare cifar10\` or pass --data-dir with the binary files)`,
      );
    }
    return source.load();
  }
  // Every other source (MNIST, Fashion-MNIST incl. Debian's package, imported folders) through the registry.
  const registry = createDatasetRegistry({ root: ref.dataDir ?? defaultDataDir(), env: process.env });
  const info = await registry.info(ref.id).catch((error: unknown) => {
    throw new Error(`dataset '${ref.id}' is unknown: ${error instanceof Error ? error.message : String(error)}`);
  });
  if (info.status !== 'ready') {
    throw new Error(`dataset '${ref.id}' is not ready (${info.status}${info.message ? `: ${info.message}` : ''}): run \`layerforge datasets prepare ${ref.id}\` or import it`);
  }
  return registry.load(ref.id);
}
