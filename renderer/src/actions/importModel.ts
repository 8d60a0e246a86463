import { openExportDialog } from '../export/store';
import { keyIs, mod, MOD, register } from './register';

export const importModel = register({
  name: 'importModel',
  label: 'Import model (model.json)…',
  shortcut: `${MOD}+I`,
  keyTest: (e) => mod(e) && !e.shiftKey && !e.altKey && keyIs(e, 'i'),
  perform: () => openExportDialog('import'),
});
