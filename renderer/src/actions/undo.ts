import { keyIs, mod, MOD, register } from './register';

export const undo = register({
  name: 'undo',
  label: 'Undo',
  shortcut: `${MOD}+Z`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'z'),
  enabled: ({ graph }) => graph.getState().history.past.length > 0,
  perform: ({ graph }) => {
    graph.getState().undo();
  },
});
