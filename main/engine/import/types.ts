import type * as tfjs from '@tensorflow/tfjs';
import type { ProjectFile } from '../../../shared/project';
import type { ImportFormatId, UnknownDimension } from '../../../shared/api/importModel';
import type { ModelFolder } from '../export/modelFolder';

export type { ImportFormatId, UnknownDimension } from '../../../shared/api/importModel';

/**
 * The importer registry's contract (main/engine/import/formats.ts lists the importers). Each format
 * (Layerforge project / model folder, TensorFlow.js model.json, Keras to_json(), Keras .h5, Keras 3
 * .keras, ONNX) is one module that turns a file or folder into the format-neutral graph (a project),
 * and, where the file carries weights, a compiled tfjs model holding them.
 */

/** Choices the user makes about an import (the app asks; the CLI takes flags). */
export interface ImportOptions {
  /**
   * Sizes for the inputs' unknown dimensions (Keras `None`, ONNX symbolic dims), keyed by
   * `UnknownDimension.key`. A dimension not given takes its `UnknownDimension.value` default.
   */
  dims?: Record<string, number>;
  /** The project's name (default: from the file or folder name). */
  name?: string;
}

export interface ImportResult {
  project: ProjectFile;
  /** The format found (the registry id). */
  kind: ImportFormatId;
  /** Behaviour changes worth telling the user (one line each, starting with the node name where there is one). */
  warnings: string[];
  /** True when the source carries trained weights the importer can read. */
  hasWeights: boolean;
  /** Original layer / node name -> node name, where they differ (names made valid / unique). */
  renamed: Record<string, string>;
  /** Unknown input dimensions and the size each one was given (from ImportOptions.dims or the default). */
  assumed: UnknownDimension[];
  /**
   * The parameter total the source states (the weights manifest / the weight arrays in the file), when
   * it states one; the import checks the graph's own total against it.
   */
  sourceParams?: number;
}

/** What an importer sees first: enough to recognise its format without reading a big file. */
export interface ImportProbe {
  /** The path as given. */
  path: string;
  isDirectory: boolean;
  /** A folder's entry names (empty for a file). */
  entries: string[];
  /** The first 512 bytes of a file (empty for a folder). */
  head: Uint8Array;
  /** Lower-case file extension with the dot ('.onnx', '.h5', '.keras', '.json'); '' for folders. */
  ext: string;
}

export interface ModelImporter {
  id: ImportFormatId;
  /** Shown to the user: 'TensorFlow.js layers model', 'Keras HDF5 (.h5)', 'ONNX', … */
  label: string;
  /** Cheap recognition from the probe (magic bytes, extension, folder entries). The first match wins. */
  detect(probe: ImportProbe): boolean | Promise<boolean>;
  /** The structure as a project. Every layer / operator it cannot map is named in one ModelImportError. */
  read(path: string, options: ImportOptions): Promise<ImportResult>;
  /**
   * The structure plus a compiled model holding the file's weights (only where `read` says hasWeights).
   * A layer whose weights do not fit is named in a ModelImportError.
   */
  readWithWeights?(tf: typeof tfjs, path: string, options: ImportOptions): Promise<{ result: ImportResult; folder: ModelFolder }>;
}
