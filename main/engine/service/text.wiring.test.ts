/**
 * Labelled text through the real engine (the API the app uses): the import request with text options passes
 * the API schema and reaches the importer, the preview shows texts and tokens, a bad file is a bad request
 * naming the file and byte offset, and a token model trains on it in a worker (token rows cross to the worker).
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
    } finally {
      await engine.dispose();
    }
  });
});
