/**
 * `layerforge attention` on model folders written here (a tiny two-layer causal token model with a char
 * tokenizer, untrained: the maps only need weights), and the text heatmap on a hand-made map.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionMap } from '../../../shared/api/engine';
import type { Graph } from '../../../shared/graph';
import { newProject } from '../../../shared/project';
import { trainTokenizer } from '../../../shared/text';
import { compileGraph } from '../../engine/compile';
import { saveModelFolder } from '../../engine/export/modelFolder';
import { main } from '..';
import { io } from '../testing';
import { SHADES, textHeatmap } from './attention';

const work = mkdtempSync(join(tmpdir(), 'lf-cli-attention-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const T = 12;
const p = { x: 0, y: 0 };

function graph(attention: boolean): Graph {
  const nodes: Graph['nodes'] = [
    { id: 'in', type: 'Input', name: 'tokens', params: { kind: 'tokens', length: T }, position: p },
    { id: 'emb', type: 'Embedding', name: 'embed', params: { inputDim: 30, outputDim: 8 }, position: p },
    { id: 'pos', type: 'PositionalEmbedding', name: 'pos', params: { sequenceLength: T }, position: p },
    { id: 'head', type: 'Dense', name: 'head', params: { units: 30, activation: 'linear' }, position: p },
  ];
  const edges: Graph['edges'] = [
    { id: 'e1', source: 'in', target: 'emb', targetPort: 0 },
    { id: 'e2', source: 'emb', target: 'pos', targetPort: 0 },
  ];
  if (attention) {
    nodes.push(
      { id: 'att1', type: 'MultiHeadAttention', name: 'block1_attention', params: { numHeads: 2, keyDim: 4, dropout: 0, causal: true }, position: p },
      { id: 'att2', type: 'MultiHeadAttention', name: 'block2_attention', params: { numHeads: 2, keyDim: 4, dropout: 0, causal: true }, position: p },
    );
    edges.push({ id: 'e3', source: 'pos', target: 'att1', targetPort: 0 }, { id: 'e4', source: 'att1', target: 'att2', targetPort: 0 }, { id: 'e5', source: 'att2', target: 'head', targetPort: 0 });
  } else {
    edges.push({ id: 'e3', source: 'pos', target: 'head', targetPort: 0 });
  }
  return { nodes, edges };
}

const lmDir = join(work, 'lm');
const plainDir = join(work, 'plain');
const noTokenizerDir = join(work, 'no-tokenizer');

beforeAll(async () => {
  await tf.setBackend('cpu');
  const tokenizer = trainTokenizer('char', ['the cat sat on the mat\nthe end']);
  for (const [dir, g, withTokenizer] of [[lmDir, graph(true), true], [plainDir, graph(false), true], [noTokenizerDir, graph(true), false]] as const) {
    const { model } = compileGraph(tf, g, 'tiny');
    await saveModelFolder(tf, dir, { project: newProject('tiny', g), model, metrics: {}, ...(withTokenizer ? { tokenizer } : {}) });
    model.dispose();
  }
});

describe('layerforge attention', () => {
  it('prints a text heatmap per attention layer (mean of heads), rows are query tokens', async () => {
    const x = io();
    expect(await main(['attention', lmDir, '--text', 'the cat', '--backend', 'cpu'], x.x), x.err.join('\n')).toBe(0);
    const blocks = x.out.join('\n').split('\n\n');
    expect(blocks).toHaveLength(2);
    for (const [i, block] of blocks.entries()) {
      const lines = block.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^block${i + 1}_attention \\(node att${i + 1}\\) · mean of 2 heads · causal · 7 tokens · '@' = 1\\.000$`));
      expect(lines[1]).toMatch(/\|0123456\|$/);
      const rows = lines.slice(2);
      expect(rows.map((r) => r.slice(0, 5).trim())).toEqual(['0 t', '1 h', '2 e', '3 ␣', '4 c', '5 a', '6 t']);
      for (const [q, row] of rows.entries()) {
        const cells = /\|(.*)\|$/.exec(row)![1]!;
        expect(cells).toHaveLength(7);
        // Causal: nothing after the query's own position; the first token attends only to itself ('@').
        expect(cells.slice(q + 1).trim()).toBe('');
        if (q === 0) expect(cells[0]).toBe('@');
        for (const c of cells) expect(SHADES).toContain(c);
      }
    }
  });

  it('--layer and --head pick one map; --json prints it', async () => {
    const x = io();
    expect(await main(['attention', lmDir, '--text', 'the mat', '--layer', 'att2', '--head', '1', '--json', '--backend', 'cpu'], x.x), x.err.join('\n')).toBe(0);
    const map = JSON.parse(x.out.join('')) as AttentionMap & { head: number };
    expect(map).toMatchObject({ head: 1, tokens: ['t', 'h', 'e', '␣', 'm', 'a', 't'], textTokens: 7, truncated: false, seqLen: T });
    expect(map.layers).toHaveLength(1);
    expect(map.layers[0]).toMatchObject({ name: 'block2_attention', nodeId: 'att2', heads: 2, causal: true });
    expect(map.layers[0]!.weights).toHaveLength(1);
    for (const row of map.layers[0]!.weights[0]!) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);

    const byName = io();
    expect(await main(['attention', lmDir, '--text', 'the', '--layer', 'block1_attention', '--head', '0', '--backend', 'cpu'], byName.x)).toBe(0);
    expect(byName.out[0]).toMatch(/^block1_attention \(node att1\) · head 0 of 2 · causal · 3 tokens/);
  });

  it('says what is wrong: usage, an unknown layer or head, a folder without tokenizer or attention', async () => {
    const run = async (...args: string[]) => {
      const x = io();
      const code = await main(['attention', ...args], x.x);
      return { code, err: x.err.join('\n') };
    };
    expect(await run(lmDir)).toMatchObject({ code: 2, err: expect.stringMatching(/--text TEXT is required/) });
    expect(await run(lmDir, '--text', 'x', '--head', 'two')).toMatchObject({ code: 2, err: expect.stringMatching(/--head must be a head number/) });
    expect(await run(lmDir, '--text', 'x', '--max-tokens', '999')).toMatchObject({ code: 2, err: expect.stringMatching(/--max-tokens must be a whole number from 1 to 256/) });
    expect(await run(lmDir, '--text', 'the', '--layer', 'nope', '--backend', 'cpu')).toMatchObject({ code: 2, err: expect.stringMatching(/no attention layer 'nope'; the model has block1_attention \(node att1\), block2_attention \(node att2\)/) });
    expect(await run(lmDir, '--text', 'the', '--head', '2', '--backend', 'cpu')).toMatchObject({ code: 2, err: expect.stringMatching(/--head 2: layer 'block1_attention' has 2 heads \(0 … 1\)/) });
    expect(await run(plainDir, '--text', 'the', '--backend', 'cpu')).toMatchObject({ code: 1, err: expect.stringMatching(/has no attention layer/) });
    expect(await run(noTokenizerDir, '--text', 'the', '--backend', 'cpu')).toMatchObject({ code: 1, err: expect.stringMatching(/holds no tokenizer\.json/) });
    expect(await run(lmDir, '--text', '', '--backend', 'cpu')).toMatchObject({ code: 1, err: expect.stringMatching(/the text has no tokens/) });
  });

  it('textHeatmap: shades by the map’s largest weight, numbers the key columns, names the padding share', () => {
    const map: AttentionMap = {
      tokens: ['a', 'longer-than-twelve', 'c'],
      ids: [3, 4, 5],
      textTokens: 3,
      truncated: false,
      seqLen: 8,
      layers: [{ name: 'att', heads: 1, keyDim: 2, causal: false, weights: [[[0.5, 0, 0], [0, 0.25, 0.25], [0.1, 0.2, 0.2]]], paddingWeight: [[0.5, 0.5, 0.5]] }],
    };
    expect(textHeatmap(map, map.layers[0]!, 0)).toEqual([
      "att · head 0 of 1 · bidirectional · 3 tokens · '@' = 0.500",
      '               |012|',
      '0 a            |@  |',
      '1 longer-than… | ++|',
      '2 c            |:==|',
      '50.0% of the attention (mean over queries and heads) went to the padding after the text',
    ]);
  });
});
