/**
 * Where a mini-GPT training step (batch 32, characters, T=128) spends its time on wasm, per kernel.
 * Run: npx tsx main/engine/backends/profile-lm.ts [--steps 5] [--file /usr/share/games/fortunes/computers] [--gemm off]
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseProjectText, defaultTrainingSettings } from '../../../shared/project';
import { fitGraphToDataset } from '../../../shared/tasks';
import { createDatasetRegistry } from '../datasets';
import { Trainer } from '../training/trainer';
import { selectBackend } from './index';
import { setNativeGemmEnabled } from './kernels';

const arg = (k: string, d: string) => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1]! : d; };
const steps = Number(arg('--steps', '5'));
const file = arg('--file', resolve('resources/fixtures/text/fortunes/computers'));
const { tf } = await selectBackend({ force: (arg('--backend', 'wasm')) as 'wasm' });
setNativeGemmEnabled(arg('--gemm', 'on') !== 'off');
const registry = createDatasetRegistry({ root: mkdtempSync(join(tmpdir(), 'lf-prof-')) });
await registry.import(file, { as: 'corpus', name: 'p', tokenizer: 'char', seqLen: 128, splitOnPercent: true });
const ds = await registry.load('corpus:p');
const project = parseProjectText(readFileSync('resources/templates/mini-gpt.json', 'utf8'), 'mini-gpt');
const graph = fitGraphToDataset(project.graph, ds.info).graph;
const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3 };
const trainer = Trainer.fromGraph(tf, graph, settings, ds, 'wasm');
await trainer.train('warmup', 32 * 3, () => {});
const cpu0 = process.cpuUsage();
const timed = await trainer.train('timed', 32 * steps * 2, () => {});
const cpu = process.cpuUsage(cpu0);
// Steady state: the trainer's own step time (batches only, no evaluation or epoch sample).
const ms = (32 / timed.trainImagesPerSecond) * 1000;
console.log('step ms', ms.toFixed(1), 'tokens/s', (timed.trainImagesPerSecond * 128).toFixed(0), '| cpu ms per step incl. epoch end', ((cpu.user + cpu.system) / 1000 / (steps * 2)).toFixed(1));
// Kernels per step over one short run (its end-of-epoch evaluation and sample included).
const info = await tf.profile(async () => { await trainer.train('p', 32 * steps, () => {}); return []; });
const agg = new Map<string, { ms: number; n: number; shapes: string }>();
for (const k of info.kernels) {
  const kms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = agg.get(k.name) ?? { ms: 0, n: 0, shapes: '' };
  e.ms += kms / steps; e.n += 1 / steps; if (e.shapes.length < 120) e.shapes += JSON.stringify(k.inputShapes) + ' ';
  agg.set(k.name, e);
}
let total = 0; for (const e of agg.values()) total += e.ms;
console.log('per step (kernel times nest; sum', total.toFixed(1), 'ms):');
for (const [n, e] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(n.padEnd(28), e.ms.toFixed(2).padStart(8), e.n.toFixed(1).padStart(6), e.shapes.slice(0, 100));
