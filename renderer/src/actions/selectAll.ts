import { keyIs, mod, MOD, register } from './register';

export const selectAll = register({
  name: 'selectAll',
  label: 'Select all',
  shortcut: `${MOD}+A`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'a'),
  perform: ({ graph }) => {
    const s = graph.getState();
    s.select(s.doc.nodes.map((n) => n.id), s.doc.edges.map((e) => e.id));
  },
});
