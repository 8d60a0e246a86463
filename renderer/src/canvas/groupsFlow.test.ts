import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { newProject } from '../../../shared/project';
import type { ImportedModel } from '../../../shared/api/importModel';
import { analyzeDoc } from '../store/analysis';
import { docFromGraph, moveNodes } from '../store/document';
import { groupBoxId, setGroupCollapsed, setGroupTrainable } from '../store/groups';
import { importedProject, importSummary } from '../export/flows';
import { parseDims } from '../export/formats';
import { createFlowModel, FRAME_HEAD, FRAME_PAD, LAYER_SIZE, type FlowInput, type GroupBoxNode, type GroupFrameNode } from './flowModel';
import { layoutDoc } from './layout';

/** input -> [base: c1 -> c2 -> c3] -> gap -> dense, with a skip c1 -> add <- c3 inside the base. */
function graph(): Graph {
  const n = (id: string, type: string, params: Graph['nodes'][number]['params'], group?: string, y = 0) => ({ id, type, name: id, params, position: { x: 0, y }, ...(group ? { group } : {}) });
  const conv = { filters: 4, kernelSize: 3, padding: 'same' };
  return {
    nodes: [
      n('input', 'Input', { kind: 'image', height: 8, width: 8, channels: 3 }),
      n('c1', 'Conv2D', conv, 'base', 100),
      n('c2', 'Conv2D', conv, 'base', 200),
      n('add', 'Add', {}, 'base', 300),
      n('gap', 'GlobalAvgPool2D', {}, undefined, 400),
      n('dense', 'Dense', { units: 3, activation: 'softmax' }, undefined, 500),
    ],
    edges: [
      { id: 'e1', source: 'input', target: 'c1', targetPort: 0 },
      { id: 'e2', source: 'c1', target: 'c2', targetPort: 0 },
      { id: 'e3', source: 'c1', target: 'add', targetPort: 0 },
      { id: 'e4', source: 'c2', target: 'add', targetPort: 1 },
      { id: 'e5', source: 'add', target: 'gap', targetPort: 0 },
      { id: 'e6', source: 'gap', target: 'dense', targetPort: 0 },
    ],
    groups: [{ id: 'base', name: 'backbone' }],
  };
}

const input = (doc: ReturnType<typeof docFromGraph>): FlowInput => ({ doc, analysis: analyzeDoc(doc), selectedNodes: new Set(), selectedEdges: new Set(), measured: {} });

describe('groups on the canvas', () => {
  it('an open group is a frame around its nodes, behind them', () => {
    const doc = docFromGraph(graph());
    const model = createFlowModel();
    const nodes = model.nodes(input(doc));
    expect(nodes.map((n) => n.id)).toEqual(['frame:base', 'input', 'c1', 'c2', 'add', 'gap', 'dense']);
    const frame = nodes[0] as GroupFrameNode;
    expect(frame.position).toEqual({ x: -FRAME_PAD, y: 100 - FRAME_PAD - FRAME_HEAD });
    expect(frame.height).toBe(200 + LAYER_SIZE.height + 2 * FRAME_PAD + FRAME_HEAD);
    expect(frame.zIndex).toBe(0);
    expect(frame.data).toMatchObject({ count: 3, frozen: 'none' });
    expect(model.edges(input(doc))).toHaveLength(6);
    // A drag outside the group keeps the frame object.
    const again = model.nodes(input(moveNodes(doc, { dense: { x: 50, y: 600 } })));
    expect(again[0]).toBe(frame);
  });

  it('a collapsed group is one box with its shapes and params; edges go to the box, none inside', () => {
    const doc = setGroupTrainable(setGroupCollapsed(docFromGraph(graph()), 'base', true), 'base', false);
    const model = createFlowModel();
    const nodes = model.nodes(input(doc));
    expect(nodes.map((n) => n.id)).toEqual(['input', 'gap', 'dense', groupBoxId('base')]);
    const box = nodes[3] as GroupBoxNode;
    expect(box.position).toEqual({ x: 0, y: 100 });
    expect(box.data).toMatchObject({ count: 3, params: 2 * (3 * 3 * 3 * 4 + 4) - 3 * 9 * 4 + 4 * 9 * 4, frozen: 'all', inShapes: ['8×8×3'], outShapes: ['8×8×4'] });
    const edges = model.edges(input(doc));
    expect(edges.map((e) => `${e.source}>${e.target}:${e.targetHandle}`)).toEqual(['input>group:base:in-0', 'group:base>gap:in-0', 'gap>dense:in-0']);
  });

  it('auto-layout places a collapsed group as its box and moves its nodes with it', async () => {
    const doc = setGroupCollapsed(docFromGraph(graph()), 'base', true);
    const positions = await layoutDoc(doc, {});
    expect(Object.keys(positions).sort()).toEqual(['add', 'c1', 'c2', 'dense', 'gap', 'input']);
    // The hidden nodes keep their offsets from each other.
    expect(positions.c2!.y - positions.c1!.y).toBe(100);
    expect(positions.add!.y - positions.c1!.y).toBe(200);
    // Box, then gap below it: the box is laid out as one node of 96 px, not the 284 px the nodes span.
    expect(positions.gap!.y - positions.c1!.y).toBeLessThan(200);
    expect(positions.input!.y).toBeLessThan(positions.c1!.y);
  });
});

describe('import flow helpers', () => {
  const imported = (weights: ImportedModel['weights']): ImportedModel => ({
    project: { ...newProject('m', graph()) },
    format: 'keras-h5',
    formatLabel: 'Keras HDF5 .h5',
    warnings: [],
    assumed: [],
    params: 1234,
    weights,
  });
  it('a project imported with weights starts training from them', () => {
    expect(importedProject(imported(null)).training.initialWeights).toBeNull();
    expect(importedProject(imported({ runId: 'r1', modelDir: '/d/runs/r1/model' })).training.initialWeights).toBe('/d/runs/r1/model');
    expect(importSummary(imported({ runId: 'r1', modelDir: '/x' }))).toBe('Keras HDF5 .h5, 6 layers, 1,234 params, with its weights (listed as a run; training starts from them)');
  });
  it('unknown dimensions are whole numbers', () => {
    expect(parseDims({ 'text:0': ' 128 ' })).toEqual({ dims: { 'text:0': 128 } });
    expect(parseDims({ 'text:0': '12.5' }, { 'text:0': 'text sequence length' })).toEqual({ key: 'text:0', error: "text sequence length: give a whole number from 1 to 1,000,000 (not '12.5')." });
    expect(parseDims({ 'a:1': '' })).toMatchObject({ key: 'a:1' });
  });
});
