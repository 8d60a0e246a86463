import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../compile';
import { exportGraphOf } from '../exportGraph';
import { layerFixtures, templateFixtures } from '../fixtures';
import { exportTfjs } from '../tfjs';
import { buildKeras, kerasUnsupported } from '.';
import { KERAS_CUSTOM } from './layers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PYTHON = '/usr/bin/python3';
const fixtures = [...templateFixtures(), ...layerFixtures()];

/** The LAYERS list of a generated model.py, parsed from the source. */
function layerList(src: string): [string, string][] {
  const block = /^LAYERS = \[\n([\s\S]*?)\n\]/m.exec(src)![1]!;
  return block.split('\n').map((line) => {
    const m = /^\s+\('((?:[^'\\]|\\.)*)', '((?:[^'\\]|\\.)*)'\),$/.exec(line);
    if (!m) throw new Error(`unexpected LAYERS line: ${line}`);
    return [m[1]!, m[2]!];
  });
}

/**
 * A stand-in `keras` package (Keras cannot be installed here) that records what model.py builds:
 * every layer's class, name and inputs, and the shapes load() passes to set_weights.
 */
const STUB_INIT = `
RECORD, LAYERS = [], []
class KT:
    def __init__(self, name): self.name = name
class Layer:
    def __init__(self, *args, name=None, **kwargs):
        self.args, self.kwargs, self.name, self.weights_set = args, kwargs, name, None
    def __call__(self, *xs, **kw):
        flat = []
        for x in xs:
            flat.extend(x if isinstance(x, list) else [x])
        RECORD.append([type(self).__name__, self.name, [x.name for x in flat]])
        LAYERS.append(self)
        return KT(self.name)
    def set_weights(self, ws): self.weights_set = [list(w.shape) for w in ws]
def Input(shape, name=None, dtype=None):
    RECORD.append(['InputLayer', name, []])
    LAYERS.append(Layer(name=name))
    return KT(name)
class Model:
    def __init__(self, inputs, outputs, name=None):
        self.inputs, self.outputs, self.layers = inputs, outputs, list(LAYERS)
`;
const STUB_LAYERS = `
from keras import Layer
_classes = {}
def __getattr__(name):
    return _classes.setdefault(name, type(name, (Layer,), {}))
`;
const STUB_RUNNER = `
import importlib.util, json, sys
import keras
out = {}
for i, job in enumerate(json.load(open(sys.argv[1]))):
    keras.RECORD.clear(); keras.LAYERS.clear()
    spec = importlib.util.spec_from_file_location('k%d' % i, job['dir'] + '/model.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.load(job['dir'])
    out[job['name']] = {'record': list(keras.RECORD), 'weights': {l.name: l.weights_set for l in model.layers if l.weights_set is not None}}
print(json.dumps(out))
`;

