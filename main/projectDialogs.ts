/**
 * The desktop app's native Save As / Open dialogs for projects, lent to the engine (which never imports
 * electron). The engine saves atomically to whatever path the user picks here, and only there: a path the
 * renderer merely names is refused unless it is in the projects folder or was picked in one of these dialogs.
 * `dialog` and the window are passed in (types only from electron), so this is unit-testable.
 */
import type { BrowserWindow, Dialog, OpenDialogOptions, SaveDialogOptions } from 'electron';
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
  };
}
