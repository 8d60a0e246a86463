/**
 * Files the desktop app is asked to open, from wherever they come: the command line (first launch),
 * a second launch (single-instance lock: the running app opens its file), macOS 'open-file' (double-click
 * in Finder, also before the app is ready), a drop on the window and Open Recent. Each path is looked at
 * on disk, classified (shared/shell/fileTypes.ts), vouched for when it is a project (so the engine opens
 * it though no dialog picked it) and handed to the renderer; the renderer's 'openFile' action does the
 * rest. Electron pieces are passed in, so all of it is unit-tested without Electron.
 */
import type { App } from 'electron';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyPath, extensionOf, type OpenTarget, type PathFacts } from '../shared/shell/fileTypes';
import { fileBaseName } from '../shared/shell/document';
import type { RecentItem } from './menu';

/** Bytes of a .json file read to tell a model.json under another name from a project. */
const HEAD_BYTES = 4096;
const MAX_LAUNCH_FILES = 16;

/**
 * The files named on a command line. `defaultApp` (process.defaultApp: started as `electron <app dir>`)
 * means argv[1] is the app, not a file. Chromium switches (--no-sandbox, --inspect=…) are skipped and
 * relative paths are resolved against `cwd` (a second launch's own working directory).
 */
export function filesFromArgv(argv: readonly string[], opts: { defaultApp: boolean; cwd: string }): string[] {
  const args = argv.slice(opts.defaultApp ? 2 : 1);
  const files: string[] = [];
  for (const a of args) {
    if (!a || a.startsWith('-')) continue;
    // Linux file managers may pass file:// URLs (a .desktop file's %U); other URLs are not files.
    if (/^file:\/\//i.test(a)) {
      try {
        files.push(fileURLToPath(a));
      } catch {
        // a file URL of another host: not ours to open
      }
      continue;
    }
    if (/^[a-z][a-z0-9+.-]+:\/\//i.test(a)) continue;
    files.push(isAbsolute(a) ? resolve(a) : resolve(opts.cwd, a));
    if (files.length >= MAX_LAUNCH_FILES) break;
  }
  return files;
}

export interface DocumentFs {
  stat(path: string): Promise<{ isDirectory(): boolean; isFile(): boolean } | null>;
  readdir(path: string): Promise<string[]>;
  /** The first `bytes` bytes of a file as text. */
  readHead(path: string, bytes: number): Promise<string>;
}

export const nodeDocumentFs: DocumentFs = {
  stat: (path) => stat(path).catch(() => null),
  readdir: (path) => readdir(path).catch(() => []),
  async readHead(path, bytes) {
    const fh = await openFile(path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  },
};

/** What the disk says about a path, for classifyPath. */
export async function pathFacts(path: string, fs: DocumentFs = nodeDocumentFs): Promise<PathFacts> {
  const st = await fs.stat(path);
  if (!st) return { exists: false, isDirectory: false };
  if (st.isDirectory()) return { exists: true, isDirectory: true, entries: await fs.readdir(path) };
  const facts: PathFacts = { exists: true, isDirectory: false };
  if (extensionOf(path) === 'json' && fileBaseName(path).toLowerCase() !== 'model.json') {
    facts.head = await fs.readHead(path, HEAD_BYTES).catch(() => '');
  }
  return facts;
}

export interface DocumentOpenerOptions {
  fs?: DocumentFs;
  /** Lets the engine open this project though no dialog picked it (main/projectDialogs.ts). */
  vouch(path: string): void;
  /** Hands a classified file to the renderer (queued by the shell until the page is ready). */
  deliver(target: OpenTarget): void;
}

/** Opens paths one after another, in the order given (a drop of three files gives three, in order). */
export function createDocumentOpener(o: DocumentOpenerOptions): { open(paths: readonly string[]): Promise<OpenTarget[]> } {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    open(paths) {
      const run = async () => {
        const out: OpenTarget[] = [];
        for (const raw of paths) {
          if (!isAbsolute(raw) || raw.includes('\0')) continue;
          const path = resolve(raw);
          const target = classifyPath(path, await pathFacts(path, o.fs));
          if (target.kind === 'project') o.vouch(path);
          o.deliver(target);
          out.push(target);
        }
        return out;
      };
      const r = queue.then(run, run);
      queue = r.catch(() => {});
      return r;
    },
  };
}

/** The files of a second launch: what it sent as additionalData, else its argv (Chromium may have added switches). */
export function secondInstanceFiles(argv: readonly string[], cwd: string, additionalData: unknown, defaultApp: boolean): string[] {
  const sent = (additionalData as { files?: unknown } | null | undefined)?.files;
  if (Array.isArray(sent) && sent.every((f) => typeof f === 'string' && isAbsolute(f))) return (sent as string[]).slice(0, MAX_LAUNCH_FILES);
  return filesFromArgv(argv, { defaultApp, cwd });
}

/**
 * Takes the single-instance lock, sending this launch's files along. False: another instance runs and
 * has been handed the files; this one quits. True: this is the instance; a later launch calls
 * `onSecondInstance` with its files (the caller opens them and focuses the window).
 */
export function claimSingleInstance(
  app: Pick<App, 'requestSingleInstanceLock' | 'quit' | 'on'>,
  opts: { files: readonly string[]; defaultApp: boolean; onSecondInstance(files: string[]): void },
): boolean {
  if (!app.requestSingleInstanceLock({ files: [...opts.files] })) {
    app.quit();
    return false;
  }
  app.on('second-instance', (_event, argv, workingDirectory, additionalData) => {
    opts.onSecondInstance(secondInstanceFiles(argv, workingDirectory, additionalData, opts.defaultApp));
  });
  return true;
}

/**
 * macOS 'open-file' (Finder double-click, Dock drop): may come before 'ready', even before the window
 * exists; the opener's deliveries are queued by the shell until the page is ready, so it is used at once.
 * Must be registered before 'ready' (main/index.ts does it at load).
 */
export function listenOpenFile(app: Pick<App, 'on'>, open: (paths: string[]) => void): void {
  app.on('open-file', (event, path) => {
    event.preventDefault();
    open([path]);
  });
}

/** A window to bring to the front for a second launch. */
export function focusWindow(win: { isMinimized(): boolean; restore(): void; show(): void; focus(): void } | null | undefined): void {
  if (!win) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

// ---- recent projects ------------------------------------------------------------------------------

/**
 * Open Recent shows the engine's recent projects (saved or opened in the app; `<data dir>/recent-projects.json`,
 * at most 12, gone files left out), the same list as the Open dialog and the start screen, so the menu never
 * disagrees with them. Labels are file names, with the folder added where two share a name.
 */
export function recentMenuItems(entries: readonly { path: string; name: string; error?: string }[]): RecentItem[] {
  const count = new Map<string, number>();
  for (const e of entries) count.set(e.name, (count.get(e.name) ?? 0) + 1);
  return entries.map((e) => {
    const parent = fileBaseName(e.path.slice(0, e.path.length - e.name.length).replace(/[\\/]+$/, ''));
    return { path: e.path, label: (count.get(e.name) ?? 0) > 1 && parent ? `${e.name} — ${parent}` : e.name };
  });
}

/**
 * The OS's recent documents (macOS Dock menu and Open Recent, Windows Jump List): a project path the
 * renderer reports is added only when the engine's recent list has it, i.e. the engine really saved or
 * opened it (a page cannot slip a path in). Returns whether it was added.
 */
export function addRecentIfKnown(app: Pick<App, 'addRecentDocument'>, path: string | null, recent: readonly { path: string }[]): boolean {
  if (!path || !recent.some((r) => r.path === path)) return false;
  app.addRecentDocument(path);
  return true;
}
