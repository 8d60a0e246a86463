/**
 * Smaller inputs for the templates' tests: the architecture stays the template's, the images get
 * smaller and token contexts shorter, so slow backends (pure-JS cpu, a software GPU) train them quickly.
 */
import { analyzeGraph, type Graph } from '../../../../shared/graph';

/** Smaller image inputs keep the pure-JS cpu backend fast; the architecture stays the template's. */
export function shrinkImages(graph: Graph, side: number): Graph {
  const g: Graph = structuredClone(graph);
  const input = g.nodes.find((n) => n.type === 'Input' && n.params.kind === 'image');
  if (!input) return graph;
  for (let s = side; s < Number(input.params.height ?? 32); s += 4) {
    input.params = { ...input.params, height: s, width: s };
    if (analyzeGraph(g).valid) return g;
  }
  return graph;
}

/**
 * A shorter context keeps the token templates quick on cpu; text classifiers also get a vocabulary of 256 ids
 * (the synthetic ids stay below 256, and the Embedding's gradient costs time in proportion to its vocabulary on
 * cpu). The architecture stays the template's.
 */
export function shrinkTokens(graph: Graph, length: number): Graph {
  const g: Graph = structuredClone(graph);
  const input = g.nodes.find((n) => n.type === 'Input' && n.params.kind === 'tokens');
  const a = analyzeGraph(g);
  if (!input || a.outputs.length !== 1) return graph;
  const languageModel = a.nodes[a.outputs[0]!]?.shape?.length === 2;
  if (!languageModel && !g.nodes.some((n) => n.type === 'LSTM' || n.type === 'GRU' || n.type === 'SimpleRNN' || n.type === 'MultiHeadAttention')) return graph;
  input.params = { ...input.params, length };
  for (const n of g.nodes) {
    if (n.type === 'PositionalEmbedding') n.params = { ...n.params, sequenceLength: length };
    if (!languageModel && n.type === 'Embedding') n.params = { ...n.params, inputDim: Math.min(Number(n.params.inputDim ?? 1000), 256) };
  }
  return analyzeGraph(g).valid ? g : graph;
}

export const shrink = (graph: Graph, side: number): Graph => shrinkTokens(shrinkImages(graph, side), side);
