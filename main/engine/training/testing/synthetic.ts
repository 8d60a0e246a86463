/**
 * Tiny synthetic datasets for tests: a learnable task (the class sets the mean value of the sample,
 * or the range its token ids come from), shaped to a model's input.
 */
import type { Graph } from '../../../../shared/graph';
import type { LoadedDataset, Split } from '../../datasets/types';
import { trainTokenizer } from '../../../../shared/text';
import { seededRandom } from '../data';

export interface SyntheticOptions {
  /** Stored sample layout [H, W, C]. */
  shape: readonly [number, number, number];
  classes: number;
  train: number;
  test: number;
  seed?: number;
  /** Token inputs: ids are drawn from [0, vocab) split into class ranges (no normalisation). */
  vocab?: number;
}

export function syntheticDataset(o: SyntheticOptions): LoadedDataset {
  const rand = seededRandom(o.seed ?? 1);
  const size = o.shape[0] * o.shape[1] * o.shape[2];
  const make = (count: number) => {
    const images = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(rand() * o.classes);
      labels[i] = c;
      if (o.vocab) {
        const span = Math.max(1, Math.floor(Math.min(o.vocab, 256) / o.classes));
        for (let j = 0; j < size; j++) images[i * size + j] = c * span + Math.floor(rand() * span);
      } else {
        const level = o.classes > 1 ? (c * 255) / (o.classes - 1) : 128;
        for (let j = 0; j < size; j++) images[i * size + j] = Math.max(0, Math.min(255, Math.round(level + (rand() - 0.5) * 60)));
      }
    }
    return { count, images, labels };
  };
  return {
    info: {
      id: 'synthetic',
      name: 'Synthetic',
      inputShape: [...o.shape],
      classNames: Array.from({ length: o.classes }, (_, i) => `class${i}`),
      trainSize: o.train,
      testSize: o.test,
      license: 'test data',
      homepage: '',
      status: 'ready',
      downloadable: false,
    },
    shape: o.shape,
    train: make(o.train),
    test: make(o.test),
  };
}

/** Per-sample input shape (stored as [H, W, C]), class count and token vocabulary of a graph. */
export function graphDataShape(graph: Graph): { shape: [number, number, number]; classes: number; vocab?: number } {
  const input = graph.nodes.find((n) => n.type === 'Input');
  if (!input) throw new Error('graph has no Input node');
  const p = input.params as Record<string, number | string>;
  let shape: [number, number, number];
  if (p.kind === 'sequence') shape = [Number(p.timesteps ?? 28), Number(p.features ?? 28), 1];
  else if (p.kind === 'tokens') shape = [Number(p.length ?? 64), 1, 1];
  else shape = [Number(p.height ?? 32), Number(p.width ?? 32), Number(p.channels ?? 3)];
  const sinks = graph.nodes.filter((n) => !graph.edges.some((e) => e.source === n.id));
  const out = sinks[0];
  const classes = Number((out?.params as Record<string, number>)?.units ?? 10);
  const emb = graph.nodes.find((n) => n.type === 'Embedding');
  const vocab = p.kind === 'tokens' ? Number((emb?.params as Record<string, number>)?.inputDim ?? 1000) : undefined;
  return { shape, classes, ...(vocab ? { vocab } : {}) };
}

/**
 * A learnable synthetic corpus for a language model reading T tokens with a vocabulary of `vocab` ids: a
 * token stream repeating a fixed pattern, a char tokenizer whose ids cover the vocabulary, windows of T+1.
 */
export function syntheticCorpus(o: { T: number; vocab: number; trainWindows: number; testWindows: number }): LoadedDataset {
  const alphabet = Array.from({ length: o.vocab - 2 }, (_, i) => String.fromCodePoint(0x41 + i)).join('');
  const tokenizer = trainTokenizer('char', [alphabet]);
  const used = Math.min(o.vocab - 2, 12);
  const stream = (windows: number, offset: number) => Int32Array.from({ length: windows * o.T + 1 }, (_, i) => 2 + ((i + offset) * 5) % used);
  const split = (windows: number, offset: number): Split => ({ count: windows, images: new Uint8Array(0), labels: new Uint8Array(0), stream: stream(windows, offset), stride: o.T });
  return {
    info: {
      id: 'corpus:synthetic', name: 'Synthetic corpus', inputShape: [o.T], classNames: [], trainSize: o.trainWindows, testSize: o.testWindows,
      license: 'test data', homepage: '', status: 'ready', downloadable: false, kind: 'corpus', task: 'language-modelling', vocabSize: o.vocab,
    },
    shape: [1, 1, o.T],
    train: split(o.trainWindows, 0),
    test: split(o.testWindows, 3),
    text: { kind: 'corpus', tokenizer, seqLen: o.T, stride: o.T },
  };
}
