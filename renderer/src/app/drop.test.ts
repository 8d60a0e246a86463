import { describe, expect, it, vi } from 'vitest';
import { newProject, serializeProject } from '../../../shared/project';
import { createGraphStore } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { fakeProjectIO } from '../project/testing';
import type { ActionContext } from '../actions';
import { carriesFiles, openDroppedFiles } from './drop';

function setup() {
  const graph = createGraphStore();
  uiStore.setState({ dialog: null, notice: null });
  const ctx: ActionContext = { graph, ui: uiStore, view: { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) }, io: fakeProjectIO() };
  return { ctx, graph };
}

describe('files dropped on the window', () => {
  it('only drags that carry files are ours (a layer from the palette is the canvas’s)', () => {
    expect(carriesFiles({ types: ['Files'] })).toBe(true);
    expect(carriesFiles({ types: ['application/x-layerforge-layer', 'text/plain'] })).toBe(false);
    expect(carriesFiles(null)).toBe(false);
  });

  it('desktop app: the files go to the shell (the preload reads their paths); none with a path gives a notice', async () => {
    const { ctx } = setup();
    const files = [new File(['x'], 'net.layerforge')];
    const shell = { openFiles: vi.fn(() => 1) };
    await openDroppedFiles(files, shell, ctx);
    expect(shell.openFiles).toHaveBeenCalledWith(files);
    expect(uiStore.getState().notice).toBeNull();
    await openDroppedFiles(files, { openFiles: () => 0 }, ctx);
    expect(uiStore.getState().notice?.text).toMatch(/Nothing to open/);
  });

  it('browser: a project opens from its content; a model or several files get a notice saying how to import them', async () => {
    const { ctx, graph } = setup();
    await openDroppedFiles([new File([serializeProject(newProject('Dropped'))], 'dropped.layerforge')], null, ctx);
    expect(graph.getState()).toMatchObject({ screen: 'editor', fileName: 'dropped.layerforge' });
    expect(graph.getState().meta.name).toBe('Dropped');
    await openDroppedFiles([new File(['{"modelTopology":{}}'], 'model.json')], null, ctx);
    expect(uiStore.getState().notice?.text).toMatch(/model\.json is not a project\. .*Import model/);
    await openDroppedFiles([new File(['a'], 'a.layerforge'), new File(['b'], 'b.layerforge')], null, ctx);
    expect(uiStore.getState().notice?.text).toMatch(/Drop one project file at a time/);
    await openDroppedFiles([new File(['not json'], 'broken.json')], null, setup().ctx);
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error', text: expect.stringMatching(/Could not open broken\.json/) });
  });
});
