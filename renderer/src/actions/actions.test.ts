import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import { createGraphStore, isDirty } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { saveProject } from '../project/files';
import type { ProjectIO } from '../project/io';
import { dispatch, handleKeyDown, type ActionContext } from './index';
import { allActions } from './register';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');

function setup() {
  const graph = createGraphStore();
  graph.getState().loadProject(parseProjectText(templateText), null);
  const saves: Array<{ fileName: string; text: string }> = [];
  const io: ProjectIO = {
    writesInPlace: true,
    open: async () => null,
    save: async (fileName, text) => {
      saves.push({ fileName, text });
      return fileName;
    },
  };
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 500, y: 500 }) };
  const ctx: ActionContext = { graph, ui: uiStore, view, io };
  uiStore.setState({ dialog: null, notice: null, helpOpen: false });
  return { ctx, graph, saves, view };
}

function key(k: string, mods: { ctrl?: boolean; shift?: boolean } = {}) {
  const event = {
    key: k,
    ctrlKey: !!mods.ctrl,
    metaKey: false,
    shiftKey: !!mods.shift,
    altKey: false,
    isComposing: false,
    defaultPrevented: false,
    target: null,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event as unknown as KeyboardEvent;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('actions', () => {
  it('every action has a unique name and a label; shortcuts are listed for the help overlay', () => {
    const names = allActions().map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    for (const a of allActions()) expect(a.label.length).toBeGreaterThan(0);
    for (const n of ['undo', 'redo', 'deleteSelection', 'copy', 'paste', 'duplicate', 'selectAll', 'autoLayout', 'saveProject', 'openProject', 'newProject', 'toggleHelp']) {
      expect(allActions().find((a) => a.name === n)?.shortcut, n).toBeTruthy();
    }
  });

  it('keyboard: select all, delete, undo, redo', () => {
    const { ctx, graph } = setup();
    expect(handleKeyDown(key('a', { ctrl: true }), ctx)).toBe(true);
    expect(graph.getState().selectedNodes.size).toBe(8);
    handleKeyDown(key('Delete'), ctx);
    expect(graph.getState().doc.nodes).toHaveLength(0);
    handleKeyDown(key('z', { ctrl: true }), ctx);
    expect(graph.getState().doc.nodes).toHaveLength(8);
    expect(graph.getState().doc.edges).toHaveLength(7);
    handleKeyDown(key('Z', { ctrl: true, shift: true }), ctx);
    expect(graph.getState().doc.nodes).toHaveLength(0);
  });

  it('keyboard: duplicate makes copies with fresh names and keeps inner edges', () => {
    const { ctx, graph } = setup();
    graph.getState().select(['conv2', 'pool2']);
    handleKeyDown(key('d', { ctrl: true }), ctx);
    const s = graph.getState();
    expect(s.doc.nodes.map((n) => n.name)).toContain('conv2d_3');
    expect(s.doc.nodes.map((n) => n.name)).toContain('max_pooling2d_3');
    expect(s.doc.edges).toHaveLength(8);
    expect(s.selectedNodes.size).toBe(2);
    expect(s.history.past).toHaveLength(1);
  });

  it('copy then paste through the in-memory clipboard', async () => {
    const { ctx, graph } = setup();
    graph.getState().select(['fc1', 'out']);
    dispatch('copy', undefined, ctx);
    await flush();
    dispatch('paste', undefined, ctx);
    await flush();
    await flush();
    expect(graph.getState().doc.nodes).toHaveLength(10);
    expect(graph.getState().doc.edges).toHaveLength(8);
  });

  it('keys do nothing on the start screen, except project ones', () => {
    const { ctx, graph } = setup();
    graph.getState().closeProject();
    expect(handleKeyDown(key('a', { ctrl: true }), ctx)).toBe(false);
    expect(handleKeyDown(key('?'), ctx)).toBe(true);
    expect(uiStore.getState().helpOpen).toBe(true);
  });

  it('adds a layer at the view centre, selected, as one undo step', () => {
    const { ctx, graph } = setup();
    dispatch('addLayer', { type: 'Dense' }, ctx);
    const s = graph.getState();
    const added = s.doc.nodes[s.doc.nodes.length - 1]!;
    expect(added.name).toBe('dense_3');
    expect([...s.selectedNodes]).toEqual([added.id]);
    expect(s.doc.positions[added.id]).toEqual({ x: 400, y: 460 });
    expect(s.history.past).toHaveLength(1);
  });

  it('auto-layout lays the chain out top to bottom as one step', async () => {
    const { ctx, graph, view } = setup();
    handleKeyDown(key('l'), ctx);
    await vi.waitFor(() => expect(graph.getState().history.past).toHaveLength(1), { timeout: 10_000 });
    const s = graph.getState();
    const ys = ['input', 'conv1', 'pool1', 'conv2', 'pool2', 'flat', 'fc1', 'out'].map((id) => s.doc.positions[id]!.y);
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThan(ys[i - 1]!);
    await flush();
    expect(view.fitView).toHaveBeenCalled();
    graph.getState().undo();
    expect(graph.getState().doc.positions.conv1).toEqual({ x: 0, y: 110 });
  });

  it('save: first time asks for a name, then writes the project and clears the unsaved mark', async () => {
    const { ctx, graph, saves } = setup();
    handleKeyDown(key('Delete'), ctx); // nothing selected: no change
    graph.getState().select(['out']);
    handleKeyDown(key('Delete'), ctx);
    expect(isDirty(graph.getState())).toBe(true);
    handleKeyDown(key('s', { ctrl: true }), ctx);
    await flush();
    expect(uiStore.getState().dialog).toMatchObject({ kind: 'saveAs' });
    expect(saves).toHaveLength(0);
    await saveProject(ctx, true, 'My Net');
    expect(saves[0]!.fileName).toBe('My-Net.layerforge.json');
    const reread = parseProjectText(saves[0]!.text);
    expect(reread.graph.nodes).toHaveLength(7);
    expect(isDirty(graph.getState())).toBe(false);
    expect(graph.getState().fileName).toBe('My-Net.layerforge.json');
    // Next Ctrl+S saves in place without asking.
    handleKeyDown(key('s', { ctrl: true }), ctx);
    await flush();
    expect(saves).toHaveLength(2);
  });
});
