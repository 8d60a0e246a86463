import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { exportGraphOf } from '../exportGraph';
import { layerFixtures, randomInputs, randomizeWeights, templateFixtures } from '../fixtures';
import { buildPytorch, pytorchUnsupported } from '.';
import { decodeSafetensors, encodeSafetensors } from './safetensors';

const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

/** Runs every job in one Python process: import model.py, load(), run on the inputs, write outputs. */
const RUNNER = `
import importlib.util, json, sys
import numpy as np, torch
torch.set_grad_enabled(False)
for i, job in enumerate(json.load(open(sys.argv[1]))):
    spec = importlib.util.spec_from_file_location('m%d' % i, job['dir'] + '/model.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.load().eval()
    xs = []
    for x in job['inputs']:
        a = np.fromfile(x['path'], dtype='<i4' if x['int'] else '<f4').reshape(x['shape'])
        xs.append(torch.from_numpy(a.astype(np.int64) if x['int'] else a))
    ys = model(*xs)
    ys = ys if isinstance(ys, tuple) else (ys,)
    for y, path in zip(ys, job['outputs']):
        y.detach().numpy().astype('<f4').tofile(path)
`;

interface Case {
  name: string;
  dir: string;
  want: { data: Float32Array; shape: number[] }[];
  outputs: string[];
}

const fixtures = [...templateFixtures(), ...layerFixtures()];
const work = mkdtempSync(join(tmpdir(), 'lf-pytorch-'));
const cases: Case[] = [];
const skipped: string[] = [];
const nchw = (shape: number[]) => (shape.length === 4 ? [0, 3, 1, 2] : null);

beforeAll(async () => {
  await tf.setBackend('cpu');
  for (const [i, f] of fixtures.entries()) {
    const { model } = compileGraph(tf, f.graph);
    const g = exportGraphOf(f.graph, model);
    if (pytorchUnsupported(g).length) {
      skipped.push(f.name);
      model.dispose();
      continue;
    }
    randomizeWeights(tf, model, 11);
    const out = buildPytorch(exportGraphOf(f.graph, model));
    const dir = join(work, `m${i}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.py'), out.modelPy);
    await writeFile(join(dir, 'weights.safetensors'), out.weights);
    const xs = randomInputs(tf, model, 2);
    const want = [model.predict(xs.length === 1 ? xs[0]! : xs)].flat() as tf.Tensor[];
    const inputs = xs.map((x, j) => {
      const perm = nchw(x.shape);
      const t = perm ? tf.transpose(x, perm) : x;
      const path = join(dir, `x${j}.bin`);
      writeFileSync(path, Buffer.from((t.dataSync() as Float32Array | Int32Array).buffer));
      return { path, shape: t.shape, int: x.dtype === 'int32' };
    });
    cases.push({
      name: f.name,
      dir,
      want: want.map((w) => ({ data: new Float32Array(w.dataSync()), shape: w.shape })),
      outputs: want.map((_w, j) => join(dir, `y${j}.bin`)),
    });
    (cases[cases.length - 1] as Case & { inputs?: unknown }).inputs = inputs;
    tf.dispose([...xs, ...want]);
    model.dispose();
  }
  if (hasTorch) {
    const jobs = cases.map((c) => ({ dir: c.dir, inputs: (c as Case & { inputs: unknown }).inputs, outputs: c.outputs }));
    writeFileSync(join(work, 'jobs.json'), JSON.stringify(jobs));
    writeFileSync(join(work, 'runner.py'), RUNNER);
    execFileSync(PYTHON, [join(work, 'runner.py'), join(work, 'jobs.json')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
  }
}, 180_000);

afterAll(() => {
  if (skipped.length) console.warn(`not exportable to PyTorch (checked in the unsupported test): ${skipped.join(', ')}`);
});

describe('PyTorch export', () => {
  it('writes safetensors that read back bit for bit', () => {
    const t = { a: { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }, n: { dtype: 'I64' as const, shape: [], data: new BigInt64Array([7n]) } };
    const bytes = encodeSafetensors(t, { format: 'pt' });
    const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + header) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata.format).toBe('pt');
    expect([...(back.tensors.a!.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(back.tensors.n!.data[0]).toBe(7n);
  });

  it.runIf(hasTorch).each(fixtures.map((f) => [f.name] as const))('%s: model.py in Debian PyTorch matches tfjs to < 1e-4', (name) => {
    const c = cases.find((x) => x.name === name);
    if (!c) {
      expect(skipped).toContain(name);
      return;
    }
    let max = 0;
    c.want.forEach((w, j) => {
      const raw = readFileSync(c.outputs[j]!);
      let got = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      if (w.shape.length === 4) {
        const [n, h, wd, ch] = w.shape as [number, number, number, number];
        const t = tf.transpose(tf.tensor(got, [n, ch, h, wd]), [0, 2, 3, 1]);
        got = new Float32Array(t.dataSync());
        t.dispose();
      }
      expect(got.length).toBe(w.data.length);
      for (let k = 0; k < got.length; k++) max = Math.max(max, Math.abs(got[k]! - w.data[k]!));
    });
    console.log(`pytorch ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
  });

  it.skipIf(hasTorch)('needs /usr/bin/python3 with torch and numpy (apt-get install -y python3-torch)', () => {});

  it('generates a readable Model with layer names kept and NCHW documented', () => {
    const f = templateFixtures().find((x) => x.name === 'template:cifar10-cnn')!;
    const { model } = compileGraph(tf, f.graph);
    const out = buildPytorch(exportGraphOf(f.graph, model));
    expect(out.modelPy).toContain('class Model(nn.Module):');
    expect(out.modelPy).toContain('self.conv2d_1 = nn.Conv2d(3, 32');
    expect(out.modelPy).toContain('def load(path=None):');
    expect(out.readme).toMatch(/NCHW/);
    expect(out.readme).toMatch(/torchrun --nnodes=2/);
    expect(out.keys).toContain('dense_2.weight');
    model.dispose();
  });
});
