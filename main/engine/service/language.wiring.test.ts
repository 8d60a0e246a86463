/**
 * Language models through the real engine (the API the app uses): import the fortunes fixture as a
 * corpus, train a shrunk mini-GPT in a worker, read each epoch's sample in the run, generate from a
 * prompt with the pieces streamed as onTextGenerated (they add up to the text), stop a long generation,
 * and see a run that is not a language model refused with a typed error (by the service, and by the
 * worker holding a non-language model).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import type { TextGenerated, TrainingEnded } from '../../../shared/api';
import { parseProjectText } from '../../../shared/project';
import { fitGraphToDataset } from '../../../shared/tasks';
import { openModel } from '../training';
import { createEngine } from './wiring';

const dir = mkdtempSync(join(tmpdir(), 'lf-wiring-lm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const template = (name: string) => parseProjectText(readFileSync(resolve(`resources/templates/${name}.json`), 'utf8'));

/** The mini-GPT template, narrower (the same graph, fewer units) so a CPU trains it in seconds. */
function shrink(graph: Graph): Graph {
  for (const n of graph.nodes) {
    if (n.type === 'Embedding') n.params.outputDim = 32;
    if (n.type === 'MultiHeadAttention') n.params.keyDim = 8;
    if (n.id.startsWith('ff') && n.params.units === 512) n.params.units = 64;
    if (n.id.startsWith('ff') && n.params.units === 128) n.params.units = 32;
  }
  return graph;
}

describe('language models through the engine API', () => {
  it('corpus import, mini-GPT training with epoch samples, streamed generation, stop, non-LM runs refused', { timeout: 240_000 }, async () => {
    const engine = createEngine({ dataDir: join(dir, 'data'), host: 'test' });
    try {
      const info = await engine.importDataset({ path: resolve('resources/fixtures/text/fortunes/computers'), as: 'corpus', tokenizer: 'char', seqLen: 32, splitOnPercent: true, name: 'computers' });
      expect(info).toMatchObject({ id: 'corpus:computers', kind: 'corpus', task: 'language-modelling', status: 'ready' });

      const gpt = template('mini-gpt');
      const graph = shrink(fitGraphToDataset(gpt.graph, info).graph);
      const ended = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const run = await engine.startTraining({ graph, datasetId: info.id, settings: { ...gpt.training, epochs: 2, batchSize: 16, learningRate: 0.005, backend: 'wasm' } });
      expect(run.task).toBe('language-modelling');
      // Still training: no model to generate with yet.
      await expect(engine.generateText({ runId: run.id, prompt: 'The ' })).rejects.toMatchObject({ code: 'not-found' });
      const end = await ended;
      expect(end.status, end.error).toBe('completed');
      const detail = await engine.getRun({ runId: run.id });
      expect(detail.epochPoints).toHaveLength(2);
      for (const e of detail.epochPoints) {
        expect(e.sample!.prompt.length).toBeGreaterThan(0);
        expect(e.sample!.text.length).toBeGreaterThan(0);
        expect(e.valMetrics!.perplexity).toBeGreaterThan(1);
      }
      expect(detail.epochPoints[1]!.valMetrics!.perplexity).toBeLessThan(info.vocabSize!);
      expect(detail.evaluation!.metrics!.perplexity).toBeGreaterThan(1);

      // Generation: pieces stream as events (with the request id the caller chose), then one 'done'.
      const events: TextGenerated[] = [];
      const off = engine.onTextGenerated((e) => events.push(e));
      const r = await engine.generateText({ runId: run.id, prompt: 'The computer ', tokens: 40, temperature: 0.8, topK: 20, seed: 5, requestId: 'gen-a' });
      expect(r).toMatchObject({ requestId: 'gen-a', tokens: 40, stopped: false });
      expect(r.tokensPerSecond).toBeGreaterThan(0);
      const mine = events.filter((e) => e.requestId === 'gen-a');
      expect(mine.every((e) => e.runId === run.id)).toBe(true);
      expect(mine.filter((e) => !e.done).length).toBeGreaterThan(1);
      expect(mine.filter((e) => !e.done).map((e) => e.piece).join('')).toBe(r.text);
      expect(mine.at(-1)).toMatchObject({ done: true, piece: '' });
      // A char model writes one character per token.
      expect([...r.text].length).toBe(40);
      // The same seed writes the same text; the engine names a request when the caller does not.
      const again = await engine.generateText({ runId: run.id, prompt: 'The computer ', tokens: 40, temperature: 0.8, topK: 20, seed: 5 });
      expect(again.text).toBe(r.text);
      expect(again.requestId).toMatch(/^gen-/);

      // Stop: a long generation ends early with what it wrote so far.
      let stopAsked = false;
      const offStop = engine.onTextGenerated((e) => {
        if (e.requestId === 'gen-long' && !e.done && !stopAsked) {
          stopAsked = true;
          void engine.stopGeneration({ requestId: 'gen-long' });
        }
      });
      const long = await engine.generateText({ runId: run.id, prompt: '', tokens: 2000, requestId: 'gen-long' });
      offStop();
      off();
      expect(long.stopped).toBe(true);
      expect(long.tokens).toBeGreaterThan(0);
      expect(long.tokens).toBeLessThan(2000);
      await engine.stopGeneration({ requestId: 'gen-long' }); // ended already: nothing happens

      // A run that is not a language model is refused with a typed error.
      const iris = await engine.importDataset({ path: resolve('resources/fixtures/tables/iris.csv'), as: 'table', target: 'species', name: 'iris' });
      const cls = template('tabular-classifier');
      const endedIris = new Promise<TrainingEnded>((r) => engine.onTrainingEnded(r));
      const irisRun = await engine.startTraining({ graph: fitGraphToDataset(cls.graph, iris).graph, datasetId: iris.id, settings: { ...cls.training, epochs: 2 } });
      expect((await endedIris).status).toBe('completed');
      await expect(engine.generateText({ runId: irisRun.id, prompt: 'hello' })).rejects.toMatchObject({
        code: 'bad-request',
        message: expect.stringMatching(/not a language model/),
        details: { reason: 'not-a-language-model' },
      });
      await expect(engine.generateText({ runId: 'no-such-run', prompt: 'x' })).rejects.toMatchObject({ code: 'not-found' });

      // A model folder opened without its dataset generates with the folder's tokenizer.json, as the run did.
      const lm = await openModel({ dir: join(dir, 'data', 'runs', run.id, 'model'), backend: 'cpu' });
      try {
        const pieces: string[] = [];
        const fromFolder = await lm.generate({ prompt: 'The computer ', tokens: 40, temperature: 0.8, topK: 20, seed: 5 }, (p) => pieces.push(p));
        expect(fromFolder).toMatchObject({ tokens: 40, stopped: false });
        expect(pieces.join('')).toBe(fromFolder.text);
        // An abort before the worker starts writing stops it at once.
        const ctl = new AbortController();
        ctl.abort();
        expect(await lm.generate({ prompt: 'x', tokens: 500 }, undefined, ctl.signal)).toMatchObject({ tokens: 0, stopped: true });
      } finally {
        await lm.dispose();
      }

      // The worker says the same of a non-language model it holds.
      const model = await openModel({ dir: join(dir, 'data', 'runs', irisRun.id, 'model'), backend: 'cpu' });
      try {
        await expect(model.generate({ prompt: 'x' })).rejects.toThrow(/not a language model \(its task is classification\)/);
      } finally {
        await model.dispose();
      }
    } finally {
      await engine.dispose();
    }
  });
});
