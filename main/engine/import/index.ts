/**
 * The importer registry in use: a path is probed (ImportProbe: folder entries, or a file's first bytes and
 * extension), the first importer of MODEL_IMPORTERS (formats.ts) that recognises it reads it, and the result
 * is checked (the graph's parameter total against the one the source states). A file no importer recognises
 * gets a ModelImportError listing the formats Layerforge reads.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { open, readdir, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { analyzeGraph } from '../../../shared/graph';
import type { ModelFolder } from '../export/modelFolder';
import { ModelImportError } from './errors';
import { MODEL_IMPORTERS } from './formats';
import { importKerasTopology } from './keras/topology';
import type { ImportOptions, ImportProbe, ImportResult, ModelImporter } from './types';
export { ModelImportError } from './errors';
export { LayerImportError } from './keras';
export type { ImportOptions, ImportProbe, ImportResult, ModelImporter } from './types';

/**
 * Converts a TensorFlow.js / Keras model.json (Sequential or Functional topology, with or without
 * weights) into a project (kept for compatibility: keras/topology.ts does the work).
 */
export function importKerasModelJson(json: unknown, projectName = 'Imported model', options: ImportOptions = {}): ImportResult {
  const root = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const hasWeights = Array.isArray(root.weightsManifest) && (root.weightsManifest as { weights?: unknown[] }[]).some((g) => Array.isArray(g?.weights) && g.weights.length > 0);
  return importKerasTopology(json, { ...options, kind: root.modelTopology ? 'tfjs-layers' : 'keras-json', hasWeights, name: options.name ?? projectName });
}

/** The first bytes of a file an importer sees (magic numbers: HDF5, zip, protobuf, '{'). */
const HEAD_BYTES = 512;

/** What importers detect a path by; ModelImportError when the path does not exist. */
export async function probePath(path: string): Promise<ImportProbe> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelImportError(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (isDirectory) return { path, isDirectory, entries: (await readdir(path)).sort(), head: new Uint8Array(0), ext: '' };
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return { path, isDirectory, entries: [], head: buf.subarray(0, bytesRead), ext: extname(path).toLowerCase() };
  } finally {
    await fh.close();
  }
}

/** The importers in detection order (formats.ts). */
export function importers(): ModelImporter[] {
  return MODEL_IMPORTERS;
}

/** The formats Layerforge reads, in words, for messages and usage text. */
export function supportedFormats(): string {
  const labels = [...new Set(importers().map((i) => i.label))];
  return labels.join(', ');
}

/** The importer that recognises `path` (the first that detects it), or a ModelImportError listing what is supported. */
export async function detectImporter(path: string): Promise<{ importer: ModelImporter; probe: ImportProbe }> {
  const probe = await probePath(path);
  for (const importer of importers()) {
    if (await importer.detect(probe)) return { importer, probe };
  }
  const what = probe.isDirectory ? `the folder ${path} holds no model Layerforge recognises` : `${path} is not a model file Layerforge recognises`;
  throw new ModelImportError(`${what}. Supported: ${supportedFormats()}`);
}

/** The graph's parameter total against the one the source states: a difference is a warning (a layer counted differently). */
function checkParams(result: ImportResult): ImportResult {
  if (result.sourceParams === undefined) return result;
  const params = analyzeGraph(result.project.graph).totals.params;
  if (params === result.sourceParams) return result;
  return { ...result, warnings: [...result.warnings, `the imported graph has ${params.toLocaleString('en-US')} parameters, the source states ${result.sourceParams.toLocaleString('en-US')}`] };
}

/**
 * Imports a path as a project: any registered format (Layerforge project or model folder, TensorFlow.js
 * model.json, Keras to_json() / .h5 / .keras, ONNX). Every layer / operator that cannot be mapped is named in
 * one ModelImportError.
 */
export async function importModelPath(path: string, options: ImportOptions = {}): Promise<ImportResult> {
  const { importer } = await detectImporter(path);
  return checkParams(await importer.read(path, options));
}

/**
 * Imports a path *with* its trained weights: the project plus a compiled model holding them, ready for
 * saveModelFolder (then evaluate, train further or export). A layer whose weights do not fit is named in the error.
 */
export async function importWithWeights(tf: typeof tfjs, path: string, options: ImportOptions = {}): Promise<{ result: ImportResult; folder: ModelFolder }> {
  const { importer } = await detectImporter(path);
  if (!importer.readWithWeights) throw new ModelImportError(`${path}: Layerforge reads the structure of a ${importer.label} but not its weights yet`);
  const { result, folder } = await importer.readWithWeights(tf, path, options);
  if (!result.hasWeights) {
    folder.model.dispose();
    throw new ModelImportError(`${path} has no trained weights (${importer.label} without weights)`);
  }
  return { result: checkParams(result), folder };
}

export interface ImportedFile {
  result: ImportResult;
  /** The importer that read it (its id is result.kind). */
  importer: ModelImporter;
  /** The weights, compiled into the imported graph's model (the caller saves and disposes it); null without weights. */
  folder: ModelFolder | null;
}

/**
 * What the engine's importModel and `layerforge import` do: recognise the path, read the structure, and read
 * the weights too where the file has them and they are wanted (`weights`: true demands them, false skips them,
 * undefined takes them when the file has some).
 */
export async function importModelFile(path: string, opts: ImportOptions & { weights?: boolean; tf?: () => Promise<typeof tfjs> } = {}): Promise<ImportedFile> {
  const { weights, tf, ...options } = opts;
  const { importer } = await detectImporter(path);
  const result = checkParams(await importer.read(path, options));
  if (weights === false || (!result.hasWeights && weights === undefined)) return { result, importer, folder: null };
  if (!result.hasWeights) throw new ModelImportError(`${path} has no trained weights to import (a ${importer.label} with its structure only): import it without weights`);
  if (!importer.readWithWeights) throw new ModelImportError(`${path}: Layerforge reads the structure of a ${importer.label} but not its weights yet: import it without weights`);
  if (!tf) throw new Error('importModelFile: weights need a tfjs (opts.tf)');
  const withWeights = await importer.readWithWeights(await tf(), path, options);
  return { result: checkParams(withWeights.result), importer, folder: withWeights.folder };
}
