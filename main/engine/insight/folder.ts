/**
 * Insight on a trained model folder outside the engine (the CLI's `activations` and `explain`): the folder's
 * metrics.json says where its data came from (`data: {datasetId, dataDir}`, written when it is saved; older
 * folders name the dataset in project.json only), `dataDir` overrides it, and the dataset's test split is
 * loaded as training loads it.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { loadModelFolder, type ModelFolder } from '../export/modelFolder';
import { loadDatasetRef } from '../training/datasetRef';
import { Trainer } from '../training/trainer';
import { ModelInsight } from './model';

export interface OpenedInsight {
  insight: ModelInsight;
  folder: ModelFolder;
  trainer: Trainer;
  datasetId: string;
  dispose(): void;
}

/** Where a model folder's data came from, as its metrics.json / project.json say. */
export function dataSourceOf(folder: ModelFolder): { datasetId?: string; dataDir?: string } {
  const data = folder.metrics.data as { datasetId?: unknown; dataDir?: unknown } | undefined;
  const datasetId = typeof data?.datasetId === 'string' ? data.datasetId : (folder.project.dataset ?? undefined);
  return { ...(datasetId ? { datasetId } : {}), ...(typeof data?.dataDir === 'string' ? { dataDir: data.dataDir } : {}) };
}

export async function openFolderInsight(tf: typeof tfjs, dir: string, opts: { dataDir?: string; backend: string }): Promise<OpenedInsight> {
  const folder = await loadModelFolder(tf, dir);
  try {
    const source = dataSourceOf(folder);
    if (!source.datasetId) throw new Error(`${dir} does not say which dataset its model was trained on (no data in metrics.json, no dataset in project.json)`);
    const dataDir = opts.dataDir ?? source.dataDir;
    const dataset = await loadDatasetRef({ id: source.datasetId, ...(dataDir ? { dataDir } : {}) }).catch((error: unknown) => {
      throw new Error(`cannot load the test split of '${source.datasetId}'${dataDir ? ` from ${dataDir}` : ''} (pass --data-dir with the data the model was trained on): ${error instanceof Error ? error.message : String(error)}`);
    });
    const trainer = new Trainer({ tf, model: folder.model, settings: folder.project.training, dataset, backend: opts.backend, health: false, ...(folder.task ? { task: folder.task } : {}) });
    const tokenizer = folder.tokenizer ?? dataset.text?.tokenizer;
    const insight = new ModelInsight({ trainer, graph: folder.project.graph, ...(tokenizer ? { tokenizer } : {}) });
    return { insight, folder, trainer, datasetId: source.datasetId, dispose: () => folder.model.dispose() };
  } catch (error) {
    folder.model.dispose();
    throw error;
  }
}
