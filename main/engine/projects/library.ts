/**
 * The projects the app saves and opens through the engine API. Confined on purpose: saveProject and
 * openProject reach only the projects folder (`<dataDir>/projects`, by file name or by a path in it), plus,
 * where the host lends native dialogs (the desktop app), files the user picked in such a dialog in this
 * session or opened/saved recently through one. A page served in serve mode therefore cannot write or
 * read any other path on the machine. Saves are atomic and keep `<name>.bak` (saveProjectFile); a file
 * that is not a readable project is never overwritten.
 */
import { lstat, mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ApiError } from '../../../shared/api/proxy';
import {
  projectNameProblem,
  type OpenedProject,
  type OpenProjectRequest,
  type ProjectEntry,
  type ProjectErrorDetails,
  type ProjectList,
  type RecoveryList,
  type SavedProject,
  type SaveProjectAsRequest,
  type SaveProjectRequest,
  type SaveRecoveryRequest,
} from '../../../shared/api/projects';
import { parseProjectText, ProjectFileError, serializeProject, type ProjectFile } from '../../../shared/project';
import { atomicWrite } from './atomic';
import { clearRecovery, listRecovery, writeRecovery } from './recovery';
import { backupPathFor, loadProjectFile, MAX_PROJECT_BYTES, ProjectLoadError, ProjectSaveError, saveProjectFile } from './projectFile';

/** Native file dialogs lent by the host (Electron's main process); the engine itself never imports electron. */
export interface ProjectDialogs {
  /** Asks where to save; an absolute path, or null when the user cancels. The dialog confirms replacing a file. */
  chooseSavePath(opts: { defaultPath: string }): Promise<string | null>;
  /** Asks which project file to open; an absolute path, or null when the user cancels. */
  chooseOpenPath(opts: { defaultPath: string }): Promise<string | null>;
  /** Asks for a data file to import (a CSV table, …); an absolute path, or null when the user cancels. */
  chooseDataPath?(opts: { title: string; extensions: string[] }): Promise<string | null>;
  /**
   * True for a file the user opened outside a dialog but just as deliberately: passed on the command line,
   * double-clicked in the file manager or dropped on the window (the host saw it; the page cannot name one).
   */
  isChosen?(path: string): boolean;
}

export interface ProjectLibraryOptions {
  dataDir: string;
  dialogs?: ProjectDialogs;
  /** Most recent projects remembered (default 12). */
  maxRecent?: number;
  now?: () => Date;
}

interface RecentRecord {
  path: string;
  at: string;
}

const RECENT_FORMAT = 'layerforge-recent-projects';

