import { extractFragment, removeItems } from '../store/document';
import { writeFragment } from './clipboard';
import { keyIs, mod, MOD, register } from './register';

export const cut = register({
  name: 'cut',
  label: 'Cut',
  shortcut: `${MOD}+X`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'x'),
  enabled: ({ graph }) => graph.getState().selectedNodes.size > 0,
  perform: async ({ graph }) => {
    const s = graph.getState();
    const fragment = extractFragment(s.doc, s.selectedNodes);
    if (!fragment) return;
    await writeFragment(fragment);
    s.commit(removeItems(s.doc, s.selectedNodes), 'Cut');
  },
});
