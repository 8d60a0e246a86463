/**
 * Training on labelled text: the lstm-classifier template, with its image input swapped for token ids and an
 * Embedding and its sizes fitted to the dataset, learns real fortunes (4 categories from Debian's `fortunes`):
 * the loss falls and test accuracy beats always guessing the most common class. That run uses the wasm backend:
 * on the pure-JS cpu backend one step of this model takes 3-5 s (the Embedding's gradient, an
 * unsortedSegmentSum, costs time in proportion to the vocabulary, and the LSTM's backward pass is slow), so the
 * cpu backend gets a small run of the same path that checks the loss falls.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { fitGraphToDataset } from '../../../shared/tasks';
import { selectBackend } from '../backends';
import { importText, readTextCache } from '../datasets/text';
import { settings } from './testing/helpers';
import { Trainer } from './trainer';
import type { EpochEvent, TrainingEvent } from './types';

const root = mkdtempSync(join(tmpdir(), 'lf-text-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`../../../resources/fixtures/text/${name}`, import.meta.url).pathname;

/** lstm-classifier.json with its 28×28 image input read row by row replaced by T token ids and an Embedding. */
function lstmOverTokens(): Graph {
  const template = JSON.parse(readFileSync(new URL('../../../resources/templates/lstm-classifier.json', import.meta.url), 'utf8')) as { graph: Graph };
  const nodes = template.graph.nodes.map((n) => {
    if (n.type === 'Input') return { ...n, params: { kind: 'tokens', length: 64 } };
    if (n.type === 'Reshape') return { ...n, type: 'Embedding', name: 'embedding_1', params: { inputDim: 1000, outputDim: 32 } };
    if (n.type === 'LSTM') return { ...n, params: { ...n.params, units: 32 } };
    return n;
  });
  return { nodes, edges: template.graph.edges };
}

let wasmOk = false;
try {
  await selectBackend({ force: 'wasm' });
  wasmOk = true;
} catch {
  wasmOk = false;
}

describe('training on labelled text', () => {
  it.skipIf(!wasmOk)('an LSTM over word ids learns fortune categories: loss falls, accuracy beats the majority class', async () => {
    const r = await importText(fixture('fortunes'), root, { splitOnPercent: true, seqLen: 24, vocabSize: 1500, lowercase: true });
    const ds = await readTextCache(r.info.cachePath!, r.info.id);
    const { graph, changes } = fitGraphToDataset(lstmOverTokens(), { ...ds.info, vocabSize: r.info.vocabSize! });
    expect(changes.join('; ')).toMatch(/24 tokens.*vocabulary of 1500 tokens.*4 units/);
    const { tf, name } = await selectBackend({ force: 'wasm' });
    const trainer = Trainer.fromGraph(tf, graph, settings({ epochs: 4, batchSize: 32, learningRate: 0.01, seed: 3 }), ds, name);
    expect(trainer.inputDtype).toBe('int32');
    const events: TrainingEvent[] = [];
    const result = await trainer.train('text', undefined, (e) => events.push(e));
    expect(result.reason, result.message).toBe('completed');
    expect(result.message).toMatch(/trained 4 epochs on 384/);
    const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
    expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
    expect(epochs.at(-1)!.loss).toBeLessThan(Math.log(4));
    const ev = await trainer.evaluate('test');
    const counts = [0, 0, 0, 0];
    for (const l of ds.test.labels) counts[l]!++;
    const majority = Math.max(...counts) / ds.test.count;
    console.log(`fortunes (4 classes): test accuracy ${(ev.accuracy! * 100).toFixed(1)}% vs majority ${(majority * 100).toFixed(1)}%; loss ${epochs.map((e) => e.loss.toFixed(3)).join(' -> ')}`);
    expect(ev.accuracy!).toBeGreaterThan(majority + 0.1);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(96);
    trainer.dispose();
  }, 120_000);

  it('on the cpu backend too: two classes, a small vocabulary, short texts; the loss falls', async () => {
    const r = await importText(fixture('fortunes'), root, { name: 'two', splitOnPercent: true, classes: ['computers', 'food'], seqLen: 8, vocabSize: 200 });
    const ds = await readTextCache(r.info.cachePath!, r.info.id);
    const { graph } = fitGraphToDataset(lstmOverTokens(), { ...ds.info, vocabSize: r.info.vocabSize! });
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const trainer = Trainer.fromGraph(tf, graph, settings({ epochs: 2, batchSize: 64, learningRate: 0.02, seed: 1 }), ds, name);
    const events: TrainingEvent[] = [];
    const result = await trainer.train('text-cpu', undefined, (e) => events.push(e));
    expect(result.reason, result.message).toBe('completed');
    const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
    expect(epochs[1]!.loss).toBeLessThan(epochs[0]!.loss);
    // predict() takes rows of token ids and gives what evaluate() gave the same test texts.
    const ev = await trainer.evaluate('test', undefined, true);
    const probs = await trainer.predict({ tokens: ds.test.tokens!, count: ds.test.count });
    expect(probs).toHaveLength(ds.test.count);
    probs.forEach((p, i) => {
      expect(p).toHaveLength(2);
      expect(p.indexOf(Math.max(...p))).toBe(ev.predictions!.predicted[i]);
      expect(Math.max(...p)).toBeCloseTo(ev.predictions!.confidence![i]!, 5);
    });
    await expect(trainer.predict({ tokens: ds.test.tokens!.subarray(1), count: ds.test.count })).rejects.toThrow(/expected \d+ samples of 8 values/);
    trainer.dispose();
  }, 120_000);

  it('a token dataset whose rows do not match the model input is refused with both sizes', async () => {
    const r = await importText(fixture('reviews'), root, { seqLen: 16 });
    const ds = await readTextCache(r.info.cachePath!, r.info.id);
    const { graph } = fitGraphToDataset(lstmOverTokens(), { ...ds.info, vocabSize: r.info.vocabSize! });
    const { tf, name } = await selectBackend({ force: 'cpu' });
    const wrong = { ...ds, train: { ...ds.train, tokens: ds.train.tokens!.subarray(0, ds.train.tokens!.length - 1) } };
    expect(() => Trainer.fromGraph(tf, graph, settings(), wrong, name)).toThrow(/says 13 texts but holds 207 token ids \(expected 13 x 16\)/);
  });
});
