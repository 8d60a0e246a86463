/**
 * attentionMap through the real engine (the API the app uses), as predictText and generateText are tested: a
 * shrunk mini-GPT trained on the fortunes corpus and the transformer classifier trained on the reviews give
 * every attention layer's weights for a text from the worker that holds the model (causal rows for the first,
 * the padding's share for the second); a run still training, a text model without attention, a table run and
 * an empty text are refused with typed reasons; the request schema bounds maxTokens and the text.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_ATTENTION_TEXT, MAX_ATTENTION_TOKENS, type AttentionMap, type TrainingEnded } from '../../../shared/api';
import { ENGINE_SCHEMAS } from '../../../shared/api/schemas';
import type { Graph } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { parse } from '../../../shared/schema';
import { fitGraphToDataset } from '../../../shared/tasks';
import type { Engine } from '../service';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-wiring-attention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
const template = (name: string) => parseProjectText(readFileSync(resolve(`resources/templates/${name}.json`), 'utf8'));

/** Narrower layers (the same graph) so a CPU trains it in seconds. */
function shrink(graph: Graph): Graph {
  for (const n of graph.nodes) {
    if (n.type === 'Embedding') n.params.outputDim = 16;
    if (n.type === 'MultiHeadAttention') n.params.keyDim = 8;
    if (n.type === 'Dense' && Number(n.params.units) >= 64 && n.params.activation !== 'softmax' && n.id.startsWith('ff')) n.params.units = n.params.activation === 'linear' ? 16 : 32;
  }
  return graph;
}

async function train(engine: Engine, graph: Graph, datasetId: string, epochs: number, duringTraining?: (runId: string) => Promise<void>): Promise<string> {
  const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
  const run = await engine.startTraining({ graph, datasetId, settings: { ...template('mini-gpt').training, epochs, batchSize: 16, learningRate: 0.005, backend: 'wasm' } });
  await duringTraining?.(run.id);
  const end = await ended;
  expect(end.status, end.error).toBe('completed');
  return run.id;
}

/** Each row of weights plus its padding share is a distribution (weights are rounded to 5 decimals). */
function expectDistributions(map: AttentionMap) {
  const n = map.tokens.length;
  for (const layer of map.layers) {
    expect(layer.weights).toHaveLength(layer.heads);
    for (const [h, head] of layer.weights.entries()) {
      expect(head).toHaveLength(n);
      for (const [q, row] of head.entries()) {
        expect(row).toHaveLength(n);
        expect(Math.abs(row.reduce((a, b) => a + b, 0) + layer.paddingWeight[h]![q]! - 1)).toBeLessThan(1e-4);
        if (layer.causal) for (let k = q + 1; k < n; k++) expect(row[k]).toBe(0);
      }
    }
  }
}

describe('attentionMap through the engine API', () => {
  it('a language model and a transformer classifier; runs without a model, without attention or not on text refused', { timeout: 240_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    try {
      // The request's schema: maxTokens within 1 … 256, the text at most 10,000 characters.
      const schema = ENGINE_SCHEMAS.attentionMap!;
      expect(parse(schema, { runId: 'r', text: 'The cat', maxTokens: MAX_ATTENTION_TOKENS }).ok).toBe(true);
      expect(parse(schema, { runId: 'r', text: 'The cat', maxTokens: 0 }).ok).toBe(false);
      expect(parse(schema, { runId: 'r', text: 'The cat', maxTokens: MAX_ATTENTION_TOKENS + 1 }).ok).toBe(false);
      expect(parse(schema, { runId: 'r', text: 'x'.repeat(MAX_ATTENTION_TEXT + 1) }).ok).toBe(false);
      await expect(engine.attentionMap({ runId: 'no-such-run', text: 'x' })).rejects.toMatchObject({ code: 'not-found' });

      // A language model (causal attention, two layers): while it trains there is no model yet.
      const corpus = await engine.importDataset({ path: resolve('resources/fixtures/text/fortunes/computers'), as: 'corpus', tokenizer: 'char', seqLen: 24, splitOnPercent: true, name: 'computers' });
      const gpt = shrink(fitGraphToDataset(template('mini-gpt').graph, corpus).graph);
      const lm = await train(engine, gpt, corpus.id, 1, async (runId) => {
        await expect(engine.attentionMap({ runId, text: 'The ' })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'no-model' }, message: expect.stringMatching(/no trained model/) });
      });
      const text = 'The computer\nsays no.';
      const map = await engine.attentionMap({ runId: lm, text });
      expect(map).toMatchObject({ seqLen: 24, textTokens: [...text].length, truncated: false });
      expect(map.tokens.join('')).toBe('The␣computer⏎says␣no.');
      expect(map.layers.map((l) => [l.name, l.nodeId, l.heads, l.causal])).toEqual([
        ['block1_attention', 'att1', 4, true],
        ['block2_attention', 'att2', 4, true],
      ]);
      expectDistributions(map);
      // Causal: the padding after the text is never read.
      expect(map.layers.every((l) => l.paddingWeight.flat().every((v) => v === 0))).toBe(true);
      // maxTokens cuts; a text longer than T is cut at T.
      expect((await engine.attentionMap({ runId: lm, text, maxTokens: 5 })).tokens).toEqual(['T', 'h', 'e', '␣', 'c']);
      const long = await engine.attentionMap({ runId: lm, text: text.repeat(3) });
      expect(long).toMatchObject({ truncated: true, textTokens: 3 * [...text].length });
      expect(long.tokens).toHaveLength(24);
      await expect(engine.attentionMap({ runId: lm, text: '' })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'empty-text' } });

      // A text classifier with attention (non-causal): a short text's queries also read the padding.
      const reviews = await engine.importDataset({ path: resolve('resources/fixtures/text/reviews.csv'), as: 'text', name: 'reviews', textColumn: 'review', labelColumn: 'sentiment', tokenizer: 'word', lowercase: true, seqLen: 16, vocabSize: 300, testFraction: 0.25, seed: 1 });
      const transformer = fitGraphToDataset(template('transformer-classifier').graph, reviews).graph;
      const cls = await train(engine, transformer, reviews.id, 2);
      const cmap = await engine.attentionMap({ runId: cls, text: 'A wonderful film, superb acting.' });
      expect(cmap.tokens).toEqual(['a', 'wonderful', 'film', ',', 'superb', 'acting', '.']);
      expect(cmap.layers).toHaveLength(1);
      expect(cmap.layers[0]).toMatchObject({ name: 'multi_head_attention_1', nodeId: 'attn', heads: 2, causal: false });
      expectDistributions(cmap);
      expect(Math.min(...cmap.layers[0]!.paddingWeight.flat())).toBeGreaterThan(0);

      // A text classifier without attention, and a table run: refused with their reasons.
      const plain = fitGraphToDataset(template('text-lstm').graph, reviews).graph;
      const lstm = await train(engine, plain, reviews.id, 1);
      await expect(engine.attentionMap({ runId: lstm, text: 'a wonderful film' })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'no-attention' }, message: expect.stringMatching(/no attention layer/) });
      const iris = await engine.importDataset({ path: resolve('resources/fixtures/tables/iris.csv'), as: 'table', target: 'species', name: 'iris' });
      const table = await train(engine, fitGraphToDataset(template('tabular-classifier').graph, iris).graph, iris.id, 1);
      await expect(engine.attentionMap({ runId: table, text: 'hello' })).rejects.toMatchObject({ code: 'bad-request', details: { reason: 'not-a-text-model' }, message: expect.stringMatching(/not trained on text/) });
    } finally {
      await engine.dispose();
    }
  });
});
