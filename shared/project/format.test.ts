import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../graph';
import { newProject, parseProject, parseProjectText, ProjectFileError, PROJECT_VERSION, serializeProject, type ProjectFile } from '.';

const templateText = readFileSync('resources/templates/cifar10-cnn.json', 'utf8');
const template = () => JSON.parse(templateText) as Record<string, unknown> & { graph: { nodes: Array<Record<string, unknown>>; edges: Array<Record<string, unknown>> } };

function parseError(text: string): ProjectFileError {
  try {
    parseProjectText(text, 'model.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectFileError);
    return e as ProjectFileError;
  }
  throw new Error('expected the project to be refused');
}
const mutated = (f: (x: ReturnType<typeof template>) => void) => {
  const x = template();
  f(x);
  return JSON.stringify(x);
};

describe('project files', () => {
  it('round-trips: parse(serialize(p)) equals p, and serialize is stable', () => {
    const p = parseProjectText(templateText);
    const text = serializeProject(p);
    const again = parseProjectText(text);
    expect(again).toEqual(p);
    expect(serializeProject(again)).toBe(text);
    expect(p.graph.nodes).toHaveLength(8);
    expect(p.training).toMatchObject({ epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 0.001 });
    expect(p.dataset).toBe('cifar10');
    const fresh: ProjectFile = newProject('Empty');
    expect(parseProjectText(serializeProject(fresh))).toEqual(fresh);
    expect(fresh.version).toBe(PROJECT_VERSION);
  });

  it('fills defaults for optional fields (params, position, targetPort, training, dataset)', () => {
    const p = parseProject({
      format: 'layerforge-project', version: 1, name: 'minimal',
      graph: { nodes: [{ id: 'a', type: 'Input', name: 'input_1' }, { id: 'b', type: 'Flatten', name: 'flatten_1' }], edges: [{ id: 'e', source: 'a', target: 'b' }] },
    });
    expect(p.graph.nodes[0]).toEqual({ id: 'a', type: 'Input', name: 'input_1', params: {}, position: { x: 0, y: 0 } });
    expect(p.graph.edges[0]!.targetPort).toBe(0);
    expect(p.dataset).toBeNull();
    expect(p.training.epochs).toBeGreaterThan(0);
    expect(analyzeGraph(p.graph).nodes.b!.shape).toEqual([32 * 32 * 3]);
  });

  it('bad JSON', () => {
    expect(parseError('{"format": "layerforge-project", ').message).toMatch(/^model\.json is not valid JSON: /);
  });

  it('not a project at all', () => {
    expect(parseError('[1, 2]').message).toBe('model.json is not a Layerforge project: expected a JSON object');
    expect(parseError('{"format": "keras"}').message).toBe('model.json is not a Layerforge project: "format" must be "layerforge-project"');
  });

  it('a newer format version', () => {
    expect(parseError(mutated((x) => (x.version = 99))).message).toBe(
      'model.json was written by a newer Layerforge (format version 99; this one reads up to 1): update Layerforge to open it',
    );
  });

  it('unknown layer type, with the path of the node', () => {
    const e = parseError(mutated((x) => (x.graph.nodes[3]!.type = 'Conv9D')));
    expect(e.message).toBe("invalid model.json: graph.nodes[3].type: unknown layer type 'Conv9D'");
    expect(e.issues).toEqual([{ path: 'graph.nodes[3].type', message: "unknown layer type 'Conv9D'" }]);
  });

  it('missing field', () => {
    expect(parseError(mutated((x) => delete x.graph.nodes[2]!.name)).message).toBe('invalid model.json: graph.nodes[2].name: is missing (expected a string)');
    expect(parseError(mutated((x) => delete (x as Record<string, unknown>).graph)).message).toBe('invalid model.json: graph: is missing (expected an object)');
  });

  it('a param of the wrong type, and an edge to a node that does not exist', () => {
    expect(parseError(mutated((x) => ((x.graph.nodes[1]!.params as Record<string, unknown>).filters = { n: 3 }))).message).toMatch(
      /^invalid model\.json: graph\.nodes\[1\]\.params\.filters: /,
    );
    expect(parseError(mutated((x) => (x.graph.edges[0]!.target = 'nowhere'))).message).toBe(
      "invalid model.json: graph: edge 'e1' ends at node 'nowhere', which does not exist",
    );
  });

  it('a cycle parses but does not validate, naming the nodes', () => {
    const p = parseProjectText(mutated((x) => x.graph.edges.push({ id: 'back', source: 'pool1', target: 'conv1', targetPort: 1 })));
    const a = analyzeGraph(p.graph);
    expect(a.valid).toBe(false);
    expect(a.problems.filter((q) => q.code === 'cycle').map((q) => q.message)).toContain(
      'conv2d_1: is part of a cycle (conv2d_1 -> max_pooling2d_1 -> conv2d_2 -> max_pooling2d_2 -> flatten_1 -> dense_1 -> dense_2); a model must flow one way',
    );
  });

  it('a wrong shape parses but does not validate, naming node and field', () => {
    const p = parseProjectText(mutated((x) => ((x.graph.nodes[3]!.params as Record<string, unknown>).kernelSize = 16)));
    const a = analyzeGraph(p.graph);
    expect(a.problems.filter((q) => q.severity === 'error').map((q) => [q.code, q.field, q.message])).toEqual([
      ['shape', 'kernelSize', 'conv2d_2: kernelSize 16 is larger than its 15x15 input'],
    ]);
  });
});
