/**
 * Issue #18's accuracy check (minutes, so not in CI): the cifar10-cnn template on real CIFAR-10, 1 epoch on the
 * first 10,000 training images, with `--backend pytorch --procs 2` and with `--backend wasm`, the same settings
 * (the template's: adam 0.001, batch 64, seed 42). Passes when the test accuracies are within 3 points and the
 * ONNX export of the PyTorch-trained model matches tfjs on the same inputs to < 1e-4 (the exporters' parity bar).
 *
 *   npx tsx scripts/pytorch-accuracy.mts [--epochs N] [--limit N] [--procs N]
 *
 * Data: as scripts/bench/accuracy.ts (CIFAR-10 binaries in $LAYERFORGE_BENCH_CIFAR or /tmp/cifar, built once from
 * ../shared/datasets/cifar10-jpg.tar.gz).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cifarBinaries } from './bench/accuracy';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '1' }, limit: { type: 'string', default: '10000' }, procs: { type: 'string', default: '2' } } });
const found = cifarBinaries((l) => console.error(l));
if ('why' in found) {
  console.error(`pytorch-accuracy: skipped: ${found.why}`);
  process.exit(0);
}
const data = found;
const work = mkdtempSync(join(tmpdir(), 'lf-pytorch-accuracy-'));

interface Summary {
  backend: string;
  reason: string;
  message: string;
  testAccuracy: number | null;
  trainImagesPerSecond: number;
  wallSeconds: number;
  startupSeconds: number | null;
  trainSeconds: number;
  evalSeconds: number;
}

function train(backend: string, extra: string[]): Promise<Summary & { out: string; seconds: number }> {
  const out = join(work, backend);
  const args = ['bin/layerforge.mjs', 'train', 'resources/templates/cifar10-cnn.json', '--dataset', 'cifar10', '--data-dir', data.dir, '--epochs', values.epochs!, '--limit', values.limit!, '--backend', backend, ...extra, '--json', '--out', out];
  console.error(`$ node ${args.join(' ')}`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').filter((l) => l.includes('"type":"summary"')).at(-1);
      if (!line) return reject(new Error(`layerforge train --backend ${backend} exited ${code} without a summary`));
      resolve({ ...(JSON.parse(line) as Summary), out, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** The ONNX export of a model folder against tfjs on real test images and random ones: the largest difference. */
async function onnxParity(dir: string): Promise<number> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const ort = await import('onnxruntime-node');
  const { loadModelFolder } = await import('../main/engine/export/modelFolder');
  const { exportGraphOf } = await import('../main/engine/export/exportGraph');
  const { buildOnnx } = await import('../main/engine/export/onnx');
  const folder = await loadModelFolder(tf, dir);
  const bytes = buildOnnx(exportGraphOf(folder.project.graph, folder.model));
  const session = await ort.InferenceSession.create(bytes);
  // 64 real test images (uint8 records -> [N,32,32,3] floats as the model reads them) and 16 random inputs.
  const test = readFileSync(join(data.dir, 'test_batch.bin'));
  const n = 64;
  const real = new Float32Array(n * 3072);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) real[i * 3072 + p * 3 + c] = test[i * 3073 + 1 + c * 1024 + p]! / 255;
  const inputs = [tf.tensor4d(real, [n, 32, 32, 3]), tf.randomUniform([16, 32, 32, 3], 0, 1, 'float32', 7) as import('@tensorflow/tfjs').Tensor4D];
  let max = 0;
  for (const x of inputs) {
    const want = (folder.model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
    const got = await session.run({ [folder.model.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    const a = Object.values(got)[0]!.data as Float32Array;
    for (let j = 0; j < want.length; j++) max = Math.max(max, Math.abs(a[j]! - want[j]!));
  }
  await session.release();
  return max;
}

const load = () => loadavg()[0]!.toFixed(2);
console.error(`load before: ${load()}`);
const pytorch = await train('pytorch', ['--procs', values.procs!]);
console.error(`load between: ${load()}`);
const wasm = await train('wasm', []);
console.error(`load after: ${load()}`);
const parity = await onnxParity(pytorch.out);
const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
const gap = pytorch.testAccuracy !== null && wasm.testAccuracy !== null ? Math.abs(pytorch.testAccuracy - wasm.testAccuracy) * 100 : Infinity;
for (const r of [pytorch, wasm]) {
  console.log(`${r.backend.padEnd(48)} test accuracy ${pct(r.testAccuracy)}  train ${r.trainImagesPerSecond} img/s  wall ${r.wallSeconds} s (start-up ${r.startupSeconds} s, training ${r.trainSeconds} s, evaluation ${r.evalSeconds} s)  ${r.reason}`);
}
console.log(`accuracy gap: ${gap.toFixed(2)} points (must be <= 3); ONNX export of the PyTorch-trained model vs tfjs: max abs diff ${parity.toExponential(2)} (must be < 1e-4)`);
console.log(JSON.stringify({ epochs: Number(values.epochs), limit: Number(values.limit), procs: Number(values.procs), pytorch, wasm, gapPoints: gap, onnxMaxAbsDiff: parity }));
process.exit(gap <= 3 && parity < 1e-4 && pytorch.reason === 'completed' && wasm.reason === 'completed' ? 0 : 1);
