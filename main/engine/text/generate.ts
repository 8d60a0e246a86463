/**
 * Text generation with a trained language model: the prompt is tokenized, the next token is drawn from
 * the logits after the last token (temperature, top-k, seeded), appended, and the text is streamed as
 * it grows.
 *
 * Two paths compute those logits:
 * - 'kv-cache' (incremental.ts): when every layer can run one position at a time (a GPT-like graph
 *   of embeddings, norms, dense layers, adds and causal attention), the weights are read once and each
 *   new token runs through the layers in plain TypeScript, attention reusing the keys and values of
 *   earlier positions. Beyond T tokens the window restarts from the last T/2 tokens (see
 *   incremental.ts), so continuations longer than T may differ from the full-window path.
 * - 'full-window' (the reference, and the fallback for anything else, e.g. an LSTM): the tfjs model
 *   reads the last T tokens (padded at the end: attention is causal, so the padding after the last
 *   real token changes nothing before it) for every new token. The model keeps one input shape [1, T],
 *   so nothing is recompiled per token.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { mulberry32 } from '../../../shared/random';
import { decode, encode, PAD_ID, type Tokenizer } from '../../../shared/text';
import { ContextWindow, IncrementalModel, loadIncremental } from './incremental';

/** How the logits were computed: the key/value cache, or the whole window through tfjs per token. */
export type GeneratePath = 'kv-cache' | 'full-window';

export interface GenerateOptions {
  /** New tokens to produce (default 200). */
  tokens?: number;
  /** Softmax temperature; 0 picks the most likely token (default 1). */
  temperature?: number;
  /** Sample among the k most likely tokens only; 0 = all (default 0). */
  topK?: number;
  seed?: number;
  /** Called with each new piece of text as soon as it decodes completely. */
  onText?: (piece: string) => void;
  /** Stops early when it returns true (a cancelled request). */
  stop?: () => boolean;
  /** 'auto' (default): the key/value cache when the model allows it, else the full window; 'full-window' forces the reference path. */
  path?: 'auto' | 'full-window';
}

export interface GenerateResult {
  prompt: string;
  /** The continuation (without the prompt). */
  text: string;
  tokens: number;
  tokensPerSecond: number;
  path: GeneratePath;
  /** Why the key/value cache was not used (when path is 'full-window' under 'auto'). */
  fallbackReason?: string;
}

/** Draws a token id from logits (length V) with temperature and top-k. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, rand: () => number): number {
  const v = logits.length;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < v; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let ids = Array.from({ length: v }, (_, i) => i);
  if (topK > 0 && topK < v) ids = ids.sort((a, b) => logits[b]! - logits[a]!).slice(0, topK);
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logits[i]! / temperature);
  const weights = ids.map((i) => Math.exp(logits[i]! / temperature - max));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rand() * total;
  for (let k = 0; k < ids.length; k++) {
    r -= weights[k]!;
    if (r <= 0) return ids[k]!;
  }
  return ids[ids.length - 1]!;
}

/** True when the model's output layer ends in a softmax (its outputs are then probabilities, not logits). */
function outputsProbabilities(model: tfjs.LayersModel): boolean {
  const act = (model.outputLayers[0] as unknown as { activation?: { getClassName(): string } }).activation;
  return typeof act?.getClassName === 'function' && act.getClassName() === 'softmax';
}

export async function generate(tf: typeof tfjs, model: tfjs.LayersModel, tokenizer: Tokenizer, prompt: string, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const shape = model.inputs[0]!.shape;
  const T = shape[1];
  if (shape.length !== 2 || typeof T !== 'number') throw new Error(`generate needs a model that reads a window of token ids [T]; this one reads ${shape.slice(1).join('×')}`);
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 3) throw new Error(`generate needs a language model (an output of T×vocabulary); this one outputs ${outShape.slice(1).join('×')}`);
  const n = opts.tokens ?? 200;
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const rand = mulberry32((opts.seed ?? 1) >>> 0 || 1);
  const probs = outputsProbabilities(model);
  const ids = encode(tokenizer, prompt);
  if (ids.length === 0) ids.push(PAD_ID);
  const start = ids.length;
  let emitted = '';
  const t0 = performance.now();
  let fast: ContextWindow | null = null;
  let fallbackReason: string | undefined;
  if (opts.path !== 'full-window') {
    const inc = await loadIncremental(model);
    if (inc instanceof IncrementalModel) fast = new ContextWindow(inc);
    else fallbackReason = inc.reason;
  }
  const window = new Int32Array(T);
  let lastYield = performance.now();
  for (let k = 0; k < n; k++) {
    if (opts.stop?.()) break;
    let logits: ArrayLike<number>;
    if (fast) {
      const out = fast.next(ids);
      if (probs) for (let i = 0; i < out.length; i++) out[i] = Math.log(out[i]! + 1e-9);
      logits = out;
      // The cache path never waits on the backend: let timers and messages in now and then.
      if (performance.now() - lastYield > 20) {
        await new Promise<void>((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    } else {
      const ctx = ids.slice(-T);
      window.fill(PAD_ID);
      window.set(ctx);
      const pos = ctx.length - 1;
      const row = tf.tidy(() => {
        const out = model.predict(tf.tensor2d(window, [1, T], 'int32')) as tfjs.Tensor;
        const last = tf.squeeze(tf.slice(out, [0, pos, 0], [1, 1, -1]));
        return probs ? tf.log(tf.add(last, 1e-9)) : last;
      });
      logits = await row.data();
      row.dispose();
    }
    ids.push(sampleToken(logits, temperature, topK, rand));
    const text = decode(tokenizer, ids.slice(start));
    // A byte-level token may end inside a multi-byte character: wait for the rest before showing it.
    if (!text.endsWith('\uFFFD') && text.length > emitted.length && text.startsWith(emitted)) {
      opts.onText?.(text.slice(emitted.length));
      emitted = text;
    }
  }
  const text = decode(tokenizer, ids.slice(start));
  if (text.startsWith(emitted) && text.length > emitted.length) opts.onText?.(text.slice(emitted.length));
  const secs = (performance.now() - t0) / 1000;
  return {
    prompt,
    text,
    tokens: ids.length - start,
    tokensPerSecond: secs > 0 ? (ids.length - start) / secs : 0,
    path: fast ? 'kv-cache' : 'full-window',
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
  };
}
