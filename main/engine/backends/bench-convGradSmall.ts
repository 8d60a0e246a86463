/**
 * A/B of the few-channel / odd-K filter gradient (convGrad.ts, LAYERFORGE_CONV_GRAD_SMALL) against kernels.c's
 * direct accumulation, alternating in one process: per kernel (lenet5's two convs, cifar10-cnn's first) and
 * per lenet5 training step (the engine's Trainer, batch 64, Adam).
 * Run: npx tsx main/engine/backends/bench-convGradSmall.ts [--rounds 7] [--steps 10] [--no-step]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../../shared/project';
import { selectBackend } from './index';
import { setConvGradPath, setConvGradSmall, type ConvGradPath } from './convGrad';
import { randomTensor, seededRandom } from './inventory';
import { Trainer } from '../training/trainer';
import { syntheticFor } from '../training/testing/helpers';
import { median, cpuMs } from './benchSteps';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const rounds = arg('--rounds', 7);
const stepsPerRound = arg('--steps', 10);

async function main(): Promise<void> {
  const { tf: t, name } = await selectBackend({ force: 'wasm' });
  if (name !== 'wasm') throw new Error(name);
  await new Promise((r) => setTimeout(r, 500)); // the helper thread
  const rand = seededRandom(3);
  const shapes = [
    { name: 'lenet5 c1 28x28x1 5x5->6 same', x: [64, 28, 28, 1], f: [5, 5, 1, 6], pad: 'same' },
    { name: 'lenet5 c3 14x14x6 5x5->16 valid', x: [64, 14, 14, 6], f: [5, 5, 6, 16], pad: 'valid' },
    { name: 'cifar10-cnn c1 32x32x3 3x3->32 valid', x: [64, 32, 32, 3], f: [3, 3, 3, 32], pad: 'valid' },
    ...(process.argv.includes('--more')
      ? ([
          { name: '32x32x3 3x3->8 same', x: [64, 32, 32, 3], f: [3, 3, 3, 8], pad: 'same' },
          { name: '32x32x3 3x3->24 same', x: [64, 32, 32, 3], f: [3, 3, 3, 24], pad: 'same' },
          { name: '28x28x1 3x3->16 same', x: [64, 28, 28, 1], f: [3, 3, 1, 16], pad: 'same' },
          { name: '28x28x1 5x5->20 same', x: [64, 28, 28, 1], f: [5, 5, 1, 20], pad: 'same' },
        ] as const)
      : []),
  ] as const;
  const reps = 20;
  for (const sh of shapes) {
    const x = randomTensor(t, [...sh.x], rand) as tf.Tensor4D;
    const y = tf.conv2d(x, randomTensor(t, [...sh.f], rand, 0.1) as tf.Tensor4D, 1, sh.pad);
    const dy = randomTensor(t, y.shape, rand) as tf.Tensor4D;
    const attrs = { strides: 1, pad: sh.pad, dataFormat: 'NHWC', filterShape: [...sh.f] };
    const call = () => (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor).dispose();
    // Variants: LAYERFORGE_CONV_GRAD paths (--paths direct,small,im2col,auto).
    const variants = (process.argv.includes('--paths') ? process.argv[process.argv.indexOf('--paths') + 1]! : 'direct,auto').split(',');
    const setVariant = (v: string) => setConvGradPath(v as ConvGradPath);
    const res = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
    const outs = variants.map((v) => {
      setVariant(v);
      const r = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
      const d = r.dataSync().slice();
      r.dispose();
      return d;
    });
    for (const [vi, o] of outs.entries()) {
      let worst = 0, scale = 1e-3;
      for (let i = 0; i < o.length; i++) {
        scale = Math.max(scale, Math.abs(outs[0]![i]!));
        worst = Math.max(worst, Math.abs(o[i]! - outs[0]![i]!));
      }
      if (!(worst / scale < 1e-4)) console.log(`  MISMATCH ${variants[vi]} vs ${variants[0]}: ${worst / scale}`);
    }
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const vi of order) {
        setVariant(variants[vi]!);
        call();
        const c0 = cpuMs(), t0 = performance.now();
        for (let i = 0; i < reps; i++) call();
        res[vi]!.wall.push((performance.now() - t0) / reps);
        res[vi]!.cpu.push((cpuMs() - c0) / reps);
      }
    }
    setVariant('auto');
    const flop = (2 * sh.f.reduce((a: number, b: number) => a * b, 1) * dy.shape[0] * dy.shape[1] * dy.shape[2]) / 1e6;
    const w0 = median(res[0]!.wall), c0 = median(res[0]!.cpu);
    console.log(`${sh.name} (${rounds} rounds x ${reps}, medians; load ${loadavg()[0]!.toFixed(2)}):`);
    for (const [vi, v] of variants.entries()) {
      const w = median(res[vi]!.wall), c = median(res[vi]!.cpu);
      console.log(`  ${v.padEnd(7)} wall ${w.toFixed(3)} ms (${(w0 / w).toFixed(2)}x, ${(flop / w).toFixed(1)} GFLOP/s), cpu ${c.toFixed(3)} ms (${(c0 / c).toFixed(2)}x, min ${Math.min(...res[vi]!.cpu).toFixed(3)})`);
    }
    x.dispose(); y.dispose(); dy.dispose();
  }
  setConvGradSmall(true);
  if (process.argv.includes('--no-step')) return;
  const file = 'resources/templates/lenet5.json';
  const project = parseProjectText(readFileSync(file, 'utf8'), file);
  const bs = 64;
  const count = bs * (2 + 2 * rounds * stepsPerRound);
  const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize: bs, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (count + 1) };
  const ds = syntheticFor(project.graph, count + 1, 1);
  const trainer = Trainer.fromGraph(t, project.graph, settings, ds, name);
  const step = { old: { wall: [] as number[], cpu: [] as number[] }, new: { wall: [] as number[], cpu: [] as number[] } };
  try {
    const run = async (n: number) => {
      const c0 = cpuMs();
      const r = await trainer.train('ab', bs * n + 1, () => {});
      if (r.reason !== 'completed') throw new Error(`training failed: ${r.message}`);
      return { wall: (r.trainMs ?? (bs * r.batchesCompleted * 1000) / r.trainImagesPerSecond) / r.batchesCompleted, cpu: (cpuMs() - c0) / r.batchesCompleted };
    };
    await run(2);
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 ? (['new', 'old'] as const) : (['old', 'new'] as const)) {
        setConvGradSmall(which === 'new');
        const m = await run(stepsPerRound);
        step[which].wall.push(m.wall);
        step[which].cpu.push(m.cpu);
      }
    }
  } finally {
    trainer.dispose();
  }
  const o = step.old, n = step.new;
  console.log(`lenet5 training step (batch 64): wall ${median(o.wall).toFixed(2)} -> ${median(n.wall).toFixed(2)} ms (${(median(o.wall) / median(n.wall)).toFixed(2)}x; ${(64000 / median(o.wall)).toFixed(0)} -> ${(64000 / median(n.wall)).toFixed(0)} img/s), cpu ${median(o.cpu).toFixed(2)} -> ${median(n.cpu).toFixed(2)} ms (${(median(o.cpu) / median(n.cpu)).toFixed(2)}x); load ${loadavg()[0]!.toFixed(2)}`);
}

void main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
