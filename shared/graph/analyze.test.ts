import { describe, expect, it } from 'vitest';
import { analyzeGraph, resolvedParams } from './analyze';
import type { Graph, GraphEdge, GraphNode } from './types';
import { getLayer, type ParamValue } from '../layers';

/** Tiny graph builder: node(id, type, params), wire(source, target, port). Names default to ids. */
function graph() {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const g = {
    node(id: string, type: string, params: Record<string, ParamValue> = {}, name = id) {
      nodes.push({ id, type, name, params, position: { x: 0, y: nodes.length * 100 } });
      return g;
    },
    wire(source: string, target: string, targetPort = 0) {
      edges.push({ id: `${source}->${target}:${targetPort}`, source, target, targetPort });
      return g;
    },
    chain(...ids: string[]) {
      for (let i = 1; i < ids.length; i++) g.wire(ids[i - 1]!, ids[i]!);
      return g;
    },
    get value(): Graph {
      return { nodes, edges };
    },
  };
  return g;
}

const image = (h: number, w: number, c: number) => ({ kind: 'image', height: h, width: w, channels: c });
const errors = (gr: Graph) => analyzeGraph(gr).problems.filter((p) => p.severity === 'error');

describe('analyzeGraph', () => {
  it('infers shapes, params, FLOPs and activation memory along a valid chain', () => {
    const g = graph()
      .node('in', 'Input', image(32, 32, 3), 'input_1')
      .node('c1', 'Conv2D', { filters: 32, kernelSize: 3 }, 'conv2d_1')
      .node('p1', 'MaxPool2D', { poolSize: 2 }, 'max_pooling2d_1')
      .node('c2', 'Conv2D', { filters: 64, kernelSize: 3 }, 'conv2d_2')
      .node('p2', 'MaxPool2D', { poolSize: 2 }, 'max_pooling2d_2')
      .node('f', 'Flatten', {}, 'flatten_1')
      .node('d1', 'Dense', { units: 128 }, 'dense_1')
      .node('d2', 'Dense', { units: 10, activation: 'softmax' }, 'dense_2')
      .chain('in', 'c1', 'p1', 'c2', 'p2', 'f', 'd1', 'd2').value;
    const a = analyzeGraph(g);
    expect(a.problems).toEqual([]);
    expect(a.valid).toBe(true);
    expect(a.order).toEqual(['in', 'c1', 'p1', 'c2', 'p2', 'f', 'd1', 'd2']);
    expect(a.nodes.c1!.shape).toEqual([30, 30, 32]);
    expect(a.nodes.p2!.shape).toEqual([6, 6, 64]);
    expect(a.nodes.f!.shape).toEqual([2304]);
    expect(a.nodes.d2!.shape).toEqual([10]);
    expect(a.nodes.c1!.params).toBe(896);
    expect(a.nodes.c2!.params).toBe(18_496);
    expect(a.nodes.d1!.params).toBe(295_040);
    expect(a.totals.params).toBe(315_722);
    expect(a.nodes.c1!.flops).toBe(2 * 30 * 30 * 32 * 3 * 3 * 3);
    expect(a.totals.flops).toBe(Object.values(a.nodes).reduce((s, n) => s + n.flops, 0));
    expect(a.nodes.c1!.activationBytes).toBe(30 * 30 * 32 * 4);
    expect(a.inputs).toEqual(['in']);
    expect(a.outputs).toEqual(['d2']);
  });

  it('reports a wrong shape with the node name and field: "conv2d_3: kernelSize 7 is larger than its 5x5 input"', () => {
    const g = graph().node('in', 'Input', image(5, 5, 3), 'input_1').node('c', 'Conv2D', { kernelSize: 7 }, 'conv2d_3').chain('in', 'c').value;
    const [p, ...rest] = errors(g);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ code: 'shape', nodeId: 'c', field: 'kernelSize', message: 'conv2d_3: kernelSize 7 is larger than its 5x5 input' });
    expect(analyzeGraph(g).nodes.c!.shape).toBeUndefined();
  });

  it('reports a cycle naming its nodes, and analyses what is outside it', () => {
    const g = graph()
      .node('in', 'Input', image(8, 8, 1))
      .node('a', 'Add', {}, 'add_1')
      .node('b', 'Conv2D', { filters: 1, padding: 'same' }, 'conv2d_1')
      .wire('in', 'a', 0)
      .wire('b', 'a', 1)
      .wire('a', 'b').value;
    const a = analyzeGraph(g);
    const cycle = a.problems.filter((p) => p.code === 'cycle');
    expect(cycle.map((p) => p.nodeId).sort()).toEqual(['a', 'b']);
    expect(cycle[0]!.message).toBe('add_1: is part of a cycle (add_1 -> conv2d_1); a model must flow one way');
    expect(a.order).toEqual(['in']);
    expect(a.valid).toBe(false);
  });

  it('reports a missing input, and the node behind it as unreachable', () => {
    const g = graph().node('in', 'Input', image(8, 8, 1)).node('d', 'Dense', {}, 'dense_1').node('d2', 'Dense', {}, 'dense_2').node('f', 'Flatten', {}, 'flatten_1')
      .chain('in', 'f').chain('d', 'd2').value;
    const ps = errors(g);
    expect(ps).toContainEqual(expect.objectContaining({ code: 'missing-input', nodeId: 'd', message: 'dense_1: has no input; connect a layer to it' }));
    expect(ps).toContainEqual(expect.objectContaining({ code: 'unreachable', nodeId: 'd2', message: 'dense_2: no data reaches it from an Input' }));
  });

  it('reports a multi-input layer short of inputs and a gap in its ports', () => {
    const g = graph().node('in', 'Input', image(4, 4, 2)).node('a', 'Add', {}, 'add_1').wire('in', 'a', 0).value;
    expect(errors(g)).toContainEqual(expect.objectContaining({ code: 'missing-input', message: 'add_1: needs at least 2 inputs, has 1' }));
    const gap = graph().node('q', 'Input', { kind: 'sequence', timesteps: 4, features: 8 }).node('m', 'MultiHeadAttention', {}, 'mha_1').wire('q', 'm', 1).value;
    expect(errors(gap)).toContainEqual(expect.objectContaining({ code: 'missing-input', nodeId: 'm', message: 'mha_1: query is not connected' }));
  });

  it('reports an extra input (and inputs into an Input node)', () => {
    const g = graph()
      .node('in', 'Input', image(4, 4, 2))
      .node('in2', 'Input', image(4, 4, 2), 'input_2')
      .node('f', 'Flatten', {}, 'flatten_1')
      .wire('in', 'f', 0)
      .wire('in2', 'f', 1).value;
    expect(errors(g)).toContainEqual(
      expect.objectContaining({ code: 'extra-input', nodeId: 'f', edgeId: 'in2->f:1', message: 'flatten_1: takes at most 1 input, but 2 are connected' }),
    );
    const intoInput = graph().node('a', 'Input', image(4, 4, 2), 'input_1').node('b', 'Input', image(4, 4, 2), 'input_2').node('f', 'Flatten', {}, 'flatten_1')
      .chain('a', 'b', 'f').value;
    expect(errors(intoInput)).toContainEqual(expect.objectContaining({ code: 'extra-input', message: 'input_2: Input takes no inputs, but 1 is connected' }));
  });

  it('reports two edges into the same port', () => {
    const g = graph().node('a', 'Input', image(4, 4, 2), 'input_1').node('b', 'Input', image(4, 4, 2), 'input_2').node('s', 'Add', {}, 'add_1')
      .wire('a', 's', 0).wire('b', 's', 0).value;
    expect(errors(g)).toContainEqual(expect.objectContaining({ code: 'port-taken', message: 'add_1: input 1 is fed by both input_1 and input_2' }));
  });

  it('reports no output when nothing is left at the end, and no input when there is none', () => {
    const onlyInput = graph().node('in', 'Input', image(4, 4, 2)).value;
    expect(errors(onlyInput).map((p) => p.code)).toEqual(['no-output']);
    expect(errors(onlyInput)[0]!.message).toBe('the model has no output: the last layer must not feed anything');
    expect(analyzeGraph(onlyInput).problems.find((p) => p.severity === 'warning')?.message).toBe('in: this Input feeds nothing');
    expect(errors({ nodes: [], edges: [] }).map((p) => p.code)).toEqual(['no-output']);
    const noInput = graph().node('d', 'Dense', {}, 'dense_1').value;
    expect(errors(noInput).map((p) => p.code)).toContain('no-input');
  });

  it('reports duplicate and unusable names', () => {
    const g = graph().node('in', 'Input', image(4, 4, 2), 'x').node('f', 'Flatten', {}, 'x').node('d', 'Dense', {}, '3d').chain('in', 'f', 'd').value;
    const ps = errors(g);
    expect(ps).toContainEqual(expect.objectContaining({ code: 'duplicate-name', nodeId: 'f', field: 'name', message: 'x: another node already has this name' }));
    expect(ps).toContainEqual(expect.objectContaining({ code: 'bad-name', nodeId: 'd', field: 'name' }));
  });

  it('reports an unknown layer type and an edge to a missing node', () => {
    const g: Graph = {
      nodes: [{ id: 'a', type: 'Input', name: 'input_1', params: image(4, 4, 2), position: { x: 0, y: 0 } }, { id: 'b', type: 'Conv9D', name: 'weird_1', params: {}, position: { x: 0, y: 0 } }],
      edges: [{ id: 'e1', source: 'a', target: 'b', targetPort: 0 }, { id: 'e2', source: 'a', target: 'ghost', targetPort: 0 }],
    };
    const ps = errors(g);
    expect(ps).toContainEqual(expect.objectContaining({ code: 'unknown-type', nodeId: 'b', field: 'type', message: "weird_1: unknown layer type 'Conv9D'" }));
    expect(ps).toContainEqual(expect.objectContaining({ code: 'dangling-edge', edgeId: 'e2' }));
  });

  it('marks the edge that causes a shape clash in a merge', () => {
    const g = graph()
      .node('a', 'Input', image(4, 4, 2), 'input_1')
      .node('b', 'Input', image(4, 4, 3), 'input_2')
      .node('s', 'Add', {}, 'add_1')
      .wire('a', 's', 0)
      .wire('b', 's', 1).value;
    const [p] = errors(g);
    expect(p).toMatchObject({ code: 'shape', nodeId: 's', edgeId: 'b->s:1', message: 'add_1: Add needs inputs of the same shape, but input 1 is 4×4×2 and input 2 is 4×4×3' });
  });

  it('reports a bad param by node and field, and stops at it without knock-on errors', () => {
    const g = graph().node('in', 'Input', image(8, 8, 1)).node('c', 'Conv2D', { filters: 0 }, 'conv2d_1').node('f', 'Flatten', {}, 'flatten_1').chain('in', 'c', 'f').value;
    expect(errors(g)).toEqual([expect.objectContaining({ code: 'bad-param', nodeId: 'c', field: 'filters', message: 'conv2d_1: filters must be >= 1 and <= 65536, got 0' })]);
  });

  it('routes query and key/value ports of cross-attention: the output has the query shape', () => {
    const g = graph()
      .node('q', 'Input', { kind: 'sequence', timesteps: 5, features: 16 }, 'query_in')
      .node('kv', 'Input', { kind: 'sequence', timesteps: 9, features: 4 }, 'memory_in')
      .node('m', 'MultiHeadAttention', { numHeads: 2, keyDim: 8 }, 'mha_1')
      .wire('kv', 'm', 1)
      .wire('q', 'm', 0).value;
    const a = analyzeGraph(g);
    expect(a.problems).toEqual([]);
    expect(a.nodes.m!.shape).toEqual([5, 16]);
    // query 16*2*8+16, key 4*2*8+16, value 4*2*8+16, output 2*8*16+16
    expect(a.nodes.m!.params).toBe(272 + 80 + 80 + 272);
  });

  it('fills missing params from the registry defaults', () => {
    const def = getLayer('Conv2D')!;
    expect(resolvedParams(def, { filters: 8 })).toMatchObject({ filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu' });
  });
});
