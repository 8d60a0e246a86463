import { layoutDoc } from '../canvas/layout';
import { moveNodes } from '../store/document';
import { keyIs, register } from './register';

export const autoLayout = register({
  name: 'autoLayout',
  label: 'Auto-layout',
  shortcut: 'L',
  keyTest: (e) => !e.ctrlKey && !e.metaKey && !e.altKey && keyIs(e, 'l'),
  enabled: ({ graph }) => graph.getState().doc.nodes.length > 0,
  perform: async ({ graph, view }) => {
    const before = graph.getState().doc;
    const positions = await layoutDoc(before, graph.getState().measured);
    const s = graph.getState();
    if (s.doc.nodes !== before.nodes || s.doc.edges !== before.edges) return; // edited meanwhile: drop a stale layout
    s.commit(moveNodes(s.doc, positions), 'Auto-layout');
    setTimeout(() => view.fitView(), 0);
  },
});
