/**
 * Project files on disk for the desktop app: saves are atomic and keep the previous version as
 * `<name>.bak`; loads report a corrupt file clearly and never write to it.
 */
import { readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseProjectText, ProjectFileError, serializeProject, type ProjectFile } from '../../../shared/project';
import { atomicCopy, fsyncDir, removeStaleTemps, writeTempFile } from './atomic';

/** Largest project file we read (a 20,000-node graph is a few MB). */
export const MAX_PROJECT_BYTES = 64 * 2 ** 20;

/** A project file that cannot be opened; says where the last good backup is, when there is one. */
export class ProjectLoadError extends ProjectFileError {
  constructor(
    message: string,
    readonly path: string,
    /** `<path>.bak` when it exists and parses as a project. */
    readonly backup?: string,
    cause?: ProjectFileError,
  ) {
    super(message, cause?.issues ?? []);
    this.name = 'ProjectLoadError';
  }
}

export const backupPathFor = (path: string) => `${path}.bak`;

export interface SaveResult {
  /** The file written (symlinks followed). */
  path: string;
  bytes: number;
  /** Where the previous version now is (`<name>.bak`), when there was one. */
  backup?: string;
  /** When the file replaced was not a readable project, its bytes were kept here instead of in .bak. */
  preserved?: string;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Why the file at `path` is not a readable project, or null when it is one. */
export async function unreadableReason(path: string): Promise<string | null> {
  try {
    const st = await stat(path);
    if (st.size > MAX_PROJECT_BYTES) return `it is ${st.size} bytes, over the ${MAX_PROJECT_BYTES}-byte limit`;
    const buf = await readFile(path);
    if (buf.length === 0) return 'it is empty (0 bytes)';
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      return 'it is not UTF-8 text';
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    parseProjectText(text, basename(path));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function readsAsProject(path: string): Promise<boolean> {
  return (await unreadableReason(path)) === null;
}

/** A save that was refused because the file it would replace is not a readable project. */
export class ProjectSaveError extends ProjectFileError {
  constructor(
    message: string,
    readonly path: string,
    readonly reason: 'unreadable' | 'not-a-file',
  ) {
    super(message, []);
    this.name = 'ProjectSaveError';
  }
}

export interface SaveOptions {
  /**
   * What to do when the file to replace is not a readable project (damaged, not JSON, another kind of
   * file): 'refuse' (the default) throws a ProjectSaveError and writes nothing; 'preserve' keeps its
   * bytes as `<name>.unreadable-<time>` and saves.
   */
  ifUnreadable?: 'refuse' | 'preserve';
}

/**
 * Saves `project` to `path` atomically. The project is validated first (an invalid one is refused with a
 * ProjectFileError and nothing is written). The previous file, when it was a readable project, becomes
 * `<name>.bak`. A file that is not a readable project is never overwritten: by default the save is
 * refused (ProjectSaveError naming the file and what is wrong with it); with `ifUnreadable: 'preserve'`
 * its bytes are kept as `<name>.unreadable-<time>` first.
 * A crash at any moment leaves `path` holding either the complete old or the complete new project.
 */
export async function saveProjectFile(path: string, project: ProjectFile, options: SaveOptions = {}): Promise<SaveResult> {
  const text = serializeProject(project);
  // Round-trip check: never write something loadProjectFile would refuse.
  parseProjectText(text, basename(path));

  const existing = await statOrUndefined(path);
  if (existing && !existing.isFile()) throw new ProjectSaveError(`${path} exists and is not a file; choose another name`, path, 'not-a-file');
  const target = existing ? await realpath(path) : path;
  const unreadable = existing ? await unreadableReason(target) : null;
  if (unreadable !== null && (options.ifUnreadable ?? 'refuse') === 'refuse') {
    throw new ProjectSaveError(
      `${path} was not overwritten: it is not a readable Layerforge project (${unreadable.replace(/\.$/, '')}). Save under another name, or move that file away first.`,
      path,
      'unreadable',
    );
  }
  await removeStaleTemps(target);
  await removeStaleTemps(backupPathFor(target));
  const tmp = await writeTempFile(target, text, existing ? existing.mode & 0o777 : 0o644);
  const result: SaveResult = { path: target, bytes: Buffer.byteLength(text) };
  try {
    if (existing) {
      if (unreadable === null) {
        result.backup = backupPathFor(target);
        await atomicCopy(target, result.backup);
      } else {
        result.preserved = `${target}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await atomicCopy(target, result.preserved);
      }
    }
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDir(dirname(target));
  return result;
}

async function loadError(path: string, message: string, cause?: ProjectFileError): Promise<ProjectLoadError> {
  const bak = backupPathFor(path);
  const backup = (await readsAsProject(bak)) ? bak : undefined;
  const hint = backup ? ` The previous save is in ${basename(bak)}; open it instead.` : '';
  return new ProjectLoadError(`${message}${hint} The file was left unchanged.`, path, backup, cause);
}

/**
 * Reads and validates a project file. Anything wrong (missing, empty, too big, not UTF-8, not JSON, not a
 * valid project) throws a ProjectLoadError naming the file and the problem; the file is never written.
 */
export async function loadProjectFile(path: string): Promise<ProjectFile> {
  let st;
  try {
    st = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ProjectLoadError(code === 'ENOENT' ? `${path} does not exist` : `cannot open ${path} (${code ?? String(error)})`, path);
  }
  if (!st.isFile()) throw new ProjectLoadError(`${path} is not a file`, path);
  if (st.size === 0) throw await loadError(path, `${path} is empty (0 bytes): it is not a Layerforge project.`);
  if (st.size > MAX_PROJECT_BYTES) {
    throw new ProjectLoadError(`${path} is ${st.size} bytes; project files are at most ${MAX_PROJECT_BYTES} bytes`, path);
  }
  const buf = await readFile(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw await loadError(path, `${path} is not UTF-8 text: it is not a Layerforge project (or it is damaged).`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return parseProjectText(text, path);
  } catch (error) {
    if (error instanceof ProjectFileError) throw await loadError(path, error.message.endsWith('.') ? error.message : `${error.message}.`, error);
    throw error;
  }
}

