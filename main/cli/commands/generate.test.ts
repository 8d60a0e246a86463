/**
 * `layerforge generate` on model folders written by saveModelFolder: a small GPT-like model generates
 * with the key/value cache and says so beside its speed (and in --json); an LSTM language model takes
 * the full window. The models are untrained (speed and path do not depend on training).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Graph } from '../../../shared/graph';
import { parseProjectText } from '../../../shared/project';
import { trainTokenizer, type Tokenizer } from '../../../shared/text';
import { selectBackend } from '../../engine/backends';
import { compileGraph } from '../../engine/compile';
import { saveModelFolder } from '../../engine/export/modelFolder';
import { main } from '../index';
import { io } from '../testing';

const T = 16;
const tokenizer: Tokenizer = trainTokenizer('char', ['abcdefghijklmnopqr']);
const VOCAB = 20;

/** The mini-GPT template shrunk (T=16, width 16), or the same head on an LSTM. */
function graph(kind: 'gpt' | 'lstm'): { project: ReturnType<typeof parseProjectText>; graph: Graph } {
  const project = parseProjectText(readFileSync(resolve('resources/templates/mini-gpt.json'), 'utf8'));
  const g = project.graph;
  for (const n of g.nodes) {
    if (n.type === 'Input') n.params.length = T;
    if (n.type === 'Embedding') Object.assign(n.params, { inputDim: VOCAB, outputDim: 16 });
    if (n.type === 'PositionalEmbedding') n.params.sequenceLength = T;
    if (n.type === 'MultiHeadAttention') Object.assign(n.params, { numHeads: 2, keyDim: 8 });
    if (n.id.startsWith('ff') && n.params.units === 512) n.params.units = 32;
    if (n.id.startsWith('ff') && n.params.units === 128) n.params.units = 16;
    if (n.id === 'head') n.params.units = VOCAB;
  }
  if (kind === 'lstm') {
    g.nodes = g.nodes.filter((n) => ['tokens', 'embed', 'head'].includes(n.id));
    g.nodes.push({ id: 'lstm', type: 'LSTM', name: 'lstm', params: { units: 16, returnSequences: true }, position: { x: 0, y: 500 } });
    g.edges = [
      { id: 'a', source: 'tokens', target: 'embed', targetPort: 0 },
      { id: 'b', source: 'embed', target: 'lstm', targetPort: 0 },
      { id: 'c', source: 'lstm', target: 'head', targetPort: 0 },
    ];
  }
  return { project, graph: g };
}

async function modelFolder(kind: 'gpt' | 'lstm'): Promise<string> {
  const { tf } = await selectBackend({ force: 'cpu' });
  const { project, graph: g } = graph(kind);
  const { model } = compileGraph(tf, g);
  const dir = join(mkdtempSync(join(tmpdir(), 'lf-generate-')), kind);
  await saveModelFolder(tf, dir, { project: { ...project, graph: g }, model, metrics: {}, task: { id: 'language-modelling', target: { classes: VOCAB, mean: 0, std: 1, length: T } }, tokenizer });
  model.dispose();
  return dir;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('layerforge generate', () => {
  it('a GPT-like model: kv-cache, printed beside tokens/s and in --json', { timeout: 60_000 }, async () => {
    const dir = await modelFolder('gpt');
    const j = io();
    expect(await main(['generate', dir, '--prompt', 'abc', '--tokens', '40', '--backend', 'cpu', '--json'], j.x), j.err.join('\n')).toBe(0);
    const r = JSON.parse(j.out.at(-1)!) as Record<string, unknown>;
    expect(r).toMatchObject({ prompt: 'abc', tokens: 40, path: 'kv-cache' });
    expect(Object.keys(r)).toEqual(['prompt', 'text', 'tokens', 'tokensPerSecond', 'path']);

    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const s = io();
    expect(await main(['generate', dir, '--prompt', 'abc', '--tokens', '40', '--backend', 'cpu'], s.x), s.err.join('\n')).toBe(0);
    expect(written[0]).toBe('abc');
    expect(s.err.at(-1)).toMatch(/^40 tokens, [\d.]+ tokens\/s \(kv-cache\)$/);
  });

  it('an LSTM language model: full-window', { timeout: 60_000 }, async () => {
    const dir = await modelFolder('lstm');
    const j = io();
    expect(await main(['generate', dir, '--prompt', 'abc', '--tokens', '10', '--backend', 'cpu', '--json'], j.x), j.err.join('\n')).toBe(0);
    expect(JSON.parse(j.out.at(-1)!)).toMatchObject({ tokens: 10, path: 'full-window' });
  });
});
