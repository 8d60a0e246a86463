import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseProjectText } from '../../../shared/project';
import { createGraphStore } from './graphStore';
import { addNode, connect, extractFragment, insertFragment, parseFragment, removeItems, setParam, type Doc } from './document';
import { analyzeDoc, analysisRuns } from './analysis';

const template = parseProjectText(readFileSync(new URL('../../../resources/templates/cifar10-cnn.json', import.meta.url), 'utf8'));

function loaded() {
  const store = createGraphStore();
  store.getState().loadProject(template, 'cifar.json');
  return store;
}

function mustConnect(doc: Doc, source: string, target: string, port?: number): Doc {
  const r = connect(doc, { source, target, port });
  if (!r.ok) throw new Error(r.reason);
  return r.doc;
}

describe('graph store', () => {
  it('loads a project clean and marks edits dirty, undo returns to clean', () => {
    const store = loaded();
    const s = store.getState();
    expect(s.doc.nodes).toHaveLength(8);
    expect(s.doc !== s.savedDoc).toBe(false);
    s.commit(setParam(s.doc, 'conv1', 'filters', 16), 'Set filters');
    expect(store.getState().doc.nodes.find((n) => n.id === 'conv1')!.params.filters).toBe(16);
    expect(store.getState().doc !== store.getState().savedDoc).toBe(true);
    expect(store.getState().undo()).toBe(true);
    expect(store.getState().doc).toBe(store.getState().savedDoc);
    expect(store.getState().redo()).toBe(true);
    expect(store.getState().doc.nodes.find((n) => n.id === 'conv1')!.params.filters).toBe(16);
  });

  it('a drag is one undo step, however many position updates it makes', () => {
    const store = loaded();
    const before = store.getState().doc.positions.conv1;
    const nodesBefore = store.getState().doc.nodes;
    store.getState().select(['conv1']);
    const seen = { history: new Set<unknown>(), selection: new Set<unknown>() };
    for (let i = 1; i <= 20; i++) {
      store.getState().onNodesChange([{ type: 'position', id: 'conv1', position: { x: i * 5, y: 110 + i }, dragging: true }]);
      seen.history.add(store.getState().history);
      seen.selection.add(store.getState().selectedNodes);
    }
    // After its first move, a drag's moves keep the history and selection objects: what reads them
    // (the Undo button, the inspector) does not render again on every mouse move.
    expect(seen.history.size).toBe(1);
    expect(seen.selection.size).toBe(1);
    store.getState().onNodesChange([{ type: 'position', id: 'conv1', position: { x: 100, y: 130 }, dragging: false }]);
    expect(store.getState().doc.positions.conv1).toEqual({ x: 100, y: 130 });
    // Moving does not replace node objects, so inference and node data are untouched.
    expect(store.getState().doc.nodes).toBe(nodesBefore);
    expect(store.getState().history.past).toHaveLength(1);
    // A second drag is a step of its own.
    store.getState().onNodesChange([{ type: 'position', id: 'pool1', position: { x: 50, y: 50 }, dragging: true }]);
    store.getState().onNodesChange([{ type: 'position', id: 'pool1', position: { x: 60, y: 60 }, dragging: false }]);
    expect(store.getState().history.past).toHaveLength(2);
    store.getState().undo();
    store.getState().undo();
    expect(store.getState().doc.positions.conv1).toEqual(before);
    expect(store.getState().history.past).toHaveLength(0);
  });

  it('selection and measured sizes are view state: never in the history', () => {
    const store = loaded();
    store.getState().onNodesChange([
      { type: 'select', id: 'conv1', selected: true },
      { type: 'dimensions', id: 'conv1', dimensions: { width: 200, height: 80 } },
    ]);
    expect([...store.getState().selectedNodes]).toEqual(['conv1']);
    expect(store.getState().measured.conv1).toEqual({ width: 200, height: 80 });
    expect(store.getState().history.past).toHaveLength(0);
    expect(store.getState().doc).toBe(store.getState().savedDoc);
  });

  it('typing in a field merges by key until the group is closed', () => {
    const store = loaded();
    const { commit } = store.getState();
    commit(setParam(store.getState().doc, 'fc1', 'units', 1), 'Set units', 'param:fc1:units:1');
    commit(setParam(store.getState().doc, 'fc1', 'units', 12), 'Set units', 'param:fc1:units:1');
    commit(setParam(store.getState().doc, 'fc1', 'units', 128), 'Set units', 'param:fc1:units:1');
    store.getState().endGroup();
    commit(setParam(store.getState().doc, 'fc1', 'units', 64), 'Set units', 'param:fc1:units:1');
    expect(store.getState().history.past).toHaveLength(2);
    store.getState().undo();
    expect(store.getState().doc.nodes.find((n) => n.id === 'fc1')!.params.units).toBe(128);
  });

  it('deleting a node removes its edges; undo brings both back; selection is pruned', () => {
    const store = loaded();
    store.getState().select(['conv2']);
    store.getState().commit(removeItems(store.getState().doc, ['conv2']), 'Delete');
    const s = store.getState();
    expect(s.doc.nodes.some((n) => n.id === 'conv2')).toBe(false);
    expect(s.doc.edges.some((e) => e.source === 'conv2' || e.target === 'conv2')).toBe(false);
    expect(s.selectedNodes.size).toBe(0);
    s.undo();
    expect(store.getState().doc.edges).toHaveLength(7);
  });
});

