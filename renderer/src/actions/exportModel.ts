import { openExportDialog } from '../export/store';
import { keyIs, mod, MOD, register } from './register';

export const exportModel = register({
  name: 'exportModel',
  label: 'Export trained model…',
  shortcut: `${MOD}+E`,
  keyTest: (e) => mod(e) && !e.shiftKey && !e.altKey && keyIs(e, 'e'),
  perform: () => openExportDialog('model'),
});
