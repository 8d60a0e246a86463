/**
 * Language: the mini-GPT template (characters, T=128, width 128, 4 heads, 2 blocks, batch 32, Adam 1e-3)
 * on a corpus of Debian's fortunes (six categories: computers, food, love, politics, science, sports),
 * through the real CLI (`datasets import --as corpus`, `train --json`, `generate --json`), against the same
 * model in PyTorch (scripts/bench/pytorch-language.py, equal parameter count) on the very same windows.
 * Figures: test perplexity after 2 epochs, training tokens/s (steps only), generation tokens/s.
 * Default: the first 24 KB of each category (a few minutes); LAYERFORGE_BENCH_LANGUAGE_FULL=1: all of them
 * (~670 KB, the figure; ~20 minutes for ours on 2 cores).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PYTHON, pytorchMissing, speedPeerEnv, speedPeerMallocNote } from './pytorch';
import type { BenchModule, Figure } from './types';

const FORTUNES = '/usr/share/games/fortunes';
const CATEGORIES = ['computers', 'food', 'love', 'politics', 'science', 'sports'];
const PEER = resolve('scripts/bench/pytorch-language.py');
const T = 128;
const EPOCHS = 2;

function cli(args: string[], dataDir: string) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/layerforge.mjs', ...args], { encoding: 'utf8', timeout: 3 * 3600_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LAYERFORGE_DATA_DIR: dataDir } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - t0 };
}

/** The six categories into `dir`, each cut at an entry boundary after `maxBytes` (Infinity: whole). */
function corpus(dir: string, maxBytes: number): { files: number; bytes: number } | { why: string } {
  const missing = CATEGORIES.filter((c) => !existsSync(join(FORTUNES, c)));
  if (missing.length) return { why: `Debian's fortunes package is not installed (${missing.join(', ')} missing in ${FORTUNES}): apt-get install -y fortunes` };
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const c of CATEGORIES) {
    let text = readFileSync(join(FORTUNES, c), 'latin1');
    if (text.length > maxBytes) text = text.slice(0, text.indexOf('\n%\n', maxBytes) + 3 || maxBytes);
    writeFileSync(join(dir, c), text, 'latin1');
    bytes += text.length;
  }
  return { files: CATEGORIES.length, bytes };
}

