/**
 * Test helper run as a child process (node --import tsx): saves big projects to argv[2] in a loop until
 * it is killed. Prints "start" once before its first save and "saved N" after each.
 */
import type { GraphEdge, GraphNode } from '../../../../shared/graph';
import { newProject, serializeProject, type ProjectFile } from '../../../../shared/project';
import { ProjectLibrary } from '../library';
import { saveProjectFile } from '../projectFile';

export function bigProject(name: string, nodes = 4000): ProjectFile {
  const ns: GraphNode[] = [{ id: 'in', type: 'Input', name: 'input_1', params: { kind: 'sequence', timesteps: 4, features: 8 }, position: { x: 0, y: 0 } }];
  const es: GraphEdge[] = [];
  for (let i = 1; i < nodes; i++) {
    ns.push({ id: `n${i}`, type: 'Dense', name: `dense_${i}`, params: { units: 8, activation: 'relu' }, position: { x: i * 3.25, y: i * 7.5 } });
    es.push({ id: `e${i}`, source: ns[i - 1]!.id, target: `n${i}`, targetPort: 0 });
  }
  return { ...newProject(name, { nodes: ns, edges: es }), description: 'x'.repeat(5000) };
}

/**
 * Saves in a loop: to the file `target`, or, with `library` set to a data dir, through the engine's
 * ProjectLibrary (the app's saveProject request) to the project named `target` in its projects folder.
 */
async function loop(target: string, nodes: number, library?: string): Promise<never> {
  const projects = [bigProject('loop-a', nodes), bigProject('loop-b', nodes)];
  const lib = library ? new ProjectLibrary({ dataDir: library }) : undefined;
  const texts = projects.map((p) => serializeProject(p));
  process.stdout.write('start\n');
  for (let i = 0; ; i++) {
    if (lib) await lib.save({ text: texts[i % 2]!, name: target, overwrite: true });
    else await saveProjectFile(target, projects[i % 2]!);
    process.stdout.write(`saved ${i + 1}\n`);
  }
}

if (process.argv[1]?.endsWith('saveLoop.ts') && process.argv[2]) {
  loop(process.argv[2], Number(process.argv[3] ?? 4000), process.argv[4]).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  });
}
