/**
 * Autosave recovery: while a document has unsaved changes the app writes it (atomically) to
 * `<dataDir>/recovery/<hash of key>.json`; a clean save or close clears it. After a crash or a killed
 * app, the next start lists what is there and offers to restore it. `key` identifies the document: its
 * file path, or an id such as `untitled-1` for a project never saved.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProject, ProjectFileError, type ProjectFile } from '../../../shared/project';
import { dataDir } from '../datasets/cache';
import { atomicWrite, removeStaleTemps } from './atomic';
import { MAX_PROJECT_BYTES } from './projectFile';

export const RECOVERY_FORMAT = 'layerforge-recovery';

export interface RecoveryEntry {
  key: string;
  /** The project file this autosave belongs to, or null for a project never saved. */
  sourcePath: string | null;
  /** ISO time of the autosave. */
  savedAt: string;
  project: ProjectFile;
  /** The recovery file itself. */
  file: string;
}

export interface RecoveryOptions {
  /** Folder of the recovery files (default `<dataDir>/recovery`). */
  dir?: string;
}

export const recoveryDir = (opts: RecoveryOptions = {}) => opts.dir ?? join(dataDir(), 'recovery');

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 4096) {
    throw new ProjectFileError(`recovery key must be a non-empty string of at most 4096 characters`);
  }
}

/** The recovery file of a key (a hash, so any path or id makes a safe file name). */
export function recoveryFile(key: string, opts: RecoveryOptions = {}): string {
  checkKey(key);
  return join(recoveryDir(opts), `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

/** Writes (replaces) the autosave of `key` atomically; returns the file written. */
export async function writeRecovery(
  key: string,
  project: ProjectFile,
  opts: RecoveryOptions & { sourcePath?: string | null; now?: Date } = {},
): Promise<string> {
  const file = recoveryFile(key, opts);
  // Validate what we store, so a recovery never restores something unreadable.
  const checked = parseProject(JSON.parse(JSON.stringify(project)) as unknown, `autosave of ${key}`);
  const body = { format: RECOVERY_FORMAT, version: 1, key, sourcePath: opts.sourcePath ?? null, savedAt: (opts.now ?? new Date()).toISOString(), project: checked };
  await mkdir(recoveryDir(opts), { recursive: true });
  await removeStaleTemps(file);
  await atomicWrite(file, `${JSON.stringify(body)}\n`);
  return file;
}

function parseRecovery(text: string, file: string): RecoveryEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ProjectFileError(`recovery file ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const r = raw as Record<string, unknown> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r) || r.format !== RECOVERY_FORMAT || r.version !== 1) {
    throw new ProjectFileError(`${file} is not a Layerforge recovery file`);
  }
  if (typeof r.key !== 'string' || typeof r.savedAt !== 'string' || (r.sourcePath !== null && typeof r.sourcePath !== 'string')) {
    throw new ProjectFileError(`recovery file ${file}: key, savedAt or sourcePath is missing or of the wrong type`);
  }
  return { key: r.key, sourcePath: r.sourcePath as string | null, savedAt: r.savedAt, project: parseProject(r.project, `recovery file ${file}`), file };
}

async function readEntry(file: string): Promise<RecoveryEntry | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (buf.length > MAX_PROJECT_BYTES) throw new ProjectFileError(`recovery file ${file} is too big (${buf.length} bytes)`);
  return parseRecovery(buf.toString('utf8'), file);
}

/**
 * The autosave of `key`, or undefined when there is none. A damaged recovery file throws a
 * ProjectFileError and is left in place (clearRecovery removes it).
 */
export async function readRecovery(key: string, opts: RecoveryOptions = {}): Promise<RecoveryEntry | undefined> {
  const entry = await readEntry(recoveryFile(key, opts));
  if (entry && entry.key !== key) return undefined; // a hash collision: not ours
  return entry;
}

/** Every autosave in the folder (newest first), plus the files that could not be read, with why. */
export async function listRecovery(opts: RecoveryOptions = {}): Promise<{ entries: RecoveryEntry[]; unreadable: { file: string; reason: string }[] }> {
  const dir = recoveryDir(opts);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { entries: [], unreadable: [] };
  }
  const entries: RecoveryEntry[] = [];
  const unreadable: { file: string; reason: string }[] = [];
  for (const name of names.filter((n) => /^[0-9a-f]{32}\.json$/.test(n)).sort()) {
    const file = join(dir, name);
    try {
      const e = await readEntry(file);
      if (e) entries.push(e);
    } catch (error) {
      unreadable.push({ file, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  entries.sort((a, b) => (a.savedAt < b.savedAt ? 1 : a.savedAt > b.savedAt ? -1 : 0));
  return { entries, unreadable };
}

/** Removes the autosave of `key` (after a clean save, or when the user discards it). */
export async function clearRecovery(key: string, opts: RecoveryOptions = {}): Promise<void> {
  await rm(recoveryFile(key, opts), { force: true });
}
