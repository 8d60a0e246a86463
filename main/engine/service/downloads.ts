/**
 * What the engine offers for download in serve mode: a run's folder, or an export it made. Only paths the
 * engine itself produced: a run folder under its runs root (by run id), the files an exportModel call wrote
 * (by the opaque exportId it returned). The client never names a path.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, relative } from 'node:path';
import type { ExportResult } from '../../../shared/api/engine';
import { fileSlug } from '../../../shared/fileSlug';
import type { DownloadSource } from './ports';

/** A run's folder (run.json + model/) as `<name>-<date>-<time>-<hex>.zip`. */
export function runDownloadSource(run: { id: string; name: string }, runDir: string): DownloadSource {
  return { type: 'folder', root: runDir, fileName: `${fileSlug(run.name, 'run')}-${run.id.replace(/^run-/, '')}.zip` };
}

/** An export's files: the one file it wrote as itself, or every file it wrote as `<folder or file base>.zip`. */
export function exportDownloadSource(result: Pick<ExportResult, 'path' | 'files'>): DownloadSource {
  const { path, files } = result;
  if (files.length === 1 && files[0] === path) return { type: 'file', path, fileName: basename(path) };
  const inside = (root: string) => files.every((f) => { const r = relative(root, f); return r !== '' && !r.startsWith('..') && !isAbsolute(r); });
  // A folder format fills `path`; a file format with companions (ONNX of a table) writes beside `path`.
  const root = inside(path) ? path : dirname(path);
  if (!inside(root)) throw new Error(`the export's files are not all inside ${root}`);
  const base = inside(path) ? basename(path) : basename(path).replace(/\.[^.]+$/, '');
  return { type: 'files', root, files: [...files], fileName: `${base || 'export'}.zip` };
}

/** The exports this engine made, by opaque id (the last `max`, newest kept). */
export class ExportLog {
  private readonly byId = new Map<string, Pick<ExportResult, 'path' | 'files'>>();
  constructor(private readonly max = 50) {}

  remember(result: Pick<ExportResult, 'path' | 'files'>): string {
    const id = `export-${randomBytes(12).toString('hex')}`;
    this.byId.set(id, { path: result.path, files: [...result.files] });
    while (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value as string);
    return id;
  }

  get(id: string): Pick<ExportResult, 'path' | 'files'> | undefined {
    return this.byId.get(id);
  }
}