describe('document operations', () => {
  it('builds the CIFAR-10 CNN and infers 315,722 parameters', () => {
    let doc: Doc = { nodes: [], edges: [], positions: {} };
    const ids: string[] = [];
    for (const type of ['Input', 'Conv2D', 'MaxPool2D', 'Conv2D', 'MaxPool2D', 'Flatten', 'Dense', 'Dense']) {
      const r = addNode(doc, type, { x: 0, y: ids.length * 100 });
      doc = r.doc;
      ids.push(r.id);
    }
    for (let i = 1; i < ids.length; i++) doc = mustConnect(doc, ids[i - 1]!, ids[i]!);
    doc = setParam(doc, ids[3]!, 'filters', 64);
    doc = setParam(doc, ids[7]!, 'units', 10);
    doc = setParam(doc, ids[7]!, 'activation', 'softmax');
    const a = analyzeDoc(doc);
    expect(a.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(a.totals.params).toBe(315_722);
    expect(a.nodes[ids[1]!]!.shape).toEqual([30, 30, 32]);
    expect(doc.nodes.map((n) => n.name)).toEqual(['input_1', 'conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'max_pooling2d_2', 'flatten_1', 'dense_1', 'dense_2']);
  });

  it('refuses cycles, self-loops and extra inputs with a reason', () => {
    const doc = loaded().getState().doc;
    const cycle = connect(doc, { source: 'fc1', target: 'conv1' });
    expect(cycle.ok).toBe(false);
    expect(!cycle.ok && cycle.reason).toMatch(/cycle \(dense_1 → conv2d_1 → .* → dense_1\)/);
    const self = connect(doc, { source: 'fc1', target: 'fc1' });
    expect(!self.ok && self.reason).toMatch(/cycle/);
    const extra = connect(doc, { source: 'input', target: 'fc1' });
    expect(!extra.ok && extra.reason).toMatch(/dense_1 \(Dense\) takes one input and already has one/);
    const intoInput = connect(doc, { source: 'fc1', target: 'input' });
    expect(!intoInput.ok && intoInput.reason).toMatch(/takes no inputs/);
  });

  it('variadic layers take the next free port and renumber when an input goes', () => {
    let doc: Doc = { nodes: [], edges: [], positions: {} };
    const a = addNode(doc, 'Input', { x: 0, y: 0 });
    const b = addNode(a.doc, 'Dense', { x: 0, y: 0 });
    const c = addNode(b.doc, 'Dense', { x: 0, y: 0 });
    const add = addNode(c.doc, 'Add', { x: 0, y: 0 });
    doc = add.doc;
    doc = mustConnect(doc, a.id, b.id);
    doc = mustConnect(doc, a.id, c.id);
    doc = mustConnect(doc, b.id, add.id, 0);
    doc = mustConnect(doc, c.id, add.id, 0);
    expect(doc.edges.filter((e) => e.target === add.id).map((e) => e.targetPort)).toEqual([0, 1]);
    const first = doc.edges.find((e) => e.target === add.id && e.targetPort === 0)!;
    doc = removeItems(doc, [], [first.id]);
    expect(doc.edges.filter((e) => e.target === add.id).map((e) => e.targetPort)).toEqual([0]);
  });

  it('copy/paste round-trips through clipboard JSON with fresh ids and names', () => {
    const doc = loaded().getState().doc;
    const frag = extractFragment(doc, ['conv2', 'pool2', 'flat'])!;
    expect(frag.edges).toHaveLength(2);
    const parsed = parseFragment(JSON.stringify(frag))!;
    expect(parsed).not.toBeNull();
    const { doc: next, ids } = insertFragment(doc, parsed, { offset: { x: 40, y: 40 } });
    expect(ids).toHaveLength(3);
    expect(next.nodes).toHaveLength(11);
    expect(next.edges).toHaveLength(9);
    const names = next.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    expect(next.positions[ids[0]!]).toEqual({ x: doc.positions.conv2!.x + 40, y: doc.positions.conv2!.y + 40 });
    expect(parseFragment('{"hello":1}')).toBeNull();
    expect(parseFragment('not json')).toBeNull();
  });

  it('does not re-run inference when only positions change', () => {
    const store = loaded();
    analyzeDoc(store.getState().doc);
    const runs = analysisRuns();
    store.getState().onNodesChange([{ type: 'position', id: 'conv1', position: { x: 7, y: 7 }, dragging: true }]);
    analyzeDoc(store.getState().doc);
    expect(analysisRuns()).toBe(runs);
    store.getState().commit(setParam(store.getState().doc, 'conv1', 'kernelSize', 40), 'Set kernelSize');
    const a = analyzeDoc(store.getState().doc);
    expect(analysisRuns()).toBe(runs + 1);
    expect(a.problems.find((p) => p.nodeId === 'conv1')?.message).toMatch(/kernelSize 40 is larger than its 32x32 input/);
  });
});
