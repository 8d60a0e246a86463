import { insertFragment } from '../store/document';
import { readFragment } from './clipboard';
import { keyIs, mod, MOD, register } from './register';

let pasteCount = 0;

export const paste = register({
  name: 'paste',
  label: 'Paste',
  shortcut: `${MOD}+V`,
  keyTest: (e) => mod(e) && !e.shiftKey && keyIs(e, 'v'),
  perform: async ({ graph, ui }) => {
    const fragment = await readFragment();
    if (!fragment) {
      ui.getState().notify('info', 'Nothing to paste: copy some layers first.');
      return;
    }
    const s = graph.getState();
    if (s.screen !== 'editor') return;
    // Paste beside the originals when they are in this document, else where they were.
    pasteCount += 1;
    const shift = 40 * (((pasteCount - 1) % 5) + 1);
    const fromHere = fragment.nodes.some((n) => s.doc.nodes.some((m) => m.id === n.id));
    const { doc, ids } = insertFragment(s.doc, fragment, { offset: fromHere ? { x: shift, y: shift } : { x: 0, y: 0 } });
    s.commit(doc, `Paste ${ids.length} layer${ids.length === 1 ? '' : 's'}`);
    graph.getState().select(ids);
  },
});
