import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import type { ExportRequest, ExportResult } from '../../../shared/api';
import { parseProjectText, type ProjectFile } from '../../../shared/project';
import { createGraphStore, isDirty } from '../store/graphStore';
import { uiStore } from '../store/uiStore';
import type { ActionContext } from '../actions/register';
import { dispatch } from '../actions';
import { exportUi } from './store';
import { explainError, exportRun, fetchImport, openImported } from './flows';
import { fakeProjectIO } from '../project/testing';

const templateText = readFileSync(new URL('../../../resources/templates/resnet-small.json', import.meta.url), 'utf8');

function context() {
  const graph = createGraphStore();
  const view = { fitView: vi.fn(), zoomIn: vi.fn(), zoomOut: vi.fn(), centre: () => ({ x: 0, y: 0 }) };
  const ctx: ActionContext = { graph, ui: uiStore, view, io: fakeProjectIO() };
  uiStore.setState({ dialog: null, notice: null });
  return { ctx, graph };
}

/** A project as an importer might return it: every node at the origin. */
function importedProject(): ProjectFile {
  const p = parseProjectText(templateText);
  return { ...p, name: 'imported-resnet', graph: { ...p.graph, nodes: p.graph.nodes.map((n) => ({ ...n, position: { x: 0, y: 0 } })) } };
}

describe('export flow', () => {
  it('sends the run, format and resolved path (a folder given for ONNX gets model.onnx)', async () => {
    const sent: ExportRequest[] = [];
    const engine = {
      exportModel: async (req: ExportRequest): Promise<ExportResult> => {
        sent.push(req);
        return { path: req.outPath, files: [req.outPath], notes: [] };
      },
    };
    await exportRun(engine, { runId: 'r1', format: 'onnx', outPath: ' /tmp/out ' });
    await exportRun(engine, { runId: 'r1', format: 'pytorch', outPath: '/tmp/pt' });
    expect(sent).toEqual([
      { runId: 'r1', format: 'onnx', outPath: '/tmp/out/model.onnx' },
      { runId: 'r1', format: 'pytorch', outPath: '/tmp/pt' },
    ]);
  });

  it('splits an unsupported-layers error into one item per layer', () => {
    const e = explainError('cannot export to onnx: 2 layers not supported: lstm_1 (LSTM): no ONNX lowering; att (MultiHeadAttention): masks');
    expect(e.headline).toBe('cannot export to onnx: 2 layers not supported');
    expect(e.items).toEqual(['lstm_1 (LSTM): no ONNX lowering', 'att (MultiHeadAttention): masks']);
    expect(explainError('run r9 not found')).toEqual({ headline: 'run r9 not found', items: [] });
  });
});

describe('import flow', () => {
  it('asks the engine for the path and opens the project as a new unsaved document, auto-laid-out', async () => {
    const { ctx, graph } = context();
    const engine = { importModel: vi.fn(async () => ({ project: importedProject(), format: 'tfjs-layers' as const, formatLabel: 'TensorFlow.js layers model', warnings: [], assumed: [], params: 0, weights: null })) };
    const { project } = await fetchImport(engine, '  /models/resnet/model.json ');
    expect(engine.importModel).toHaveBeenCalledWith({ path: '/models/resnet/model.json' });
    await openImported(ctx, project, '/models/resnet/model.json');

    const s = graph.getState();
    expect(s.screen).toBe('editor');
    expect(s.meta.name).toBe('imported-resnet');
    expect(s.fileName).toBeNull();
    expect(isDirty(s)).toBe(true);
    expect(s.doc.nodes.map((n) => n.name)).toEqual(project.graph.nodes.map((n) => n.name));
    // Laid out: no two nodes share a position any more, and the layout is one undo step.
    const spots = new Set(s.doc.nodes.map((n) => `${s.doc.positions[n.id]!.x},${s.doc.positions[n.id]!.y}`));
    expect(spots.size).toBe(s.doc.nodes.length);
    expect(s.history.past.length).toBe(1);
    expect(uiStore.getState().notice?.text).toMatch(/Imported imported-resnet \(\d+ layers\)/);
  });
});

describe('actions', () => {
  it('open the dialogs from their actions; image export needs layers', () => {
    const { ctx, graph } = context();
    exportUi.setState({ open: null });
    dispatch('exportImage', undefined, ctx);
    expect(exportUi.getState().open).toBeNull(); // start screen, nothing to draw
    graph.getState().loadProject(importedProject(), null);
    dispatch('exportImage', undefined, ctx);
    expect(exportUi.getState().open).toBe('image');
    dispatch('exportModel', undefined, ctx);
    expect(exportUi.getState().open).toBe('model');
    dispatch('importModel', undefined, ctx);
    expect(exportUi.getState().open).toBe('import');
  });
});
