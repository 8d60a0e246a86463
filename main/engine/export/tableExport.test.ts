/**
 * Table models in every export format: the exported model takes the RAW encoded features and (for
 * regression) returns the target in its units, and must equal the trained tfjs model applied to the
 * standardised features (then de-standardised), to < 1e-4. Also the files and README each export writes.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRows } from '../../../shared/tables/encode';
import type { TablePreprocessing } from '../../../shared/tables/types';
import { compileGraph } from '../compile';
import { exportGraphOf, exportGraphOfFolder, tableScalingOf } from './exportGraph';
import { dag, expectedTableOutput, rawTableRows, tableFixtures, tableModelFolder, tablePreprocessing, templateFixtures, type TableFixture } from './fixtures';
import { EXPORT_FORMATS } from '.';
import { keras as kerasFormat } from './keras';
import { folderLoadHandler, loadModelFolder, saveModelFolder, type ModelFolder } from './modelFolder';
import { onnxFormat } from './onnx';
import { decodeModel } from './onnx/proto';
import { pytorchFormat } from './pytorch';
import { tfjsFormat } from './tfjs';
import { MAX_DIAGONAL_FEATURES, type BakedTable } from './tfjs/bakeTable';

const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const ROWS = 7;
const fixtures = tableFixtures();
const work = mkdtempSync(join(tmpdir(), 'lf-table-export-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
  return max;
}

function readF32(path: string): Float32Array {
  const raw = readFileSync(path);
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/** A folder, raw rows and what every export must return for them. */
function tableCase(f: TableFixture, seed: number) {
  const folder = tableModelFolder(tf, f, seed);
  const raw = rawTableRows(f.preprocessing, ROWS, seed + 1);
  const want = expectedTableOutput(tf, folder, raw);
  return { folder, raw, want, n: f.preprocessing.featureNames.length };
}

