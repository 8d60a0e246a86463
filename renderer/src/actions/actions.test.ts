import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import { createGraphStore, isDirty } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { saveProject, saveProjectNamed } from '../project/files';
import { FAKE_DIR, fakeProjectIO } from '../project/testing';
import { dispatch, handleKeyDown, type ActionContext } from './index';
import { allActions } from './register';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');

function setup() {
  const graph = createGraphStore();
  graph.getState().loadProject(parseProjectText(templateText), null);
  const io = fakeProjectIO();
  const saves = io.saves;
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 500, y: 500 }) };
  const ctx: ActionContext = { graph, ui: uiStore, view, io };
  uiStore.setState({ dialog: null, notice: null, helpOpen: false });
  return { ctx, graph, saves, view, io };
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
    // Centred on the view's centre (500, 500): a 210 x 94 node's corner (395, 453), on the 10 px grid.
    expect(s.doc.positions[added.id]).toEqual({ x: 400, y: 450 });
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

  it('save: first time asks for a name, then saves through the engine into the projects folder and clears the unsaved mark', async () => {
    const { ctx, graph, saves, io } = setup();
    handleKeyDown(key('Delete'), ctx); // nothing selected: no change
    graph.getState().select(['out']);
    handleKeyDown(key('Delete'), ctx);
    expect(isDirty(graph.getState())).toBe(true);
    handleKeyDown(key('s', { ctrl: true }), ctx);
    await flush();
    expect(uiStore.getState().dialog).toMatchObject({ kind: 'saveAs', initial: 'CIFAR-10-CNN.json' });
    expect(saves).toHaveLength(0);
    const r = await saveProjectNamed(ctx, 'My Net');
    expect(r).toMatchObject({ ok: true, saved: { path: `${FAKE_DIR}/My-Net.json` } });
    expect(saves[0]).toMatchObject({ name: 'My-Net.json', overwrite: false });
    const reread = parseProjectText(saves[0]!.text);
    expect(reread.graph.nodes).toHaveLength(7);
    expect(isDirty(graph.getState())).toBe(false);
    expect(graph.getState().fileName).toBe(`${FAKE_DIR}/My-Net.json`);
    expect(uiStore.getState().notice?.text).toBe(`Saved ${FAKE_DIR}/My-Net.json`);
    // Next Ctrl+S saves in place (by path, replacing) without asking.
    handleKeyDown(key('s', { ctrl: true }), ctx);
    await flush();
    await flush();
    expect(saves).toHaveLength(2);
    expect(saves[1]).toMatchObject({ path: `${FAKE_DIR}/My-Net.json`, overwrite: true });
    expect(io.disk.get(`${FAKE_DIR}/My-Net.json`)).toBe(saves[1]!.text);
  });

  it('save as: an existing name is not replaced without asking', async () => {
    const { ctx, io } = setup();
    io.disk.set(`${FAKE_DIR}/taken.json`, 'old');
    const r = await saveProjectNamed(ctx, 'taken.json');
    expect(r).toMatchObject({ ok: false, exists: true });
    expect(io.disk.get(`${FAKE_DIR}/taken.json`)).toBe('old');
    expect((await saveProjectNamed(ctx, 'taken.json', true)).ok).toBe(true);
    expect(io.disk.get(`${FAKE_DIR}/taken.json`)).not.toBe('old');
  });

  it('a failed save names the file, keeps the graph in memory and the project marked unsaved', async () => {
    const { ctx, graph, io } = setup();
    await saveProjectNamed(ctx, 'net.json');
    graph.getState().select(['out']);
    dispatch('deleteSelection', undefined, ctx);
    const docBefore = graph.getState().doc;
    io.failing.add(`${FAKE_DIR}/net.json`);
    expect(await saveProject(ctx, false)).toBe(false);
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error' });
    expect(uiStore.getState().notice!.text).toContain(`${FAKE_DIR}/net.json`);
    expect(uiStore.getState().notice!.text).toMatch(/not a readable Layerforge project.*still open here/);
    expect(graph.getState().doc).toBe(docBefore);
    expect(isDirty(graph.getState())).toBe(true);
    expect(graph.getState().fileName).toBe(`${FAKE_DIR}/net.json`);
  });

  it('an edit made while a save is on its way keeps the unsaved mark (the title stays honest)', async () => {
    const { ctx, graph, io } = setup();
    await saveProjectNamed(ctx, 'net.json');
    graph.getState().select(['out']);
    dispatch('deleteSelection', undefined, ctx);
    let release!: () => void;
    io.gate = new Promise((r) => (release = r));
    const pending = saveProject(ctx, false);
    await flush();
    graph.getState().select(['fc1']);
    dispatch('deleteSelection', undefined, ctx);
    release();
    expect(await pending).toBe(true);
    expect(isDirty(graph.getState())).toBe(true);
    expect(parseProjectText(io.disk.get(`${FAKE_DIR}/net.json`)!).graph.nodes).toHaveLength(7);
  });

  it('desktop app: Save as uses the native dialog; a cancelled dialog saves nothing', async () => {
    const { ctx, graph, io } = setup();
    io.dialogChoice = null;
    expect(await saveProject(ctx, true)).toBe(false);
    expect(io.saves).toHaveLength(0);
    expect(uiStore.getState().dialog).toBeNull();
    io.dialogChoice = '/home/me/nets/cnn.json';
    expect(await saveProject(ctx, true)).toBe(true);
    expect(graph.getState().fileName).toBe('/home/me/nets/cnn.json');
    expect(io.disk.has('/home/me/nets/cnn.json')).toBe(true);
  });
});
