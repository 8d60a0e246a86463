import { extractFragment } from '../store/document';
import { writeFragment } from './clipboard';
import { keyIs, mod, MOD, register } from './register';

export const copy = register({
  name: 'copy',
  label: 'Copy',
  shortcut: `${MOD}+C`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'c'),
  enabled: ({ graph }) => graph.getState().selectedNodes.size > 0,
  perform: async ({ graph, ui }) => {
    const s = graph.getState();
    const fragment = extractFragment(s.doc, s.selectedNodes);
    if (!fragment) return;
    await writeFragment(fragment);
    ui.getState().notify('info', `Copied ${fragment.nodes.length} layer${fragment.nodes.length === 1 ? '' : 's'}`);
  },
});
