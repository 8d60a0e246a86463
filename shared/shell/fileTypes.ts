/**
 * The files the desktop app opens (command line, file manager, macOS 'open-file', drop, Open Recent) and
 * what it does with each: a project opens, a model is imported, a dataset is imported, anything else gets
 * a notice saying why. Pure: the main process supplies what it read from the disk (folder entries, the
 * first bytes of a .json). Also the file associations the packager registers.
 */

/** The project file extension the desktop app registers (projects stay readable as .json too). */
export const PROJECT_EXTENSION = 'layerforge';

/**
 * File associations for the packager (electron-builder's `fileAssociations` entries): double-clicking a
 * `.layerforge` file opens it in Layerforge. `.json` is opened but never claimed: it belongs to editors.
 */
export const FILE_ASSOCIATIONS = [
  {
    ext: PROJECT_EXTENSION,
    name: 'Layerforge project',
    description: 'Layerforge project',
    mimeType: 'application/x-layerforge',
    role: 'Editor',
  },
] as const;

/** What the app does with a file it is asked to open. */
export type OpenTargetKind =
  /** A Layerforge project: opened in the editor. */
  | 'project'
  /** A TensorFlow.js / Keras model.json, or a folder holding one (or a Layerforge model folder): imported as a new project. */
  | 'model'
  /** A CSV/TSV table: the table import (preview, target column) opens with it. */
  | 'table'
  /** Image data: a folder of class sub-folders, a CIFAR-10 / MNIST folder or archive: imported as a dataset. */
  | 'images'
  /** Something the app cannot open (yet): `reason` says why and what to do instead. */
  | 'unsupported';

export interface OpenTarget {
  kind: OpenTargetKind;
  /** Absolute path on this machine. */
  path: string;
  /** For 'unsupported': one or two sentences for the notice. */
  reason?: string;
}

/** What the main process read about a path before classifying it. */
export interface PathFacts {
  exists: boolean;
  isDirectory: boolean;
  /** A folder's entry names (only for folders). */
  entries?: readonly string[];
  /** The first few KiB of a .json file (only for .json files not named model.json). */
  head?: string;
}

const baseName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;

/** The extension, lower case, with the two-part archive ones kept whole ('tar.gz'). */
export function extensionOf(path: string): string {
  const name = baseName(path).toLowerCase();
  const two = /\.(tar\.gz)$/.exec(name);
  if (two) return two[1]!;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

const ARCHIVES = new Set(['tar.gz', 'tgz', 'tar', 'gz']);
const TABLES = new Set(['csv', 'tsv']);
const IMAGES = new Set(['png', 'jpg', 'jpeg', 'gif', 'bmp', 'webp']);

/** Formats people will try, with what to do instead (the importers for them do not exist yet). */
const NOT_YET: Record<string, string> = {
  h5: 'Keras HDF5 models (.h5) cannot be imported yet. Convert it to a TensorFlow.js model.json first (tensorflowjs_converter --input_format keras model.h5 out/) and open out/model.json.',
  hdf5: 'Keras HDF5 models (.hdf5) cannot be imported yet. Convert it to a TensorFlow.js model.json first (tensorflowjs_converter --input_format keras model.hdf5 out/) and open out/model.json.',
  keras: 'Keras 3 model files (.keras) cannot be imported yet. Save the model as a TensorFlow.js model.json (tensorflowjs_converter) and open that.',
  onnx: 'ONNX models cannot be imported yet: Layerforge exports ONNX but reads TensorFlow.js and Keras model.json files only.',
  pt: 'PyTorch files cannot be imported: Layerforge exports PyTorch code but reads TensorFlow.js and Keras model.json files only.',
  pth: 'PyTorch files cannot be imported: Layerforge exports PyTorch code but reads TensorFlow.js and Keras model.json files only.',
};

/** Decides what opening `path` means. Never throws. */
export function classifyPath(path: string, facts: PathFacts): OpenTarget {
  const name = baseName(path);
  if (!facts.exists) return { kind: 'unsupported', path, reason: `${path} does not exist (was it moved or deleted?).` };
  if (facts.isDirectory) {
    const entries = new Set(facts.entries ?? []);
    if (entries.has('model.json') || entries.has('project.json')) return { kind: 'model', path };
    return { kind: 'images', path };
  }
  const ext = extensionOf(path);
  if (ext === PROJECT_EXTENSION) return { kind: 'project', path };
  if (ext === 'json') {
    if (name.toLowerCase() === 'model.json') return { kind: 'model', path };
    // A model.json saved under another name still says what it is in its first bytes.
    if (facts.head !== undefined && /"modelTopology"\s*:/.test(facts.head) && !/"format"\s*:\s*"layerforge-project"/.test(facts.head)) return { kind: 'model', path };
    return { kind: 'project', path };
  }
  if (TABLES.has(ext)) return { kind: 'table', path };
  if (ARCHIVES.has(ext)) return { kind: 'images', path };
  const notYet = NOT_YET[ext];
  if (notYet) return { kind: 'unsupported', path, reason: `${name}: ${notYet}` };
  if (IMAGES.has(ext)) return { kind: 'unsupported', path, reason: `${name} is a single image, not a dataset: open the folder that holds one sub-folder of images per class.` };
  return {
    kind: 'unsupported',
    path,
    reason: `${name} is not something Layerforge opens: it opens projects (.${PROJECT_EXTENSION}, .json), models (model.json or a model folder) and datasets (a CSV file, a folder of images).`,
  };
}
