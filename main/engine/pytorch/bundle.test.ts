/**
 * The training bundle under real PyTorch (Debian's python3-torch: CPU, gloo, one node): two processes train on
 * disjoint halves of the data with averaged gradients, a killed run resumes, and the bundle's files are what the
 * engine and a person expect. The torch cases are skipped, with a message, where Python has no torch.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainingSettings, type TrainingSettings } from '../../../shared/project';
import { chain } from '../export/fixtures';
import { decodeSafetensors, type SafeTensor } from '../export/pytorch/safetensors';
import { writeTinyCifar10 } from '../service/tinyCifar';
import { planSplit } from '../training/data';
import { writeTrainingBundle, type BundleConfig } from './bundle';
import { compileGraph } from '../compile';
import { saveModelFolder } from '../export/modelFolder';
import { newProject } from '../../../shared/project';
import { withSeededMathRandom } from '../training/trainer';
import { encodeNpy } from './dataManifest';
import { pytorchMallocShell } from './mallocEnv';

const PYTHON = process.env.LAYERFORGE_PYTHON ?? '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy, torch.distributed'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`bundle.test: ${PYTHON} has no torch/numpy: the PyTorch runs are skipped (CI installs python3-torch)`);

const work = mkdtempSync(join(tmpdir(), 'lf-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const graph = chain({ kind: 'image', height: 32, width: 32, channels: 3 }, [
  ['Conv2D', { filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }],
  ['MaxPool2D', { poolSize: 2 }],
  ['Flatten'],
  ['Dense', { units: 10, activation: 'softmax' }],
]);

/** 100 training images (20 per batch file), 20 test images. */
const dataDir = join(work, 'data');
writeTinyCifar10(dataDir, 20, 20);

async function bundle(name: string, over: Partial<TrainingSettings>, procs = 1) {
  const dir = join(work, name);
  const settings = { ...defaultTrainingSettings(), epochs: 2, batchSize: 16, learningRate: 0.01, ...over };
  const b = await writeTrainingBundle({ dir, graph, settings, name, datasetId: 'cifar10', dataDir, procs, tf });
  return { dir, ...b };
}

interface Line {
  type: string;
  [k: string]: unknown;
}

/** Runs Python in `cwd` (asynchronously, so independent runs overlap); its JSON lines parsed. */
function run(cwd: string, argv: string[], env: Record<string, string> = {}): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string; lines: Line[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, argv, { cwd, env: { ...process.env, OMP_NUM_THREADS: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr, lines: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line) });
    });
  });
}

const weights = (path: string): Record<string, SafeTensor> => decodeSafetensors(new Uint8Array(readFileSync(path))).tensors;

function maxWeightDiff(a: Record<string, SafeTensor>, b: Record<string, SafeTensor>): number {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let m = 0;
  for (const k of Object.keys(a)) {
    const x = a[k]!.data;
    const y = b[k]!.data;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return m;
}

const indicesOf = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { epoch: number; batch: number; indices: number[] });

