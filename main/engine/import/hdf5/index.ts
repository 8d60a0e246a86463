import type * as tfjs from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { compileGraph } from '../../compile';
import type { ModelFolder } from '../../export/modelFolder';
import { ModelImportError } from '../errors';
import { importKerasTopology } from '../keras/topology';
import { assignKerasWeights } from '../keras/weights';
import type { ImportFormatId, ImportOptions, ImportProbe, ImportResult, ModelImporter } from '../types';
import { countParams, type WeightRefs } from './kerasWeights';
import { isHdf5, type H5Array } from './reader';
import { readHdf5 } from './remote';
import { checkConfig, parseJson, type ReadReply } from './source';

/**
 * Keras HDF5 (.h5, Keras 2 `model.save`) and Keras 3 (.keras archive) importers: the topology goes through
 * the Keras converter (keras/topology.ts), the weights are read from the HDF5 file with h5wasm and copied
 * layer by layer (keras/weights.ts). All HDF5 reading (source.ts) happens in a worker thread with a
 * deadline (remote.ts): h5wasm can loop forever on a damaged file.
 */

type Json = Record<string, unknown>;

/** An opened Keras file: its model config, where each layer's weights are, and their values when asked for. */
interface KerasSource {
  config: unknown;
  kerasVersion?: string;
  /** Whether the file has an HDF5 weights file at all (a .keras archive may have none). */
  hasWeightsFile: boolean;
  refs: WeightRefs;
  /** Dataset path -> values (read only by readWithWeights). */
  arrays: Map<string, H5Array>;
}

type Open = (path: string, values: boolean) => Promise<KerasSource>;

const stem = (path: string): string => basename(path).replace(/\.(h5|hdf5|keras)$/i, '') || 'Imported model';

function fromReply(reply: ReadReply): KerasSource {
  return { config: reply.config, ...(reply.kerasVersion !== undefined ? { kerasVersion: reply.kerasVersion } : {}), hasWeightsFile: true, refs: new Map(reply.refs), arrays: new Map(reply.arrays) };
}

// ------------------------------------------------------------------ Keras 2 .h5

/** The HDF5 reading happens in a worker thread with a deadline (remote.ts). */
const openKerasH5: Open = async (path, values) => fromReply(await readHdf5({ format: 'keras-h5', path, values }));

// ------------------------------------------------------------------ Keras 3 .keras

/** Zip local-file signature ('PK\x03\x04'). */
const isZip = (head: Uint8Array): boolean => head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/** The parts of a .keras archive Layerforge reads (the weights can be large; the rest is skipped unread). */
const ARCHIVE_PARTS = new Set(['config.json', 'metadata.json', 'model.weights.h5', 'model.weights.npz', 'model.weights.json']);
const MAX_CONFIG_BYTES = 256 * 2 ** 20;

