/**
 * Times our wasm training kernels against the alternatives, on the shapes of the cifar10-cnn
 * template at batch 64. Run: npx tsx main/engine/backends/bench-kernels.ts [--threads N]
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { conv2dBackpropFilter, registerWasmTrainingKernels, restoreOriginalKernel } from './kernels';
import { initWasmBackend } from './wasm';
import { randomTensor, seededRandom } from './inventory';

const argThreads = process.argv.indexOf('--threads');
const threads = argThreads > 0 ? Number(process.argv[argThreads + 1]) : undefined;

function time(label: string, f: () => tf.Tensor, reps = 10): number {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const r = f();
    r.dataSync();
    r.dispose();
  }
  const ms = (performance.now() - t0) / reps;
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(2)} ms`);
  return ms;
}

/** dW by the transposition trick: a forward conv of x^T with dy^T as the filter. */
function filterByTransposedConv(x: tf.Tensor4D, dy: tf.Tensor4D, fh: number, fw: number, stride: number): tf.Tensor4D {
  return tf.tidy(() => {
    const xT = x.transpose([3, 1, 2, 0]) as tf.Tensor4D; // [C, H, W, N]
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [oH, oW, N, F]
    const r = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride); // [C, fh', fw', F]
    return r.slice([0, 0, 0, 0], [-1, fh, fw, -1]).transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** dW by im2col: the fh·fw shifted views concatenated, then one matmul (the textbook way). */
function filterByIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, fh: number, fw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, oh, ow, f] = dy.shape;
    const c = x.shape[3];
    const views: tf.Tensor[] = [];
    for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) views.push(x.slice([0, i, j, 0], [n, oh, ow, c]));
    return tf.matMul(tf.concat(views, 3).reshape([n * oh * ow, fh * fw * c]), dy.reshape([n * oh * ow, f]), true, false).reshape([fh, fw, c, f]) as tf.Tensor4D;
  });
}

/** dW as fh·fw separate matmuls (no concat). */
function filterByTapMatmuls(x: tf.Tensor4D, dy: tf.Tensor4D, fh: number, fw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, oh, ow, f] = dy.shape;
    const c = x.shape[3];
    const dy2 = dy.reshape([n * oh * ow, f]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) taps.push(tf.matMul(x.slice([0, i, j, 0], [n, oh, ow, c]).reshape([n * oh * ow, c]), dy2, true, false));
    return tf.stack(taps).reshape([fh, fw, c, f]) as tf.Tensor4D;
  });
}

async function main(): Promise<void> {
  const s = await initWasmBackend(tf, wasm, threads ? { threads } : {});
  console.log(`wasm: ${s.build}, ${s.threads} thread(s)${s.note ? ` (${s.note})` : ''}`);
  const rand = seededRandom(1);
  const shapes = [
    { name: 'conv1 32x32x3 -> 30x30x32', x: [64, 32, 32, 3], f: [3, 3, 3, 32] },
    { name: 'conv2 15x15x32 -> 13x13x64', x: [64, 15, 15, 32], f: [3, 3, 32, 64] },
  ] as const;
  for (const sh of shapes) {
    const x = randomTensor(tf, [...sh.x], rand) as tf.Tensor4D;
    const w = randomTensor(tf, [...sh.f], rand, 0.1) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'valid');
    const dy = randomTensor(tf, y.shape, rand) as tf.Tensor4D;
    console.log(sh.name);
    time('forward conv2d (XNNPACK)', () => tf.conv2d(x, w, 1, 'valid'));
    time('filter grad: transposed conv (ours)', () => conv2dBackpropFilter(tf, x, dy, { strides: 1, pad: 'valid', filterShape: sh.f }));
    time('filter grad: transposed conv, 4-D transposes', () => filterByTransposedConv(x, dy, sh.f[0], sh.f[1], 1));
    time('filter grad: im2col + one matmul', () => filterByIm2col(x, dy, sh.f[0], sh.f[1]));
    time('filter grad: 9 tap matmuls', () => filterByTapMatmuls(x, dy, sh.f[0], sh.f[1]));
    time('input grad: registered kernel (ours)', () => tf.conv2dTranspose(dy, w, x.shape, 1, 'valid'));
    restoreOriginalKernel(tf, 'Conv2DBackpropInput');
    time('input grad: tfjs wasm C++ loop', () => tf.conv2dTranspose(dy, w, x.shape, 1, 'valid'));
    registerWasmTrainingKernels(tf, ['Conv2DBackpropInput']);
    const p = tf.maxPool(y, 2, 2, 'valid');
    const dp = randomTensor(tf, p.shape, rand);
    const poolGrad = () => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').mul(dp).sum())(y);
    time('maxPoolGrad (ours: wasm module)', poolGrad);
    restoreOriginalKernel(tf, 'MaxPoolGrad');
    time('maxPoolGrad (tfjs wasm C++, wrong for x<=0)', poolGrad);
    registerWasmTrainingKernels(tf, ['MaxPoolGrad']);
    time('relu grad via step*dy', () => tf.grad((t: tf.Tensor) => tf.relu(t).mul(dy).sum())(y));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