describe('Keras export', () => {
  it.runIf(spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0)(
    'model.py builds every fixture with the right layers and wiring, and load() hands each layer its tfjs weights (stub keras)',
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'lf-keras-stub-'));
      mkdirSync(join(work, 'stub', 'keras'), { recursive: true });
      writeFileSync(join(work, 'stub', 'keras', '__init__.py'), STUB_INIT);
      writeFileSync(join(work, 'stub', 'keras', 'layers.py'), STUB_LAYERS);
      writeFileSync(join(work, 'runner.py'), STUB_RUNNER);
      const jobs: { name: string; dir: string }[] = [];
      const expected: Record<string, { record: [string, string, string[]][]; weights: Record<string, number[][]> }> = {};
      for (const [i, f] of fixtures.entries()) {
        const { model } = compileGraph(tf, f.graph);
        const g = exportGraphOf(f.graph, model);
        if (kerasUnsupported(g).length) {
          model.dispose();
          continue;
        }
        const dir = join(work, `m${i}`);
        await exportTfjs(tf, model, dir);
        writeFileSync(join(dir, 'model.py'), buildKeras(g).modelPy);
        jobs.push({ name: f.name, dir });
        const cls = (l: (typeof g.layers)[number]) => (l.className === 'Bidirectional' ? 'Bidirectional' : l.className === 'InputLayer' ? 'InputLayer' : l.className);
        expected[f.name] = {
          // Keras's MultiHeadAttention takes (query, value): self-attention passes the query twice
          record: g.layers.map((l) => [cls(l), l.name, l.type === 'MultiHeadAttention' && l.inputs.length === 1 ? [l.inputs[0]!, l.inputs[0]!] : l.inputs]),
          // Normalization is built with its statistics as constants, so load() sets no weights on it
          weights: Object.fromEntries(g.layers.filter((l) => l.weights.length && l.type !== 'Normalization').map((l) => [l.name, l.weights.map((w) => w.shape)])),
        };
        model.dispose();
      }
      writeFileSync(join(work, 'jobs.json'), JSON.stringify(jobs));
      const r = spawnSync(PYTHON, [join(work, 'runner.py'), join(work, 'jobs.json')], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(work, 'stub') }, timeout: 60_000 });
      expect(r.stderr).toBe('');
      const got = JSON.parse(r.stdout) as typeof expected;
      expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
      for (const name of Object.keys(expected)) expect(got[name], name).toEqual(expected[name]);
    },
  );

  it.each(fixtures.map((f) => [f.name, f] as const))('%s: model.py compiles and its layer list matches the graph', (_n, f) => {
    const { model } = compileGraph(tf, f.graph);
    const g = exportGraphOf(f.graph, model);
    if (kerasUnsupported(g).length) {
      expect(() => buildKeras(g)).toThrow(/cannot export to Keras/);
      model.dispose();
      return;
    }
    const out = buildKeras(g);
    const dir = mkdtempSync(join(tmpdir(), 'lf-keras-'));
    writeFileSync(join(dir, 'model.py'), out.modelPy);
    const r = spawnSync(PYTHON, ['-m', 'py_compile', join(dir, 'model.py')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // the layer list in model.py: every tfjs layer, in order, with the Keras class tfjs itself reports
    const listed = layerList(out.modelPy);
    expect(listed.map(([n]) => n)).toEqual(g.layers.map((l) => l.name));
    const tfClasses = g.layers.map((l) => (l.className === 'Bidirectional' ? `Bidirectional(${(l.config.layer as { className: string }).className})` : l.className));
    expect(listed.map(([, c]) => c)).toEqual(tfClasses);
    // and every build() line creates the listed layer under its name
    for (const [name, cls] of listed) {
      if (cls === 'InputLayer') expect(out.modelPy).toContain(`keras.Input(shape=`);
      else expect(out.modelPy).toMatch(new RegExp(`(layers\\.)?${cls.replace(/\(.*/, '')}\\(.*name='${name}'\\)`));
    }
    model.dispose();
  });

  it.runIf(spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0)(
    "model.py's hard sigmoids are tfjs's / Keras 2's clip(0.2x + 0.5, 0, 1) and Keras 3's relu6(x + 3) / 6 (keras.activations.relu as numpy)",
    () => {
      const py = [
        'import numpy as np, types',
        'keras = types.SimpleNamespace(activations=types.SimpleNamespace(relu=lambda x, max_value=None: np.clip(x, 0, max_value)))',
        KERAS_CUSTOM._tfjs_hard_sigmoid!,
        KERAS_CUSTOM._tfjs_hard_sigmoid_keras3!,
        'x = np.linspace(-8, 8, 321)',
        'print(max(abs(_tfjs_hard_sigmoid(x) - np.clip(0.2 * x + 0.5, 0, 1)).max(), abs(_tfjs_hard_sigmoid_keras3(x) - np.minimum(np.maximum(x + 3, 0), 6) / 6).max()))',
      ].join('\n');
      const r = spawnSync(PYTHON, ['-c', py], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(Number(r.stdout)).toBeLessThan(1e-12);
    },
  );

  it('says how to train with tf.distribute', () => {
    const f = templateFixtures()[0]!;
    const { model } = compileGraph(tf, f.graph);
    expect(buildKeras(exportGraphOf(f.graph, model)).readme).toMatch(/MultiWorkerMirroredStrategy/);
    model.dispose();
  });
});
