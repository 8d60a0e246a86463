import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { parseProjectText, serializeProject } from '../../../shared/project';
import type { ActionContext } from '../actions/register';
import { dispatch } from '../actions';
import { createGraphStore, isDirty } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import { saveProjectNamed } from './files';
import { adoptFound, autosave, discardFound, findRecovery, TAB_KEY } from './recovery';
import { fakeProjectIO } from './testing';

const templateText = readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8');
const flush = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const graph = createGraphStore();
  graph.getState().loadProject(parseProjectText(templateText), null);
  const io = fakeProjectIO();
  const ctx: ActionContext = { graph, ui: uiStore, view: { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) }, io };
  return { ctx, graph, io };
}

describe('autosave recovery (renderer side)', () => {
  it('autosaves this window to the engine under its own key; a clean save clears it', async () => {
    const { ctx, graph, io } = setup();
    graph.getState().select(['out']);
    dispatch('deleteSelection', undefined, ctx);
    autosave(ctx, { fileName: null, name: 'CIFAR-10 CNN', text: serializeProject(graph.getState().toProject()) });
    await flush();
    expect([...io.recovery.keys()]).toEqual([TAB_KEY]);
    expect(TAB_KEY).toMatch(/^tab-[0-9a-f]{16}$/);
    await saveProjectNamed(ctx, 'net.json');
    await flush();
    expect(io.recovery.size).toBe(0);
  });

  it('an edit made during the save keeps the autosave', async () => {
    const { ctx, graph, io } = setup();
    autosave(ctx, { fileName: null, name: 'x', text: templateText });
    let release!: () => void;
    io.gate = new Promise((r) => (release = r));
    const pending = saveProjectNamed(ctx, 'net.json');
    await flush();
    graph.getState().select(['out']);
    dispatch('deleteSelection', undefined, ctx);
    release();
    await pending;
    await flush();
    expect(isDirty(graph.getState())).toBe(true);
    expect(io.recovery.has(TAB_KEY)).toBe(true);
  });

  it('finds autosaves of other windows, adopts a restored one into this window and discards on request', async () => {
    const { ctx, io } = setup();
    io.recovery.set('tab-old', { text: templateText, sourcePath: '/data/projects/a.json' });
    io.recovery.set('tab-older', { text: templateText, sourcePath: null });
    const found = await findRecovery(ctx);
    expect(found.map((f) => f.key).sort()).toEqual(['tab-old', 'tab-older']);
    await adoptFound(ctx, found.find((f) => f.key === 'tab-old')!);
    expect(io.recovery.get(TAB_KEY)?.sourcePath).toBe('/data/projects/a.json');
    expect(io.recovery.has('tab-old')).toBe(false);
    await discardFound(ctx, found.find((f) => f.key === 'tab-older')!);
    expect([...io.recovery.keys()]).toEqual([TAB_KEY]);
    // This window's own slot is never offered back to it.
    expect(await findRecovery(ctx)).toEqual([]);
  });
});
