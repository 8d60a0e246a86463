/**
 * Generic tests over the whole registry: for every layer type and a spread of params generated from its
 * param specs, our shape inference and parameter count must equal what tfjs builds, and bad params must
 * give our own error (a bad-param problem naming the node and field), never a tfjs crash.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { customLayerFactories } from '../../main/engine/compile/custom';
import { compileGraph, CompileError } from '../../main/engine/compile';
import { analyzeGraph } from '../graph';
import type { Graph, GraphEdge, GraphNode } from '../graph';
import { ACTIVATIONS, CATEGORIES, checkParam, defaultParams, LAYERS, ShapeError, type AnyLayerDef, type ParamSpec, type ParamValue, type Shape } from '.';

type Params = Record<string, ParamValue>;
interface InputSet {
  shapes: Shape[];
  params?: Params;
}

/** Inputs tried for every layer type that has no fixture: an image, a sequence, a vector. */
const CANDIDATES: Shape[] = [[9, 9, 4], [5, 7, 2], [4, 4, 1], [6, 5], [3, 8], [1, 3], [12], [2]];

/** Only what cannot be generated: inputs that need matching params, and list-valued params. */
const FIXTURES: Record<string, { inputs?: InputSet[]; variants?: Params[] }> = {
  Concatenate: {
    inputs: [
      { shapes: [[9, 9, 4], [9, 9, 2]] },
      { shapes: [[6, 5], [6, 3], [6, 1]] },
      { shapes: [[6, 5], [2, 5]], params: { axis: 1 } },
      { shapes: [[3, 4, 2], [3, 1, 2]], params: { axis: -2 } },
    ],
  },
  MultiHeadAttention: { inputs: [{ shapes: [[5, 8]] }, { shapes: [[4, 8], [6, 3]] }] },
  PositionalEmbedding: {
    inputs: [
      { shapes: [[5, 8]], params: { sequenceLength: 5 } },
      { shapes: [[3, 4]], params: { sequenceLength: 3 } },
      { shapes: [[1, 7]], params: { sequenceLength: 1 } },
    ],
  },
  Reshape: { variants: [{ targetShape: [-1, 4] }, { targetShape: [18, -1] }, { targetShape: [81, 4] }, { targetShape: [2, 3, -1] }, { targetShape: [4, 3] }] },
  Permute: { variants: [{ dims: [1, 2] }, { dims: [1, 3, 2] }, { dims: [3, 1, 2] }, { dims: [1] }] },
  PReLU: { variants: [{ sharedAxes: [1, 2] }, { sharedAxes: [1] }, { sharedAxes: [2] }, { sharedAxes: [3] }] },
};

/** Seeded PRNG so the spread of params is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Values worth trying for one param: the default, the range ends and a step away from the default. */
function valuesFor(spec: ParamSpec): ParamValue[] {
  switch (spec.kind) {
    case 'int': {
      const d = spec.default;
      const vs = [d, d + 1, 2 * d, spec.min ?? d, Math.min(d + 3, spec.max ?? Infinity)];
      return [...new Set(vs.filter((v) => (spec.min === undefined || v >= spec.min) && (spec.max === undefined || v <= spec.max)))];
    }
    case 'float': {
      const lo = spec.min ?? 0;
      const hi = spec.max ?? lo + 1;
      return [...new Set([spec.default, (lo + hi) / 2, spec.exclusiveMin ? (lo + spec.default) / 2 : lo])];
    }
    case 'bool':
      return [spec.default, !spec.default];
    case 'choice':
      return [...spec.options];
    case 'intList':
      return [spec.default];
  }
}

/** Makes a param's `when` condition true by flipping another bool / choosing another option, if it is false. */
function enable(def: AnyLayerDef, params: Params, key: string): Params | null {
  const spec = def.params[key]!;
  if (!spec.when || spec.when(params)) return params;
  for (const [k, s] of Object.entries(def.params)) {
    if (k === key) continue;
    for (const v of s.kind === 'bool' ? [!params[k]] : s.kind === 'choice' ? s.options : []) {
      const p = { ...params, [k]: v };
      if (spec.when(p)) return p;
    }
  }
  return null;
}

