/**
 * Crash-safe file replacement: the new content goes to a temporary file in the same folder, is flushed
 * (fsync) and then renamed over the target, and the folder is flushed so the rename itself survives a
 * power loss. At every instant the target is either the complete old file or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Prefix of our temporary files beside a target: `.<name>.tmp-<pid>-<random>`. */
export const tempPrefix = (target: string) => `.${basename(target)}.tmp-`;

export function tempPathFor(target: string): string {
  return join(dirname(target), `${tempPrefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Flushes a folder's entries (the renames in it). A no-op where folders cannot be opened (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory; the data files themselves were synced
  } finally {
    await fh.close();
  }
}

/** Writes `data` to a new temporary file beside `target`, fsyncs and closes it; returns its path. */
export async function writeTempFile(target: string, data: string | Uint8Array, mode?: number): Promise<string> {
  const tmp = tempPathFor(target);
  const fh = await open(tmp, 'wx', mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (error) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
  await fh.close();
  return tmp;
}

/**
 * Makes `copy` an exact, flushed copy of `source`, atomically (a reader of `copy` never sees half a
 * file). Uses a hard link where the file system allows, else a byte copy.
 */
export async function atomicCopy(source: string, copy: string): Promise<void> {
  const tmp = tempPathFor(copy);
  try {
    try {
      await link(source, tmp);
    } catch {
      await copyFile(source, tmp);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await rename(tmp, copy);
    // When `copy` already was a hard link to `source` (a save killed between making the backup link and
    // replacing the target leaves them so), rename(2) of one link onto another link of the same file
    // succeeds and does nothing: the temporary link would stay. Remove it (a no-op after a real rename).
    await rm(tmp, { force: true });
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Writes `data` to `target` atomically (temp file + fsync + rename + fsync of the folder). */
export async function atomicWrite(target: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const tmp = await writeTempFile(target, data, mode);
  try {
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDir(dirname(target));
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files a crashed save left beside `target` (only those whose writing process is gone,
 * so a concurrent save in another process is never disturbed). Returns the paths removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(target);
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || processAlive(pid)) continue;
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile()) continue;
    await rm(p, { force: true });
    removed.push(p);
  }
  return removed;
}
