import type { ProjectFile } from '../project';

/** Model formats the importer registry reads (main/engine/import/formats.ts). */
export const IMPORT_FORMATS = ['layerforge-project', 'layerforge-model-folder', 'tfjs-layers', 'keras-json', 'keras-h5', 'keras-v3', 'onnx'] as const;
export type ImportFormatId = (typeof IMPORT_FORMATS)[number];

/**
 * An input dimension the file leaves open (Keras `None` beyond the batch, an ONNX symbolic dim). The
 * import gives it a size: the one the user chose, or `value`'s default (shown, so the user can confirm it).
 */
export interface UnknownDimension {
  /** Stable key for ImportModelRequest.dims: `<input name>:<axis>` (axis counted without the batch). */
  key: string;
  /** The input (node) name. */
  input: string;
  /** Axis without the batch axis (0 = first). */
  axis: number;
  /** What the dimension is, in words: 'sequence length', 'height', 'width', 'features'. */
  label: string;
  /** The size used. */
  value: number;
  /** True when the user gave it (dims), false when it is the default. */
  chosen: boolean;
}

export interface ImportModelRequest {
  /** A file or folder on the engine's machine. */
  path: string;
  /** Sizes for unknown input dimensions, by UnknownDimension.key. */
  dims?: Record<string, number>;
  /**
   * Read the file's trained weights too (default true where it has any): they are saved as a model folder
   * and listed as a finished run, so the model can be evaluated, used and exported at once, and a project
   * can start training from them (TrainingSettings.initialWeights).
   */
  weights?: boolean;
  /**
   * A ready dataset to evaluate the imported weights on: the imported run is listed with it (so Results,
   * evaluate and predict work at once) and the project selects it. A dataset the model does not fit (input
   * size, classes) is not attached; a warning says why.
   */
  datasetId?: string;
}

export interface ImportedModel {
  project: ProjectFile;
  format: ImportFormatId;
  /** The format in words ('Keras 3 .keras archive'). */
  formatLabel: string;
  warnings: string[];
  /** Unknown input dimensions and the sizes given to them (empty when the file fixes every size). */
  assumed: UnknownDimension[];
  /** Trainable + non-trainable parameters of the imported graph. */
  params: number;
  /**
   * The imported weights: the run listing them and the model folder (what initialWeights names). Null when
   * the file has no weights or weights were not asked for.
   */
  weights: { runId: string; modelDir: string } | null;
}
