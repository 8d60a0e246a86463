import type * as tfjs from '@tensorflow/tfjs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProjectText, serializeProject, type ProjectFile } from '../../../shared/project';
import { registerCustomLayers } from '../compile/custom';
import type { TablePreprocessing } from '../../../shared/tables/types';
import type { ModelTask } from '../../../shared/tasks';
import { parseTokenizer, type Tokenizer } from '../../../shared/text';

/**
 * A trained-model folder, as `layerforge train --out DIR` writes it and `layerforge export` reads it:
 *   project.json   the project (graph snapshot + training settings) the model was built from
 *   model.json     TensorFlow.js Layers format (topology + weightsManifest)
 *   weights.bin    the weights, one shard
 *   metrics.json   the run's final metrics (free-form JSON object; `task` holds the ModelTask)
 *   tokenizer.json text models: the tokenizer (layerforge-tokenizer JSON) that turns text into the ids the model reads
 *   preprocessing.json   table models: the dataset's preprocessing (column order, means, deviations,
 *                  category vocabularies, target scaling), so prediction and exports need no cache
 */
export interface ModelFolder {
  project: ProjectFile;
  model: tfjs.LayersModel;
  metrics: Record<string, unknown>;
  /** The task the model was trained for (absent in folders written before tasks: classification). */
  task?: ModelTask;
  /** Table models: how raw rows become the model's (standardised) input and its output the target's units. */
  preprocessing?: TablePreprocessing;
  /** Text models: the dataset's tokenizer (tokenizer.json, the layerforge-tokenizer format). */
  tokenizer?: Tokenizer;
}

/** Reads a model folder's preprocessing.json; undefined when it has none (image and text models). */
export async function readPreprocessing(dir: string): Promise<TablePreprocessing | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'preprocessing.json'), 'utf8');
  } catch {
    return undefined;
  }
  const pre = JSON.parse(text) as TablePreprocessing;
  if (pre.format !== 'layerforge-table-preprocessing') throw new Error(`${join(dir, 'preprocessing.json')} is not a Layerforge table preprocessing file`);
  return pre;
}

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** An IOHandler that writes model.json + weights.bin into a folder (tfjs's file:// handler needs tfjs-node). */
export function folderSaveHandler(tf: typeof tfjs, dir: string): tfjs.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    await mkdir(dir, { recursive: true });
    const weightsManifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }];
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: 'Layerforge',
      modelTopology: artifacts.modelTopology,
      trainingConfig: artifacts.trainingConfig,
      weightsManifest,
    };
    const weights = artifacts.weightData ? new Uint8Array(tf.io.concatenateArrayBuffers([artifacts.weightData].flat())) : new Uint8Array();
    await writeAtomic(join(dir, 'weights.bin'), weights);
    await writeAtomic(join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  });
}

/** An IOHandler that reads model.json + its weight shards from a folder. */
export function folderLoadHandler(tf: typeof tfjs, dir: string): tfjs.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }[];
      };
      const specs: tfjs.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const buf = await readFile(join(dir, p));
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
        }
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) };
    },
  };
}

export async function saveModelFolder(tf: typeof tfjs, dir: string, folder: ModelFolder): Promise<void> {
  await mkdir(dir, { recursive: true });
  await folder.model.save(folderSaveHandler(tf, dir));
  await writeAtomic(join(dir, 'project.json'), serializeProject(folder.project));
  if (folder.preprocessing) await writeAtomic(join(dir, 'preprocessing.json'), `${JSON.stringify(folder.preprocessing, null, 2)}\n`);
  if (folder.tokenizer) await writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(folder.tokenizer));
  const metrics = folder.task ? { ...folder.metrics, task: folder.task } : folder.metrics;
  await writeAtomic(join(dir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
}

/** Loads a trained-model folder (registering our custom layers on this tf first, so attention models load). */
export async function loadModelFolder(tf: typeof tfjs, dir: string): Promise<ModelFolder> {
  registerCustomLayers(tf);
  const project = parseProjectText(await readFile(join(dir, 'project.json'), 'utf8'), join(dir, 'project.json'));
  const model = await tf.loadLayersModel(folderLoadHandler(tf, dir));
  let metrics: Record<string, unknown> = {};
  try {
    metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // metrics are optional
  }
  const task = isModelTask(metrics.task) ? metrics.task : undefined;
  const preprocessing = await readPreprocessing(dir);
  const tokenizer = await readTokenizer(dir);
  return { project, model, metrics, ...(task ? { task } : {}), ...(preprocessing ? { preprocessing } : {}), ...(tokenizer ? { tokenizer } : {}) };
}

/** Reads a model folder's tokenizer.json; undefined when it has none (image and table models). */
export async function readTokenizer(dir: string): Promise<Tokenizer | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'tokenizer.json'), 'utf8');
  } catch {
    return undefined;
  }
  return parseTokenizer(JSON.parse(text) as unknown, join(dir, 'tokenizer.json'));
}

function isModelTask(v: unknown): v is ModelTask {
  const t = v as ModelTask | undefined;
  return !!t && typeof t === 'object' && typeof t.id === 'string' && !!t.target && typeof t.target.std === 'number';
}