/** The code block in a README's table section. */
function tableCode(readme: string, lang: string): string {
  const section = readme.slice(readme.indexOf('## Table input')).split(/\n## /)[0]!;
  const block = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(section);
  expect(block).not.toBeNull();
  return block![1]!;
}

/** A CSV of raw rows with what counts as missing, unknown categories and stray spaces (columns as in tablePreprocessing). */
const CSV_HEADER = ['id', 'age', 'city', 'income', 'year', 'garden', 'rings'];
const CSV_ROWS = [
  ['1', '35', 'Paris', '48000', '1990', 'yes', '10'],
  ['2', 'NA', 'Lyon', '61000.5', '2001', 'no', '8'],
  ['3', ' 52 ', 'Marseille', '39000', '1975', '', '12'],
  ['4', '28', '', '75000', '2015', 'yes', '9'],
  ['5', '44', ' Paris', '?', '1968', 'no', '11'],
];
const csvText = () => `${[CSV_HEADER, ...CSV_ROWS].map((r) => r.join(',')).join('\n')}\n`;

/** What a README's code must print for CSV_ROWS: the shared encoder, the trained model, the target's units. */
function expectedForCsv(folder: ModelFolder): Float32Array {
  const pre = folder.preprocessing!;
  const enc = encodeRows(pre, CSV_HEADER, CSV_ROWS);
  expect(enc.errors).toEqual([]);
  return tf.tidy(() => {
    let y = folder.model.predict(tf.tensor2d(enc.values, [CSV_ROWS.length, enc.features])) as tf.Tensor;
    if (pre.target.task === 'regression') y = tf.add(tf.mul(y, pre.target.std!), pre.target.mean!);
    return new Float32Array(y.dataSync());
  });
}

describe('tableScalingOf: what a folder with a table preprocessing needs', () => {
  const mlp = fixtures.find((f) => f.name === 'table-mlp')!;
  it('normalises the features input and de-standardises a regression output', () => {
    const folder = tableModelFolder(tf, mlp);
    const t = exportGraphOfFolder(folder).table!;
    expect(t.input).toBe('input_1');
    expect(t.mean).toEqual(mlp.preprocessing.featureMean);
    expect(t.std).toEqual(mlp.preprocessing.featureStd);
    expect(t.output).toEqual({ name: 'dense_4', mean: 9.93, std: 3.22 });
    expect(t.head).toBe('regression');
    folder.model.dispose();
  });

  it('has no output step for classification (binary: one unit; multiclass: one per class)', () => {
    for (const [name, head] of [['table-binary', 'binary'], ['table-softmax', 'multiclass']] as const) {
      const folder = tableModelFolder(tf, fixtures.find((f) => f.name === name)!);
      const t = exportGraphOfFolder(folder).table!;
      expect(t.output).toBeUndefined();
      expect(t.head).toBe(head);
      folder.model.dispose();
    }
  });

  it('is absent without preprocessing, and refuses a preprocessing that does not fit the graph', () => {
    const { model } = compileGraph(tf, mlp.graph);
    const g = exportGraphOf(mlp.graph, model);
    expect(tableScalingOf(g, undefined)).toBeUndefined();
    const pre = tablePreprocessing('regression');
    const fewer: TablePreprocessing = { ...pre, featureNames: pre.featureNames.slice(1), featureMean: pre.featureMean.slice(1), featureStd: pre.featureStd.slice(1) };
    expect(() => tableScalingOf(g, fewer)).toThrow(/input_1 takes 8 features, the preprocessing makes 7/);
    expect(() => tableScalingOf(g, { ...pre, featureStd: pre.featureStd.map((s, i) => (i === 4 ? 0 : s)) })).toThrow(/income has standard deviation 0/);
    model.dispose();
    const softmax = fixtures.find((f) => f.name === 'table-softmax')!;
    const m2 = compileGraph(tf, softmax.graph).model;
    expect(() => tableScalingOf(exportGraphOf(softmax.graph, m2), pre)).toThrow(/regression output has one unit, dense_3 is \[3\]/);
    m2.dispose();
    const cnn = templateFixtures().find((f) => f.name === 'template:cifar10-cnn')!;
    const m3 = compileGraph(tf, cnn.graph).model;
    expect(() => tableScalingOf(exportGraphOf(cnn.graph, m3), pre)).toThrow(/is \[32, 32, 3\] float32, not a feature vector/);
    m3.dispose();
  });
});

describe('TensorFlow.js export of table models', () => {
  const expectedBake: Record<string, { input: BakedTable['input']['how']; output?: 'folded' | 'layer' }> = {
    'table-mlp': { input: 'folded', output: 'folded' },
    'table-branchy': { input: 'layer', output: 'layer' },
    'table-binary': { input: 'folded' },
    'table-softmax': { input: 'folded' },
    'table-linear': { input: 'folded', output: 'folded' },
  };

  it.each(fixtures.map((f, i) => [f.name, f, i] as const))('%s: model.json on raw features = tfjs on standardised ones (< 1e-4), core layers only', async (name, f, i) => {
    const { folder, raw, want, n } = tableCase(f, 20 + i);
    const dir = join(work, `tfjs-${name}`);
    const res = (await tfjsFormat.export(tf, folder, dir)) as Awaited<ReturnType<typeof tfjsFormat.export>> & { baked?: BakedTable };
    expect(res.files.map((p) => p.slice(dir.length + 1))).toEqual(expect.arrayContaining(['model.json', 'preprocessing.json', 'README.md']));
    expect(res.baked?.input.how).toBe(expectedBake[name]!.input);
    expect(res.baked?.output?.how).toBe(expectedBake[name]!.output);
    // only tfjs core layers: the classes the trained model had, plus Dense
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { class_name: string }[] } } };
    const allowed = new Set([...folder.model.layers.map((l) => l.getClassName()), 'Dense']);
    for (const l of json.modelTopology.config.layers) expect(allowed.has(l.class_name), l.class_name).toBe(true);
    const back = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    const got = tf.tidy(() => (back.predict(tf.tensor2d(raw, [ROWS, n])) as tf.Tensor).dataSync());
    const max = maxDiff(got, want.data);
    console.log(`tfjs ${name} (${res.notes.at(-1)}): max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    // the frozen layers stay frozen; the folded ones keep their trainability
    for (const l of back.layers) if (/_normalize$|_to_units$/.test(l.name)) expect(l.trainable).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'preprocessing.json'), 'utf8'))).toEqual(f.preprocessing);
    back.dispose();
    folder.model.dispose();
  });

  it('writes the trained weights unchanged when the folder has no preprocessing', async () => {
    const f = fixtures[0]!;
    const folder = tableModelFolder(tf, f);
    delete folder.preprocessing;
    const dir = join(work, 'tfjs-plain');
    const res = await tfjsFormat.export(tf, folder, dir);
    expect(res.files.some((p) => p.endsWith('preprocessing.json'))).toBe(false);
    const back = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    const x = tf.randomUniform([3, 8]);
    expect(maxDiff((back.predict(x) as tf.Tensor).dataSync(), (folder.model.predict(x) as tf.Tensor).dataSync())).toBe(0);
    back.dispose();
    folder.model.dispose();
  });

  it(`refuses a separate normalisation layer over ${MAX_DIAGONAL_FEATURES} features (N² weights), naming the non-Dense reader`, async () => {
    const n = MAX_DIAGONAL_FEATURES + 1;
    const graph = dag([
      ['wide_in', 'Input', { kind: 'features', features: n }, []],
      ['d', 'Dense', { units: 2, activation: 'relu' }, ['wide_in']],
      ['cat', 'Concatenate', { axis: -1 }, ['wide_in', 'd']],
      ['out', 'Dense', { units: 1, activation: 'linear' }, ['cat']],
    ]);
    const base = tablePreprocessing('regression');
    const names = Array.from({ length: n }, (_, i) => `x${i}`);
    const pre: TablePreprocessing = {
      ...base,
      columns: names.map((name) => ({ name, type: 'numeric', mean: 1, std: 2, missing: 0 })),
      featureNames: names,
      featureMean: names.map(() => 1),
      featureStd: names.map(() => 2),
    };
    const folder = tableModelFolder(tf, { name: 'wide', graph, preprocessing: pre });
    await expect(tfjsFormat.export(tf, folder, join(work, 'tfjs-wide'))).rejects.toThrow(/wide_in is also read by cat \(Concatenate\).*4097 features.*export to ONNX, PyTorch or Keras/);
    folder.model.dispose();
  });
});

describe('ONNX export of table models', () => {
  it.each(fixtures.map((f, i) => [f.name, f, i] as const))('%s: onnxruntime on raw features = tfjs on standardised ones (< 1e-4)', async (name, f, i) => {
    const { folder, raw, want, n } = tableCase(f, 40 + i);
    const path = join(work, `onnx-${name}`, 'house.onnx');
    const res = await onnxFormat.export(tf, folder, path);
    expect(res.files.map((p) => p.slice(path.length - 'house.onnx'.length))).toEqual(['house.onnx', 'house.preprocessing.json', 'house.README.md']);
    const bytes = readFileSync(path);
    const session = await ort.InferenceSession.create(bytes);
    const g = exportGraphOfFolder(folder);
    const out = await session.run({ [g.inputs[0]!]: new ort.Tensor('float32', raw, [ROWS, n]) });
    const y = out[g.outputs[0]!]!;
    expect(y.dims).toEqual(want.shape);
    const max = maxDiff(y.data as Float32Array, want.data);
    console.log(`onnx ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    await session.release();
    const decoded = decodeModel(bytes) as { metadataProps: { key: string; value: string }[]; graph: { node: { opType: string; input: string[] }[] } };
    expect(JSON.parse(decoded.metadataProps.find((m) => m.key === 'table_preprocessing')!.value)).toEqual(f.preprocessing);
    // the raw input goes into Sub then Div; a regression output comes out of Mul then Add
    const first = decoded.graph.node.find((nd) => nd.input.includes(g.inputs[0]!))!;
    expect(first.opType).toBe('Sub');
    if (f.preprocessing.target.task === 'regression') expect(decoded.graph.node.slice(-3).map((nd) => nd.opType)).toEqual(['Mul', 'Add', 'Identity']);
    expect(readFileSync(res.files[2]!, 'utf8')).toContain("session = ort.InferenceSession('house.onnx')");
    folder.model.dispose();
  });
});