describe('PyTorch training bundle', () => {
  it('writes model.py, train.py, launch.py, config.json, data.json, project.json, run.sh, train.sbatch and README.md', async () => {
    const b = await bundle('files', { validationSplit: 0.2, augmentFlip: true }, 2);
    for (const f of ['model.py', 'initial.safetensors', 'train.py', 'launch.py', 'config.json', 'data.json', 'project.json', 'run.sh', 'train.sbatch', 'README.md']) {
      expect(b.files).toContain(join(b.dir, f));
    }
    expect(b.command).toEqual(['python3', 'launch.py', '--standalone', '--nproc_per_node=2', 'train.py', '--out', '.']);
    const config = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8')) as BundleConfig;
    expect(config).toMatchObject({ loss: 'cross-entropy', head: 'softmax', input: { shape: [32, 32, 3], dtype: 'float32', image: true }, output: { shape: [10] }, task: { id: 'classification' } });
    expect(readFileSync(join(b.dir, 'model.py'), 'utf8')).toContain('def forward(self, input_1, logits=False):');
    const readme = readFileSync(join(b.dir, 'README.md'), 'utf8');
    expect(readme).toContain('--rdzv_backend=c10d --rdzv_endpoint=HOST:29500');
    expect(readme).toContain('layerforge import-run');
    expect(readFileSync(join(b.dir, 'train.sbatch'), 'utf8')).toContain('--rdzv_endpoint="$HEAD_NODE:29500"');
    // Both launchers keep PyTorch's freed tensor memory mapped (mallocEnv.ts), and the README says how by hand.
    for (const f of ['run.sh', 'train.sbatch']) expect(readFileSync(join(b.dir, f), 'utf8'), f).toContain(pytorchMallocShell());
    expect(readme).toContain('export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824');
    expect(b.dataset.source).toMatchObject({ type: 'cifar10-binary', test: 'test_batch.bin' });
  });

  it('refuses a model whose input does not fit the data, naming both', async () => {
    const bad = chain({ kind: 'image', height: 28, width: 28, channels: 1 }, [['Flatten'], ['Dense', { units: 10, activation: 'softmax' }]]);
    await expect(writeTrainingBundle({ dir: join(work, 'bad'), graph: bad, settings: defaultTrainingSettings(), name: 'bad', datasetId: 'cifar10', dataDir, tf })).rejects.toThrow(
      "the dataset 'cifar10' has samples of 32×32×3 (3072 values) but the model input 'input_1' expects 28×28×1 (784 values)",
    );
  });

  it('writes .npy arrays numpy reads back', () => {
    const bytes = encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(bytes.slice(0, 6)).toEqual(Uint8Array.from([0x93, ...Buffer.from('NUMPY')]));
    expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
    if (!hasTorch) return;
    const path = join(work, 'a.npy');
    writeFileSync(path, bytes);
    const r = spawnSync(PYTHON, ['-c', `import numpy as np; a = np.load('${path}'); print(a.dtype, a.shape, a.sum())`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('float32 (2, 3) 21.0');
  });

  it.skipIf(!hasTorch)('torchrun --nproc_per_node=2: disjoint halves of the data, and after one step both ranks hold the weights of one process with the whole batch (< 1e-5)', async () => {
    const b = await bundle('ddp', { epochs: 1, optimizer: 'sgd', learningRate: 0.05 }, 2);
    const [two, one] = await Promise.all([
      run(b.dir, [...b.command.slice(1), '--out', 'two', '--log-indices'], { LAYERFORGE_DUMP_STEP: '1' }),
      run(b.dir, ['train.py', '--out', 'one', '--steps', '1', '--log-indices'], { LAYERFORGE_DUMP_STEP: '1' }),
    ]);
    expect(two.status, two.stderr).toBe(0);
    expect(one.status, one.stderr).toBe(0);
    const started = two.lines.find((l) => l.type === 'started')!;
    expect(started).toMatchObject({ backend: 'pytorch', processes: 2, batchSize: 16, trainImages: 100, batchesPerEpoch: 7 }); // 50 samples per rank, 8 per step
    expect(two.lines.at(-1)).toMatchObject({ type: 'ended', reason: 'completed', epochsCompleted: 1, batchesCompleted: 7 });
    expect(two.lines.filter((l) => l.type === 'started')).toHaveLength(1); // rank 0 only

    // each rank's sample indices over the epoch, from its log: disjoint, together every training sample
    const r0 = indicesOf(join(b.dir, 'two', 'rank-0.log')).flatMap((l) => l.indices);
    const r1 = indicesOf(join(b.dir, 'two', 'rank-1.log')).flatMap((l) => l.indices);
    expect(r0).toHaveLength(50);
    expect(r1).toHaveLength(50);
    expect(r0.filter((i) => r1.includes(i))).toEqual([]);
    expect([...r0, ...r1].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));

    const w0 = weights(join(b.dir, 'two', 'rank-0-step-1.safetensors'));
    const w1 = weights(join(b.dir, 'two', 'rank-1-step-1.safetensors'));
    expect(maxWeightDiff(w0, w1)).toBe(0); // DDP: one averaged gradient, the same step on both
    // the one process's first batch is the union of the two ranks' first batches
    const first = indicesOf(join(b.dir, 'one', 'rank-0.log'))[0]!.indices;
    const firsts = [indicesOf(join(b.dir, 'two', 'rank-0.log'))[0]!.indices, indicesOf(join(b.dir, 'two', 'rank-1.log'))[0]!.indices].flat();
    expect([...first].sort((x, y) => x - y)).toEqual([...firsts].sort((x, y) => x - y));
    const diff = maxWeightDiff(w0, weights(join(b.dir, 'one', 'rank-0-step-1.safetensors')));
    console.log(`2 processes vs 1 after one step: max weight difference ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-5);
    expect(maxWeightDiff(w0, weights(join(b.dir, 'initial.safetensors')))).toBeGreaterThan(1e-4); // the step did move them
  }, 60_000);

  it.skipIf(!hasTorch)('a run killed (SIGKILL) mid-epoch resumes from its last checkpoint and ends where an uninterrupted run ends', async () => {
    const b = await bundle('resume', { epochs: 3, batchSize: 10, validationSplit: 0.1, augmentFlip: true, augmentCrop: true, optimizer: 'adamw', schedule: 'cosine' });
    const [whole, killed] = await Promise.all([run(b.dir, ['train.py', '--out', 'whole']), run(b.dir, ['train.py', '--out', 'killed'], { LAYERFORGE_KILL_AT: '2:4' })]);
    expect(whole.status, whole.stderr).toBe(0);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.lines.filter((l) => l.type === 'checkpoint')).toEqual([{ type: 'checkpoint', epoch: 1, path: 'checkpoint.pt' }]);
    expect(killed.lines.some((l) => l.type === 'batch' && l.epoch === 2)).toBe(true);
    expect(killed.lines.some((l) => l.type === 'ended')).toBe(false);
    const resumed = await run(b.dir, ['train.py', '--out', 'killed', '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect((resumed.lines[0]!.notes as string[]).join()).toContain('resumed from checkpoint.pt after epoch 1');
    expect(resumed.lines.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual([2, 3]);
    expect(resumed.lines.at(-1)).toMatchObject({ type: 'ended', reason: 'completed', epochsCompleted: 3 });
    const diff = maxWeightDiff(weights(join(b.dir, 'whole', 'weights.safetensors')), weights(join(b.dir, 'killed', 'weights.safetensors')));
    console.log(`killed at epoch 2 batch 4 + --resume vs uninterrupted: max weight difference ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-6);
    const result = JSON.parse(readFileSync(join(b.dir, 'killed', 'result.json'), 'utf8')) as { history: unknown[]; epochsCompleted: number };
    expect(result.history).toHaveLength(3);
    expect(result.epochsCompleted).toBe(3);
  }, 60_000);

  it.skipIf(!hasTorch)('holds out the same validation samples as the tfjs trainer (mulberry32 in Python)', async () => {
    const b = await bundle('split', { validationSplit: 0.1 });
    const py = 'import json, train; t, v = train.plan_split(100, 0, 0.1, 42); u, w = train.plan_split(80, 50, 0.25, 7); print(json.dumps([v.tolist(), t.tolist(), w.tolist()]))';
    const r = spawnSync(PYTHON, ['-c', py], { cwd: b.dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [val, train, val2] = JSON.parse(r.stdout) as number[][];
    const want = planSplit(100, undefined, 0.1, 42);
    expect(val).toEqual(Array.from(want.val));
    expect(train).toEqual(Array.from(want.train));
    expect(val2).toEqual(Array.from(planSplit(80, 50, 0.25, 7).val));
  });

  it.skipIf(!hasTorch)('--fetch-data downloads the official files (checked by MD5) and points data.json at them', async () => {
    const b = await bundle('fetch', { epochs: 1 });
    const archive = join(work, 'cifar-10-binary.tar.gz');
    expect(spawnSync('tar', ['czf', archive, '-C', dataDir, 'cifar-10-batches-bin']).status).toBe(0);
    const md5 = createHash('md5').update(readFileSync(archive)).digest('hex');
    const data = JSON.parse(readFileSync(join(b.dir, 'data.json'), 'utf8')) as { download: { files: { url: string; md5: string }[] }; source: unknown };
    expect(data.download.files[0]).toMatchObject({ url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' });
    data.download.files[0] = { ...data.download.files[0]!, url: pathToFileURL(archive).href, md5: '0'.repeat(32) };
    writeFileSync(join(b.dir, 'data.json'), JSON.stringify(data));
    const wrong = await run(b.dir, ['train.py', '--fetch-data']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`expected ${'0'.repeat(32)}`);
    data.download.files[0]!.md5 = md5;
    writeFileSync(join(b.dir, 'data.json'), JSON.stringify(data));
    const fetched = await run(b.dir, ['train.py', '--fetch-data']);
    expect(fetched.status, fetched.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(b.dir, 'data.json'), 'utf8')) as { source: unknown }).source).toMatchObject({ type: 'cifar10-binary', dir: 'data/cifar-10-batches-bin' });
    const trained = await run(b.dir, ['train.py', '--out', 'out', '--steps', '1']);
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.lines[0]).toMatchObject({ type: 'started', trainImages: 100 });
  }, 60_000);

  it.skipIf(!hasTorch)('fine-tuning: initial weights from a model folder, frozen modules (a BatchNorm included) unchanged bit for bit, the new head trained', async () => {
    const img = { kind: 'image', height: 32, width: 32, channels: 3 };
    const trunk: Parameters<typeof chain>[1] = [['Conv2D', { filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }], ['BatchNormalization'], ['MaxPool2D', { poolSize: 2 }], ['Flatten']];
    const base = chain(img, [...trunk, ['Dense', { units: 10, activation: 'softmax' }]]);
    // The "pretrained" folder: the same base (seed 7), a 3-class head that does not fit the 10-class one.
    const pre = chain(img, [...trunk, ['Dense', { units: 3, activation: 'softmax' }]]);
    const folder = join(work, 'pretrained');
    const model = withSeededMathRandom(7, () => compileGraph(tf, pre).model);
    await saveModelFolder(tf, folder, { project: newProject('pre', pre), model, metrics: {} });
    model.dispose();
    // The whole base frozen: the pooling and Flatten nodes have no weights (no module to freeze).
    const frozenGraph = { ...base, nodes: base.nodes.map((n) => (n.type !== 'Dense' && n.type !== 'Input' ? { ...n, trainable: false } : n)) };
    const dir = join(work, 'finetune');
    const settings = { ...defaultTrainingSettings(), epochs: 1, batchSize: 16, learningRate: 0.05, initialWeights: folder };
    const b = await writeTrainingBundle({ dir, graph: frozenGraph, settings, name: 'finetune', datasetId: 'cifar10', dataDir, tf });
    expect(b.config.frozen).toEqual(['conv2d_1', 'batch_normalization_2']);
    expect(b.config.notes.join('\n')).toMatch(/2 layers loaded \(conv2d_1, batch_normalization_2\)/);
    expect(b.config.notes.join('\n')).toMatch(/fresh initialisation: dense_5/);
    expect(b.config.summary.trainableParams).toBe(7 * 7 * 4 * 10 + 10);
    const r = await run(dir, ['train.py', '--out', 'out', '--steps', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines[0]).toMatchObject({ type: 'started', model: { trainableParams: b.config.summary.trainableParams } });
    const before = weights(join(dir, 'initial.safetensors'));
    const after = weights(join(dir, 'out', 'weights.safetensors'));
    for (const k of Object.keys(before).filter((k) => /^(conv2d_1|batch_normalization_2)\./.test(k))) {
      expect([...after[k]!.data].map(String), k).toEqual([...before[k]!.data].map(String));
    }
    expect([...after['dense_5.weight']!.data].map(String)).not.toEqual([...before['dense_5.weight']!.data].map(String));
  }, 60_000);

  it.skipIf(!hasTorch)('SIGTERM (a preempted job) stops at the next batch, saves the weights and ends \'stopped\'', async () => {
    const b = await bundle('sigterm', { epochs: 200, batchSize: 10 });
    const child = spawn(PYTHON, ['train.py', '--out', 'out'], { cwd: b.dir, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"type": "epoch"') && !child.killed) child.kill('SIGTERM');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as Line;
    expect(last).toMatchObject({ type: 'ended', reason: 'stopped' });
    expect(existsSync(join(b.dir, 'out', 'weights.safetensors'))).toBe(true);
  }, 60_000);

  it.skipIf(!hasTorch)('stop and pause through OUT/control: every rank stops at the same batch, weights and checkpoint saved', async () => {
    const b = await bundle('control', { epochs: 50, batchSize: 10 });
    const child = spawn(PYTHON, ['train.py', '--out', 'out'], { cwd: b.dir, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    const lines: Line[] = [];
    let buf = '';
    const writeControl = (word: string) => writeFileSync(join(b.dir, 'out', 'control'), word);
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!l.startsWith('{')) continue;
        const e = JSON.parse(l) as Line;
        lines.push(e);
        if (e.type === 'epoch' && e.epoch === 1) writeControl('pause');
        if (e.type === 'paused') setTimeout(() => writeControl('run'), 300);
        if (e.type === 'resumed') writeControl('stop');
      }
    });
    expect(await done).toBe(0);
    const types = lines.map((l) => l.type);
    expect(types).toContain('paused');
    expect(types.indexOf('resumed')).toBeGreaterThan(types.indexOf('paused'));
    expect(lines.at(-1)).toMatchObject({ type: 'ended', reason: 'stopped' });
    expect(existsSync(join(b.dir, 'out', 'weights.safetensors'))).toBe(true);
    expect(existsSync(join(b.dir, 'out', 'checkpoint.pt'))).toBe(true);
    expect(lines.filter((l) => l.type === 'epoch').length).toBeLessThan(50);
  }, 60_000);
});
