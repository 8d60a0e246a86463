/**
 * Labelled text through the real engine (the API the app uses): the import request with text options passes
 * the API schema and reaches the importer, the preview shows texts and tokens, a bad file is a bad request
 * naming the file and byte offset, and a token model trains on it in a worker (token rows cross to the worker).
 * The run's evaluation carries its misclassified test texts (most confident first), and predictText tokenizes
 * new texts with the run's tokenizer and gets class probabilities from the worker's model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingEnded } from '../../../shared/api';
import { parse } from '../../../shared/schema';
import { ENGINE_SCHEMAS } from '../../../shared/api/schemas';
import type { Graph } from '../../../shared/graph';
import { defaultTrainingSettings } from '../../../shared/project';
import { fitGraphToDataset } from '../../../shared/tasks';
import { readTextCache } from '../datasets/text';
import { shownText } from '../service';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-wiring-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = resolve('resources/fixtures/text');

const graph: Graph = {
  nodes: [
    { id: 'in', type: 'Input', name: 'input_1', params: { kind: 'tokens', length: 8 }, position: { x: 0, y: 0 } },
    { id: 'emb', type: 'Embedding', name: 'embedding_1', params: { inputDim: 100, outputDim: 8 }, position: { x: 0, y: 0 } },
    { id: 'pool', type: 'GlobalAvgPool1D', name: 'pool_1', params: {}, position: { x: 0, y: 0 } },
    { id: 'out', type: 'Dense', name: 'dense_1', params: { units: 2, activation: 'softmax' }, position: { x: 0, y: 0 } },
  ],
  edges: [
    { id: 'e1', source: 'in', target: 'emb', targetPort: 0 },
    { id: 'e2', source: 'emb', target: 'pool', targetPort: 0 },
    { id: 'e3', source: 'pool', target: 'out', targetPort: 0 },
  ],
};

describe('text through the engine API', () => {
  it('import with text options, preview, a bad file as a bad request, training in a worker', { timeout: 120_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    try {
      const req = { path: join(FIXTURES, 'reviews.csv'), as: 'text' as const, name: 'reviews', textColumn: 'review', labelColumn: 'sentiment', tokenizer: 'word' as const, lowercase: true, seqLen: 24, vocabSize: 500, testFraction: 0.25, seed: 1 };
      expect(parse(ENGINE_SCHEMAS.importDataset!, req).ok).toBe(true);
      expect(parse(ENGINE_SCHEMAS.importDataset!, { ...req, tokenizer: 'sentencepiece' }).ok).toBe(false);
      const info = await engine.importDataset(req);
      expect(info).toMatchObject({ id: 'text:reviews', kind: 'text', task: 'classification', inputShape: [24], classNames: ['negative', 'positive'], trainSize: 12, testSize: 4, tokenizer: 'word' });
      const preview = await engine.datasetPreview({ id: info.id, perClass: 2 });
      expect(preview.texts).toHaveLength(4);
      expect(preview.tokenizer).toMatchObject({ kind: 'word', seqLen: 24, lowercase: true });
      expect(preview.texts![0]!.tokens.join(' ')).toBe(preview.texts![0]!.tokens.join(' ').toLowerCase());

      await expect(engine.importDataset({ path: join(FIXTURES, 'messy', 'latin1.txt'), as: 'corpus' })).rejects.toMatchObject({
        code: 'bad-request',
        message: expect.stringMatching(/^latin1\.txt is not UTF-8 text: byte 0xE9 at byte offset 25 \(line 2, column 4\)/),
        details: { reason: 'not-utf8', file: 'latin1.txt', line: 2, column: 4, offset: 25 },
      });

      const fitted = fitGraphToDataset(graph, info).graph;
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({ graph: fitted, datasetId: info.id, settings: { ...defaultTrainingSettings(), epochs: 3, batchSize: 4, learningRate: 0.01, backend: 'wasm' } });
      const end = await ended;
      expect(end.status, end.error).toBe('completed');
      expect(run.datasetId).toBe(info.id);
      expect(end.summary.testAccuracy).toBeGreaterThanOrEqual(0);

      // The evaluation lists every misclassified test text, most confident first, with the text as imported.
      const evaluation = await engine.evaluate({ runId: run.id });
      const texts = evaluation.texts!;
      expect(texts).toBeDefined();
      const wrong = evaluation.confusion.reduce((sum, row, i) => sum + row.reduce((a, n, j) => a + (i === j ? 0 : n), 0), 0);
      expect(texts.total).toBe(wrong);
      expect(texts.items).toHaveLength(wrong);
      const cache = await readTextCache(info.cachePath!, info.id);
      for (const [k, item] of texts.items.entries()) {
        expect(item.truth).not.toBe(item.predicted);
        expect(info.classNames).toContain(item.truth);
        expect(info.classNames[cache.test.labels[item.index]!]).toBe(item.truth);
        expect(item.text).toBe(shownText(cache.text!.testTexts![item.index]!.text));
        expect(item.source).toMatch(/^reviews\.csv:\d+$/);
        if (k > 0) expect(item.confidence).toBeLessThanOrEqual(texts.items[k - 1]!.confidence);
      }

      // Predict new texts: one probability per class; a test text gets what the evaluation gave it.
      expect(parse(ENGINE_SCHEMAS.predictText!, { runId: run.id, texts: [] }).ok).toBe(false);
      const testTexts = cache.text!.testTexts!.map((t) => t.text);
      const predicted = await engine.predictText({ runId: run.id, texts: [...testTexts, 'a wonderful, moving film', 'zzzz qqqq '.repeat(40)] });
      expect(predicted.classNames).toEqual(info.classNames);
      expect(predicted.items).toHaveLength(testTexts.length + 2);
      for (const item of predicted.items) {
        expect(item.probabilities).toHaveLength(2);
        expect(item.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        expect(item.confidence).toBe(Math.max(...item.probabilities));
        expect(info.classNames).toContain(item.predicted);
      }
      const long = predicted.items.at(-1)!;
      expect(long).toMatchObject({ tokens: 80, truncated: true, unknown: 80 });
      for (const item of texts.items) {
        expect(predicted.items[item.index]!.predicted).toBe(item.predicted);
        expect(predicted.items[item.index]!.confidence).toBeCloseTo(item.confidence, 4);
      }
      const correct = predicted.items.slice(0, testTexts.length).filter((p, i) => p.predicted === info.classNames[cache.test.labels[i]!]).length;
      expect(correct / testTexts.length).toBeCloseTo(evaluation.accuracy!, 6);
      await expect(engine.predictText({ runId: 'run-none', texts: ['x'] })).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      await engine.dispose();
    }
  });
});
