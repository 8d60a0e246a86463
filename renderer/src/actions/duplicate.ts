import { extractFragment, insertFragment } from '../store/document';
import { keyIs, mod, MOD, register } from './register';

export const duplicate = register({
  name: 'duplicate',
  label: 'Duplicate',
  shortcut: `${MOD}+D`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'd'),
  enabled: ({ graph }) => graph.getState().selectedNodes.size > 0,
  perform: ({ graph }) => {
    const s = graph.getState();
    const fragment = extractFragment(s.doc, s.selectedNodes);
    if (!fragment) return;
    const { doc, ids } = insertFragment(s.doc, fragment, { offset: { x: 40, y: 40 } });
    s.commit(doc, 'Duplicate');
    graph.getState().select(ids);
  },
});
