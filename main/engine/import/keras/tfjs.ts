/**
 * TensorFlow.js layers models: a model.json (`modelTopology` + `weightsManifest`, the `format` key absent
 * in older files) with its binary weight shards, as tfjs `model.save`, `tensorflowjs_converter
 * --input_format keras` and tfjs-models write. The topology goes through keras/topology.ts; the shards are
 * decoded here (tf.io.decodeWeights, quantized weights included), grouped by layer and copied into the
 * compiled import with assignKerasWeights.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { compileGraph } from '../../compile';
import { registerCustomLayers } from '../../compile/custom';
import { ModelImportError } from '../errors';
import type { ImportOptions, ImportProbe, ImportResult, ModelImporter } from '../types';
import { checkSourceParams, kerasNames, weightLayer } from './params';
import { importKerasTopology } from './topology';
import { assignKerasWeights } from './weights';

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const TFJS_HEAD = /"(modelTopology|weightsManifest)"\s*:|"format"\s*:\s*"layers-model"/;
const MAX_JSON_BYTES = 512 * 1024 * 1024;

/** The model.json of a path (a folder holding one, or the file itself). */
async function modelJsonPath(path: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? join(path, 'model.json') : path;
  } catch (error) {
    throw new ModelImportError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_JSON_BYTES) throw new ModelImportError(`${file} is ${Math.round(size / 2 ** 20)} MB: too large for a model topology`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ModelImportError) throw error;
    throw new ModelImportError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelImportError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The project name a file suggests: a model.json's folder, or the file name without .json. */
export function nameFromPath(file: string): string {
  return basename(file) === 'model.json' || basename(file) === 'config.json' ? basename(dirname(resolve(file))) || 'Imported model' : basename(file).replace(/\.json$/i, '') || 'Imported model';
}

/** The weights manifest, checked: groups of shard paths and entries with a name, a shape and a dtype. */
function manifestOf(json: unknown, file: string): ManifestGroup[] {
  const m = (json as { weightsManifest?: unknown }).weightsManifest;
  if (m === undefined || m === null) return [];
  if (!Array.isArray(m)) throw new ModelImportError(`${file}: weightsManifest is not a list`);
  return m.map((g: unknown, i) => {
    const group = g as { paths?: unknown; weights?: unknown };
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new ModelImportError(`${file}: weightsManifest group ${i} needs 'paths' and 'weights' lists`);
    for (const w of group.weights as ManifestEntry[]) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || typeof w.dtype !== 'string') {
        throw new ModelImportError(`${file}: weightsManifest group ${i} has an entry without a name, a shape of whole numbers and a dtype: ${JSON.stringify(w).slice(0, 200)}`);
      }
    }
    return { paths: group.paths.map(String), weights: group.weights as ManifestEntry[] };
  });
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Stored weight counts per Keras layer of the import, and the weight names that match no layer. */
function perLayerCounts(result: ImportResult, entries: ManifestEntry[]): { perLayer: Map<string, number>; unplaced: string[] } {
  const layers = new Set(kerasNames(result).values());
  const perLayer = new Map<string, number>();
  const unplaced: string[] = [];
  for (const e of entries) {
    const layer = weightLayer(e.name, layers);
    if (layer === undefined) unplaced.push(e.name);
    else perLayer.set(layer, (perLayer.get(layer) ?? 0) + count(e.shape));
  }
  return { perLayer, unplaced };
}

async function readTfjs(path: string, options: ImportOptions): Promise<{ result: ImportResult; file: string; manifest: ManifestGroup[] }> {
  const file = await modelJsonPath(path);
  const json = await readJsonFile(file);
  if (!json || typeof json !== 'object' || Array.isArray(json) || !('modelTopology' in json)) throw new ModelImportError(`${file} is not a TensorFlow.js layers model (no modelTopology)`);
  const format = (json as { format?: unknown }).format;
  if (format !== undefined && format !== 'layers-model') {
    throw new ModelImportError(`${file} is a TensorFlow.js ${String(format)} model; only layers models (format 'layers-model', Keras layers) can be imported (a graph model has no layers to edit)`);
  }
  const manifest = manifestOf(json, file);
  const entries = manifest.flatMap((g) => g.weights);
  const hasWeights = entries.length > 0;
  const result = importKerasTopology(json, { ...options, kind: 'tfjs-layers', hasWeights, name: options.name ?? nameFromPath(file) });
  if (hasWeights) {
    result.sourceParams = entries.reduce((a, e) => a + count(e.shape), 0);
    const { perLayer, unplaced } = perLayerCounts(result, entries);
    checkSourceParams(result, perLayer, unplaced);
  }
  return { result, file, manifest };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1, int16: 2 };

