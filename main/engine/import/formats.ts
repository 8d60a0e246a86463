import type { ModelImporter } from './types';
import { layerforgeModelFolderImporter, layerforgeProjectImporter } from './layerforge';
import { kerasJsonImporter } from './keras/kerasJson';
import { tfjsLayersImporter } from './keras/tfjs';
import { kerasH5Importer, kerasV3Importer } from './hdf5';
import { onnxImporter } from './onnx';

/**
 * Every model format Layerforge imports, one module each under main/engine/import/ (as the exporters in
 * main/engine/export/). Detection tries them in this order; the first whose `detect` accepts the probe reads
 * the file. Adding a format: write its ModelImporter in its own folder and list it here.
 */
export const MODEL_IMPORTERS: ModelImporter[] = [
  // Our own files first: a model folder holds a model.json too.
  layerforgeModelFolderImporter,
  layerforgeProjectImporter,
  tfjsLayersImporter,
  kerasJsonImporter,
  kerasH5Importer,
  kerasV3Importer,
  onnxImporter,
  // (#15) the importers are listed here as their modules land: layerforge project / model folder,
  // tfjs-layers, keras-json, keras-h5, keras-v3, onnx.
];

export function getImporter(id: string): ModelImporter | undefined {
  return MODEL_IMPORTERS.find((f) => f.id === id);
}
