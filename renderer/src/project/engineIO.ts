/** The app's ProjectIO: project files through the engine client, upload / download through the browser. */
import { getEngine } from '../api/client';
import { browserDownloadFile, browserImportFile, type ProjectIO } from './io';

let dialogs: Promise<boolean> | undefined;

export const engineIO: ProjectIO = {
  files: () => getEngine(),
  nativeDialogs() {
    dialogs ??= getEngine()
      .getInfo()
      .then((i) => i.nativeDialogs === true);
    dialogs.catch(() => (dialogs = undefined));
    return dialogs;
  },
  importFile: browserImportFile,
  downloadFile: browserDownloadFile,
};
