/**
 * Project files through the engine API: the types of listProjects / saveProject / openProject and the
 * rule for file names in the projects folder (`<data dir>/projects`). Shared so the renderer can check
 * a name before sending it; the engine checks it again (and the request schema a third time).
 */

/** Longest file name accepted in the projects folder (including `.json`). */
export const MAX_PROJECT_NAME = 120;
/** Longest project text accepted by saveProject (characters). */
export const MAX_PROJECT_TEXT = 32 * 2 ** 20;

// Control characters are exactly what these patterns refuse.
/* eslint-disable no-control-regex */
/** A project file name as the schema accepts it: no separators, no leading dot, no control or reserved characters, ends in .layerforge or .json. */
export const PROJECT_NAME_PATTERN = /^(?![.\s])(?!.*\.\.)[^\\/:*?"<>|\u0000-\u001f\u007f]{1,115}\.(json|layerforge)$/;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `name` cannot be a file name in the projects folder, or null when it can. */
export function projectNameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'the file name is empty';
  if (name.length > MAX_PROJECT_NAME) return `the file name is ${name.length} characters long; at most ${MAX_PROJECT_NAME} are allowed`;
  if (/[\\/]/.test(name)) return `"${name}" contains a path separator; give a file name only`;
  if (name.includes('..')) return `"${name}" contains ".."`;
  if (name.startsWith('.')) return `"${name}" starts with a dot`;
  if (/^\s|\s$/.test(name)) return `"${name}" starts or ends with a space`;
  if (/[:*?"<>|\u0000-\u001f\u007f]/.test(name)) return `"${name}" contains a character that is not allowed in file names (: * ? " < > | or a control character)`;
  if (!name.endsWith('.json') && !name.endsWith('.layerforge')) return `"${name}" does not end in .layerforge or .json`;
  if (WINDOWS_RESERVED.test(name.split('.')[0] ?? '')) return `"${name}" is a reserved device name on Windows`;
  if (!PROJECT_NAME_PATTERN.test(name)) return `"${name}" is not an allowed project file name`;
  return null;
}

/** A file name for a project title: `My Net` -> `My-Net.json` (separators and reserved characters replaced). */
export function projectFileNameFor(title: string): string {
  let base = title
    .trim()
    .replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, '-')
    .replace(/\s+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+/, '');
  if (base.toLowerCase().endsWith('.json')) base = base.slice(0, -5);
  base = base.slice(0, MAX_PROJECT_NAME - 5).replace(/[.\s]+$/, '');
  if (!base || WINDOWS_RESERVED.test(base)) base = base ? `${base}-project` : 'untitled';
  return `${base}.json`;
}

/* eslint-enable no-control-regex */

/** One project file, in the projects folder or a recent one elsewhere (desktop app only). */
export interface ProjectEntry {
  /** The file name (`my-net.json`). */
  name: string;
  /** Absolute path on the engine's machine. */
  path: string;
  /** True when the file is in the projects folder. */
  inFolder: boolean;
  bytes: number;
  /** ISO time of the last change. */
  modifiedAt: string;
  /** The project's name inside the file, when the file reads as a project. */
  title?: string;
  /** Number of layers, when the file reads as a project. */
  nodes?: number;
  /** Why the file cannot be opened (damaged, not a project, too big). */
  error?: string;
  /** `<name>.bak` exists beside it. */
  hasBackup?: boolean;
}

export interface ProjectList {
  /** The projects folder. */
  dir: string;
  /** Every `*.json` file in the projects folder, most recently changed first. */
  projects: ProjectEntry[];
  /** Projects recently saved or opened, most recent first (outside the folder only in the desktop app). */
  recent: ProjectEntry[];
  /** True when the engine can show native Save As / Open dialogs (desktop app). */
  nativeDialogs: boolean;
}

export interface SaveProjectRequest {
  /** The project file's text (it is validated; an invalid project is refused and nothing is written). */
  text: string;
  /** A file name in the projects folder (`my-net.json`). Give `name` or `path`, not both. */
  name?: string;
  /**
   * An absolute path: a file in the projects folder, or (desktop app) a file the user chose in a native
   * dialog or opened recently. Anything else is refused.
   */
  path?: string;
  /** Replace an existing file (Save of the current file, or Save As after the user confirmed). */
  overwrite?: boolean;
}

export interface SavedProject {
  path: string;
  name: string;
  inFolder: boolean;
  bytes: number;
  /** ISO time. */
  savedAt: string;
  /** Where the previous version is now (`<name>.bak`), when there was one. */
  backup?: string;
}

export interface OpenProjectRequest {
  name?: string;
  path?: string;
}

export interface OpenedProject {
  path: string;
  name: string;
  inFolder: boolean;
  /** The project file's text (validated, migrated to the current format). */
  text: string;
}

export interface SaveProjectAsRequest {
  text: string;
  /** The file name the dialog proposes. */
  suggestedName?: string;
}

/** `details` of a failed save or open (ApiError 'failed'). */
export interface ProjectErrorDetails {
  reason: 'exists' | 'unreadable' | 'io' | 'outside';
  path: string;
  backup?: string;
}

/** An autosave of unsaved work, kept by the engine under `<data dir>/recovery` (written atomically). */
export interface RecoveryItem {
  /** The window's autosave slot (`tab-<random>`). */
  key: string;
  /** The file the project belongs to, or null for a project never saved. */
  sourcePath: string | null;
  /** ISO time of the autosave. */
  savedAt: string;
  /** The project's name. */
  name: string;
  /** The project file's text. */
  text: string;
}

export interface RecoveryList {
  items: RecoveryItem[];
  /** Autosave files that could not be read (left in place), with why. */
  unreadable: { file: string; reason: string }[];
}

export interface SaveRecoveryRequest {
  key: string;
  text: string;
  sourcePath?: string | null;
}
