/**
 * Shape inference for the editor, memoised on the document's node and edge arrays. Moving a node only
 * replaces `positions`, so a drag never re-runs inference.
 */
import { analyzeGraph, type Analysis, type Graph } from '../../../shared/graph';
import type { Doc } from './document';

const ORIGIN = { x: 0, y: 0 };
let lastNodes: Doc['nodes'] | null = null;
let lastEdges: Doc['edges'] | null = null;
let lastAnalysis: Analysis | null = null;
let runs = 0;

export function analyzeDoc(doc: Pick<Doc, 'nodes' | 'edges'>): Analysis {
  if (lastAnalysis && doc.nodes === lastNodes && doc.edges === lastEdges) return lastAnalysis;
  const graph: Graph = {
    nodes: doc.nodes.map((n) => ({ id: n.id, type: n.type, name: n.name, params: n.params as Graph['nodes'][number]['params'], position: ORIGIN })),
    edges: doc.edges as Graph['edges'],
  };
  lastAnalysis = analyzeGraph(graph);
  lastNodes = doc.nodes;
  lastEdges = doc.edges;
  runs += 1;
  return lastAnalysis;
}

/** How many times inference actually ran (for tests). */
export function analysisRuns(): number {
  return runs;
}