/** Param sets for a type: defaults, one param varied at a time, fixture variants, a few random mixes. */
function paramSets(def: AnyLayerDef, base: Params): Params[] {
  const sets: Params[] = [{ ...defaultParams(def), ...base }];
  const start = sets[0]!;
  for (const [key, spec] of Object.entries(def.params)) {
    if (key in base) continue;
    for (const v of valuesFor(spec)) {
      const p = enable(def, { ...start, [key]: v }, key);
      if (p) sets.push(p);
    }
  }
  for (const v of FIXTURES[def.type]?.variants ?? []) sets.push({ ...start, ...v });
  const r = rng(def.type.length * 7919 + Object.keys(def.params).length);
  for (let i = 0; i < 4; i++) {
    const p: Params = { ...start };
    for (const [key, spec] of Object.entries(def.params)) {
      if (key in base) continue;
      const vs = valuesFor(spec);
      p[key] = vs[Math.floor(r() * vs.length)]!;
    }
    sets.push(p);
  }
  const seen = new Set<string>();
  return sets.filter((p) => {
    const k = JSON.stringify(p);
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function inputSets(def: AnyLayerDef): InputSet[] {
  const fixture = FIXTURES[def.type]?.inputs;
  if (fixture) return fixture;
  const n = Math.max(def.inputs.min, 1);
  return CANDIDATES.map((s) => ({ shapes: Array.from({ length: n }, () => s) }));
}

interface Case {
  inputs: Shape[];
  params: Params;
}

/** Every (inputs, params) pair our registry accepts; the ones it refuses are returned too, with why. */
function cases(def: AnyLayerDef): { ok: Case[]; refused: Array<Case & { why: string }> } {
  const ok: Case[] = [];
  const refused: Array<Case & { why: string }> = [];
  for (const set of inputSets(def)) {
    for (const params of paramSets(def, set.params ?? {})) {
      const cross = def.checkParams?.(params as never) ?? [];
      if (cross.length) {
        refused.push({ inputs: set.shapes, params, why: cross[0]![1] });
        continue;
      }
      try {
        def.outputShape(set.shapes, params as never);
        ok.push({ inputs: set.shapes, params });
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        refused.push({ inputs: set.shapes, params, why: e.message });
      }
    }
  }
  return { ok, refused };
}

let uid = 0;
function buildWithTf(def: AnyLayerDef, c: Case): { shape: number[]; params: number } {
  const inputs = c.inputs.map((s) => tf.input({ shape: [...s] }));
  const layer = def.build({ tf, custom: customLayerFactories(tf), inputShapes: c.inputs }, c.params as never, `layer_${++uid}`);
  const out = layer.apply(def.inputs.max === 1 ? inputs[0]! : inputs) as tf.SymbolicTensor;
  const model = tf.model({ inputs, outputs: out });
  const result = { shape: out.shape.slice(1) as number[], params: model.countParams() };
  model.dispose();
  return result;
}

function inputNode(id: string, shape: Shape): GraphNode {
  const params: Params =
    shape.length === 3 ? { kind: 'image', height: shape[0]!, width: shape[1]!, channels: shape[2]! }
      : shape.length === 2 ? { kind: 'sequence', timesteps: shape[0]!, features: shape[1]! }
        : { kind: 'tokens', length: shape[0]! };
  return { id, type: 'Input', name: id, params, position: { x: 0, y: 0 } };
}

/** Input node(s) -> the layer under test, named 'node_1'. For Input itself: Input -> Flatten. */
function graphFor(def: AnyLayerDef, params: Params, inputs: Shape[]): Graph {
  if (def.type === 'Input') {
    return {
      nodes: [{ id: 'n', type: 'Input', name: 'node_1', params, position: { x: 0, y: 0 } }, { id: 'f', type: 'Flatten', name: 'flatten_1', params: {}, position: { x: 0, y: 100 } }],
      edges: [{ id: 'e', source: 'n', target: 'f', targetPort: 0 }],
    };
  }
  const nodes = inputs.map((s, i) => inputNode(`in_${i}`, s));
  const edges: GraphEdge[] = inputs.map((_, i) => ({ id: `e${i}`, source: `in_${i}`, target: 'n', targetPort: i }));
  nodes.push({ id: 'n', type: def.type, name: 'node_1', params, position: { x: 0, y: 100 } });
  return { nodes, edges };
}

/** Values a param must refuse: wrong type, NaN, out of range. */
function invalidValues(spec: ParamSpec): unknown[] {
  switch (spec.kind) {
    case 'int':
      return [NaN, 'abc', 1.5, Infinity, ...(spec.min !== undefined ? [spec.min - 1] : []), ...(spec.max !== undefined ? [spec.max + 1] : [])];
    case 'float':
      return [NaN, Infinity, 'x', true, ...(spec.min !== undefined ? [spec.exclusiveMin ? spec.min : spec.min - 1] : []), ...(spec.max !== undefined ? [spec.max + 0.5] : [])];
    case 'bool':
      return ['yes', 1, null];
    case 'choice':
      return ['nonsense', 3, ''];
    case 'intList':
      return ['1,2', [1.5], [NaN], 7, ...(spec.minLength ? [[]] : []), ...(spec.min !== undefined ? [[spec.min - 1]] : [])];
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the registry', () => {
  it('has every type issue 2 asks for, each once', () => {
    const types = LAYERS.map((l) => l.type);
    expect(new Set(types).size).toBe(types.length);
    for (const t of ['Input', 'Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'MaxPool2D', 'AvgPool2D', 'GlobalAvgPool2D', 'GlobalMaxPool2D',
      'Flatten', 'Dense', 'Dropout', 'BatchNormalization', 'LayerNormalization', 'Activation', 'Reshape', 'Permute', 'UpSampling2D',
      'ZeroPadding2D', 'SimpleRNN', 'LSTM', 'GRU', 'Embedding', 'MultiHeadAttention', 'PositionalEmbedding', 'Add', 'Concatenate',
      'Multiply', 'Average']) {
      expect(types, t).toContain(t);
    }
  });

  it('has the types of real Keras models issue 15 asks for, each once', () => {
    const types = LAYERS.map((l) => l.type);
    for (const t of ['ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'Softmax', 'Conv1D', 'SeparableConv2D', 'MaxPool1D', 'AvgPool1D', 'ZeroPadding1D', 'Cropping1D',
      'Cropping2D', 'UpSampling1D', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'RepeatVector', 'Subtract', 'Maximum',
      'Minimum', 'Dot', 'Rescaling', 'Normalization']) {
      expect(types, t).toContain(t);
    }
    for (const a of ['relu6', 'hardSigmoid', 'hardSwish', 'mish', 'softsign', 'swish', 'gelu']) expect(ACTIVATIONS, a).toContain(a);
  });

  it.each(LAYERS.map((l) => [l.type, l] as const))('%s describes itself (label, category, description, params with defaults)', (_t, def) => {
    expect(def.label.trim().length).toBeGreaterThan(0);
    expect(CATEGORIES).toContain(def.category);
    expect(def.description.trim().length).toBeGreaterThan(10);
    expect(def.description).not.toContain('\n');
    expect(def.namePrefix).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(def.inputs.min).toBeLessThanOrEqual(def.inputs.max);
    for (const [key, spec] of Object.entries(def.params)) {
      // Every default is itself valid.
      const p = defaultParams(def);
      if (!spec.when || spec.when(p)) expect(checkParamOk(spec, spec.default), `${def.type}.${key} default`).toBe(true);
    }
    expect(typeof def.summary(defaultParams(def) as never)).toBe('string');
  });
});

function checkParamOk(spec: ParamSpec, value: unknown): boolean {
  return checkParam(spec, value) === null;
}

describe.each(LAYERS.filter((l) => l.type !== 'Input').map((l) => [l.type, l] as const))('%s against tfjs', (_t, def) => {
  const { ok } = cases(def);

  it('has at least 3 valid cases to compare (3 distinct param sets where it has params)', () => {
    expect(ok.length).toBeGreaterThanOrEqual(3);
    if (Object.keys(def.params).length > 0) expect(new Set(ok.map((c) => JSON.stringify(c.params))).size).toBeGreaterThanOrEqual(3);
  });

  it('infers the output shape and parameter count tfjs builds, for every param set', () => {
    for (const c of ok) {
      const label = `${def.type} ${JSON.stringify(c.params)} on ${JSON.stringify(c.inputs)}`;
      const ours = def.outputShape(c.inputs, c.params as never);
      const theirs = buildWithTf(def, c);
      expect([...ours], label).toEqual(theirs.shape);
      expect(def.paramCount(c.inputs, c.params as never, ours), label).toBe(theirs.params);
      const flops = def.flops(c.inputs, c.params as never, ours);
      expect(Number.isFinite(flops) && flops >= 0, `${label} flops ${flops}`).toBe(true);
    }
  });

  it('analyzeGraph agrees on the default params through a whole graph', () => {
    const c = ok[0]!;
    const analysis = analyzeGraph(graphFor(def, c.params, c.inputs));
    expect(analysis.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(analysis.nodes.n!.shape).toEqual(def.outputShape(c.inputs, c.params as never));
  });
});

describe.each(LAYERS.filter((l) => Object.keys(l.params).length > 0).map((l) => [l.type, l] as const))('%s refuses bad params', (_t, def) => {
  const inputs = def.type === 'Input' ? [] : (cases(def).ok[0]?.inputs ?? []);

  it('with a bad-param problem naming the node and field, and compileGraph throws CompileError (not a tfjs error)', () => {
    let checked = 0;
    for (const [key, spec] of Object.entries(def.params)) {
      const base = enable(def, { ...defaultParams(def), ...(FIXTURES[def.type]?.inputs?.[0]?.params ?? {}) }, key);
      expect(base, `${def.type}.${key} can be enabled`).not.toBeNull();
      for (const bad of invalidValues(spec)) {
        const params = { ...base!, [key]: bad as ParamValue };
        const graph = graphFor(def, params, inputs);
        const analysis = analyzeGraph(graph);
        const problem = analysis.problems.find((p) => p.code === 'bad-param' && p.nodeId === 'n' && p.field === key);
        expect(problem, `${def.type}.${key} = ${String(bad)}: ${JSON.stringify(analysis.problems)}`).toBeDefined();
        expect(problem!.message.startsWith(`node_1: ${key} `), problem!.message).toBe(true);
        expect(analysis.valid).toBe(false);
        expect(() => compileGraph(tf, graph)).toThrow(CompileError);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('cross-field and shape errors name the field', () => {
  const at = (type: string) => LAYERS.find((l) => l.type === type)!;
  const problemsOf = (type: string, params: Params, inputs: Shape[]) =>
    analyzeGraph(graphFor(at(type), { ...defaultParams(at(type)), ...params }, inputs)).problems.filter((p) => p.nodeId === 'n');

  it.each([
    ['Conv2D', { kernelSize: 7 }, [[5, 5, 3]], 'kernelSize', 'node_1: kernelSize 7 is larger than its 5x5 input'],
    ['DepthwiseConv2D', { kernelSize: 6, padding: 'valid' }, [[5, 5, 3]], 'kernelSize', 'node_1: kernelSize 6 is larger than its 5x5 input'],
    ['AvgPool2D', { poolSize: 4 }, [[3, 8, 2]], 'poolSize', 'node_1: poolSize 4 is larger than its 3x8 input'],
    ['Reshape', { targetShape: [5, 7] }, [[6, 6]], 'targetShape', 'node_1: targetShape [5, 7] has 35 values but the input has 36 (6×6)'],
    ['Reshape', { targetShape: [5, -1] }, [[6, 6]], 'targetShape', "node_1: targetShape [5, -1] cannot hold the input's 36 values (6×6): 36 is not divisible by 5"],
    ['Reshape', { targetShape: [-1, -1] }, [[6, 6]], 'targetShape', 'node_1: targetShape [-1, -1] has more than one -1; at most one size can be inferred'],
    ['Reshape', { targetShape: [0, 36] }, [[6, 6]], 'targetShape', 'node_1: targetShape [0, 36] has a 0 entry; sizes must be >= 1 (or -1)'],
    ['Permute', { dims: [1, 3] }, [[6, 6]], 'dims', 'node_1: dims [1, 3] must be an ordering of 1..2, each once'],
    ['Permute', { dims: [2, 1] }, [[4, 4, 2]], 'dims', 'node_1: dims [2, 1] has 2 entries but the input 4×4×2 has 3 axes'],
    ['PositionalEmbedding', { sequenceLength: 64 }, [[32, 8]], 'sequenceLength', "node_1: sequenceLength 64 does not match the input's 32 steps (32×8)"],
    ['Concatenate', { axis: 0 }, [[4, 2], [4, 2]], 'axis', 'node_1: axis 0 is the batch axis; use -1 (last) or 1…rank'],
    ['Concatenate', { axis: 3 }, [[4, 2], [4, 2]], 'axis', 'node_1: axis 3 is out of range for inputs of shape 4×2 (use -2…-1 or 1…2)'],
    ['Conv1D', { kernelSize: 7 }, [[5, 3]], 'kernelSize', 'node_1: kernelSize 7 is larger than its 5-step input'],
    ['MaxPool1D', { poolSize: 3, padding: 'valid' }, [[2, 3]], 'poolSize', 'node_1: poolSize 3 is larger than its 2-step input'],
    ['Cropping1D', { cropping: 2, croppingEnd: 3 }, [[5, 3]], 'cropping', 'node_1: cropping 2 + 3 steps leaves nothing of the 5×3 input'],
    ['Cropping2D', { cropping: 1, croppingWidth: 2 }, [[6, 4, 3]], 'croppingWidth', 'node_1: croppingWidth 2 columns left and right leaves nothing of the 6×4×3 input'],
    ['PReLU', { sharedAxes: [1, 4] }, [[6, 4, 3]], 'sharedAxes', 'node_1: sharedAxes [1, 4] names axis 4, but the input 6×4×3 has 3 (axes 1…3)'],
    ['PReLU', { sharedAxes: [2, 2] }, [[6, 4, 3]], 'sharedAxes', 'node_1: sharedAxes [2, 2] names axis 2 twice'],
    ['Softmax', { axis: 3 }, [[4, 2]], 'axis', 'node_1: axis 3 is out of range for an input of shape 4×2 (use -2…-1 or 1…2)'],
    ['Softmax', { axis: 0 }, [[4, 2]], 'axis', 'node_1: axis 0 is the batch axis; use -1 (last) or 1…rank'],
    ['Dot', { axes: 1 }, [[4, 2], [5, 2]], 'axes', 'node_1: axes 1 contracts 4 values of input 1 (4×2) with 5 of input 2 (5×2); they must be equal'],
  ] as const)('%s %j on %j', (type, params, inputs, field, message) => {
    const problems = problemsOf(type, params as Params, inputs as unknown as Shape[]);
    expect(problems.map((p) => p.message)).toEqual([message]);
    expect(problems[0]!.field).toBe(field);
  });

  it.each([
    ['LSTM', [[28, 28, 1]], 'node_1: expects a sequence (T×F), got 28×28×1'],
    ['Conv2D', [[10, 4]], 'node_1: expects an image (H×W×C), got 10×4'],
    ['Embedding', [[10, 4]], "node_1: expects a token sequence (T ids), got 10×4: use an Input of kind 'tokens'"],
    ['Concatenate', [[4, 2], [5, 3]], 'node_1: Concatenate along axis -1 needs the other axes to match, but input 1 is 4×2 and input 2 is 5×3'],
    ['Multiply', [[4, 2], [4, 3]], 'node_1: Multiply needs inputs of the same shape, but input 1 is 4×2 and input 2 is 4×3'],
    ['MultiHeadAttention', [[4, 8], [6, 3, 2]], 'node_1: expects a key/value sequence (T×D), got 6×3×2'],
    ['Conv1D', [[8, 8, 3]], 'node_1: expects a sequence (T×F), got 8×8×3'],
    ['RepeatVector', [[4, 2]], 'node_1: expects a vector (F), got 4×2'],
    ['Dot', [[4, 2], [3]], 'node_1: Dot needs inputs of the same rank, but input 1 is 4×2 and input 2 is 3'],
    ['Subtract', [[4, 2], [4, 3]], 'node_1: Subtract needs inputs of the same shape, but input 1 is 4×2 and input 2 is 4×3'],
  ] as const)('%s on %j', (type, inputs, message) => {
    const problems = problemsOf(type, {}, inputs as unknown as Shape[]);
    expect(problems.map((p) => p.message)).toEqual([message]);
    expect(problems[0]!.code).toBe('shape');
  });

  it('marks the edge of the input at fault', () => {
    const g = graphFor(at('MultiHeadAttention'), defaultParams(at('MultiHeadAttention')), [[4, 8], [6, 3, 2]]);
    const p = analyzeGraph(g).problems.find((x) => x.nodeId === 'n')!;
    expect(p.edgeId).toBe('e1');
  });
});
