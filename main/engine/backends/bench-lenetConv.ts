/**
 * A/B of lenet5's five convolutions (two forward, two filter gradients, one input gradient) on wasm with our
 * module, alternating variants in one process: wall and CPU medians, GFLOP/s, two threads and (--both / --one)
 * one; then (--step lenet5,cifar10-cnn) whole training steps through the engine's Trainer (batch 64, Adam),
 * with the calls per step of each of our paths.
 * Variants: 'old' (LAYERFORGE_CONV_DIRECT=0, LAYERFORGE_CONV_GRAD_TIGHT=0, LAYERFORGE_CONV_GRAD_IGEMM=0: the
 * kernels before), 'new' (the defaults), 'fused' (new + LAYERFORGE_CONV_FUSED_TRAINING=1), 'old-fused', or a
 * LAYERFORGE_CONV_GRAD path name ('small', 'igemm', …; '-loose' appended: small's blocks before); '-rsplit' appended to
 * any: the ReLU gradient split over the helper thread from 2^16 elements (the threshold before); '-nobias': the fused
 * op's ReLU and bias gradients as two kernels (LAYERFORGE_RELU_GRAD_BIAS=0).
 * Run: npx tsx main/engine/backends/bench-lenetConv.ts [--variants old,new] [--rounds 7] [--reps 20] [--both|--one]
 *        [--only Conv2DBackpropFilter] [--resnet] [--no-kernels] [--step lenet5] [--steps 10]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { defaultTrainingSettings, parseProjectText, type TrainingSettings } from '../../../shared/project';
import { Trainer } from '../training/trainer';
import { syntheticFor } from '../training/testing/helpers';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './index';
import { convFusedTrainingCalls, setConvFusedTraining, setReluGradBias } from './convFusedTraining';
import { RELU_GRAD_SPLIT_MIN, RELU_GRAD_SPLIT_MIN_OLD, setReluGradSplitMin } from './reluGrad';
import { randomTensor, seededRandom } from './inventory';
import { nativeKernels } from './native';
import { convGradCalls, setConvGradIgemm, setConvGradPath, setConvGradTight, type ConvGradPath } from './convGrad';
import { c1ConvCalls, igemmConvCalls, inputGradValidCalls, setC1Conv, setGemmConv, setConvInputGrad, setConvDirect } from './conv';
import { arg, median, cpuMs } from './benchSteps';

const rounds = Number(arg('rounds', '7'));
const reps = Number(arg('reps', '20'));

/** Variant names: 'old' (the routing before this work), 'new' (the default now), or a conv-grad path. */
function setVariant(name: string): void {
  setReluGradSplitMin(name.includes('-rsplit') ? RELU_GRAD_SPLIT_MIN_OLD : RELU_GRAD_SPLIT_MIN);
  setReluGradBias(!name.includes('-nobias'));
  const v = name.replace('-rsplit', '').replace('-nobias', '');
  setConvDirect(v === 'old' || v === 'old-fused' ? 'off' : 'auto');
  setConvGradTight(v !== 'old' && v !== 'old-fused' && !v.endsWith('-loose'));
  setConvGradIgemm(v !== 'old' && v !== 'old-fused');
  setConvFusedTraining(v.includes('fused'));
  setConvGradPath(v === 'old' || v === 'new' || v.includes('fused') ? 'auto' : (v.replace('-loose', '') as ConvGradPath));
  setC1Conv('auto');
  setGemmConv('auto');
  setConvInputGrad('auto');
}