const failed = (message: string, details: ProjectErrorDetails) => new ApiError('failed', message, details);
const errText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class ProjectLibrary {
  /** The projects folder. */
  readonly dir: string;
  private readonly recentFile: string;
  /** Paths the user chose in a native dialog during this session. */
  private readonly granted = new Set<string>();
  private recentCache?: RecentRecord[];
  /** Serialises writes of the recent list. */
  private recentWrite: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ProjectLibraryOptions) {
    this.dir = resolve(opts.dataDir, 'projects');
    this.recentFile = resolve(opts.dataDir, 'recent-projects.json');
  }

  get nativeDialogs(): boolean {
    return this.opts.dialogs !== undefined;
  }

  // ---- where a request may go ---------------------------------------------------------------

  private checkName(name: string): string {
    const problem = projectNameProblem(name);
    if (problem) throw new ApiError('bad-request', `cannot use that project file name: ${problem}`);
    return join(this.dir, name);
  }

  private inFolder(path: string): boolean {
    return dirname(path) === this.dir && projectNameProblem(basename(path)) === null;
  }

  /** The file a save or open may touch, or an ApiError saying why not. */
  private async target(req: { name?: string; path?: string }): Promise<{ path: string; inFolder: boolean }> {
    if ((req.name === undefined) === (req.path === undefined)) throw new ApiError('bad-request', 'give either a file name in the projects folder or a path, not both and not neither');
    if (req.name !== undefined) return { path: this.checkName(req.name), inFolder: true };
    const raw = req.path!;
    if (!isAbsolute(raw) || raw.includes('\0')) throw new ApiError('bad-request', `"${raw.slice(0, 200)}" is not an absolute path`);
    const path = resolve(raw);
    if (this.inFolder(path)) return { path, inFolder: true };
    if (this.nativeDialogs && (this.granted.has(path) || this.opts.dialogs?.isChosen?.(path) || (await this.recent()).some((r) => r.path === path))) return { path, inFolder: false };
    throw failed(
      this.nativeDialogs
        ? `${path} is outside the projects folder (${this.dir}) and was not chosen in a Save As or Open dialog; use Save As to pick it`
        : `${path} is outside the projects folder (${this.dir}); in serve mode projects are saved and opened only there, by file name`,
      { reason: 'outside', path },
    );
  }

  /** A file in the projects folder must be a plain file there, not a link to somewhere else. */
  private async checkNotLink(path: string): Promise<void> {
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink()) throw failed(`${path} is a symbolic link; the projects folder accepts plain files only`, { reason: 'outside', path });
  }

  // ---- requests -----------------------------------------------------------------------------

  async save(req: SaveProjectRequest): Promise<SavedProject> {
    const { path, inFolder } = await this.target(req);
    let project: ProjectFile;
    try {
      project = parseProjectText(req.text, basename(path));
    } catch (error) {
      throw new ApiError('bad-request', `the project is not valid, so nothing was written to ${path}: ${errText(error)}`);
    }
    if (inFolder) await this.checkNotLink(path);
    const existing = await stat(path).catch(() => undefined);
    if (existing && !req.overwrite) {
      throw failed(`${path} already exists; choose another name or confirm that it should be replaced`, { reason: 'exists', path });
    }
    try {
      if (inFolder) await mkdir(this.dir, { recursive: true });
      const r = await saveProjectFile(path, project);
      // The path as asked (not the real path a symlinked data dir resolves to), so the next save by path is still "in the folder".
      const saved: SavedProject = { path, name: basename(path), inFolder, bytes: r.bytes, savedAt: this.now().toISOString(), ...(r.backup ? { backup: backupPathFor(path) } : {}) };
      await this.remember(path);
      return saved;
    } catch (error) {
      if (error instanceof ProjectSaveError) throw failed(error.message, { reason: error.reason === 'unreadable' ? 'unreadable' : 'io', path });
      if (error instanceof ApiError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw failed(`could not save ${path}: ${code ? `${code}: ` : ''}${errText(error).replace(/^\w+: /, '')}. The file on disk is unchanged.`, { reason: 'io', path });
    }
  }

  async open(req: OpenProjectRequest): Promise<OpenedProject> {
    const { path, inFolder } = await this.target(req);
    if (inFolder) await this.checkNotLink(path);
    if (!(await stat(path).catch(() => undefined))) throw new ApiError('not-found', `${path} does not exist (was it moved or deleted?)`, { reason: 'io', path });
    let project: ProjectFile;
    try {
      project = await loadProjectFile(path);
    } catch (error) {
      if (error instanceof ProjectLoadError) {
        throw failed(`could not open ${path}: ${error.message}`, { reason: 'unreadable', path, ...(error.backup ? { backup: error.backup } : {}) });
      }
      throw failed(`could not open ${path}: ${errText(error)}`, { reason: 'io', path });
    }
    await this.remember(path);
    return { path, name: basename(path), inFolder, text: serializeProject(project) };
  }

  async saveAs(req: SaveProjectAsRequest): Promise<SavedProject | null> {
    const dialogs = this.requireDialogs();
    try {
      parseProjectText(req.text, req.suggestedName ?? 'project');
    } catch (error) {
      throw new ApiError('bad-request', `the project is not valid, so it was not saved: ${errText(error)}`);
    }
    const chosen = await dialogs.chooseSavePath({ defaultPath: join(this.dir, req.suggestedName ?? 'untitled.json') });
    if (!chosen) return null;
    const path = this.grant(chosen);
    // The native dialog has already asked whether to replace an existing file.
    return this.save({ text: req.text, path, overwrite: true });
  }

  async openWithDialog(): Promise<OpenedProject | null> {
    const dialogs = this.requireDialogs();
    const chosen = await dialogs.chooseOpenPath({ defaultPath: this.dir });
    if (!chosen) return null;
    return this.open({ path: this.grant(chosen) });
  }

  async list(): Promise<ProjectList> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      // no projects folder yet
    }
    const projects: ProjectEntry[] = [];
    for (const name of names) {
      if (projectNameProblem(name) !== null) continue; // .bak, temp files, anything not ours
      const e = await this.entry(join(this.dir, name), true, new Set(names));
      if (e) projects.push(e);
    }
    projects.sort((a, b) => (a.modifiedAt < b.modifiedAt ? 1 : a.modifiedAt > b.modifiedAt ? -1 : a.name.localeCompare(b.name)));
    const recent: ProjectEntry[] = [];
    for (const r of await this.recent()) {
      const inFolder = this.inFolder(r.path);
      if (!inFolder && !this.nativeDialogs) continue;
      const e = await this.entry(r.path, inFolder);
      if (e) recent.push(e);
    }
    return { dir: this.dir, projects, recent, nativeDialogs: this.nativeDialogs };
  }

  // ---- autosave recovery ----------------------------------------------------------------------

  private get recoveryOpts() {
    return { dir: resolve(this.opts.dataDir, 'recovery') };
  }

  async saveRecovery(req: SaveRecoveryRequest): Promise<void> {
    let project: ProjectFile;
    try {
      project = parseProjectText(req.text, `autosave ${req.key}`);
    } catch (error) {
      throw new ApiError('bad-request', `the autosave is not a valid project: ${errText(error)}`);
    }
    // sourcePath is only recorded (saving to it later goes through the checks of save()).
    await writeRecovery(req.key, project, { ...this.recoveryOpts, sourcePath: req.sourcePath ?? null, now: this.now() });
  }

  async listRecovery(): Promise<RecoveryList> {
    const { entries, unreadable } = await listRecovery(this.recoveryOpts);
    return {
      items: entries.map((e) => ({ key: e.key, sourcePath: e.sourcePath, savedAt: e.savedAt, name: e.project.name, text: serializeProject(e.project) })),
      unreadable,
    };
  }

  async discardRecovery({ key }: { key: string }): Promise<void> {
    await clearRecovery(key, this.recoveryOpts);
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Desktop app: a native Open dialog for a data file to import; null when cancelled. */
  async chooseDataFile(kind: 'table'): Promise<string | null> {
    const dialogs = this.requireDialogs();
    if (!dialogs.chooseDataPath) throw new ApiError('failed', 'this desktop build has no data file dialog');
    return dialogs.chooseDataPath(kind === 'table' ? { title: 'Import a table (CSV)', extensions: ['csv', 'tsv', 'txt'] } : { title: 'Import data', extensions: ['*'] });
  }

  private requireDialogs(): ProjectDialogs {
    if (!this.opts.dialogs) {
      throw new ApiError('failed', `native file dialogs exist only in the desktop app; here projects are saved by name in ${this.dir}`);
    }
    return this.opts.dialogs;
  }

  private grant(chosen: string): string {
    if (!isAbsolute(chosen)) throw new ApiError('failed', `the dialog returned a relative path (${chosen.slice(0, 200)})`);
    const path = resolve(chosen);
    this.granted.add(path);
    return path;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  /** Describes one file, or undefined when it is gone or not a plain file. */
  private async entry(path: string, inFolder: boolean, siblings?: Set<string>): Promise<ProjectEntry | undefined> {
    const st = await (inFolder ? lstat(path) : stat(path)).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    const name = basename(path);
    const hasBackup = siblings ? siblings.has(basename(backupPathFor(path))) : (await stat(backupPathFor(path)).catch(() => undefined)) !== undefined;
    const e: ProjectEntry = { name, path, inFolder, bytes: st.size, modifiedAt: st.mtime.toISOString(), ...(hasBackup ? { hasBackup } : {}) };
    if (st.size > MAX_PROJECT_BYTES) return { ...e, error: `it is ${st.size} bytes, over the ${MAX_PROJECT_BYTES}-byte limit` };
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path));
      const p = parseProjectText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, name);
      return { ...e, title: p.name, nodes: p.graph.nodes.length };
    } catch (error) {
      const why = error instanceof ProjectFileError ? error.message : error instanceof TypeError ? 'it is not UTF-8 text' : errText(error);
      return { ...e, error: st.size === 0 ? 'it is empty (0 bytes)' : why };
    }
  }

  private async recent(): Promise<RecentRecord[]> {
    if (this.recentCache) return this.recentCache;
    let list: RecentRecord[] = [];
    try {
      const raw = JSON.parse(await readFile(this.recentFile, 'utf8')) as { format?: unknown; items?: unknown };
      if (raw && raw.format === RECENT_FORMAT && Array.isArray(raw.items)) {
        list = raw.items
          .filter((r): r is RecentRecord => !!r && typeof (r as RecentRecord).path === 'string' && typeof (r as RecentRecord).at === 'string' && isAbsolute((r as RecentRecord).path))
          .map((r) => ({ path: resolve(r.path), at: r.at }));
      }
    } catch {
      // none yet, or damaged: start a new list
    }
    this.recentCache = list;
    return list;
  }

  private async remember(path: string): Promise<void> {
    const resolved = resolve(path);
    const real = await realpath(resolved).catch(() => resolved);
    const list = [{ path: resolved, at: this.now().toISOString() }, ...(await this.recent()).filter((r) => r.path !== resolved && r.path !== real)].slice(0, this.opts.maxRecent ?? 12);
    this.recentCache = list;
    const write = this.recentWrite.then(async () => {
      await mkdir(dirname(this.recentFile), { recursive: true });
      await atomicWrite(this.recentFile, `${JSON.stringify({ format: RECENT_FORMAT, version: 1, items: list }, null, 1)}\n`);
    });
    // The recent list is a convenience: a failure to write it never fails the save or open.
    this.recentWrite = write.catch(() => {});
    await this.recentWrite;
  }
}
