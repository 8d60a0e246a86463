import { keyIs, mod, MOD, register } from './register';

/** Edit > Find Layer: a dialog that finds a node of the graph by name or type, selects it and brings it into view. */
export const findLayer = register({
  name: 'findLayer',
  label: 'Find layer…',
  shortcut: `${MOD}+F`,
  keyTest: (e) => mod(e) && !e.shiftKey && !e.altKey && keyIs(e, 'f'),
  enabled: ({ graph }) => graph.getState().screen === 'editor',
  perform: ({ ui }) => {
    ui.setState({ dialog: { kind: 'findLayer' } });
  },
});
