import type { Analysis, Graph, Problem } from '../graph/types';
import type { OutputInfo, TaskDef, TargetInfo } from './define';

/** The output node as a task sees it: its shape and final activation ('linear' when it has none). */
export function outputInfo(graph: Graph, analysis: Analysis, nodeId: string): OutputInfo | undefined {
  const node = graph.nodes.find((n) => n.id === nodeId);
  const shape = analysis.nodes[nodeId]?.shape;
  if (!node || !shape) return undefined;
  const act = node.params.activation;
  return { name: node.name, type: node.type, shape, activation: typeof act === 'string' ? act : 'linear' };
}

/**
 * Checks the graph's output against a task and its target (e.g. a regression dataset needs one linear
 * unit; a 3-class dataset needs 3 scores): problems pinned to the output node, with the fix in words.
 */
export function checkGraphForTask(graph: Graph, analysis: Analysis, task: TaskDef, target: TargetInfo, datasetName = 'the dataset'): Problem[] {
  const problems: Problem[] = task.checkGraph ? task.checkGraph(graph, analysis).map((p) => ({ ...p, message: `${p.message} (${task.label.toLowerCase()} on ${datasetName})` })) : [];
  if (analysis.outputs.length !== 1) return problems; // graph validation already reports this
  const id = analysis.outputs[0]!;
  const out = outputInfo(graph, analysis, id);
  if (!out) return problems;
  const message = task.checkOutput(out, target);
  if (message) problems.push({ code: 'task', nodeId: id, severity: 'error', message: `${message} (${task.label.toLowerCase()} on ${datasetName})` });
  return problems;
}
