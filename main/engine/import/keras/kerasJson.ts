/**
 * Keras `model.to_json()` output (Keras 2 and Keras 3, Sequential and Functional; also a Keras 3 `.keras`
 * archive's config.json once unpacked, and a Sequential's bare layer list): the structure only, no weights.
 */
import { ModelImportError } from '../errors';
import type { ImportProbe, ModelImporter } from '../types';
import { nameFromPath, readJsonFile } from './tfjs';
import { importKerasTopology } from './topology';

const KERAS_HEAD = /"class_name"\s*:\s*"(Sequential|Functional|Model)"|"keras_version"\s*:|"model_config"\s*:|^\s*\[\s*\{\s*"class_name"\s*:/;

export const kerasJsonImporter: ModelImporter = {
  id: 'keras-json',
  label: 'Keras model JSON (to_json)',
  detect(probe: ImportProbe) {
    if (probe.isDirectory || probe.ext !== '.json') return false;
    const head = new TextDecoder().decode(probe.head);
    return !/"modelTopology"\s*:/.test(head) && (KERAS_HEAD.test(head) || /"class_name"\s*:/.test(head));
  },
  async read(path, options) {
    const json = await readJsonFile(path);
    if (json && typeof json === 'object' && !Array.isArray(json) && 'modelTopology' in json) {
      throw new ModelImportError(`${path} is a TensorFlow.js model.json (it has a modelTopology): import it as a TensorFlow.js layers model`);
    }
    return importKerasTopology(json, { ...options, kind: 'keras-json', hasWeights: false, name: options.name ?? nameFromPath(path) });
  },
};