export const languageBench: BenchModule = {
  name: 'language',
  async run({ log }) {
    const full = process.env.LAYERFORGE_BENCH_LANGUAGE_FULL === '1';
    const root = mkdtempSync(join(tmpdir(), 'lf-bench-language-'));
    const figures: Figure[] = [];
    const scope = full ? 'six fortune categories (all)' : 'six fortune categories (24 KB each)';
    try {
      const made = corpus(join(root, 'fortunes'), full ? Infinity : 24_000);
      if ('why' in made) return [{ id: 'language.perplexity', label: 'mini-GPT test perplexity', value: null, unit: '', note: made.why }];
      const imp = cli(['datasets', 'import', join(root, 'fortunes'), '--as', 'corpus', '--name', 'fortunes', '--tokenizer', 'char', '--seq-len', String(T), '--split-on-percent', '--skip-bad'], root);
      if (imp.status !== 0) return [{ id: 'language.perplexity', label: 'mini-GPT test perplexity', value: null, unit: '', note: `import failed: ${imp.stderr.trim().split('\n').at(-1)}` }];
      const { createDatasetRegistry } = await import('../../main/engine/datasets');
      const ds = await createDatasetRegistry({ root }).load('corpus:fortunes');
      const vocab = ds.info.vocabSize!;
      log(`language: corpus of ${made.bytes} bytes, ${ds.train.stream!.length} train / ${ds.test.stream!.length} test tokens, ${vocab} ids`);

      let peer: Record<string, number | string> | null = null;
      let peerWhy = pytorchMissing() ?? undefined;
      if (!peerWhy) {
        const dir = join(root, 'peer');
        mkdirSync(dir);
        const i32 = (a: Int32Array | Uint16Array) => Buffer.from(Int32Array.from(a).buffer);
        writeFileSync(join(dir, 'train.i32'), i32(ds.train.stream!));
        writeFileSync(join(dir, 'test.i32'), i32(ds.test.stream!));
        writeFileSync(join(dir, 'meta.json'), JSON.stringify({ T, vocab, lr: 0.001, batch: 32, epochs: EPOCHS, seed: 1, threads: 2 }));
        log('language: PyTorch mini-GPT ...');
        const p = spawnSync(PYTHON, [PEER, dir], { encoding: 'utf8', timeout: 3 * 3600_000, env: speedPeerEnv() });
        try {
          peer = JSON.parse(p.stdout.trim().split('\n').at(-1) ?? '') as Record<string, number | string>;
          if (peer.blas === 'reference') {
            peerWhy = 'PyTorch uses the reference BLAS (libblas3): install libopenblas0-openmp; no ratio is reported against it';
            peer = null;
          }
        } catch {
          peerWhy = `pytorch-language.py exited ${p.status}: ${(p.stderr || '').trim().split('\n').at(-1)}`;
        }
      }
      const load = loadavg()[0]!.toFixed(2);
      const out = join(root, 'model');
      log('language: layerforge train mini-gpt ...');
      const r = cli(['train', 'resources/templates/mini-gpt.json', '--dataset', 'corpus:fortunes', '--epochs', String(EPOCHS), '--seed', '1', '--out', out, '--json'], root);
      let s: Record<string, number | string | null> = {};
      try {
        s = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as typeof s;
      } catch {
        /* reported below */
      }
      const why = r.status === 0 ? undefined : `layerforge train exited ${r.status}: ${r.stderr.trim().split('\n').at(-1)}`;
      const g = r.status === 0 ? cli(['generate', out, '--prompt', 'The ', '--tokens', '200', '--json'], root) : null;
      let gen: { tokensPerSecond?: number; text?: string } = {};
      try {
        gen = g?.status === 0 ? (JSON.parse(g.stdout.trim().split('\n').at(-1) ?? '{}') as typeof gen) : {};
      } catch {
        /* reported as null */
      }
      const tokS = typeof s.trainImagesPerSecond === 'number' ? Math.round(s.trainImagesPerSecond * T) : null;
      log(`language: ours perplexity ${s.testPerplexity ?? '-'} (${tokS ?? '-'} tokens/s), PyTorch ${peer?.test_perplexity ?? '-'} (${peer ? Math.round(Number(peer.tokens_s)) : '-'} tokens/s); generation ${gen.tokensPerSecond ?? '-'} tokens/s`);
      const r2 = (v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : null);
      figures.push(
        { id: 'pytorch.language.perplexity', label: `PyTorch mini-GPT test perplexity, ${EPOCHS} epochs on ${scope}`, value: r2(peer?.test_perplexity), unit: '', ...(peerWhy ? { note: peerWhy } : { note: `${peer!.params} params` }) },
        { id: 'language.perplexity', label: `mini-GPT test perplexity, ${EPOCHS} epochs on ${scope} (target within 5% of PyTorch)`, value: r2(s.testPerplexity), unit: '', peer: 'pytorch.language.perplexity', note: why ?? `char tokenizer, T=${T}, ${vocab} ids; load ${load}` },
        { id: 'pytorch.language.train', label: 'PyTorch mini-GPT training', value: peer ? Math.round(Number(peer.tokens_s)) : null, unit: 'tokens/s', ...(peer ? { note: `blas ${peer.blas}, ${peer.threads} threads; ${speedPeerMallocNote()}` } : peerWhy ? { note: peerWhy } : {}) },
        { id: 'language.train', label: 'mini-GPT training (target >= PyTorch)', value: tokS, unit: 'tokens/s', peer: 'pytorch.language.train', note: `backend ${s.backend ?? '?'}, batch 32, steps only` },
        { id: 'language.generate', label: 'mini-GPT generation through `layerforge generate` (target >= 50)', value: r2(gen.tokensPerSecond), unit: 'tokens/s', note: '200 tokens, T=128, key/value cache' },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return figures;
  },
};
