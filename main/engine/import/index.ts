import type * as tfjs from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseProjectText, PROJECT_FORMAT } from '../../../shared/project';
import { compileGraph } from '../compile';
import { registerCustomLayers } from '../compile/custom';
import { loadModelFolder, type ModelFolder } from '../export/modelFolder';
import type { ImportResult } from './types';
import { importKerasTopology } from './keras/topology';
import { ModelImportError } from './errors';
export { ModelImportError } from './errors';

export type { ImportResult } from './types';

/**
 * Converts a TensorFlow.js / Keras model.json (Sequential or Functional topology, with or without
 * weights) into a project (kept for compatibility: keras/topology.ts does the work).
 */
export function importKerasModelJson(json: unknown, projectName = 'Imported model'): ImportResult {
  const root = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const hasWeights = Array.isArray(root.weightsManifest) && (root.weightsManifest as { weights?: unknown[] }[]).some((g) => Array.isArray(g?.weights) && g.weights.length > 0);
  return importKerasTopology(json, { kind: root.modelTopology ? 'tfjs-layers' : 'keras-json', hasWeights, name: projectName });
}

/**
 * Imports a path: a Layerforge project file, a Layerforge model folder (project.json + model.json, as
 * `train --out` and the tfjs export write), a folder with a model.json, or a model.json file.
 */
export async function importModelPath(path: string): Promise<ImportResult> {
  let file = path;
  if ((await stat(path)).isDirectory()) {
    const project = join(path, 'project.json');
    try {
      const text = await readFile(project, 'utf8');
      const p = parseProjectText(text, project);
      let hasWeights = false;
      try {
        await stat(join(path, 'model.json'));
        hasWeights = true;
      } catch {
        // a project folder without a model
      }
      return { project: p, warnings: [], hasWeights, kind: 'layerforge-model-folder', renamed: {}, assumed: [] };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    file = join(path, 'model.json');
  }
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelImportError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (json && typeof json === 'object' && (json as { format?: unknown }).format === PROJECT_FORMAT) {
    return { project: parseProjectText(text, file), warnings: [], hasWeights: false, kind: 'layerforge-project', renamed: {}, assumed: [] };
  }
  const name = basename(file) === 'model.json' ? basename(dirname(file)) || 'Imported model' : basename(file).replace(/\.json$/, '');
  return importKerasModelJson(json, name);
}

/** Reads a model.json at any file name plus the weight shards its manifest lists (paths relative to it). */
function modelJsonHandler(tf: typeof tfjs, file: string): tfjs.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(file, 'utf8')) as { modelTopology: object; weightsManifest?: { paths: string[]; weights: tfjs.io.WeightsManifestEntry[] }[] };
      const specs: tfjs.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const buf = await readFile(join(dirname(file), p));
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
        }
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) };
    },
  };
}

/**
 * Imports a path *with* its trained weights: the project plus a compiled model holding them, ready for
 * saveModelFolder (then evaluate, train further or export). Weights are copied layer by layer by name;
 * a layer whose weights do not fit is named in the error.
 */
export async function importWithWeights(tf: typeof tfjs, path: string): Promise<{ result: ImportResult; folder: ModelFolder }> {
  const result = await importModelPath(path);
  if (!result.hasWeights) throw new ModelImportError(`${path} has no trained weights (no weightsManifest / model.json beside the project)`);
  const isDir = (await stat(path)).isDirectory();
  if (result.kind === 'layerforge-model-folder') return { result, folder: await loadModelFolder(tf, path) };
  registerCustomLayers(tf);
  const source = await tf.loadLayersModel(modelJsonHandler(tf, isDir ? join(path, 'model.json') : path));
  const { model } = compileGraph(tf, result.project.graph);
  const bad: { name: string; className: string; reason: string }[] = [];
  try {
    for (const layer of source.layers) {
      const weights = layer.getWeights();
      if (!weights.length) continue;
      const target = model.getLayer(result.renamed[layer.name] ?? layer.name);
      const want = target.getWeights(); // the variables themselves: never dispose
      const mismatch = weights.length !== want.length || weights.some((w, i) => w.shape.join('x') !== want[i]!.shape.join('x'));
      if (mismatch) {
        bad.push({ name: layer.name, className: layer.getClassName(), reason: `weights [${weights.map((w) => w.shape.join('x')).join(', ')}] do not fit the imported layer` });
        continue;
      }
      target.setWeights(weights);
    }
  } finally {
    source.dispose();
  }
  if (bad.length) {
    model.dispose();
    throw new ModelImportError(`cannot import the weights of ${bad.length} layer${bad.length === 1 ? '' : 's'}: ${bad.map((b) => `${b.name} (${b.className}): ${b.reason}`).join('; ')}`, bad);
  }
  return { result, folder: { project: result.project, model, metrics: { importedFrom: path } } };
}

export { LayerImportError } from './keras';
