import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { parseProjectText } from '../../../shared/project';
import type { ActionContext } from '../actions/register';
import { createGraphStore, isDirty } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { downloadProjectCopy, importProjectFile, openFromEngine, openWithDialog, saveProject } from './files';
import { FAKE_DIR, fakeProjectIO } from './testing';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');

function setup() {
  const graph = createGraphStore();
  graph.getState().loadProject(parseProjectText(templateText), null);
  const io = fakeProjectIO();
  const ctx: ActionContext = { graph, ui: uiStore, view: { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) }, io };
  uiStore.setState({ dialog: null, notice: null });
  return { ctx, graph, io };
}

describe('opening and copying projects', () => {
  it('opens a project from the engine by path: the title takes the path, nothing is unsaved', async () => {
    const { ctx, graph, io } = setup();
    io.disk.set(`${FAKE_DIR}/a.json`, templateText.replace('"CIFAR-10 CNN"', '"From disk"'));
    expect(await openFromEngine(ctx, { path: `${FAKE_DIR}/a.json` })).toBeNull();
    expect(graph.getState().meta.name).toBe('From disk');
    expect(graph.getState().fileName).toBe(`${FAKE_DIR}/a.json`);
    expect(isDirty(graph.getState())).toBe(false);
  });

  it('a failed open names the file and leaves the open project as it was', async () => {
    const { ctx, graph } = setup();
    const before = graph.getState().doc;
    const error = await openFromEngine(ctx, { path: `${FAKE_DIR}/gone.json` });
    expect(error).toContain(`${FAKE_DIR}/gone.json`);
    expect(uiStore.getState().notice).toMatchObject({ kind: 'error' });
    expect(uiStore.getState().notice!.text).toContain(`${FAKE_DIR}/gone.json`);
    expect(graph.getState().doc).toBe(before);
  });

  it('import file: the upload opens with its bare name, so Save asks where to save it', async () => {
    const { ctx, graph, io } = setup();
    io.upload = { fileName: 'from-laptop.json', text: templateText };
    expect(await importProjectFile(ctx)).toBe(true);
    expect(graph.getState().fileName).toBe('from-laptop.json');
    expect(await saveProject(ctx, false)).toBe(false);
    expect(uiStore.getState().dialog).toMatchObject({ kind: 'saveAs', initial: 'from-laptop.json' });
    expect(io.saves).toHaveLength(0);
  });

  it('download a copy does not count as a save', () => {
    const { ctx, graph, io } = setup();
    graph.getState().setMeta({ name: 'My Net' });
    downloadProjectCopy(ctx);
    expect(io.downloads.map((d) => d.fileName)).toEqual(['My-Net.json']);
    expect(parseProjectText(io.downloads[0]!.text).name).toBe('My Net');
    expect(isDirty(graph.getState())).toBe(true);
    expect(graph.getState().fileName).toBeNull();
  });

  it('desktop app: the native Open dialog opens the chosen file; cancelling changes nothing', async () => {
    const { ctx, graph, io } = setup();
    io.dialogChoice = null;
    expect(await openWithDialog(ctx)).toEqual({ ok: false });
    io.dialogChoice = '/home/me/x.json';
    io.disk.set('/home/me/x.json', templateText);
    expect(await openWithDialog(ctx)).toEqual({ ok: true });
    expect(graph.getState().fileName).toBe('/home/me/x.json');
  });
});