/** Decodes every manifest entry in order (names may repeat, so not through one NamedTensorMap). */
async function decodeShards(tf: typeof tfjs, file: string, manifest: ManifestGroup[]): Promise<{ entry: ManifestEntry; tensor: tfjs.Tensor }[]> {
  const out: { entry: ManifestEntry; tensor: tfjs.Tensor }[] = [];
  try {
    for (const group of manifest) {
      const buffers: ArrayBuffer[] = [];
      for (const p of group.paths) {
        const shard = join(dirname(file), p);
        let buf: Buffer;
        try {
          buf = await readFile(shard);
        } catch (error) {
          throw new ModelImportError(`cannot read the weight file ${shard} that ${basename(file)} lists: ${error instanceof Error ? error.message : String(error)}`);
        }
        buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      }
      const data = tf.io.concatenateArrayBuffers(buffers);
      let offset = 0;
      for (const entry of group.weights) {
        const stored = entry.quantization?.dtype ?? entry.dtype;
        const bytes = BYTES[stored];
        if (!bytes) throw new ModelImportError(`${basename(file)}: weight ${entry.name} has dtype '${stored}', which a layers model does not store`);
        const size = count(entry.shape) * bytes;
        if (offset + size > data.byteLength) {
          throw new ModelImportError(`${basename(file)}: the weight files hold ${data.byteLength} bytes, fewer than the manifest lists (weight ${entry.name} ends at byte ${offset + size})`);
        }
        const map = tf.io.decodeWeights(data.slice(offset, offset + size), [entry as tfjs.io.WeightsManifestEntry]);
        out.push({ entry, tensor: map[entry.name]! });
        offset += size;
      }
      if (offset !== data.byteLength) throw new ModelImportError(`${basename(file)}: the weight files hold ${data.byteLength} bytes, the manifest lists ${offset}`);
    }
  } catch (error) {
    tf.dispose(out.map((o) => o.tensor));
    throw error;
  }
  return out;
}

/** Groups decoded weights by the Keras layer their names point to (the manifest's order kept within a layer). */
export function groupWeightsByLayer<T>(result: ImportResult, named: { name: string; value: T }[]): Map<string, T[]> {
  const layers = new Set(kerasNames(result).values());
  const byLayer = new Map<string, T[]>();
  const unplaced: string[] = [];
  for (const w of named) {
    const layer = weightLayer(w.name, layers);
    if (layer === undefined) unplaced.push(w.name);
    else (byLayer.get(layer) ?? byLayer.set(layer, []).get(layer)!).push(w.value);
  }
  if (unplaced.length) {
    throw new ModelImportError(`${unplaced.length} stored weight${unplaced.length === 1 ? '' : 's'} name no layer of the model: ${unplaced.slice(0, 5).join(', ')}${unplaced.length > 5 ? ', …' : ''}`);
  }
  return byLayer;
}

export const tfjsLayersImporter: ModelImporter = {
  id: 'tfjs-layers',
  label: 'TensorFlow.js layers model (model.json)',
  async detect(probe: ImportProbe) {
    if (probe.isDirectory) {
      if (!probe.entries.includes('model.json') || probe.entries.includes('project.json')) return false;
      try {
        const fh = await readFile(join(probe.path, 'model.json'));
        return TFJS_HEAD.test(new TextDecoder().decode(fh.subarray(0, 4096)));
      } catch {
        return false;
      }
    }
    return probe.ext === '.json' && TFJS_HEAD.test(new TextDecoder().decode(probe.head));
  },
  async read(path, options) {
    return (await readTfjs(path, options)).result;
  },
  async readWithWeights(tf, path, options) {
    const { result, file, manifest } = await readTfjs(path, options);
    if (!result.hasWeights) throw new ModelImportError(`${file} lists no weights (its weightsManifest is empty or absent)`);
    registerCustomLayers(tf);
    const decoded = await decodeShards(tf, file, manifest);
    let model: tfjs.LayersModel | undefined;
    try {
      const weights = groupWeightsByLayer(result, decoded.map((d) => ({ name: d.entry.name, value: d.tensor })));
      model = compileGraph(tf, result.project.graph).model;
      assignKerasWeights(tf, model, result, weights);
    } catch (error) {
      model?.dispose();
      throw error;
    } finally {
      tf.dispose(decoded.map((d) => d.tensor));
    }
    return { result, folder: { project: result.project, model, metrics: { importedFrom: path } } };
  },
};
