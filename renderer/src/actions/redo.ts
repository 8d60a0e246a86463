import { keyIs, mod, MOD, register } from './register';

export const redo = register({
  name: 'redo',
  label: 'Redo',
  shortcut: `Shift+${MOD}+Z`,
  keyTest: (e) => mod(e) && ((e.shiftKey && keyIs(e, 'z')) || (!e.shiftKey && keyIs(e, 'y'))),
  enabled: ({ graph }) => graph.getState().history.future.length > 0,
  perform: ({ graph }) => {
    graph.getState().redo();
  },
});
