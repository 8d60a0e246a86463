/**
 * Shape inference for the editor, memoised on the document's node and edge arrays. Moving a node only
 * replaces `positions`, so a drag never re-runs inference. With a task target (the chosen dataset's task,
 * e.g. regression on a table), the output's fit to that task joins the problems, pinned to the output
 * node like any other graph problem (shared/tasks checkGraphForTask).
 */
import { analyzeGraph, type Analysis, type Graph } from '../../../shared/graph';
import { checkGraphForTask, type TargetInfo, type TaskDef } from '../../../shared/tasks';
import type { Doc } from './document';

/** What the output is checked against: the chosen dataset's task and target. */
export interface TaskTarget {
  task: TaskDef;
  target: TargetInfo;
  datasetName: string;
  /** Equal keys mean an equal check (the memo compares keys, not objects). */
  key: string;
}

const ORIGIN = { x: 0, y: 0 };
let lastNodes: Doc['nodes'] | null = null;
let lastEdges: Doc['edges'] | null = null;
let lastAnalysis: Analysis | null = null;
let lastGraph: Graph | null = null;
let withTask: { base: Analysis; key: string; analysis: Analysis } | null = null;
let runs = 0;

function base(doc: Pick<Doc, 'nodes' | 'edges'>): { analysis: Analysis; graph: Graph } {
  if (lastAnalysis && lastGraph && doc.nodes === lastNodes && doc.edges === lastEdges) return { analysis: lastAnalysis, graph: lastGraph };
  const graph: Graph = {
    nodes: doc.nodes.map((n) => ({ id: n.id, type: n.type, name: n.name, params: n.params as Graph['nodes'][number]['params'], position: ORIGIN })),
    edges: doc.edges as Graph['edges'],
  };
  lastAnalysis = analyzeGraph(graph);
  lastGraph = graph;
  lastNodes = doc.nodes;
  lastEdges = doc.edges;
  runs += 1;
  return { analysis: lastAnalysis, graph };
}

export function analyzeDoc(doc: Pick<Doc, 'nodes' | 'edges'>, taskTarget?: TaskTarget | null): Analysis {
  const { analysis, graph } = base(doc);
  if (!taskTarget) return analysis;
  if (withTask && withTask.base === analysis && withTask.key === taskTarget.key) return withTask.analysis;
  const extra = checkGraphForTask(graph, analysis, taskTarget.task, taskTarget.target, taskTarget.datasetName);
  const combined = extra.length ? { ...analysis, problems: [...analysis.problems, ...extra], valid: false } : analysis;
  withTask = { base: analysis, key: taskTarget.key, analysis: combined };
  return combined;
}

/** How many times inference actually ran (for tests). */
export function analysisRuns(): number {
  return runs;
}
