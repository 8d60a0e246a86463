/**
 * Where a cifar10-cnn training step (batch 64, the engine's own Trainer step) spends its time on
 * wasm, per kernel (tf.profile; a kernel built from other kernels is counted with them, so times nest).
 * Run: npx tsx main/engine/backends/profile.ts [--steps 5] [--template cifar10-cnn]
 */
import { readFileSync } from 'node:fs';
import { parseProjectText, defaultTrainingSettings } from '../../../shared/project';
import { Trainer } from '../training/trainer';
import { syntheticDataset } from '../training/testing/synthetic';
import { selectBackend } from './index';

const at = process.argv.indexOf('--steps');
const steps = at >= 0 ? Number(process.argv[at + 1]) : 5;
const { tf } = await selectBackend({ force: 'wasm' });
const tAt = process.argv.indexOf('--template');
const template = tAt >= 0 ? process.argv[tAt + 1]! : 'cifar10-cnn';
const project = parseProjectText(readFileSync(`resources/templates/${template}.json`, 'utf8'), template);
const inputNode = project.graph.nodes.find((n) => n.type === 'Input');
const shape = ((inputNode?.params.shape as number[] | undefined) ?? [32, 32, 3]) as [number, number, number];
const ds = syntheticDataset({ shape, classes: 10, train: 64 * 40, test: 64 });
const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 64, optimizer: 'adam' as const, learningRate: 1e-3 };
const trainer = Trainer.fromGraph(tf, project.graph, settings, ds, 'wasm');
await trainer.train('warmup', 64 * 3, () => {});
const t = performance.now();
await trainer.train('timed', 64 * steps * 2, () => {});
console.log('step ms', ((performance.now() - t) / (steps * 2)).toFixed(1));
const info = await tf.profile(async () => { await trainer.train('p', 64 * steps, () => {}); return []; });
const agg = new Map<string, { ms: number; n: number; shapes: string }>();
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = agg.get(k.name) ?? { ms: 0, n: 0, shapes: '' };
  e.ms += ms / steps; e.n++; if (e.shapes.length < 120) e.shapes += JSON.stringify(k.inputShapes) + ' ';
  agg.set(k.name, e);
}
console.log('per step:');
for (const [n, e] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) console.log(n.padEnd(28), e.ms.toFixed(2).padStart(8), String(e.n / steps).padStart(5), e.shapes.slice(0, 100));
