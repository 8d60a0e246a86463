/**
 * Fuzz: analyzeGraph on random graphs (registry types with random, NaN, negative and huge params; random
 * edges with cycles, self-loops, dangling ends and odd ports) never throws, names the node in every
 * node problem, reports whole-graph problems without a node, and keeps its totals finite.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FuzzTally, nastyValue } from '../../scripts/security/fuzz';
import { LAYERS, type ParamSpec, type ParamValue } from '../layers';
import { analyzeGraph } from './analyze';
import type { Graph, GraphEdge, GraphNode, ProblemCode } from './types';

const tally = new FuzzTally('graphs (analyzeGraph)');
afterAll(() => tally.report());

const WHOLE_GRAPH: ProblemCode[] = ['no-input', 'no-output', 'dangling-edge'];

function validValue(spec: ParamSpec): fc.Arbitrary<ParamValue> {
  switch (spec.kind) {
    case 'int':
      return fc.integer({ min: spec.min ?? -4, max: Math.min(spec.max ?? 64, 64) });
    case 'float':
      return fc.double({ min: spec.min ?? -2, max: spec.max ?? 2, noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'choice':
      return fc.constantFrom(...spec.options);
    case 'intList':
      return fc.array(fc.integer({ min: -1, max: 8 }), { minLength: spec.minLength ?? 0, maxLength: Math.min(spec.maxLength ?? 4, 5) });
  }
}

const oddNumber = fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e9, 1e308, 2 ** 53 + 1, 0.5, -0);

function paramsFor(def: (typeof LAYERS)[number]): fc.Arbitrary<Record<string, ParamValue>> {
  const entries = Object.entries(def.params).map(([k, spec]) =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constant<[string, ParamValue] | null>([k, spec.default]) },
      { weight: 5, arbitrary: validValue(spec).map((v): [string, ParamValue] => [k, v]) },
      { weight: 2, arbitrary: oddNumber.map((v): [string, ParamValue] => [k, v]) },
      { weight: 1, arbitrary: nastyValue.map((v): [string, ParamValue] => [k, v as ParamValue]) },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
  );
  return fc.tuple(...entries).map((es) => Object.fromEntries(es.filter((e): e is [string, ParamValue] => e !== null)));
}

const nodeArb = (i: number): fc.Arbitrary<GraphNode> =>
  fc
    .oneof(
      { weight: 20, arbitrary: fc.constantFrom(...LAYERS) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    )
    .chain((def) =>
      fc.record({
        id: fc.constant(`n${i}`),
        type: def ? fc.constant(def.type) : fc.constantFrom('NoSuchLayer', '', 'constructor', '__proto__', 'toString'),
        name: fc.oneof(
          { weight: 10, arbitrary: fc.constant(`layer_${i}`) },
          // '' is left out here: see the separate test of unnamed nodes below.
          { weight: 1, arbitrary: fc.constantFrom('layer_0', '1abc', 'with space', '__proto__', 'constructor', 'é', ' ') },
        ),
        params: def ? paramsFor(def) : fc.constant({}),
        position: fc.record({ x: fc.double(), y: fc.double() }),
      }),
    );

const graphArb: fc.Arbitrary<Graph> = fc.integer({ min: 0, max: 24 }).chain((count) =>
  fc
    .tuple(
      fc.tuple(...Array.from({ length: count }, (_, i) => nodeArb(i))),
      fc.boolean(), // chain the nodes in order first (so shape inference gets deep)
      fc.boolean(), // force node 0 to be an Input
      fc.array(
        fc.record({
          s: fc.integer({ min: 0, max: count + 1 }),
          t: fc.integer({ min: 0, max: count + 1 }),
          port: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1000, 2 ** 31) }),
        }),
        { maxLength: count * 2 },
      ),
      fc.integer({ min: 1, max: 64 }),
      fc.boolean(), // a clean graph: default params, chain edges only (so some graphs are valid models)
    )
    .map(([nodes, chain, forceInput, extraEdges, size, clean]) => {
      let ns = nodes as GraphNode[];
      const extra = clean ? [] : extraEdges;
      if (clean) {
        chain = true;
        forceInput = true;
        ns = ns.map((n) => {
          const def = LAYERS.find((l) => l.type === n.type);
          return def ? { ...n, params: Object.fromEntries(Object.entries(def.params).map(([k, spec]) => [k, spec.default])) } : n;
        });
      }
      if (forceInput && ns[0]) {
        ns[0] = { ...ns[0], type: 'Input', params: { kind: 'image', height: size, width: size, channels: 3 } };
      }
      const edges: GraphEdge[] = [];
      if (chain) for (let i = 1; i < ns.length; i++) edges.push({ id: `c${i}`, source: `n${i - 1}`, target: `n${i}`, targetPort: 0 });
      extra.forEach((e, k) => edges.push({ id: `x${k}`, source: `n${e.s}`, target: `n${e.t}`, targetPort: e.port }));
      return { nodes: ns, edges };
    }),
);

let slowest = 0;
function checkAnalysis(graph: Graph, kind: string): void {
  tally.add(kind);
  const t = performance.now();
  let a: ReturnType<typeof analyzeGraph>;
  try {
    a = analyzeGraph(graph);
  } catch (error) {
    throw new Error(`analyzeGraph threw on a ${kind}: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error)}`);
  }
  const took = performance.now() - t;
  if (took > 200 && kind === 'random graph') console.log(`[fuzz] slow analyzeGraph case (${took.toFixed(0)} ms): ${JSON.stringify(graph).slice(0, 3000)}`);
  if (kind === 'random graph') slowest = Math.max(slowest, took);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const p of a.problems) {
    expect(p.message.length, JSON.stringify(p)).toBeGreaterThan(0);
    if (p.nodeId !== undefined) {
      const node = byId.get(p.nodeId);
      expect(node, `problem names an unknown node: ${JSON.stringify(p)}`).toBeDefined();
      const label = node!.name || '(unnamed)';
      expect(p.message.startsWith(`${label}:`), `node problem must start with the node name: ${JSON.stringify(p)}`).toBe(true);
    } else {
      expect(WHOLE_GRAPH, `problem without a node must be a whole-graph one: ${JSON.stringify(p)}`).toContain(p.code);
    }
  }
  expect(a.valid).toBe(!a.problems.some((p) => p.severity === 'error'));
  for (const [k, v] of Object.entries(a.totals)) expect(Number.isFinite(v) && v >= 0, `totals.${k} = ${v}`).toBe(true);
  for (const [id, info] of Object.entries(a.nodes)) {
    if (info.shape) expect(info.shape.every((d) => Number.isInteger(d) && d >= 1), `${id} shape ${info.shape.join('x')}`).toBe(true);
    expect(Number.isFinite(info.params) && info.params >= 0, `${id} params ${info.params}`).toBe(true);
  }
  if (a.valid) expect(a.order.length).toBe(graph.nodes.length);
}

describe('analyzeGraph under fuzzing', () => {
  it('random graphs of registry layers with random / NaN / negative / huge params and random edges', () => {
    let valid = 0;
    fc.assert(
      fc.property(graphArb, (g) => {
        checkAnalysis(g, 'random graph');
        if (analyzeGraph(g).valid) valid++;
      }),
      { numRuns: 1500 },
    );
    console.log(`[fuzz] random graphs that were valid models: ${valid} of 1500`);
  });

  it('long chains, wide fans and full cycles stay linear-ish and never throw', () => {
    const chain = (n: number, cyclic: boolean): Graph => {
      const nodes: GraphNode[] = [{ id: 'n0', type: 'Input', name: 'input_0', params: { kind: 'sequence', timesteps: 4, features: 4 }, position: { x: 0, y: 0 } }];
      for (let i = 1; i < n; i++) nodes.push({ id: `n${i}`, type: 'Dense', name: `dense_${i}`, params: { units: 4 }, position: { x: 0, y: i } });
      const edges: GraphEdge[] = nodes.slice(1).map((nd, i) => ({ id: `e${i}`, source: `n${i}`, target: nd.id, targetPort: 0 }));
      if (cyclic) edges.push({ id: 'back', source: `n${n - 1}`, target: 'n1', targetPort: 1 });
      return { nodes, edges };
    };
    const times: string[] = [];
    // The cyclic 5,000-node case is left out: it takes seconds (cycle reporting is quadratic, see the report).
    for (const n of [500, 2000, 5000]) {
      for (const cyclic of n < 5000 ? [false, true] : [false]) {
        const t = performance.now();
        checkAnalysis(chain(n, cyclic), 'big graph');
        times.push(`${n}${cyclic ? ' (cycle)' : ''}: ${(performance.now() - t).toFixed(1)} ms`);
      }
    }
    console.log(`[fuzz] analyzeGraph on chains: ${times.join(', ')}`);
  });

  // A node with an empty name is labelled '(unnamed)' in every one of its problems, not only the bad-name one.
  it('every problem of an unnamed node names it as (unnamed)', () => {
    const graph: Graph = {
      nodes: [
        { id: 'a', type: 'Input', name: 'input_1', params: { kind: 'image', height: 8, width: 8, channels: 1 }, position: { x: 0, y: 0 } },
        { id: 'b', type: 'Dense', name: '', params: { units: -3 }, position: { x: 0, y: 0 } },
      ],
      edges: [{ id: 'e', source: 'a', target: 'b', targetPort: 0 }],
    };
    checkAnalysis(graph, 'unnamed node');
  });

  it('reports the slowest random case', () => {
    console.log(`[fuzz] analyzeGraph: slowest random case ${slowest.toFixed(1)} ms`);
    expect(tally.total).toBeGreaterThan(1500);
  });
});
