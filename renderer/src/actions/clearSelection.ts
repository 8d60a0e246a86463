import { register } from './register';

export const clearSelection = register({
  name: 'clearSelection',
  label: 'Clear selection / close',
  shortcut: 'Esc',
  keyTest: (e) => e.key === 'Escape',
  perform: ({ graph, ui }) => {
    if (ui.getState().helpOpen) ui.setState({ helpOpen: false });
    else graph.getState().select([]);
  },
});
