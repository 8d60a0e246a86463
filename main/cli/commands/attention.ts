import { parseArgs } from 'node:util';
import type { AttentionLayerMap, AttentionMap } from '../../../shared/api/engine';
import { MAX_ATTENTION_TOKENS } from '../../../shared/api/engine';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge attention MODEL --text TEXT [--layer NAME] [--head N|mean] [--max-tokens N] [--backend NAME] [--json]

  MODEL            a model folder written by \`layerforge train --out\` from labelled text or a corpus, whose
                   model has MultiHeadAttention layers (it holds tokenizer.json)
  --text TEXT      the text to read (tokenized with the model's tokenizer, cut at its T tokens)
  --layer NAME     only this attention layer (its node name or id; default: every one)
  --head N|mean    one head (0 … heads-1) or the mean of the heads (default: mean)
  --max-tokens N   keep at most N tokens of the text (1 … ${MAX_ATTENTION_TOKENS}; default 128)
  --backend NAME   wasm | cpu | auto (default auto)
  --json           print the attention maps as JSON ({tokens, ids, layers: [{name, heads, causal, weights[head][query][key], …}]})

The heatmap has a row per query token and a column per key token (the same tokens, numbered); each cell is
one of ' .:-=+*#%@', from 0 to the map's largest weight. Spaces show as '␣', line breaks as '⏎'.`;

/** The shades of a text heatmap, lightest (0) to darkest (the map's largest weight). */
export const SHADES = ' .:-=+*#%@';

/** One head's map, or the mean of the heads ('mean'). */
export function headMap(layer: AttentionLayerMap, head: number | 'mean'): number[][] {
  if (head !== 'mean') return layer.weights[head]!;
  const n = layer.weights[0]?.length ?? 0;
  return Array.from({ length: n }, (_, q) => Array.from({ length: n }, (_, k) => layer.weights.reduce((a, w) => a + w[q]![k]!, 0) / layer.weights.length));
}

function fit(label: string, width: number): string {
  const chars = [...label];
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : label + ' '.repeat(width - chars.length);
}

/**
 * A map as text: a header naming the layer and head, two header rows numbering the key columns (tens, units),
 * then one row per query token: its number, its text and a shaded character per key.
 */
export function textHeatmap(map: AttentionMap, layer: AttentionLayerMap, head: number | 'mean'): string[] {
  const w = headMap(layer, head);
  const n = map.tokens.length;
  const max = Math.max(1e-12, ...w.flat());
  const labelWidth = Math.min(12, Math.max(3, ...map.tokens.map((t) => [...t].length)));
  const num = String(n - 1).length;
  const pad = ' '.repeat(num + 1 + labelWidth + 1);
  const lines = [
    `${layer.name}${layer.nodeId && layer.nodeId !== layer.name ? ` (node ${layer.nodeId})` : ''} · ${head === 'mean' ? `mean of ${layer.heads} heads` : `head ${head} of ${layer.heads}`} · ${layer.causal ? 'causal' : 'bidirectional'} · ${n} tokens${map.truncated ? ` (of ${map.textTokens})` : ''} · '@' = ${max.toFixed(3)}`,
  ];
  if (n > 10) lines.push(`${pad}|${Array.from({ length: n }, (_, k) => (k >= 10 && k % 10 === 0 ? String(Math.floor(k / 10) % 10) : ' ')).join('')}|`);
  lines.push(`${pad}|${Array.from({ length: n }, (_, k) => String(k % 10)).join('')}|`);
  for (let q = 0; q < n; q++) {
    const cells = w[q]!.map((v) => SHADES[Math.min(SHADES.length - 1, Math.round((v / max) * (SHADES.length - 1)))]!).join('');
    lines.push(`${String(q).padStart(num)} ${fit(map.tokens[q]!, labelWidth)} |${cells}|`);
  }
  if (!layer.causal) {
    const padShare = layer.paddingWeight.flat();
    const mean = padShare.length ? padShare.reduce((a, b) => a + b, 0) / padShare.length : 0;
    if (mean >= 0.005) lines.push(`${(mean * 100).toFixed(1)}% of the attention (mean over queries and heads) went to the padding after the text`);
  }
  return lines;
}

export const attentionCommand: CliCommand = {
  name: 'attention',
  summary: 'Show what a trained text model attends to: attention weights per layer and head as a text heatmap or JSON.',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        text: { type: 'string' },
        layer: { type: 'string' },
        head: { type: 'string' },
        'max-tokens': { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    if (values.text === undefined) throw new UsageError('--text TEXT is required');
    const backend = values.backend ?? 'auto';
    if (!['auto', 'wasm', 'cpu'].includes(backend)) throw new UsageError(`--backend must be auto, wasm or cpu, got '${backend}'`);
    let head: number | 'mean' = 'mean';
    if (values.head !== undefined && values.head !== 'mean') {
      head = Number(values.head);
      if (!Number.isInteger(head) || head < 0) throw new UsageError(`--head must be a head number (0, 1, …) or 'mean', got '${values.head}'`);
    }
    let maxTokens: number | undefined;
    if (values['max-tokens'] !== undefined) {
      maxTokens = Number(values['max-tokens']);
      if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_ATTENTION_TOKENS) throw new UsageError(`--max-tokens must be a whole number from 1 to ${MAX_ATTENTION_TOKENS}, got '${values['max-tokens']}'`);
    }
    const [{ selectBackend }, { loadModelFolder }, { attentionMaps }] = await Promise.all([import('../../engine/backends'), import('../../engine/export/modelFolder'), import('../../engine/text/attention')]);
    const { tf } = await selectBackend(backend === 'auto' ? {} : { force: backend as 'wasm' | 'cpu' });
    const dir = positionals[0]!;
    const folder = await loadModelFolder(tf, dir);
    try {
      if (!folder.tokenizer) throw new Error(`${dir} holds no tokenizer.json: it was not trained on text (attention takes text classifiers and language models)`);
      const map = await attentionMaps(tf, folder.model, folder.tokenizer, values.text, { ...(maxTokens ? { maxTokens } : {}), graph: folder.project.graph });
      let layers = map.layers;
      if (values.layer !== undefined) {
        layers = layers.filter((l) => l.name === values.layer || l.nodeId === values.layer);
        if (layers.length === 0) throw new UsageError(`no attention layer '${values.layer}'; the model has ${map.layers.map((l) => (l.nodeId && l.nodeId !== l.name ? `${l.name} (node ${l.nodeId})` : l.name)).join(', ')}`);
      }
      if (head !== 'mean') {
        const h = head;
        const few = layers.find((l) => h >= l.heads);
        if (few) throw new UsageError(`--head ${h}: layer '${few.name}' has ${few.heads} heads (0 … ${few.heads - 1})`);
      }
      if (values.json) {
        const h = head;
        const pick = (l: AttentionLayerMap): AttentionLayerMap => (h === 'mean' ? l : { ...l, weights: [l.weights[h]!], paddingWeight: [l.paddingWeight[h]!] });
        io.out(JSON.stringify({ ...map, layers: layers.map(pick), ...(head !== 'mean' ? { head } : {}) }));
        return 0;
      }
      for (const [i, layer] of layers.entries()) {
        if (i > 0) io.out('');
        for (const line of textHeatmap(map, layer, head)) io.out(line);
      }
      return 0;
    } finally {
      folder.model.dispose();
    }
  },
};