describe('PyTorch export of table models', () => {
  const cases: { name: string; dir: string; want: Float32Array; folder: ModelFolder }[] = [];
  beforeAll(async () => {
    for (const [i, f] of fixtures.entries()) {
      const { folder, raw, want, n } = tableCase(f, 60 + i);
      const dir = join(work, `pytorch-${f.name}`);
      await pytorchFormat.export(tf, folder, dir);
      writeFileSync(join(dir, 'x.bin'), raw);
      writeFileSync(join(dir, 'shape.json'), JSON.stringify([ROWS, n]));
      cases.push({ name: f.name, dir, want: want.data, folder });
    }
    if (hasTorch) {
      const runner = `
import importlib.util, json, sys
import numpy as np, torch
torch.set_grad_enabled(False)
for i, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location('t%d' % i, d + '/model.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = np.fromfile(d + '/x.bin', dtype='<f4').reshape(json.load(open(d + '/shape.json')))
    mod.load().eval()(torch.from_numpy(x)).numpy().astype('<f4').tofile(d + '/y.bin')
`;
      writeFileSync(join(work, 'torch-runner.py'), runner);
      execFileSync(PYTHON, [join(work, 'torch-runner.py'), ...cases.map((c) => c.dir)], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
    }
  }, 180_000);

  it.runIf(hasTorch).each(fixtures.map((f) => [f.name] as const))('%s: model.py on raw features = tfjs on standardised ones (< 1e-4)', (name) => {
    const c = cases.find((x) => x.name === name)!;
    const max = maxDiff(readF32(join(c.dir, 'y.bin')), c.want);
    console.log(`pytorch ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
  });

  it('keeps the normalisation as buffers of Model, saved in weights.safetensors', () => {
    const c = cases.find((x) => x.name === 'table-mlp')!;
    const py = readFileSync(join(c.dir, 'model.py'), 'utf8');
    expect(py).toContain("self.register_buffer('feature_mean', torch.zeros(8))");
    expect(py).toContain("self.register_buffer('target_std', torch.zeros(1))");
    expect(py).toMatch(/input_1 = \(input_1 - self\.feature_mean\) \/ self\.feature_std/);
    expect(py).toMatch(/dense_4 = dense_4 \* self\.target_std \+ self\.target_mean/);
    const st = readFileSync(join(c.dir, 'weights.safetensors'));
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>;
    expect(header.feature_mean!.shape).toEqual([8]);
    expect(header.target_mean!.shape).toEqual([1]);
    const classifier = readFileSync(join(cases.find((x) => x.name === 'table-binary')!.dir, 'model.py'), 'utf8');
    expect(classifier).not.toContain('target_std');
  });

  it.runIf(hasTorch).each([['table-mlp'], ['table-binary']])("%s: the README's Python encodes a CSV file and runs the model as the app would", (name) => {
    const c = cases.find((x) => x.name === name)!;
    writeFileSync(join(c.dir, 'data.csv'), csvText());
    const code = tableCode(readFileSync(join(c.dir, 'README.md'), 'utf8'), 'python');
    writeFileSync(join(c.dir, 'readme_run.py'), `${code}\nimport json\nprint(json.dumps(np.asarray(y).ravel().tolist()))\n`);
    const r = spawnSync(PYTHON, ['readme_run.py'], { cwd: c.dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    const got = JSON.parse(lines[lines.length - 1]!) as number[];
    expect(maxDiff(got, expectedForCsv(c.folder))).toBeLessThan(1e-4);
  });
});

/**
 * A numpy stand-in for `keras` (Keras cannot be installed here) that computes: the functional API over
 * the layers table models use, each following Keras's documented inference formulas (Normalization:
 * (x - mean) / max(sqrt(variance), 1e-7); Rescaling: x * scale + offset; BatchNormalization weights
 * [gamma, beta, moving_mean, moving_variance]). It runs the generated model.py for real: its wiring, its
 * Normalization/Rescaling arguments read from preprocessing.json, and the tfjs weights load() hands over.
 */
const NUMPY_KERAS = `
import numpy as np
from . import layers

class KT:
    def __init__(self, layer, inputs):
        self.layer, self.inputs = layer, inputs

def Input(shape, name=None, dtype=None):
    return KT(layers.InputLayer(name=name), [])

class Model:
    def __init__(self, inputs, outputs, name=None):
        self.inputs, self.outputs, self.layers, seen = inputs, outputs, [], set()
        def visit(t):
            for i in t.inputs:
                visit(i)
            if id(t.layer) not in seen:
                seen.add(id(t.layer))
                self.layers.append(t.layer)
        for o in outputs:
            visit(o)

    def predict(self, x):
        xs = x if isinstance(x, list) else [x]
        values = {id(t): np.asarray(v, dtype=np.float64) for t, v in zip(self.inputs, xs)}
        def ev(t):
            if id(t) not in values:
                values[id(t)] = t.layer.compute(*[ev(i) for i in t.inputs])
            return values[id(t)]
        ys = [ev(o) for o in self.outputs]
        return ys[0] if len(ys) == 1 else ys
`;
const NUMPY_LAYERS = `
import numpy as np

def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

ACT = {'linear': lambda x: x, 'relu': lambda x: np.maximum(x, 0), 'sigmoid': lambda x: 1 / (1 + np.exp(-x)),
       'tanh': np.tanh, 'elu': lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), 'softmax': _softmax}

class Layer:
    def __init__(self, *args, name=None, **kwargs):
        self.args, self.kwargs, self.name, self.w = args, kwargs, name, []
    def __call__(self, x):
        from keras import KT
        return KT(self, x if isinstance(x, list) else [x])
    def set_weights(self, ws):
        self.w = [np.asarray(w, dtype=np.float64) for w in ws]

class InputLayer(Layer): pass

class Dense(Layer):
    def compute(self, x):
        assert self.w[0].shape == (x.shape[-1], self.args[0])
        y = x @ self.w[0] + (self.w[1] if self.kwargs.get('use_bias', True) else 0)
        return ACT[self.kwargs.get('activation', 'linear')](y)

class BatchNormalization(Layer):
    def compute(self, x):
        w = list(self.w)
        gamma = w.pop(0) if self.kwargs.get('scale', True) else 1.0
        beta = w.pop(0) if self.kwargs.get('center', True) else 0.0
        mean, var = w
        return (x - mean) / np.sqrt(var + self.kwargs.get('epsilon', 1e-3)) * gamma + beta

class Dropout(Layer):
    def compute(self, x): return x

class Activation(Layer):
    def compute(self, x): return ACT[self.args[0]](x)

class Add(Layer):
    def compute(self, *xs): return sum(xs)

class Concatenate(Layer):
    def compute(self, *xs): return np.concatenate(xs, axis=self.kwargs.get('axis', -1))

class Normalization(Layer):
    def compute(self, x):
        mean = np.asarray(self.kwargs['mean'], dtype=np.float32)
        var = np.asarray(self.kwargs['variance'], dtype=np.float32)
        assert mean.shape == (x.shape[-1],) and var.shape == mean.shape
        return (x - mean) / np.maximum(np.sqrt(var), 1e-7)

class Rescaling(Layer):
    def compute(self, x):
        return x * float(self.kwargs.get('scale', self.args[0] if self.args else 1.0)) + float(self.kwargs.get('offset', 0.0))
`;

describe('Keras export of table models', () => {
  const stub = join(work, 'numpy-keras');
  const cases: { name: string; dir: string; want: Float32Array; folder: ModelFolder }[] = [];
  beforeAll(async () => {
    mkdirSync(join(stub, 'keras'), { recursive: true });
    writeFileSync(join(stub, 'keras', '__init__.py'), NUMPY_KERAS);
    writeFileSync(join(stub, 'keras', 'layers.py'), NUMPY_LAYERS);
    for (const [i, f] of fixtures.entries()) {
      const { folder, raw, want, n } = tableCase(f, 80 + i);
      const dir = join(work, `keras-${f.name}`);
      await kerasFormat.export(tf, folder, dir);
      writeFileSync(join(dir, 'x.bin'), raw);
      writeFileSync(join(dir, 'shape.json'), JSON.stringify([ROWS, n]));
      cases.push({ name: f.name, dir, want: want.data, folder });
    }
    if (hasNumpy) {
      const runner = `
import importlib.util, json, sys
import numpy as np
for i, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location('k%d' % i, d + '/model.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    x = np.fromfile(d + '/x.bin', dtype='<f4').reshape(json.load(open(d + '/shape.json')))
    np.asarray(mod.load(d).predict(x)).astype('<f4').tofile(d + '/y.bin')
`;
      writeFileSync(join(work, 'keras-runner.py'), runner);
      execFileSync(PYTHON, [join(work, 'keras-runner.py'), ...cases.map((c) => c.dir)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PYTHONPATH: stub }, timeout: 60_000 });
    }
  }, 120_000);

  it.runIf(hasNumpy).each(fixtures.map((f) => [f.name] as const))('%s: model.py (numpy stand-in keras) on raw features = tfjs on standardised ones (< 1e-4)', (name) => {
    const c = cases.find((x) => x.name === name)!;
    const max = maxDiff(readF32(join(c.dir, 'y.bin')), c.want);
    console.log(`keras ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
  });

  it('builds a Normalization after the input and a Rescaling after a regression output, from preprocessing.json', () => {
    const mlp = readFileSync(join(cases.find((x) => x.name === 'table-mlp')!.dir, 'model.py'), 'utf8');
    expect(mlp).toContain("input_1_normalize = layers.Normalization(mean=pre['featureMean'], variance=[s * s for s in pre['featureStd']], name='input_1_normalize')(input_1)");
    expect(mlp).toMatch(/dense_1 = layers\.Dense\(16, .*\)\(input_1_normalize\)/);
    expect(mlp).toContain("dense_4_to_units = layers.Rescaling(scale=pre['target']['std'], offset=pre['target']['mean'], name='dense_4_to_units')(dense_4)");
    expect(mlp).toContain('outputs=[dense_4_to_units]');
    expect(mlp).toContain("    ('input_1_normalize', 'Normalization'),");
    const binary = readFileSync(join(cases.find((x) => x.name === 'table-binary')!.dir, 'model.py'), 'utf8');
    expect(binary).toContain('layers.Normalization(');
    expect(binary).not.toContain('Rescaling');
    for (const c of cases) expect(spawnSync(PYTHON, ['-m', 'py_compile', join(c.dir, 'model.py')], { encoding: 'utf8' }).status).toBe(0);
  });

  it.runIf(hasNumpy).each([['table-mlp'], ['table-softmax']])("%s: the README's Python encodes a CSV file and runs the model (numpy stand-in keras)", (name) => {
    const c = cases.find((x) => x.name === name)!;
    writeFileSync(join(c.dir, 'data.csv'), csvText());
    const code = tableCode(readFileSync(join(c.dir, 'README.md'), 'utf8'), 'python');
    writeFileSync(join(c.dir, 'readme_run.py'), `${code}\nimport json\nprint(json.dumps(np.asarray(y).ravel().tolist()))\n`);
    const r = spawnSync(PYTHON, ['readme_run.py'], { cwd: c.dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: stub }, timeout: 60_000 });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(maxDiff(JSON.parse(lines[lines.length - 1]!) as number[], expectedForCsv(c.folder))).toBeLessThan(1e-4);
  });
});

describe('README of a table export', () => {
  it('says the column order, types, vocabularies (unknown -> zeros), target and units, with code', async () => {
    const folder = tableModelFolder(tf, fixtures.find((f) => f.name === 'table-mlp')!);
    const dir = join(work, 'readme-tfjs');
    await tfjsFormat.export(tf, folder, dir);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('| id | ignored | — | not used: an id (every value distinct) |');
    expect(readme).toMatch(/\| age \| numeric \| 0 \| the number as it is; a missing value → 41\.5/);
    expect(readme).toMatch(/\| city \| categorical \| 1–3 \| one-hot, one feature per category in this order: `Lyon`, `Paris`, `\(missing\)`\. A value not in this list → all zeros; a missing value → `\(missing\)` \|/);
    expect(readme).toMatch(/\| garden \| categorical \| 6–7 \| .*a missing value → all zeros \|/);
    expect(readme).toContain('the predicted `rings` in its own units');
    expect(readme).toContain('y′ × 3.22 + 9.93');
    expect(readme).toContain("const model = await tf.loadLayersModel('model.json');");
    folder.model.dispose();
    const binary = tableModelFolder(tf, fixtures.find((f) => f.name === 'table-binary')!);
    const g = exportGraphOfFolder(binary);
    await tfjsFormat.export(tf, binary, join(work, 'readme-binary'));
    const text = readFileSync(join(work, 'readme-binary', 'README.md'), 'utf8');
    expect(text).toContain('the probability of `yes`; above 0.5 means `yes`, else `no`. Classes: 0 `no`, 1 `yes`.');
    expect(g.table!.head).toBe('binary');
    binary.model.dispose();
  });

  it("the tfjs README's encode() turns CSV rows into what the exported model.json needs", async () => {
    const folder = tableModelFolder(tf, fixtures.find((f) => f.name === 'table-branchy')!, 7);
    const dir = join(work, 'readme-js');
    await tfjsFormat.export(tf, folder, dir);
    const js = tableCode(readFileSync(join(dir, 'README.md'), 'utf8'), 'js');
    // the README's encode, as written (the lines between `const pre = …` and loading the model)
    const body = js.slice(js.indexOf('const MISSING'), js.indexOf('const model'));
    const encode = new Function('pre', `${body}\nreturn encode;`)(folder.preprocessing) as (row: Record<string, string>) => number[];
    const rows = CSV_ROWS.map((r) => Object.fromEntries(CSV_HEADER.map((h, i) => [h, r[i]!])));
    const back = await tf.loadLayersModel(folderLoadHandler(tf, dir));
    const got = tf.tidy(() => (back.predict(tf.tensor2d(rows.map(encode))) as tf.Tensor).dataSync());
    expect(maxDiff(got, expectedForCsv(folder))).toBeLessThan(1e-4);
    back.dispose();
    folder.model.dispose();
  });
});

describe('a saved table model folder', () => {
  it('loads back with its preprocessing and task, and every format exports it with preprocessing.json', async () => {
    const f = fixtures.find((x) => x.name === 'table-mlp')!;
    const folder = tableModelFolder(tf, f);
    const dir = join(work, 'saved-folder');
    await saveModelFolder(tf, dir, folder);
    const back = await loadModelFolder(tf, dir);
    expect(back.preprocessing).toEqual(f.preprocessing);
    expect(back.task).toEqual(folder.task);
    for (const format of EXPORT_FORMATS) {
      const res = await format.export(tf, back, join(work, 'from-folder', `${format.id}${format.extension}`));
      expect(res.files.some((p) => p.endsWith('preprocessing.json')), format.id).toBe(true);
      expect(res.notes.join(' '), format.id).toMatch(/raw encoded features/);
    }
    back.model.dispose();
    folder.model.dispose();
  });
});
