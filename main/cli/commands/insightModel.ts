/** What `layerforge activations` and `layerforge explain` share: a trained model folder opened for insight queries from their options. */
import { UsageError } from '../command';
import type { OpenedInsight } from '../../engine/insight/folder';

const BACKENDS = ['auto', 'wasm', 'cpu'] as const;

/** Opens MODEL (`--backend`, default auto; `--data-dir` overrides where the folder says its data is). */
export async function openInsightModel(folder: string, values: { backend?: string | undefined; 'data-dir'?: string | undefined }): Promise<OpenedInsight> {
  const backend = values.backend ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--backend must be auto, wasm or cpu, got '${backend}'`);
  const [{ selectBackend }, { openFolderInsight }] = await Promise.all([import('../../engine/backends'), import('../../engine/insight/folder')]);
  const { tf, name } = await selectBackend(backend === 'auto' ? {} : { force: backend as 'wasm' | 'cpu' });
  return openFolderInsight(tf, folder, { backend: name, ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}) });
}
