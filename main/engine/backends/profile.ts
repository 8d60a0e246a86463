/**
 * Where a cifar10-cnn training step (batch 64, trainOnBatch) spends its time on wasm, per kernel
 * (tf.profile; a kernel built from other kernels is counted with them, so times nest).
 * Run: npx tsx main/engine/backends/profile.ts
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './index';
import { cifarCnn } from './bench';
await selectBackend({ force: 'wasm' });
const model = cifarCnn(tf);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
const x = tf.randomUniform([64, 32, 32, 3]); const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32') as tf.Tensor1D, 10).cast('float32');
for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
const t = performance.now();
for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
console.log('step ms', ((performance.now() - t) / 3).toFixed(1));
const info = await tf.profile(async () => { await model.trainOnBatch(x, y); return []; });
const agg = new Map<string, { ms: number; n: number; shapes: string }>();
let total = 0;
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = agg.get(k.name) ?? { ms: 0, n: 0, shapes: '' };
  e.ms += ms; e.n++; if (e.shapes.length < 120) e.shapes += JSON.stringify(k.inputShapes) + ' ';
  agg.set(k.name, e); total += ms;
}
for (const [n, e] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(n.padEnd(28), e.ms.toFixed(1).padStart(8), String(e.n).padStart(4), e.shapes.slice(0, 110));
console.log('sum (nested counted twice)', total.toFixed(1));
for (const k of info.kernels.filter((k) => ['Conv2D', 'FusedConv2D', 'Slice', 'Select', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Transpose', 'Pack', 'MaxPoolGrad'].includes(k.name))) console.log(k.name, (k.kernelTimeMs as number).toFixed(1), JSON.stringify(k.inputShapes));