async function main(): Promise<void> {
  const { tf: t, name } = await selectBackend({ force: 'wasm' });
  if (name !== 'wasm') throw new Error(name);
  const native = nativeKernels(t.backend())!;
  for (let i = 0; i < 100 && native.helper && !native.helper.ready; i++) await new Promise((r) => setTimeout(r, 100));
  const helper = native.helper;
  console.log(`our module: ${native.variant}; helper thread ${helper?.ready ? 'up' : 'not up'}; load ${loadavg()[0]!.toFixed(2)}`);
  const rand = seededRandom(3);
  const only = arg('only', '');
  const variants = arg('variants', 'old,new').split(',');
  const threads = process.argv.includes('--one') ? [1] : process.argv.includes('--both') ? [2, 1] : [2];
  const shapes = [
    { name: 'c1 28x28x1 5x5->6 same', x: [64, 28, 28, 1], f: [5, 5, 1, 6], pad: 'same' },
    { name: 'c3 14x14x6 5x5->16 valid', x: [64, 14, 14, 6], f: [5, 5, 6, 16], pad: 'valid' },
    ...(process.argv.includes('--resnet') ? [{ name: 'resnet-small 32x32x16 1x1/2->32', x: [64, 32, 32, 16], f: [1, 1, 16, 32], pad: 'same', s: 2 }] : []),
  ] as { name: string; x: number[]; f: number[]; pad: 'same' | 'valid'; s?: number }[];
  for (const sh of process.argv.includes('--no-kernels') ? [] : shapes.filter((q) => !process.argv.includes('--resnet') || q.s)) {
    const x = randomTensor(t, [...sh.x], rand) as tf.Tensor4D;
    const w = randomTensor(t, [...sh.f], rand, 0.1) as tf.Tensor4D;
    const b = randomTensor(t, [sh.f[3]], rand, 0.1) as tf.Tensor1D;
    const st = sh.s ?? 1;
    const y = tf.conv2d(x, w, st, sh.pad);
    const dy = randomTensor(t, y.shape, rand) as tf.Tensor4D;
    const flop = (2 * sh.f.reduce((a, c) => a * c, 1) * y.shape[0] * y.shape[1] * y.shape[2]) / 1e6;
    const kernels: [string, () => tf.Tensor][] = [
      ['Conv2D', () => tf.engine().runKernel('Conv2D', { x, filter: w }, { strides: st, pad: sh.pad, dataFormat: 'NHWC', dilations: 1 }) as tf.Tensor],
      ['FusedConv2D relu', () => tf.engine().runKernel('FusedConv2D', { x, filter: w, bias: b }, { strides: st, pad: sh.pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' }) as tf.Tensor],
      ['Conv2DBackpropFilter', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: st, pad: sh.pad, dataFormat: 'NHWC', filterShape: [...sh.f], dilations: 1 }) as tf.Tensor],
      ...(sh.f[2] > 1 ? [['Conv2DBackpropInput', () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: st, pad: sh.pad, dataFormat: 'NHWC', inputShape: [...sh.x], dilations: 1 }) as tf.Tensor] as [string, () => tf.Tensor]] : []),
    ];
    for (const [kname, call] of kernels) {
      if (only && !kname.startsWith(only)) continue;
      for (const th of threads) {
        (native as { helper: unknown }).helper = th === 2 ? helper : null;
        const outs: Float32Array[] = [];
        for (const v of variants) {
          setVariant(v);
          const r = call();
          outs.push((await r.data()) as Float32Array);
          r.dispose();
        }
        for (const [vi, o] of outs.entries()) {
          let worst = 0, scale = 1e-3;
          for (let i = 0; i < o.length; i++) {
            scale = Math.max(scale, Math.abs(outs[0]![i]!));
            worst = Math.max(worst, Math.abs(o[i]! - outs[0]![i]!));
          }
          if (!(worst / scale < 1e-4)) console.log(`  MISMATCH ${variants[vi]} vs ${variants[0]}: ${worst / scale}`);
        }
        const res = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
        for (let r = 0; r < rounds; r++) {
          const order = variants.map((_, i) => i);
          if (r % 2) order.reverse();
          for (const vi of order) {
            setVariant(variants[vi]!);
            call().dispose();
            const c0 = cpuMs(), t0 = performance.now();
            for (let i = 0; i < reps; i++) call().dispose();
            res[vi]!.wall.push((performance.now() - t0) / reps);
            res[vi]!.cpu.push((cpuMs() - c0) / reps);
          }
        }
        const w0 = median(res[0]!.wall);
        console.log(`${sh.name} ${kname}, ${th} thread(s) (${rounds}x${reps}, load ${loadavg()[0]!.toFixed(2)}):`);
        for (const [vi, v] of variants.entries()) {
          const wm = median(res[vi]!.wall), c = median(res[vi]!.cpu);
          console.log(`  ${v.padEnd(7)} wall ${wm.toFixed(3)} ms (min ${Math.min(...res[vi]!.wall).toFixed(3)}; ${(w0 / wm).toFixed(2)}x, ${(flop / wm).toFixed(1)} GFLOP/s), cpu ${c.toFixed(3)} ms`);
        }
      }
      (native as { helper: unknown }).helper = helper;
    }
    setVariant('new');
    x.dispose(); w.dispose(); b.dispose(); y.dispose(); dy.dispose();
  }
  const templates = arg('step', '').split(',').filter(Boolean);
  const stepsPerRound = Number(arg('steps', '10'));
  for (const template of templates) {
    const file = `resources/templates/${template}.json`;
    const project = parseProjectText(readFileSync(file, 'utf8'), file);
    const bs = 64;
    const count = bs * (2 + variants.length * rounds * stepsPerRound);
    const settings: TrainingSettings = { ...defaultTrainingSettings(), epochs: 1, batchSize: bs, optimizer: 'adam', learningRate: 1e-3, validationSplit: 1 / (count + 1) };
    const ds = syntheticFor(project.graph, count + 1, 1);
    const trainer = Trainer.fromGraph(t, project.graph, settings, ds, name);
    const res = variants.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
    try {
      const run = async (n: number) => {
        const c0 = cpuMs();
        const r = await trainer.train('ab', bs * n + 1, () => {});
        if (r.reason !== 'completed') throw new Error(`training failed: ${r.message}`);
        return { wall: (r.trainMs ?? (bs * r.batchesCompleted * 1000) / r.trainImagesPerSecond) / r.batchesCompleted, cpu: (cpuMs() - c0) / r.batchesCompleted };
      };
      await run(2);
      for (let r = 0; r < rounds; r++) {
        const order = variants.map((_, i) => i);
        if (r % 2) order.reverse();
        for (const vi of order) {
          setVariant(variants[vi]!);
          const c0 = { fused: convFusedTrainingCalls(), c1: c1ConvCalls(), igemmFwd: igemmConvCalls(), bpiValid: inputGradValidCalls(), ...convGradCalls() };
          const m = await run(stepsPerRound);
          if (r === 0) {
            const c1 = { fused: convFusedTrainingCalls(), c1: c1ConvCalls(), igemmFwd: igemmConvCalls(), bpiValid: inputGradValidCalls(), ...convGradCalls() };
            console.log(`  ${variants[vi]} calls per step: ${Object.entries(c1).map(([key, val]) => `${key} ${(val - c0[key as keyof typeof c0]) / stepsPerRound}`).join(', ')}`);
          }
          res[vi]!.wall.push(m.wall);
          res[vi]!.cpu.push(m.cpu);
        }
      }
    } finally {
      trainer.dispose();
      setVariant('new');
    }
    const w0 = median(res[0]!.wall), c0 = median(res[0]!.cpu);
    console.log(`${template} training step, batch 64 (${rounds} rounds x ${stepsPerRound} steps, medians; load ${loadavg()[0]!.toFixed(2)}):`);
    for (const [vi, v] of variants.entries()) {
      const wm = median(res[vi]!.wall), c = median(res[vi]!.cpu);
      const q1 = [...res[vi]!.wall].sort((p, q) => p - q)[Math.floor(res[vi]!.wall.length / 4)]!;
      const wins = res[vi]!.wall.filter((w, r) => w < res[0]!.wall[r]!).length;
      console.log(`  ${v.padEnd(7)} wall ${wm.toFixed(2)} ms (min ${Math.min(...res[vi]!.wall).toFixed(2)}, lower quartile ${q1.toFixed(2)}; ${(w0 / wm).toFixed(2)}x, ${(64000 / wm).toFixed(0)} img/s; faster than ${variants[0]} in ${wins}/${rounds} rounds), cpu ${c.toFixed(2)} ms (${(c0 / c).toFixed(2)}x)`);
    }
  }
}

void main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
