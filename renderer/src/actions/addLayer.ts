import type { XY } from '../../../shared/graph';
import { addNode } from '../store/document';
import { DEFAULT_NODE_SIZE } from '../canvas/layout';
import { register } from './register';

/** Adds a layer at a flow position (from a drop), or at the centre of the view. */
export const addLayer = register<{ type: string; position?: XY }>({
  name: 'addLayer',
  label: 'Add layer',
  perform: ({ graph, view }, { type, position }) => {
    const s = graph.getState();
    let at = position;
    if (!at) {
      const c = view.centre();
      at = { x: c.x - DEFAULT_NODE_SIZE.width / 2, y: c.y - DEFAULT_NODE_SIZE.height / 2 };
      // Do not stack on a node already there.
      while (Object.values(s.doc.positions).some((p) => Math.abs(p.x - at!.x) < 20 && Math.abs(p.y - at!.y) < 20)) {
        at = { x: at.x + 30, y: at.y + 30 };
      }
    }
    const snapped = { x: Math.round(at.x / 10) * 10, y: Math.round(at.y / 10) * 10 };
    const { doc, id } = addNode(s.doc, type, snapped);
    s.commit(doc, `Add ${type}`);
    graph.getState().select([id]);
  },
});
