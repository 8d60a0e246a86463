import { describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { docFromGraph, graphFromDoc, removeItems } from './document';
import { createGraphStore } from './graphStore';
import { collapsedRoots, groupBoxId, groupIdOfBox, hiddenNodes, memberIds, paramSplit, poolingFor, replaceHead, setAllCollapsed, setGroupCollapsed, setGroupTrainable, setTrainable } from './groups';
import { newProject } from '../../../shared/project';

/** input -> [base: conv1 -> [block: conv2] -> pool] -> flat -> dense(10) */
function graph(): Graph {
  const n = (id: string, type: string, params: Graph['nodes'][number]['params'], group?: string, y = 0) => ({ id, type, name: id, params, position: { x: 0, y }, ...(group ? { group } : {}) });
  return {
    nodes: [
      n('input', 'Input', { kind: 'image', height: 8, width: 8, channels: 3 }),
      n('conv1', 'Conv2D', { filters: 4, kernelSize: 3 }, 'base', 100),
      n('conv2', 'Conv2D', { filters: 4, kernelSize: 3 }, 'block', 200),
      n('pool', 'MaxPool2D', {}, 'base', 300),
      n('flat', 'Flatten', {}, undefined, 400),
      n('dense', 'Dense', { units: 10, activation: 'softmax' }, undefined, 500),
    ],
    edges: [
      { id: 'e1', source: 'input', target: 'conv1', targetPort: 0 },
      { id: 'e2', source: 'conv1', target: 'conv2', targetPort: 0 },
      { id: 'e3', source: 'conv2', target: 'pool', targetPort: 0 },
      { id: 'e4', source: 'pool', target: 'flat', targetPort: 0 },
      { id: 'e5', source: 'flat', target: 'dense', targetPort: 0 },
    ],
    groups: [
      { id: 'base', name: 'mobilenet' },
      { id: 'block', name: 'block_1', parent: 'base' },
    ],
  };
}

describe('groups in the document', () => {
  it('round-trips trainable, group and groups through the project graph', () => {
    const g = graph();
    g.nodes[1]!.trainable = false;
    const back = graphFromDoc(docFromGraph(g));
    expect(back.groups).toEqual(g.groups);
    expect(back.nodes[1]).toMatchObject({ trainable: false, group: 'base' });
    expect(back.nodes[0]).not.toHaveProperty('trainable');
    expect(graphFromDoc(docFromGraph({ nodes: [], edges: [] }))).not.toHaveProperty('groups');
  });

  it('members include inner groups; collapsing the outer group hides the inner one with it', () => {
    const doc = docFromGraph(graph());
    expect(memberIds(doc, 'base').sort()).toEqual(['conv1', 'conv2', 'pool']);
    expect(memberIds(doc, 'block')).toEqual(['conv2']);
    expect(hiddenNodes(doc).size).toBe(0);
    const inner = setGroupCollapsed(doc, 'block', true);
    expect([...hiddenNodes(inner)]).toEqual([['conv2', 'block']]);
    const both = setGroupCollapsed(inner, 'base', true);
    expect(collapsedRoots(both).get('block')).toBe('base');
    expect(hiddenNodes(both)).toEqual(new Map([['conv1', 'base'], ['conv2', 'base'], ['pool', 'base']]));
    // Expanding the outer group shows the inner one still collapsed.
    expect([...hiddenNodes(setGroupCollapsed(both, 'base', false))]).toEqual([['conv2', 'block']]);
    expect(setGroupCollapsed(both, 'base', true)).toBe(both);
    expect(() => setGroupCollapsed(doc, 'nope', true)).toThrow(/no group 'nope'/);
    expect(groupIdOfBox(groupBoxId('base'))).toBe('base');
    expect(groupIdOfBox('conv1')).toBeNull();
    expect(setAllCollapsed(doc, true).groups).toEqual([{ id: 'base', name: 'mobilenet', collapsed: true }, { id: 'block', name: 'block_1', parent: 'base' }]);
  });

  it('collapse and expand are undoable document edits, saved with the project', () => {
    const store = createGraphStore();
    store.getState().loadProject({ ...newProject('m'), graph: graph() }, null);
    const s = store.getState();
    s.commit(setGroupCollapsed(s.doc, 'base', true), 'Collapse group');
    expect(store.getState().toProject().graph.groups?.[0]).toEqual({ id: 'base', name: 'mobilenet', collapsed: true });
    store.getState().undo();
    expect(store.getState().toProject().graph.groups?.[0]).toEqual({ id: 'base', name: 'mobilenet' });
    store.getState().redo();
    expect(store.getState().doc.groups?.[0]?.collapsed).toBe(true);
  });

  it('dragging a collapsed group box moves all its nodes, as one undo step', () => {
    const store = createGraphStore();
    store.getState().loadProject({ ...newProject('m'), graph: graph() }, null);
    store.getState().commit(setGroupCollapsed(store.getState().doc, 'base', true), 'Collapse group');
    const before = store.getState().doc.positions;
    store.getState().onNodesChange([{ type: 'position', id: groupBoxId('base'), position: { x: 30, y: 120 }, dragging: true }]);
    store.getState().onNodesChange([{ type: 'position', id: groupBoxId('base'), position: { x: 50, y: 140 }, dragging: false }]);
    const after = store.getState().doc.positions;
    expect(after.conv1).toEqual({ x: 50, y: 140 });
    expect(after.pool).toEqual({ x: 50, y: 340 });
    expect(after.input).toEqual(before.input);
    store.getState().undo();
    expect(store.getState().doc.positions.conv1).toEqual({ x: 0, y: 100 });
  });

  it('removing the last node of a group drops the group', () => {
    const doc = docFromGraph(graph());
    const noBlock = removeItems(doc, ['conv2']);
    expect(noBlock.groups?.map((g) => g.id)).toEqual(['base']);
    expect(removeItems(doc, ['conv1', 'conv2', 'pool'])).not.toHaveProperty('groups');
  });
});

describe('freezing', () => {
  it('freezes nodes and groups and splits the parameter total', () => {
    const doc = docFromGraph(graph());
    const frozen = setGroupTrainable(doc, 'base', false);
    expect(frozen.nodes.filter((n) => n.trainable === false).map((n) => n.id)).toEqual(['conv1', 'conv2', 'pool']);
    expect(frozen.nodes[0]).toBe(doc.nodes[0]);
    const params: Record<string, number> = { conv1: 112, conv2: 148, dense: 170 };
    expect(paramSplit(frozen, (id) => params[id] ?? 0)).toEqual({ trainable: 170, frozen: 260 });
    const thawed = setTrainable(frozen, ['conv2'], true);
    expect(thawed.nodes.find((n) => n.id === 'conv2')).not.toHaveProperty('trainable');
    expect(setTrainable(thawed, ['conv2'], true)).toBe(thawed);
  });
});

describe('replace the head', () => {
  it('removes what follows the node, adds pooling + Dense for the classes and freezes the base', () => {
    const doc = docFromGraph(graph());
    const r = replaceHead(doc, 'pool', [2, 2, 4], { units: 3, activation: 'softmax' });
    expect(r.removed).toEqual(['flat', 'dense']);
    expect(r.frozen).toBe(4);
    const names = r.doc.nodes.map((n) => n.name);
    expect(names).toEqual(['input', 'conv1', 'conv2', 'pool', 'head_pool', 'head']);
    const [pool, dense] = r.added.map((id) => r.doc.nodes.find((n) => n.id === id)!);
    expect(pool!.type).toBe('GlobalAvgPool2D');
    expect(dense).toMatchObject({ type: 'Dense', params: { units: 3, activation: 'softmax', useBias: true } });
    expect(dense!.trainable).toBeUndefined();
    expect(r.doc.nodes.filter((n) => n.trainable === false).map((n) => n.id)).toEqual(['input', 'conv1', 'conv2', 'pool']);
    expect(r.doc.edges.map((e) => `${e.source}>${e.target}`)).toEqual(['input>conv1', 'conv1>conv2', 'conv2>pool', `pool>${pool!.id}`, `${pool!.id}>${dense!.id}`]);
    expect(r.doc.positions[dense!.id]).toEqual({ x: 0, y: 560 });
    // A vector output gets the Dense directly; names stay unique.
    const again = replaceHead(r.doc, pool!.id, [4], { units: 2, activation: 'softmax' });
    expect(again.doc.nodes.map((n) => n.name).slice(-1)).toEqual(['head']);
    expect(again.added).toHaveLength(1);
    expect(again.removed).toEqual(['head']);
  });

  it('picks the pooling by the output rank', () => {
    expect(poolingFor([7, 7, 1280])).toBe('GlobalAvgPool2D');
    expect(poolingFor([20, 64])).toBe('GlobalAvgPool1D');
    expect(poolingFor([64])).toBeNull();
    expect(poolingFor([2, 2, 2, 2])).toBe('Flatten');
    expect(() => replaceHead(docFromGraph(graph()), 'x', null, { units: 2, activation: 'softmax' })).toThrow(/no node 'x'/);
  });
});
