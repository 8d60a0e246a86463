/**
 * Every template in resources/templates trains a few batches on cpu and on wasm (when it initialises)
 * with finite, decreasing loss, on a learnable synthetic task shaped to the template's input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeGraph, type Graph } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { selectBackend } from '../backends';
import { settings, train } from './testing/helpers';

const TEMPLATES = 'resources/templates';
const templates = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, project: parseProjectText(readFileSync(join(TEMPLATES, f), 'utf8'), f) }));

/** Smaller image inputs keep the pure-JS cpu backend fast; the architecture stays the template's. */
function shrinkImages(graph: Graph, side: number): Graph {
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
function shrinkTokens(graph: Graph, length: number): Graph {
  const g: Graph = structuredClone(graph);
  const input = g.nodes.find((n) => n.type === 'Input' && n.params.kind === 'tokens');
  const a = analyzeGraph(g);
  if (!input || a.outputs.length !== 1) return graph;
  const languageModel = a.nodes[a.outputs[0]!]?.shape?.length === 2;
  if (!languageModel && !g.nodes.some((n) => n.type === 'LSTM' || n.type === 'GRU' || n.type === 'SimpleRNN')) return graph;
  input.params = { ...input.params, length };
  for (const n of g.nodes) {
    if (n.type === 'PositionalEmbedding') n.params = { ...n.params, sequenceLength: length };
    if (!languageModel && n.type === 'Embedding') n.params = { ...n.params, inputDim: Math.min(Number(n.params.inputDim ?? 1000), 256) };
  }
  return analyzeGraph(g).valid ? g : graph;
}

const shrink = (graph: Graph, side: number) => shrinkTokens(shrinkImages(graph, side), side);

let wasmOk = false;
try {
  await selectBackend({ force: 'wasm' });
  wasmOk = true;
} catch {
  wasmOk = false;
}

describe('every template trains with finite, decreasing loss', () => {
  // Small images (the architecture stays the template's) and few steps keep this fast: the pure-JS
  // cpu backend needs ~1-2 s per step for the ResNet even at 8×8 (more on a loaded machine, hence
  // the long timeouts). Loss of the last epoch < the first.
  const check = async (backend: 'cpu' | 'wasm', graph: Graph, n: number) => {
    const nEpochs = backend === 'cpu' ? 2 : 3;
    const { result, epochs, trainer } = await train(backend, graph, settings({ epochs: nEpochs, batchSize: 8, learningRate: 0.003 }), n, undefined, 8);
    expect(result.reason, result.message).toBe('completed');
    expect(epochs.length).toBe(nEpochs);
    for (const e of epochs) expect(Number.isFinite(e.loss)).toBe(true);
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
    trainer.dispose();
  };
  for (const { file, project } of templates) {
    it(`${file} on cpu`, () => check('cpu', shrink(project.graph, 8), 16), 240_000);
    it.skipIf(!wasmOk)(`${file} on wasm`, () => check('wasm', shrink(project.graph, 16), 32), 120_000);
  }
});

