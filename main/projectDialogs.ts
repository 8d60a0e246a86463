/**
 * The desktop app's native Save As / Open dialogs for projects, lent to the engine (which never imports
 * electron). The engine saves atomically to whatever path the user picks here, and only there: a path the
 * renderer merely names is refused unless it is in the projects folder or was picked in one of these dialogs.
 * `dialog` and the window are passed in (types only from electron), so this is unit-testable.
 */
import type { BrowserWindow, Dialog, Event, OpenDialogOptions, SaveDialogOptions } from 'electron';
import type { ProjectDialogs } from './engine/projects/library';

const FILTERS = [
  { name: 'Layerforge project', extensions: ['json'] },
  { name: 'All files', extensions: ['*'] },
];

export function electronProjectDialogs(dialog: Pick<Dialog, 'showSaveDialog' | 'showOpenDialog'>, window: () => BrowserWindow | null | undefined): ProjectDialogs {
  return {
    async chooseSavePath({ defaultPath }) {
      const options: SaveDialogOptions = {
        title: 'Save project as',
        defaultPath,
        filters: FILTERS,
        properties: ['createDirectory', 'showOverwriteConfirmation'],
      };
      const win = window();
      const r = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
      if (r.canceled || !r.filePath) return null;
      // Some platforms do not add the extension of the chosen filter.
      return /\.json$/i.test(r.filePath) ? r.filePath : `${r.filePath}.json`;
    },
    async chooseOpenPath({ defaultPath }) {
      const options: OpenDialogOptions = { title: 'Open project', defaultPath, filters: FILTERS, properties: ['openFile'] };
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
