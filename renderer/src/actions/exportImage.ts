import { openExportDialog } from '../export/store';
import { keyIs, mod, MOD, register } from './register';

export const exportImage = register({
  name: 'exportImage',
  label: 'Export image (PNG/SVG)…',
  shortcut: `Shift+${MOD}+E`,
  keyTest: (e) => mod(e) && e.shiftKey && !e.altKey && keyIs(e, 'e'),
  enabled: ({ graph }) => graph.getState().screen === 'editor' && graph.getState().doc.nodes.length > 0,
  perform: () => openExportDialog('image'),
});
