import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge generate MODEL --prompt TEXT [--tokens N] [--temperature X] [--top-k K] [--seed N] [--backend NAME] [--json]

  MODEL            a model folder written by \`layerforge train --out\` from a corpus (a language model; it holds
                   tokenizer.json)
  --prompt TEXT    the text to continue
  --tokens N       new tokens to write (default 200)
  --temperature X  0 picks the most likely token; higher is more surprising (default 0.8)
  --top-k K        draw among the K most likely tokens only (default 0: all)
  --seed N         random seed (default 1)
  --backend NAME   wasm | cpu | auto (default auto)
  --json           print {prompt, text, tokens, tokensPerSecond, path} at the end instead of streaming

The continuation is printed as it is produced. A GPT-like model (embeddings, norms, dense layers, causal
attention) generates with a key/value cache ('kv-cache': each token costs one position; beyond the model's
window the context restarts from its last half); any other model reads its whole window per token
('full-window'). The path is printed beside the speed.`;

function num(name: string, v: string | undefined, min: number, int: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${int ? 'a whole number' : 'a number'} >= ${min}, got '${v}'`);
  return n;
}

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Continue a prompt with a trained language model (streams the text as it is produced).',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        prompt: { type: 'string' },
        tokens: { type: 'string' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        seed: { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    if (values.prompt === undefined) throw new UsageError('--prompt TEXT is required');
    const backend = values.backend ?? 'auto';
    if (!['auto', 'wasm', 'cpu'].includes(backend)) throw new UsageError(`--backend must be auto, wasm or cpu, got '${backend}'`);
    const tokens = num('tokens', values.tokens, 1, true) ?? 200;
    const temperature = num('temperature', values.temperature, 0, false) ?? 0.8;
    const topK = num('top-k', values['top-k'], 0, true) ?? 0;
    const seed = num('seed', values.seed, 0, true) ?? 1;
    const [{ selectBackend }, { loadModelFolder }, { generate }] = await Promise.all([import('../../engine/backends'), import('../../engine/export/modelFolder'), import('../../engine/text/generate')]);
    const { tf } = await selectBackend(backend === 'auto' ? {} : { force: backend as 'wasm' | 'cpu' });
    const dir = positionals[0]!;
    const folder = await loadModelFolder(tf, dir);
    try {
      if (!folder.tokenizer) throw new Error(`${dir} holds no tokenizer.json: it was not trained on text (generate takes language models trained on a corpus)`);
      const json = Boolean(values.json);
      if (!json) process.stdout.write(values.prompt);
      const r = await generate(tf, folder.model, folder.tokenizer, values.prompt, { tokens, temperature, topK, seed, ...(json ? {} : { onText: (piece: string) => process.stdout.write(piece) }) });
      if (json) io.out(JSON.stringify({ prompt: r.prompt, text: r.text, tokens: r.tokens, tokensPerSecond: Math.round(r.tokensPerSecond * 10) / 10, path: r.path }));
      else {
        process.stdout.write('\n');
        io.err(`${r.tokens} tokens, ${r.tokensPerSecond.toFixed(1)} tokens/s (${r.path})`);
      }
      return 0;
    } finally {
      folder.model.dispose();
    }
  },
};
