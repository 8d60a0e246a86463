/**
 * An edit that needs the graph laid out again (collapse / expand a group, auto-layout), committed as one
 * undo step. The layout is asynchronous (elkjs, seconds on a busy machine), and the graph can change while
 * it runs: an imported model's own first layout lands, or the user edits. A layout for a graph that is no
 * longer there is never committed, but the user's request is not dropped either: the edit is applied again
 * to the newer graph and laid out again. After a few tries the edit is committed with the last positions
 * (those of nodes that still exist), so a click always does what it says.
 */
import { layoutDoc } from '../canvas/layout';
import { moveNodes, type Doc } from '../store/document';
import type { ActionContext } from './register';

const TRIES = 3;
/**
 * The longest the view's fit is waited for (its animation takes 200 ms): a fit interrupted by another one
 * (a second collapse, a zoom) never settles (d3 ends an interrupted transition without its 'end').
 */
export const FIT_WAIT_MS = 1000;

/** Whether a layout computed for `a` still fits `b` (positions are what the layout replaces, so they may differ). */
const sameShape = (a: Doc, b: Doc) => a.nodes === b.nodes && a.edges === b.edges && a.groups === b.groups;

/**
 * Applies `edit` to the current graph, lays the result out and commits it under `label`; returns whether
 * anything was committed. `edit` returns null when there is nothing to do (the group is already collapsed),
 * and must be safe to apply again to a newer graph (it is, for "collapse group g", "expand all", "lay out").
 */
export async function commitWithLayout({ graph, view, ui }: Pick<ActionContext, 'graph' | 'view' | 'ui'>, edit: (doc: Doc) => Doc | null, label: string): Promise<boolean> {
  ui.setState((u) => ({ layoutsRunning: u.layoutsRunning + 1 }));
  try {
    const committed = await layOut(graph, edit, label);
    // The view is fitted once the new nodes are drawn (React renders after this task); it animates.
    if (committed) {
      await new Promise<void>((r) => setTimeout(r, 0));
      await Promise.race([Promise.resolve(view.fitView()), new Promise<void>((r) => setTimeout(r, FIT_WAIT_MS))]);
    }
    return committed;
  } finally {
    ui.setState((u) => ({ layoutsRunning: u.layoutsRunning - 1 }));
  }
}

async function layOut(graph: ActionContext['graph'], edit: (doc: Doc) => Doc | null, label: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const before = graph.getState();
    const next = edit(before.doc);
    if (!next) return false;
    const positions = await layoutDoc(next, before.measured);
    const s = graph.getState();
    const fresh = sameShape(s.doc, before.doc);
    if (fresh || attempt >= TRIES) {
      const target = s.doc === before.doc ? next : edit(s.doc);
      if (!target) return false;
      const laidOut = moveNodes(target, positions);
      if (laidOut === s.doc) return false;
      s.commit(laidOut, label);
      return true;
    }
  }
}
