import { ModelImportError } from '../errors';
import { keras2WeightRefs, keras3WeightRefs, type WeightRef } from './kerasWeights';
import { H5Reader, type H5Array } from './reader';

/**
 * Everything the Keras importers read from an HDF5 file, in one call that returns plain data: the model
 * config (Keras 2 .h5: its model_config attribute), where each layer's weights are, and (when asked) the
 * weight arrays. It runs in a worker thread (readWorker.ts, driven by remote.ts), so that a damaged file on
 * which the HDF5 library loops forever can be stopped; it imports neither tfjs nor the converter.
 */

type Json = Record<string, unknown>;

export type ReadRequest =
  /** A Keras 2 `model.save('m.h5')` file: model_config, model_weights/… */
  | { format: 'keras-h5'; path: string; values: boolean; label?: string }
  /** The model.weights.h5 of a Keras 3 archive, laid out after `config` (its parsed config.json). `label`: the file as the user knows it. */
  | { format: 'keras-v3'; path: string; config: unknown; values: boolean; label?: string };

export interface ReadReply {
  /** keras-h5: the model config from the model_config attribute (keras-v3: the request's own). */
  config: Json;
  /** keras-h5: the keras_version attribute. */
  kerasVersion?: string;
  /** Keras layer name -> its weights, in Keras' order (a WeightRefs map as entries). */
  refs: [string, WeightRef[]][];
  /** Dataset path -> its values, for every weight in `refs` (empty unless the request asked for values). */
  arrays: [string, H5Array][];
}

/** Messages to and from the reader's worker thread (readWorker.ts). */
export type ToReader = { id: number; request: ReadRequest };
export type FromReader =
  | { type: 'ready' }
  /** What the worker printed (h5wasm's 'Aborted(…)' on some damaged files), sent as it is printed. */
  | { type: 'output'; text: string }
  | { type: 'reply'; id: number; ok: true; value: ReadReply }
  | { type: 'reply'; id: number; ok: false; error: { name: string; message: string; layers?: ModelImportError['layers'] } };

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ModelImportError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function checkConfig(config: unknown, what: string): Json {
  if (!config || typeof config !== 'object' || Array.isArray(config) || typeof (config as Json).class_name !== 'string') {
    throw new ModelImportError(`${what} is not a Keras model config (an object with class_name and config)`);
  }
  return config as Json;
}

const WEIGHTS_ONLY =
  'holds weights only (model.save_weights), without the model structure Layerforge needs: save the whole model with model.save("model.h5") or model.save("model.keras"), or import its model.json / to_json() output';

function readValues(reader: H5Reader, refs: [string, WeightRef[]][]): [string, H5Array][] {
  const arrays: [string, H5Array][] = [];
  for (const [, list] of refs) for (const ref of list) arrays.push([ref.path, reader.read(ref.path)]);
  return arrays;
}

/** Reads what `request` asks for; any failure of the file is a ModelImportError. Runs synchronously once h5wasm is loaded. */
export async function readKerasHdf5(request: ReadRequest): Promise<ReadReply> {
  const { path } = request;
  const reader = await H5Reader.open(path);
  try {
    if (request.format === 'keras-v3') {
      const config = checkConfig(request.config, `${path}: config.json`);
      const refs = [...keras3WeightRefs(reader, config)];
      return { config, refs, arrays: request.values ? readValues(reader, refs) : [] };
    }
    const text = reader.attrString('', 'model_config');
    if (text === undefined) {
      const keys = reader.keys('');
      const weightsOnly = reader.attr('', 'layer_names') !== undefined || keys.includes('layers') || keys.includes('_layer_checkpoint_dependencies') || keys.includes('vars');
      throw new ModelImportError(weightsOnly ? `${path} ${WEIGHTS_ONLY}` : `${path} is an HDF5 file without a Keras model_config attribute: not a Keras model saved with model.save()`);
    }
    const config = checkConfig(parseJson(text, `${path}: the model_config attribute`), `${path}: the model_config attribute`);
    const refs = reader.isGroup('model_weights') ? [...keras2WeightRefs(reader, config)] : [];
    const kerasVersion = reader.attrString('', 'keras_version');
    return { config, ...(kerasVersion !== undefined ? { kerasVersion } : {}), refs, arrays: request.values ? readValues(reader, refs) : [] };
  } finally {
    reader.close();
  }
}
