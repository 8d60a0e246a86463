/**
 * The desktop app's native Save As / Open dialogs for projects, lent to the engine (which never imports
 * electron). The engine saves atomically to whatever path the user picks here, and only there: a path the
 * renderer merely names is refused unless it is in the projects folder, was picked in one of these dialogs,
 * or was opened by the user through the OS (command line, file manager, drop, Open Recent: `vouch`).
 * Save offers the `.layerforge` extension (the one the installers associate with the app); Open accepts
 * `.layerforge` and `.json`. `dialog` and the window are passed in (types only from electron): unit-testable.
 */
import type { BrowserWindow, Dialog, Event, OpenDialogOptions, SaveDialogOptions } from 'electron';
import { resolve } from 'node:path';
import type { ProjectDialogs } from './engine/projects/library';
import { PROJECT_EXTENSION } from '../shared/shell/fileTypes';

const SAVE_FILTERS = [
  { name: 'Layerforge project', extensions: [PROJECT_EXTENSION] },
  { name: 'Layerforge project (JSON)', extensions: ['json'] },
  { name: 'All files', extensions: ['*'] },
];
const OPEN_FILTERS = [
  { name: 'Layerforge project', extensions: [PROJECT_EXTENSION, 'json'] },
  { name: 'All files', extensions: ['*'] },
];

const HAS_PROJECT_EXTENSION = new RegExp(`\\.(${PROJECT_EXTENSION}|json)$`, 'i');

/** The Save dialog's suggested path with the .layerforge extension (the engine suggests the projects folder's .json names). */
export function withProjectExtension(path: string): string {
  return /\.json$/i.test(path) ? `${path.slice(0, -5)}.${PROJECT_EXTENSION}` : HAS_PROJECT_EXTENSION.test(path) ? path : `${path}.${PROJECT_EXTENSION}`;
}

export interface DesktopProjectDialogs extends ProjectDialogs {
  /** The user opened this file through the OS: the engine may open (and then save) it like a dialog-picked one. */
  vouch(path: string): void;
}

export function electronProjectDialogs(dialog: Pick<Dialog, 'showSaveDialog' | 'showOpenDialog'>, window: () => BrowserWindow | null | undefined): DesktopProjectDialogs {
  const vouched = new Set<string>();
  return {
    vouch(path) {
      vouched.add(resolve(path));
    },
    isChosen(path) {
      return vouched.has(resolve(path));
    },
    async chooseSavePath({ defaultPath }) {
      const options: SaveDialogOptions = {
        title: 'Save project as',
        defaultPath: withProjectExtension(defaultPath),
        filters: SAVE_FILTERS,
        properties: ['createDirectory', 'showOverwriteConfirmation'],
      };
      const win = window();
      const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      if (r.canceled || !r.filePath) return null;
      // Some platforms do not add the extension of the chosen filter.
      return HAS_PROJECT_EXTENSION.test(r.filePath) ? r.filePath : `${r.filePath}.${PROJECT_EXTENSION}`;
    },
    async chooseOpenPath({ defaultPath }) {
      const options: OpenDialogOptions = { title: 'Open project', defaultPath, filters: OPEN_FILTERS, properties: ['openFile'] };
      const win = window();
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async chooseDataPath({ title, extensions }) {
      const options: OpenDialogOptions = { title, filters: [{ name: title, extensions }, { name: 'All files', extensions: ['*'] }], properties: ['openFile'] };
      const win = window();
      const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
  };
}

/**
 * The page refuses to unload while it has unsaved changes (its beforeunload handler). Electron then
 * silently keeps the window open; this asks the user instead: Cancel keeps the window and the work,
 * "Close without saving" lets it close (the autosave under <data dir>/recovery stays for the next start).
 */
export function confirmUnsavedClose(dialog: Pick<Dialog, 'showMessageBoxSync'>, win: BrowserWindow | null, event: Pick<Event, 'preventDefault'>): boolean {
  const options = {
    type: 'warning' as const,
    buttons: ['Cancel', 'Close without saving'],
    defaultId: 0,
    cancelId: 0,
    title: 'Unsaved changes',
    message: 'This project has changes that are not saved.',
    detail: 'Close anyway? Its autosave is kept and offered when Layerforge starts again.',
  };
  const choice = win ? dialog.showMessageBoxSync(win, options) : dialog.showMessageBoxSync(options);
  if (choice === 1) {
    // In will-prevent-unload, preventDefault means "ignore the page's beforeunload and unload".
    event.preventDefault();
    return true;
  }
  return false;
}
