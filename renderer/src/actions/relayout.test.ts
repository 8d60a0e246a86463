import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Graph, XY } from '../../../shared/graph';
import { newProject } from '../../../shared/project';
import { createGraphStore } from '../store/graphStore';
import { findGroup } from '../store/groups';
import { uiStore } from '../store/uiStore';
import { fakeProjectIO } from '../project/testing';
import type { ActionContext } from './register';

/** The layout, held until the test lets it finish: the race an import's first layout and a click can run. */
const pending: Array<{ ids: string[]; resolve: (p: Record<string, XY>) => void }> = [];
vi.mock('../canvas/layout', () => ({
  layoutDoc: (doc: { nodes: ReadonlyArray<{ id: string }> }) =>
    new Promise<Record<string, XY>>((resolve) => pending.push({ ids: doc.nodes.map((n) => n.id), resolve })),
}));
const { dispatch } = await import('./index');
const { autoLayout } = await import('./autoLayout');
const { toggleGroup } = await import('./groups');
const { FIT_WAIT_MS } = await import('./relayout');

/** Lets the oldest layout finish, every node placed at x = `x`. */
async function finishLayout(x: number) {
  await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0));
  const { ids, resolve } = pending.shift()!;
  resolve(Object.fromEntries(ids.map((id, i) => [id, { x, y: i * 100 }])));
  await new Promise((r) => setTimeout(r, 0));
}

function graph(): Graph {
  const n = (id: string, type: string, params: Graph['nodes'][number]['params'], group?: string) => ({ id, type, name: id, params, position: { x: 0, y: 0 }, ...(group ? { group } : {}) });
  return {
    nodes: [
      n('input', 'Input', { kind: 'image', height: 8, width: 8, channels: 3 }),
      n('conv1', 'Conv2D', { filters: 4, kernelSize: 3 }, 'base'),
      n('pool', 'MaxPool2D', {}, 'base'),
      n('flat', 'Flatten', {}),
      n('dense', 'Dense', { units: 10, activation: 'softmax' }),
    ],
    edges: [
      { id: 'e1', source: 'input', target: 'conv1', targetPort: 0 },
      { id: 'e2', source: 'conv1', target: 'pool', targetPort: 0 },
      { id: 'e3', source: 'pool', target: 'flat', targetPort: 0 },
      { id: 'e4', source: 'flat', target: 'dense', targetPort: 0 },
    ],
    groups: [{ id: 'base', name: 'backbone' }],
  };
}

function setup() {
  const graphStore = createGraphStore();
  graphStore.getState().loadProject({ ...newProject('m'), graph: graph() }, null);
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) };
  const ctx: ActionContext = { graph: graphStore, ui: uiStore, view, io: fakeProjectIO() };
  return { ctx, graphStore };
}

const collapsed = (ctx: ActionContext) => findGroup(ctx.graph.getState().doc, 'base')?.collapsed === true;

afterEach(() => {
  pending.length = 0;
});

describe('edits laid out again (commitWithLayout)', () => {
  it('a collapse clicked while an import is still being laid out is not lost (the import layout lands first)', async () => {
    const { ctx } = setup();
    const importLayout = autoLayout.perform(ctx); // the import's first layout, still running
    const toggle = toggleGroup.perform(ctx, { groupId: 'base' }); // the user's click meanwhile
    await finishLayout(10); // the import's layout lands first: it moves nodes only ...
    expect(ctx.graph.getState().doc.positions.input).toEqual({ x: 10, y: 0 });
    await finishLayout(20); // ... so the collapse's layout still fits and is committed
    await Promise.all([importLayout, toggle]);
    expect(collapsed(ctx)).toBe(true);
    expect(ctx.graph.getState().doc.positions.input).toEqual({ x: 20, y: 0 });
    expect(pending).toHaveLength(0);
    expect(ctx.ui.getState().layoutsRunning).toBe(0);
    // One undo step each: undo expands again and gives back the import's layout.
    dispatch('undo', undefined, ctx);
    expect(collapsed(ctx)).toBe(false);
    expect(ctx.graph.getState().doc.positions.input).toEqual({ x: 10, y: 0 });
  });

  it('when the collapse lands first, the import layout (made for the open group) is made again for the collapsed graph', async () => {
    const { ctx } = setup();
    const importLayout = autoLayout.perform(ctx);
    const toggle = toggleGroup.perform(ctx, { groupId: 'base' });
    pending.push(pending.shift()!); // the collapse's layout finishes first
    await finishLayout(20);
    expect(collapsed(ctx)).toBe(true);
    await finishLayout(10); // stale: made for the graph with the group open; not committed ...
    expect(ctx.graph.getState().doc.positions.input).toEqual({ x: 20, y: 0 });
    await finishLayout(30); // ... laid out again for the graph that is there now
    await Promise.all([importLayout, toggle]);
    expect(collapsed(ctx)).toBe(true);
    expect(ctx.graph.getState().doc.positions.input).toEqual({ x: 30, y: 0 });
    expect(pending).toHaveLength(0);
  });

  it('the canvas is busy from the request until the view is fitted (data-layout follows layoutsRunning)', async () => {
    const { ctx } = setup();
    let fitted: () => void = () => {};
    ctx.view.fitView = vi.fn(() => new Promise<void>((r) => (fitted = r)));
    const toggle = toggleGroup.perform(ctx, { groupId: 'base' });
    expect(ctx.ui.getState().layoutsRunning).toBe(1);
    await finishLayout(10);
    expect(collapsed(ctx)).toBe(true);
    await vi.waitFor(() => expect(ctx.view.fitView).toHaveBeenCalledTimes(1));
    expect(ctx.ui.getState().layoutsRunning).toBe(1); // the view is still animating
    fitted();
    await toggle;
    expect(ctx.ui.getState().layoutsRunning).toBe(0);
  });

  it('a fit that never settles (interrupted by another) frees the canvas after FIT_WAIT_MS', async () => {
    const { ctx } = setup();
    ctx.view.fitView = vi.fn(() => new Promise<void>(() => {}));
    const toggle = toggleGroup.perform(ctx, { groupId: 'base' });
    await finishLayout(10);
    const t0 = Date.now();
    await toggle;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(FIT_WAIT_MS - 50);
    expect(ctx.ui.getState().layoutsRunning).toBe(0);
  });

  it('a layout for a graph that changed meanwhile is never committed as it is; after three tries the edit still lands', async () => {
    const { ctx } = setup();
    const toggle = toggleGroup.perform(ctx, { groupId: 'base' });
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(pending.length).toBe(1));
      // An edit to the graph each time the layout is running (a parameter change).
      const s = ctx.graph.getState();
      s.commit({ ...s.doc, nodes: s.doc.nodes.map((n) => (n.id === 'dense' ? { ...n, params: { ...n.params, units: 11 + i } } : n)) }, `edit ${i}`);
      await finishLayout(100 + i);
    }
    await toggle;
    expect(collapsed(ctx)).toBe(true);
    const dense = ctx.graph.getState().doc.nodes.find((n) => n.id === 'dense');
    expect(dense?.params.units).toBe(13); // the user's edits are kept
  });

  it('collapsing a group that is already collapsed does nothing (no layout, no undo step)', async () => {
    const { ctx } = setup();
    const first = toggleGroup.perform(ctx, { groupId: 'base', collapsed: true });
    await finishLayout(5);
    await first;
    const doc = ctx.graph.getState().doc;
    await toggleGroup.perform(ctx, { groupId: 'base', collapsed: true });
    expect(pending).toHaveLength(0);
    expect(ctx.graph.getState().doc).toBe(doc);
  });
});
