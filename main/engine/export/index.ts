import { keras } from './keras';
import { onnxFormat } from './onnx';
import { pytorchFormat } from './pytorch';
import { pytorchTrainFormat } from './pytorch/train';
import { tfjsFormat } from './tfjs';
import type { ExportFormat } from './types';

/** Every export format, one folder each under main/engine/export/. */
export const EXPORT_FORMATS: readonly ExportFormat[] = [tfjsFormat, onnxFormat, pytorchFormat, keras];

/**
 * Bundles that train rather than run a model: they need the dataset and a data folder too (so they are not
 * ExportFormats). `layerforge export … --format pytorch-train`.
 */
export const TRAINING_BUNDLE_FORMATS = [pytorchTrainFormat] as const;

export function getExportFormat(id: string): ExportFormat | undefined {
  return EXPORT_FORMATS.find((f) => f.id === id);
}

export type { ExportFormat, ExportResult } from './types';
export { UnsupportedLayersError } from './exportGraph';
export { loadModelFolder, saveModelFolder, type ModelFolder } from './modelFolder';