const openKerasArchive: Open = async (path, values) => {
  const isDir = (await stat(path)).isDirectory();
  const parts: Record<string, Uint8Array> = {};
  if (isDir) {
    for (const name of ['config.json', 'metadata.json']) {
      const bytes = await readFile(join(path, name)).catch(() => undefined);
      if (bytes) parts[name] = bytes;
    }
  } else {
    const bytes = await readFile(path);
    try {
      Object.assign(
        parts,
        unzipSync(bytes, {
          filter: (f) => {
            if (!ARCHIVE_PARTS.has(f.name)) return false;
            if (f.name !== 'model.weights.h5' && f.originalSize > MAX_CONFIG_BYTES) throw new ModelImportError(`${path}: ${f.name} claims ${f.originalSize} bytes`);
            return true;
          },
        }),
      );
    } catch (error) {
      if (error instanceof ModelImportError) throw error;
      throw new ModelImportError(`${path} cannot be read as a Keras 3 archive (a zip file): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!parts['config.json']) throw new ModelImportError(`${path} has no config.json: not a Keras 3 .keras archive`);
  const config = checkConfig(parseJson(new TextDecoder().decode(parts['config.json']), `${path}: config.json`), `${path}: config.json`);
  const meta = parts['metadata.json'] ? parseJson(new TextDecoder().decode(parts['metadata.json']), `${path}: metadata.json`) : undefined;
  const kerasVersion = meta && typeof meta === 'object' && typeof (meta as Json).keras_version === 'string' ? ((meta as Json).keras_version as string) : undefined;

  let weightsFile = isDir ? join(path, 'model.weights.h5') : undefined;
  let tempDir: string | undefined;
  try {
    if (!isDir && parts['model.weights.h5']) {
      // h5wasm reads files from disk: the archive's weights go to a private temporary folder.
      tempDir = await mkdtemp(join(tmpdir(), 'layerforge-keras-'));
      weightsFile = join(tempDir, 'model.weights.h5');
      await writeFile(weightsFile, parts['model.weights.h5']);
    }
    const hasH5 = weightsFile !== undefined && (await stat(weightsFile).then((s) => s.isFile(), () => false));
    if (!hasH5) {
      const other = parts['model.weights.npz'] ? 'model.weights.npz (weights_format="npz")' : parts['model.weights.json'] ? 'sharded weights (model.weights.json)' : undefined;
      if (other) throw new ModelImportError(`${path} keeps its weights as ${other}; Layerforge reads model.weights.h5, Keras' default: save again with model.save("model.keras")`);
      return { config, ...(kerasVersion !== undefined ? { kerasVersion } : {}), hasWeightsFile: false, refs: new Map(), arrays: new Map() };
    }
    // The HDF5 reading happens in a worker thread with a deadline (remote.ts).
    const reply = await readHdf5({ format: 'keras-v3', path: weightsFile!, config, values, label: isDir ? weightsFile! : `${path} (its model.weights.h5)` });
    return { ...fromReply(reply), ...(kerasVersion !== undefined ? { kerasVersion } : {}) };
  } finally {
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  }
};

// ------------------------------------------------------------------ shared

function hasAnyWeights(refs: WeightRefs): boolean {
  for (const list of refs.values()) if (list.length) return true;
  return false;
}

/** The project from the file's config; ModelImportError (never a raw exception) for any malformed config. */
function topology(source: KerasSource, path: string, kind: ImportFormatId, options: ImportOptions): ImportResult {
  const hasWeights = hasAnyWeights(source.refs);
  let result: ImportResult;
  try {
    result = importKerasTopology(source.config, { ...options, kind, hasWeights, name: options.name ?? stem(path), kerasVersion: source.kerasVersion });
  } catch (error) {
    if (error instanceof ModelImportError) throw error;
    throw new ModelImportError(`${path}: the model config cannot be converted: ${error instanceof Error ? error.message : String(error)}`);
  }
  const warnings = [...result.warnings];
  if (source.kerasVersion && /^1\./.test(source.kerasVersion)) warnings.push(`saved by Keras ${source.kerasVersion}: Keras 1 files are read as Keras 2 ones; check the predictions`);
  return { ...result, warnings, ...(hasWeights ? { sourceParams: countParams(source.refs) } : {}) };
}

async function readKeras(open: Open, kind: ImportFormatId, path: string, options: ImportOptions): Promise<ImportResult> {
  return topology(await open(path, false), path, kind, options);
}

async function readKerasWithWeights(
  open: Open,
  kind: ImportFormatId,
  tf: typeof tfjs,
  path: string,
  options: ImportOptions,
): Promise<{ result: ImportResult; folder: ModelFolder }> {
  const source = await open(path, true);
  const tensors = new Map<string, tfjs.Tensor[]>();
  try {
    const result = topology(source, path, kind, options);
    if (!result.hasWeights || !source.hasWeightsFile) throw new ModelImportError(`${path} has no trained weights`);
    for (const [layer, refs] of source.refs) {
      tensors.set(
        layer,
        refs.map((ref) => {
          const array = source.arrays.get(ref.path);
          if (!array) throw new ModelImportError(`${path}: the weights of layer ${layer} at '${ref.path}' were not read`);
          return tf.tensor(array.values, array.shape, 'float32');
        }),
      );
    }
    let model: tfjs.LayersModel;
    try {
      model = compileGraph(tf, result.project.graph).model;
    } catch (error) {
      throw new ModelImportError(`${path}: the imported graph does not compile: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      assignKerasWeights(tf, model, result, tensors);
    } catch (error) {
      model.dispose();
      throw error;
    }
    return { result, folder: { project: result.project, model, metrics: { importedFrom: path, ...(source.kerasVersion ? { kerasVersion: source.kerasVersion } : {}) } } };
  } finally {
    for (const list of tensors.values()) tf.dispose(list);
  }
}

export const kerasH5Importer: ModelImporter = {
  id: 'keras-h5',
  label: 'Keras HDF5 (.h5)',
  detect: (p: ImportProbe) => !p.isDirectory && (isHdf5(p.head) || p.ext === '.h5' || p.ext === '.hdf5'),
  read: (path, options) => readKeras(openKerasH5, 'keras-h5', path, options),
  readWithWeights: (tf, path, options) => readKerasWithWeights(openKerasH5, 'keras-h5', tf, path, options),
};

export const kerasV3Importer: ModelImporter = {
  id: 'keras-v3',
  label: 'Keras 3 archive (.keras)',
  detect: (p: ImportProbe) =>
    p.isDirectory
      ? p.entries.includes('config.json') && p.entries.includes('model.weights.h5')
      : p.ext === '.keras' || (isZip(p.head) && /(config|metadata)\.json/.test(latin1(p.head))),
  read: (path, options) => readKeras(openKerasArchive, 'keras-v3', path, options),
  readWithWeights: (tf, path, options) => readKerasWithWeights(openKerasArchive, 'keras-v3', tf, path, options),
};
