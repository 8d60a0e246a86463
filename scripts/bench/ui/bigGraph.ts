/**
 * A realistic big project for the UI benchmarks and the perf e2e specs: a deep residual CNN
 * (Input -> stem Conv2D -> k residual blocks of Conv2D, Conv2D, Add -> Flatten -> Dense -> Dense),
 * valid end to end, with exactly `count` nodes. Positions are a plain grid (auto-layout redoes them).
 */
import { newProject, type ProjectFile } from '../../../shared/project';

type Node = ProjectFile['graph']['nodes'][number];
type Edge = ProjectFile['graph']['edges'][number];

export function bigResidualProject(count = 500, filters = 8): ProjectFile {
  if (count < 7) throw new Error(`bigResidualProject: count must be >= 7, got ${count}`);
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  const add = (id: string, type: string, name: string, params: Record<string, unknown>, inputs: string[]) => {
    const i = nodes.length;
    nodes.push({ id, type, name, params: params as Node['params'], position: { x: (i % 20) * 240, y: Math.floor(i / 20) * 120 } });
    inputs.forEach((source, port) => edges.push({ id: `e_${source}_${id}_${port}`, source, target: id, targetPort: port }));
    return id;
  };
  const conv = (activation: string) => ({ filters, kernelSize: 3, strides: 1, padding: 'same', activation });
  add('input', 'Input', 'input_1', { kind: 'image', height: 16, width: 16, channels: 3 }, []);
  let prev = add('stem', 'Conv2D', 'conv2d_stem', conv('relu'), ['input']);
  // Fixed tail: Flatten, Dense(32), Dense(10); the rest is blocks of 3, padded with single convs.
  const body = count - 2 - 3;
  const blocks = Math.floor(body / 3);
  for (let b = 1; b <= blocks; b++) {
    const a = add(`b${b}a`, 'Conv2D', `conv2d_${b}a`, conv('relu'), [prev]);
    const c = add(`b${b}b`, 'Conv2D', `conv2d_${b}b`, conv('linear'), [a]);
    prev = add(`b${b}add`, 'Add', `add_${b}`, {}, [c, prev]);
  }
  for (let p = 0; p < body - blocks * 3; p++) prev = add(`pad${p}`, 'Conv2D', `conv2d_pad${p}`, conv('relu'), [prev]);
  const flat = add('flatten', 'Flatten', 'flatten_1', {}, [prev]);
  const d1 = add('dense1', 'Dense', 'dense_1', { units: 32, activation: 'relu' }, [flat]);
  add('dense2', 'Dense', 'dense_2', { units: 10, activation: 'softmax' }, [d1]);
  return newProject(`Residual stack (${count} nodes)`, { nodes, edges });
}
