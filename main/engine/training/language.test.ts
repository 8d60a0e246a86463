/**
 * Language modelling on a real corpus (a slice of Debian's fortunes, resources/fixtures/text): a small
 * causal transformer trains through the Trainer with per-token cross-entropy, perplexity falls, every
 * epoch writes a sample from a fixed prompt, the model folder keeps the tokenizer, and generation
 * continues a prompt deterministically for a seed.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProjectText } from '../../../shared/project';
import { fitGraphToDataset } from '../../../shared/tasks';
import { selectBackend } from '../backends';
import { createDatasetRegistry } from '../datasets';
import { loadModelFolder, saveModelFolder } from '../export/modelFolder';
import { generate, sampleToken } from '../text/generate';
import { settings } from './testing/helpers';
import { Trainer } from './trainer';
import type { EpochEvent, TrainingEvent } from './types';

describe('language modelling', () => {
  it('mini-GPT (shrunk) on fortunes: perplexity falls, samples every epoch, tokenizer in the model folder, seeded generation', { timeout: 240_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lf-lm-'));
    const registry = createDatasetRegistry({ root });
    await registry.import(resolve('resources/fixtures/text/fortunes/computers'), { as: 'corpus', name: 'computers', tokenizer: 'char', seqLen: 32, splitOnPercent: true });
    const ds = await registry.load('corpus:computers');
    expect(ds.text?.kind).toBe('corpus');
    // The template, narrower (width 32, 1 block's worth of compute stays the template's shape) to keep the test quick.
    const project = parseProjectText(readFileSync(resolve('resources/templates/mini-gpt.json'), 'utf8'));
    const graph = fitGraphToDataset(project.graph, ds.info).graph;
    for (const n of graph.nodes) {
      if (n.type === 'Embedding') n.params.outputDim = 32;
      if (n.type === 'MultiHeadAttention') n.params.keyDim = 8;
      if (n.id.startsWith('ff') && n.params.units === 512) n.params.units = 64;
      if (n.id.startsWith('ff') && n.params.units === 128) n.params.units = 32;
    }
    const { tf, name } = await selectBackend({ force: 'wasm' }).catch(() => selectBackend({ force: 'cpu' }));
    const trainer = Trainer.fromGraph(tf, graph, settings({ epochs: 3, batchSize: 16, learningRate: 0.005 }), ds, name);
    expect(trainer.summary()).toMatchObject({ task: 'language-modelling', outputShape: [32, ds.info.vocabSize] });
    const events: TrainingEvent[] = [];
    const result = await trainer.train('lm', undefined, (e) => events.push(e));
    expect(result.reason, result.message).toBe('completed');
    const epochs = events.filter((e): e is EpochEvent => e.type === 'epoch');
    expect(epochs.at(-1)!.valMetrics!.perplexity).toBeLessThan(epochs[0]!.valMetrics!.perplexity! * 0.95);
    expect(epochs[0]!.valMetrics!.perplexity).toBeLessThan(ds.info.vocabSize!); // better than guessing
    for (const e of epochs) {
      expect(e.sample!.prompt.length).toBeGreaterThan(0);
      expect(e.sample!.text.length).toBeGreaterThan(0);
    }
    const ev = await trainer.evaluate('test');
    expect(ev.task).toBe('language-modelling');
    expect(ev.metrics.perplexity).toBeCloseTo(Math.exp(ev.loss), 3);

    const dir = join(root, 'model');
    await saveModelFolder(tf, dir, { project, model: trainer.model, metrics: {}, task: trainer.modelTask, tokenizer: ds.text!.tokenizer });
    const folder = await loadModelFolder(tf, dir);
    expect(folder.tokenizer).toEqual(ds.text!.tokenizer);
    expect(folder.task).toMatchObject({ id: 'language-modelling', target: { classes: ds.info.vocabSize, length: 32 } });
    const pieces: string[] = [];
    const a = await generate(tf, folder.model, folder.tokenizer!, 'The computer ', { tokens: 40, temperature: 0.8, seed: 7, onText: (p) => pieces.push(p) });
    const b = await generate(tf, folder.model, folder.tokenizer!, 'The computer ', { tokens: 40, temperature: 0.8, seed: 7 });
    expect(a.tokens).toBe(40);
    expect(a.text).toBe(b.text);
    expect(pieces.join('')).toBe(a.text);
    folder.model.dispose();
    trainer.dispose();
  });

  it('samples: temperature 0 is argmax, top-k keeps the k best', () => {
    const logits = [0.1, 3, 0.5, 2.9];
    expect(sampleToken(logits, 0, 0, () => 0.5)).toBe(1);
    const seen = new Set<number>();
    let x = 0;
    for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, 1, 2, () => ((x = (x * 9301 + 49297) % 233280) / 233280)));
    expect([...seen].sort()).toEqual([1, 3]);
  });
});
