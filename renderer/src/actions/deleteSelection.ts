import { removeItems } from '../store/document';
import { register } from './register';

export const deleteSelection = register({
  name: 'deleteSelection',
  label: 'Delete',
  shortcut: 'Delete',
  keyTest: (e) => (e.key === 'Delete' || e.key === 'Backspace') && !e.ctrlKey && !e.metaKey && !e.altKey,
  enabled: ({ graph }) => graph.getState().selectedNodes.size + graph.getState().selectedEdges.size > 0,
  perform: ({ graph }) => {
    const s = graph.getState();
    const n = s.selectedNodes.size;
    s.commit(removeItems(s.doc, s.selectedNodes, s.selectedEdges), n > 0 ? `Delete ${n} layer${n === 1 ? '' : 's'}` : 'Delete connection');
  },
});
