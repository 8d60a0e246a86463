/**
 * A/B of LayerforgeReluGrad split over the helper thread or not, by size, alone and right after an XNNPACK
 * convolution (as in a training step), alternating in one process; wall medians.
 * Then (first) the fused conv op's forward and backward parts, separate vs fused, for lenet5's and cifar10-cnn's (or --vgg: vgg-cnn's) shapes.
 * Run: npx tsx main/engine/backends/bench-reluGrad.ts [--rounds 9] [--reps 20] [--fused-only] [--vgg]
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './index';
import { nativeKernels } from './native';
import { randomTensor, seededRandom } from './inventory';
import { RELU_GRAD_BIAS_KERNEL } from './convFusedTraining';
import { RELU_GRAD_KERNEL, RELU_GRAD_SPLIT_MIN_OLD, setReluGradSplitMin } from './reluGrad';
import { arg, median } from './benchSteps';

const rounds = Number(arg('rounds', '9'));
const reps = Number(arg('reps', '20'));

async function main(): Promise<void> {
  const { tf: t } = await selectBackend({ force: 'wasm' });
  const helper = nativeKernels(t.backend())?.helper;
  for (let i = 0; i < 100 && helper && !helper.ready; i++) await new Promise((r) => setTimeout(r, 100));
  console.log(`helper thread ${helper?.ready ? 'up' : 'not up'}`);
  const rand = seededRandom(5);
  const ab = (label: string, a: () => void, b: () => void) => {
    const res: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const v of r % 2 ? [1, 0] : [0, 1]) {
        const f = v ? b : a;
        f();
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) f();
        res[v]!.push((performance.now() - t0) / reps);
      }
    }
    const ma = median(res[0]!), mb = median(res[1]!);
    console.log(`${label}: separate ${ma.toFixed(3)} ms (min ${Math.min(...res[0]!).toFixed(3)}), fused ${mb.toFixed(3)} ms (min ${Math.min(...res[1]!).toFixed(3)}), ${(ma / mb).toFixed(2)}x, load ${loadavg()[0]!.toFixed(2)}`);
  };
  setReluGradSplitMin(1 << 30);
  // The fused conv op: forward Conv2D + Add + Relu vs FusedConv2D(relu); backward ReluGrad + Sum vs ReluGradBias.
  for (const [xs, fs, pad] of (process.argv.includes('--vgg') ? [[[64, 32, 32, 3], [3, 3, 3, 32], 'same'], [[64, 32, 32, 32], [3, 3, 32, 32], 'same'], [[64, 16, 16, 64], [3, 3, 64, 64], 'same'], [[64, 8, 8, 128], [3, 3, 128, 128], 'same']] : [[[64, 28, 28, 1], [5, 5, 1, 6], 'same'], [[64, 14, 14, 6], [5, 5, 6, 16], 'valid'], [[64, 32, 32, 3], [3, 3, 3, 32], 'valid'], [[64, 15, 15, 32], [3, 3, 32, 64], 'valid']]) as [number[], number[], 'same' | 'valid'][]) {
    const x = randomTensor(t, xs, rand) as tf.Tensor4D, w = randomTensor(t, fs, rand, 0.1) as tf.Tensor4D, b = randomTensor(t, [fs[3]!], rand, 0.1) as tf.Tensor1D;
    const y = tf.relu(tf.conv2d(x, w, 1, pad)), dy = randomTensor(t, y.shape, rand);
    const name = `[${xs.join(',')}] * [${fs.join(',')}] ${pad}`;
    ab(`${name} forward conv+bias+relu`, () => tf.tidy(() => { tf.relu(tf.add(tf.conv2d(x, w, 1, pad), b)); }),
      () => tf.tidy(() => { tf.engine().runKernel('FusedConv2D', { x, filter: w, bias: b }, { strides: 1, pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' }); }));
    ab(`${name} backward relu grad + bias sum`, () => tf.tidy(() => { tf.sum(tf.engine().runKernel(RELU_GRAD_KERNEL, { x: y, dy }) as tf.Tensor, [0, 1, 2]); }),
      () => tf.tidy(() => { tf.engine().runKernel(RELU_GRAD_BIAS_KERNEL, { y, dy }); }));
    tf.dispose([x, w, b, y, dy]);
  }
  if (process.argv.includes('--fused-only')) return;
  const shapes = [[64, 10, 10, 16], [64, 28, 28, 6], [64, 13, 13, 64], [64, 30, 30, 32], [64, 32, 32, 32], [64, 32, 32, 64]];
  const cx = randomTensor(t, [64, 14, 14, 6], rand) as tf.Tensor4D;
  const cw = randomTensor(t, [5, 5, 6, 16], rand, 0.1) as tf.Tensor4D;
  for (const shape of shapes) {
    const x = randomTensor(t, shape, rand), dy = randomTensor(t, shape, rand);
    const call = () => tf.engine().runKernel(RELU_GRAD_KERNEL, { x, dy }) as tf.Tensor;
    for (const after of [false, true]) {
      const res: Record<string, number[]> = { one: [], split: [] };
      for (let r = 0; r < rounds; r++) {
        for (const v of r % 2 ? ['split', 'one'] : ['one', 'split']) {
          setReluGradSplitMin(v === 'split' ? RELU_GRAD_SPLIT_MIN_OLD : 1 << 30);
          call().dispose();
          let ms = 0;
          for (let i = 0; i < reps; i++) {
            if (after) tf.conv2d(cx, cw, 1, 'valid').dispose();
            const t0 = performance.now();
            call().dispose();
            ms += performance.now() - t0;
          }
          res[v]!.push(ms / reps);
        }
      }
      const a = median(res.one!), b = median(res.split!);
      console.log(`[${shape.join(',')}]${after ? ' after a conv' : ''}: one thread ${a.toFixed(3)} ms, split ${b.toFixed(3)} ms (split ${(a / b).toFixed(2)}x), load ${loadavg()[0]!.toFixed(2)}`);
    }
    x.dispose(); dy.dispose();
  }
}

void main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
