/**
 * Text models in every export format: text classifiers (Embedding + LSTM, bidirectional LSTM + GRU,
 * self-attention) and shrunk mini-GPTs (causal attention), random weights, on random token ids: each export
 * equals the tfjs model to < 1e-4, and for the language models changing later tokens leaves the earlier
 * outputs unchanged in every format (the causal mask is exported, not lucky). The tokenizer goes along:
 * tokenizer.json beside every export, a README section, and its code (the encoder written out in Python and
 * JavaScript) gives shared/text's ids and runs the model as the app would.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, encodePadded, PAD_ID, trainTokenizer, vocabSize, type Tokenizer, type TokenizerKind } from '../../../shared/text';
import { registerCustomLayers } from '../compile/custom';
import { exportGraphOfFolder, textInputOf } from './exportGraph';
import { rng, textCorpus, textFixtures, textModelFolder, textTokenizers, UNICODE_TEXTS, type TextFixture } from './fixtures';
import { EXPORT_FORMATS } from '.';
import { folderLoadHandler, loadModelFolder, saveModelFolder, type ModelFolder } from './modelFolder';
import { buildOnnx } from './onnx';
import { decodeModel } from './onnx/proto';
import { jsTokenizer, pythonTokenizer, SAMPLE_NEW_TOKENS, SAMPLE_PROMPT, SAMPLE_TEXTS } from './textDocs';
import type { ExportFormat, ExportResult } from './types';

const PYTHON = '/usr/bin/python3';
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const BATCH = 3;
const work = mkdtempSync(join(tmpdir(), 'lf-text-export-'));
const tokenizers = textTokenizers();
const fixtures = textFixtures(tokenizers);
const isLm = (f: TextFixture) => f.task === 'language-modelling';

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

interface Case {
  f: TextFixture;
  folder: ModelFolder;
  T: number;
  V: number;
  /** Random ids [BATCH, T]; xc: the same with every id from position `k` on changed. */
  x: Int32Array;
  xc: Int32Array;
  k: number;
  want: Float32Array;
  wantC: Float32Array;
  /** Export results and where each format wrote its files. */
  out: Record<ExportFormat['id'], { path: string; dir: string; res: ExportResult }>;
}

const cases: Case[] = [];
const caseOf = (name: string) => cases.find((c) => c.f.name === name)!;

const predict = (model: tf.LayersModel, ids: Int32Array, rows: number, T: number) =>
  tf.tidy(() => new Float32Array((model.predict(tf.tensor2d(ids, [rows, T], 'int32')) as tf.Tensor).dataSync()));

/**
 * For a language model's outputs on x and xc ([BATCH, T, V], xc differing from position k on): the largest
 * change of the rows before k (must be ~0: causal) and from k on (must be clearly > 0: the check is not vacuous).
 */
function causalChange(y: Float32Array, yc: Float32Array, c: Case): { before: number; after: number } {
  let before = 0;
  let after = 0;
  for (let n = 0; n < BATCH; n++) {
    for (let t = 0; t < c.T; t++) {
      for (let v = 0; v < c.V; v++) {
        const i = (n * c.T + t) * c.V + v;
        const d = Math.abs(y[i]! - yc[i]!);
        if (t < c.k) before = Math.max(before, d);
        else after = Math.max(after, d);
      }
    }
  }
  return { before, after };
}

/** Greedy continuation of a prompt with the tfjs model, as the README's loops do it: the last T ids padded at the end, the scores at the last real position. */
function greedy(model: tf.LayersModel, tok: Tokenizer, prompt: string, n: number, T: number): number[] {
  const ids = encode(tok, prompt);
  if (!ids.length) ids.push(PAD_ID);
  const start = ids.length;
  for (let k = 0; k < n; k++) {
    const w = ids.slice(-T);
    const row = Int32Array.from([...w, ...new Array<number>(T - w.length).fill(PAD_ID)]);
    const y = predict(model, row, 1, T);
    const V = y.length / T;
    const scores = y.subarray((w.length - 1) * V, w.length * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (scores[i]! > scores[best]!) best = i;
    ids.push(best);
  }
  return ids.slice(start);
}

/** What the README's example must print: the classifier's output on SAMPLE_TEXTS, or the greedy continuation of SAMPLE_PROMPT. */
function expectedReadmeResult(c: Case): number[] {
  const tok = c.folder.tokenizer!;
  if (isLm(c.f)) return greedy(c.folder.model, tok, SAMPLE_PROMPT, SAMPLE_NEW_TOKENS, c.T);
  const rows = new Int32Array(SAMPLE_TEXTS.length * c.T);
  SAMPLE_TEXTS.forEach((t, i) => rows.set(encodePadded(tok, t, c.T).ids, i * c.T));
  return [...predict(c.folder.model, rows, SAMPLE_TEXTS.length, c.T)];
}

/** The code block of a README's text section. */
function textCodeOf(readme: string, lang: string): string {
  const at = readme.indexOf('## Text input: the tokenizer');
  expect(at).toBeGreaterThanOrEqual(0);
  const section = readme.slice(at);
  const start = section.indexOf(`\`\`\`${lang}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const body = section.slice(start + lang.length + 4);
  return body.slice(0, body.indexOf('\n```'));
}

const readmePath = (c: Case, id: ExportFormat['id']) => (id === 'onnx' ? c.out.onnx.path.replace(/\.onnx$/, '.README.md') : join(c.out[id].dir, 'README.md'));
const tokenizerPath = (c: Case, id: ExportFormat['id']) => (id === 'onnx' ? c.out.onnx.path.replace(/\.onnx$/, '.tokenizer.json') : join(c.out[id].dir, 'tokenizer.json'));

/**
 * A numpy stand-in for `keras` (Keras cannot be installed here) that computes, following Keras's documented
 * inference formulas and weight layouts: Embedding [input_dim, output_dim]; LSTM (gates i, f, c, o) and GRU
 * with reset_after=False (gates z, r, h; bias [3u]) with kernel [F, G·u], recurrent_kernel [u, G·u];
 * Bidirectional (forward weights then backward; the backward outputs reversed back in time);
 * MultiHeadAttention (query/key/value kernels [D, heads, dim] and biases [heads, dim], output kernel
 * [heads, V, D], query scaled by 1/sqrt(key_dim), use_causal_mask adding -1e9 above the diagonal as Keras's
 * masked softmax does); LayerNormalization; Dense (gelu exact, as Keras's default); and model.py's own layer
 * classes (built on the input shape, then given the weights load() hands over). Every weight's shape is
 * checked against Keras's. It runs the generated model.py for real: its wiring, arguments and load().
 */
const NUMPY_KERAS = `
import numpy as np
from . import layers


class KT:
    def __init__(self, layer, inputs, kwargs=None):
        self.layer, self.inputs, self.kwargs = layer, inputs, kwargs or {}


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

    def predict(self, x, verbose=None, batch_size=None):
        xs = x if isinstance(x, list) else [x]
        values = {id(t): np.asarray(v) for t, v in zip(self.inputs, xs)}
        def ev(t):
            if id(t) not in values:
                values[id(t)] = t.layer.compute(*[ev(i) for i in t.inputs], **t.kwargs)
            return values[id(t)]
        ys = [ev(o) for o in self.outputs]
        return ys[0] if len(ys) == 1 else ys
`;
const NUMPY_LAYERS = `
import math
import numpy as np

_erf = np.vectorize(math.erf)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACT = {'linear': lambda x: x, 'relu': lambda x: np.maximum(x, 0), 'sigmoid': lambda x: 1 / (1 + np.exp(-x)),
       'tanh': np.tanh, 'softmax': _softmax, 'gelu': lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))}


class Var:
    """A weight made by add_weight (model.py's own layers): set from set_weights, used as its array."""
    __array_ufunc__ = None

    def __init__(self, shape):
        self.shape, self.value = tuple(shape), None

    def __add__(self, o):
        return self.value + o

    __radd__ = __add__


class Layer:
    def __init__(self, *args, name=None, **kwargs):
        self.args, self.kwargs, self.name, self.w, self._vars = args, kwargs, name, [], []

    def __call__(self, *xs, **kw):
        from keras import KT
        flat = []
        for x in xs:
            flat.extend(x if isinstance(x, list) else [x])
        return KT(self, flat, kw)

    def set_weights(self, ws):
        self.w = [np.asarray(w, dtype=np.float64) for w in ws]

    def add_weight(self, name=None, shape=None, **kw):
        v = Var(shape)
        self._vars.append(v)
        return v

    def compute(self, *xs, **kw):
        # a layer class of model.py's own: built on the input shape, given the weights load() handed over
        if not self._vars:
            self.build(xs[0].shape)
        assert [v.shape for v in self._vars] == [w.shape for w in self.w], (self.name, [v.shape for v in self._vars], [w.shape for w in self.w])
        for v, w in zip(self._vars, self.w):
            v.value = w
        return self.call(*xs, **kw)


class InputLayer(Layer):
    pass


class Dense(Layer):
    def compute(self, x):
        assert self.w[0].shape == (x.shape[-1], self.args[0]), (self.name, self.w[0].shape)
        y = x @ self.w[0] + (self.w[1] if self.kwargs.get('use_bias', True) else 0)
        return ACT[self.kwargs.get('activation', 'linear')](y)


class Embedding(Layer):
    def compute(self, x):
        assert self.w[0].shape == (self.args[0], self.args[1]), (self.name, self.w[0].shape)
        ids = np.asarray(x).astype(np.int64)
        assert ids.min() >= 0 and ids.max() < self.args[0]
        return self.w[0][ids]


class Dropout(Layer):
    def compute(self, x):
        return x


class Add(Layer):
    def compute(self, *xs):
        return sum(xs)


class LayerNormalization(Layer):
    def compute(self, x):
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + self.kwargs.get('epsilon', 1e-3))
        w = list(self.w)
        gamma = w.pop(0) if self.kwargs.get('scale', True) else 1.0
        beta = w.pop(0) if self.kwargs.get('center', True) else 0.0
        return y * gamma + beta


class GlobalAveragePooling1D(Layer):
    def compute(self, x):
        return x.mean(axis=1)


class GlobalMaxPooling1D(Layer):
    def compute(self, x):
        return x.max(axis=1)


class _Recurrent(Layer):
    def run(self, x, w):
        """The outputs at every step [N, T, u] (in x's time order) and the last state [N, u]."""
        u, g = self.args[0], self.GATES
        bias = self.kwargs.get('use_bias', True)
        k, r = w[0], w[1]
        assert k.shape == (x.shape[-1], g * u) and r.shape == (u, g * u), (self.name, k.shape, r.shape)
        if bias:
            assert w[2].shape == (g * u,), (self.name, w[2].shape)
        b = w[2] if bias else 0.0
        act = ACT[self.kwargs.get('activation', 'tanh')]
        rec = ACT[self.kwargs.get('recurrent_activation', 'sigmoid')]
        h = np.zeros((x.shape[0], u))
        c = np.zeros_like(h)
        out = []
        for t in range(x.shape[1]):
            h, c = self.step(x[:, t] @ k + b, h, c, r, u, act, rec)
            out.append(h)
        return np.stack(out, axis=1), h

    def compute(self, x):
        seq, h = self.run(x, self.w)
        return seq if self.kwargs.get('return_sequences', False) else h


class LSTM(_Recurrent):
    GATES = 4

    def step(self, z, h, c, r, u, act, rec):
        z = z + h @ r
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        c = rec(f) * c + rec(i) * act(g)
        return rec(o) * act(c), c


class GRU(_Recurrent):
    GATES = 3

    def run(self, x, w):
        assert self.kwargs.get('reset_after') is False, 'the tfjs GRU weights need reset_after=False'
        return super().run(x, w)

    def step(self, z, h, c, r, u, act, rec):
        zz = rec(z[:, :u] + h @ r[:, :u])
        rr = rec(z[:, u:2 * u] + h @ r[:, u:2 * u])
        hh = act(z[:, 2 * u:] + (rr * h) @ r[:, 2 * u:])
        return zz * h + (1 - zz) * hh, c


class Bidirectional(Layer):
    def compute(self, x):
        inner = self.args[0]
        n = len(self.w) // 2
        fs, fh = inner.run(x, self.w[:n])
        bs, bh = inner.run(x[:, ::-1], self.w[n:])
        a, b = (fs, bs[:, ::-1]) if inner.kwargs.get('return_sequences', False) else (fh, bh)
        mode = self.kwargs.get('merge_mode', 'concat')
        return {'concat': lambda: np.concatenate([a, b], axis=-1), 'sum': lambda: a + b, 'ave': lambda: (a + b) / 2, 'mul': lambda: a * b}[mode]()


class MultiHeadAttention(Layer):
    def compute(self, query, value, use_causal_mask=False):
        h, kd = self.kwargs['num_heads'], self.kwargs['key_dim']
        vd = self.kwargs.get('value_dim') or kd
        bias = self.kwargs.get('use_bias', True)
        w = list(self.w)

        def dense(x, dim):
            k = w.pop(0)
            assert k.shape == (x.shape[-1], h, dim), (self.name, k.shape)
            y = np.einsum('ntd,dhk->nthk', x, k)
            if bias:
                b = w.pop(0)
                assert b.shape == (h, dim), (self.name, b.shape)
                y = y + b
            return y

        q = dense(query, kd) / math.sqrt(kd)
        k = dense(value, kd)
        v = dense(value, vd)
        scores = np.einsum('nqhk,nthk->nhqt', q, k)
        if use_causal_mask:
            scores = scores + (1 - np.tril(np.ones((query.shape[1], value.shape[1])))) * -1e9
        o = np.einsum('nhqt,nthv->nqhv', _softmax(scores), v)
        ko = w.pop(0)
        assert ko.shape == (h, vd, query.shape[-1]), (self.name, ko.shape)
        y = np.einsum('nqhv,hvd->nqd', o, ko)
        if bias:
            y = y + w.pop(0)
        assert not w
        return y
`;

/**
 * A stand-in `onnxruntime` for running the ONNX README's Python (onnxruntime is not installed for Debian's
 * python3): InferenceSession checks the file and what run() is fed (the graph's input name, int32 [N, T]) and
 * computes with the PyTorch export of the same model. The ONNX file's own numbers are checked with
 * onnxruntime-node above.
 */
const FAKE_ORT = `
import importlib.util, os
import numpy as np, torch


class InferenceSession:
    def __init__(self, path, *args, **kwargs):
        assert os.path.basename(path) == os.environ['ORT_FILE'] and os.path.exists(path), path
        spec = importlib.util.spec_from_file_location('torch_twin', os.path.join(os.environ['ORT_TWIN'], 'model.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        self.model = mod.load().eval()

    def run(self, outputs, feeds):
        assert outputs is None and list(feeds) == [os.environ['ORT_INPUT']], list(feeds)
        x = feeds[os.environ['ORT_INPUT']]
        assert x.dtype == np.int32 and x.ndim == 2 and x.shape[1] == int(os.environ['ORT_T']), (x.dtype, x.shape)
        with torch.no_grad():
            return [self.model(torch.from_numpy(x.astype(np.int64))).numpy()]
`;

const stub = join(work, 'numpy-keras');
const fakeOrt = join(work, 'fake-ort');

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerCustomLayers(tf);
  mkdirSync(join(stub, 'keras'), { recursive: true });
  writeFileSync(join(stub, 'keras', '__init__.py'), NUMPY_KERAS);
  writeFileSync(join(stub, 'keras', 'layers.py'), NUMPY_LAYERS);
  mkdirSync(join(fakeOrt, 'onnxruntime'), { recursive: true });
  writeFileSync(join(fakeOrt, 'onnxruntime', '__init__.py'), FAKE_ORT);
  for (const [i, f] of fixtures.entries()) {
    const tok = tokenizers[f.tokenizer];
    const folder = textModelFolder(tf, f, tok, 21 + i);
    const T = f.length;
    const V = vocabSize(tok);
    const r = rng(40 + i);
    const x = Int32Array.from({ length: BATCH * T }, () => Math.floor(r() * V));
    const k = Math.floor(T / 2);
    const xc = x.map((id, j) => (j % T >= k ? (id + 1 + Math.floor(r() * (V - 1))) % V : id));
    const c: Case = { f, folder, T, V, x, xc, k, want: predict(folder.model, x, BATCH, T), wantC: predict(folder.model, xc, BATCH, T), out: {} as Case['out'] };
    for (const format of EXPORT_FORMATS) {
      const dir = join(work, `${format.id}-${f.name}`);
      const path = format.id === 'onnx' ? join(dir, `${f.name}.onnx`) : dir;
      c.out[format.id] = { path, dir, res: await format.export(tf, folder, path) };
      writeFileSync(join(dir, 'x.bin'), x);
      writeFileSync(join(dir, 'xc.bin'), xc);
      writeFileSync(join(dir, 'shape.json'), JSON.stringify([BATCH, T]));
    }
    cases.push(c);
  }
  /** Loads each folder's model.py (`load`), runs it on x and xc (`run`), writes y.bin and yc.bin. */
  const runner = (load: string, run: string) => `
import importlib.util, json, sys
import numpy as np
for i, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location('m%d' % i, d + '/model.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = ${load}
    shape = json.load(open(d + '/shape.json'))
    for name in ('x', 'xc'):
        x = np.fromfile(d + '/' + name + '.bin', dtype='<i4').reshape(shape)
        y = ${run}
        np.asarray(y).astype('<f4').tofile(d + '/y' + name[1:] + '.bin')
`;
  if (hasTorch) {
    writeFileSync(join(work, 'torch-runner.py'), `import torch\ntorch.set_grad_enabled(False)\n${runner('mod.load().eval()', 'model(torch.from_numpy(x.astype(np.int64))).numpy()')}`);
    execFileSync(PYTHON, [join(work, 'torch-runner.py'), ...cases.map((c) => c.out.pytorch.dir)], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
  }
  if (hasNumpy) {
    writeFileSync(join(work, 'keras-runner.py'), runner('mod.load(d)', 'model.predict(x)'));
    execFileSync(PYTHON, [join(work, 'keras-runner.py'), ...cases.map((c) => c.out.keras.dir)], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PYTHONPATH: stub }, timeout: 120_000 });
  }
}, 240_000);

describe('the tokenizer goes along with every export of a text model', () => {
  it.each(EXPORT_FORMATS.map((f) => [f.id] as const))('%s: tokenizer.json (ONNX: <name>.tokenizer.json) is the folder\'s, and the README documents it', (id) => {
    for (const c of cases) {
      const tok = c.folder.tokenizer!;
      const res = c.out[id].res;
      expect(res.files, `${id} ${c.f.name}`).toContain(tokenizerPath(c, id));
      expect(JSON.parse(readFileSync(tokenizerPath(c, id), 'utf8')), `${id} ${c.f.name}`).toEqual(tok);
      expect(res.files).toContain(readmePath(c, id));
      expect(res.notes.join(' ')).toMatch(new RegExp(`Text model: .*tokenizer\\.json \\(${tok.kind} tokenizer, ${c.V} ids, PAD 0\\) turns text into the ${c.T} ids it reads, padded at the end`));
      const readme = readFileSync(readmePath(c, id), 'utf8');
      expect(readme).toContain('## Text input: the tokenizer');
      expect(readme).toContain(`| tokenizer | \`${tok.kind}\``);
      expect(readme).toContain(`| vocabulary | ${c.V} ids, 0 … ${c.V - 1}`);
      expect(readme).toContain('| PAD | id 0 (`<pad>`)');
      expect(readme).toContain(tok.kind === 'bpe' ? '| OOV | none: byte-level, every text encodes |' : '| OOV | id 1 (`<unk>`)');
      expect(readme).toContain(`| T | ${c.T} ids per row: input \`${c.f.graph.nodes[0]!.name}\`, int32 [N, ${c.T}] |`);
      expect(readme).toContain('padded **at the end** with PAD (0)');
      if (isLm(c.f)) {
        expect(readme).toMatch(/row t holds the logits .* The attention is causal/s);
        expect(readme).toContain(id === 'tfjs' ? 'function generate(prompt' : 'def generate(prompt');
      } else {
        expect(readme).toContain(`one per class in this order: 0 \`${c.f.classes![0]}\``);
      }
      if (id === 'onnx') expect(readme).toContain(`session = ort.InferenceSession('${c.f.name}.onnx')`);
    }
  });

  it('ONNX keeps the tokenizer and the input in the model\'s metadata too', () => {
    const c = caseOf('mini-gpt-bpe');
    const m = decodeModel(readFileSync(c.out.onnx.path)) as { metadataProps: { key: string; value: string }[] };
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.tokenizer!)).toEqual(c.folder.tokenizer);
    expect(JSON.parse(meta.text_input!)).toEqual({ input: 'tokens', length: c.T, pad: 0, head: 'language-model' });
    expect(meta.layout).toBe('NT');
  });

  it('a saved text model folder loads back with its tokenizer, and every format exports it with tokenizer.json', async () => {
    const c = caseOf('text-lstm');
    const dir = join(work, 'saved-text-folder');
    await saveModelFolder(tf, dir, c.folder);
    const back = await loadModelFolder(tf, dir);
    expect(back.tokenizer).toEqual(c.folder.tokenizer);
    expect(exportGraphOfFolder(back).text).toMatchObject({ input: 'input_1', length: 12, head: 'classifier', classes: ['computers', 'food', 'love'], activation: 'softmax' });
    for (const format of EXPORT_FORMATS) {
      const res = await format.export(tf, back, join(work, 'from-text-folder', `${format.id}${format.extension}`));
      expect(res.files.some((p) => p.endsWith('tokenizer.json')), format.id).toBe(true);
    }
    back.model.dispose();
  });

  it('refuses a tokenizer the model cannot read (more ids than its Embedding has), naming both', () => {
    const c = caseOf('text-lstm');
    const g = exportGraphOfFolder(c.folder);
    const big = trainTokenizer('word', textCorpus(), { vocabSize: 400 });
    expect(() => textInputOf(g, big)).toThrow(/embedding_1 embeds 300 ids, the word tokenizer makes ids up to 399/);
    expect(textInputOf(g, undefined)).toBeUndefined();
  });
});

describe('ONNX export of text models', () => {
  it.each(fixtures.map((f) => [f.name] as const))('%s: onnxruntime on random ids = tfjs (< 1e-4)', async (name) => {
    const c = caseOf(name);
    const session = await ort.InferenceSession.create(c.out.onnx.path);
    const input = session.inputNames[0]!;
    const run = async (ids: Int32Array) => (await session.run({ [input]: new ort.Tensor('int32', ids, [BATCH, c.T]) }))[session.outputNames[0]!]!.data as Float32Array;
    const [y, yc] = [await run(c.x), await run(c.xc)];
    const max = Math.max(maxDiff(y, c.want), maxDiff(yc, c.wantC));
    console.log(`onnx ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    if (isLm(c.f)) {
      const { before, after } = causalChange(y, yc, c);
      console.log(`onnx ${name}: causal: rows before ${c.k} change ${before.toExponential(2)}, after ${after.toExponential(2)}`);
      expect(before).toBeLessThan(1e-6);
      expect(after).toBeGreaterThan(1e-3);
    }
    await session.release();
  });

  it('the causal check catches a non-causal export (the same mini-GPT exported with causal off)', async () => {
    const c = caseOf('mini-gpt-char');
    const g = exportGraphOfFolder(c.folder);
    const leaky = { ...g, layers: g.layers.map((l) => (l.type === 'MultiHeadAttention' ? { ...l, config: { ...l.config, causal: false } } : l)) };
    const session = await ort.InferenceSession.create(buildOnnx(leaky));
    const run = async (ids: Int32Array) => (await session.run({ tokens: new ort.Tensor('int32', ids, [BATCH, c.T]) }))[session.outputNames[0]!]!.data as Float32Array;
    const { before } = causalChange(await run(c.x), await run(c.xc), c);
    expect(before).toBeGreaterThan(1e-3);
    await session.release();
  });
});

describe('PyTorch export of text models', () => {
  it.runIf(hasTorch).each(fixtures.map((f) => [f.name] as const))('%s: model.py in Debian PyTorch on random ids = tfjs (< 1e-4)', (name) => {
    const c = caseOf(name);
    const [y, yc] = [readF32(join(c.out.pytorch.dir, 'y.bin')), readF32(join(c.out.pytorch.dir, 'yc.bin'))];
    const max = Math.max(maxDiff(y, c.want), maxDiff(yc, c.wantC));
    console.log(`pytorch ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    if (isLm(c.f)) {
      const { before, after } = causalChange(y, yc, c);
      console.log(`pytorch ${name}: causal: rows before ${c.k} change ${before.toExponential(2)}, after ${after.toExponential(2)}`);
      expect(before).toBeLessThan(1e-6);
      expect(after).toBeGreaterThan(1e-3);
    }
  });

  it.skipIf(hasTorch)('needs /usr/bin/python3 with torch and numpy (apt-get install -y python3-torch)', () => {});
});

describe('Keras export of text models', () => {
  it.runIf(hasNumpy).each(fixtures.map((f) => [f.name] as const))('%s: model.py (numpy stand-in keras) on random ids = tfjs (< 1e-4)', (name) => {
    const c = caseOf(name);
    const [y, yc] = [readF32(join(c.out.keras.dir, 'y.bin')), readF32(join(c.out.keras.dir, 'yc.bin'))];
    const max = Math.max(maxDiff(y, c.want), maxDiff(yc, c.wantC));
    console.log(`keras ${name}: max abs diff ${max.toExponential(2)}`);
    expect(max).toBeLessThan(1e-4);
    if (isLm(c.f)) {
      const { before, after } = causalChange(y, yc, c);
      console.log(`keras ${name}: causal: rows before ${c.k} change ${before.toExponential(2)}, after ${after.toExponential(2)}`);
      expect(before).toBeLessThan(1e-6);
      expect(after).toBeGreaterThan(1e-3);
    }
  });

  it('passes use_causal_mask=True to every causal attention, and model.py compiles', () => {
    const py = readFileSync(join(caseOf('mini-gpt-char').out.keras.dir, 'model.py'), 'utf8');
    expect(py.match(/use_causal_mask=True/g)).toHaveLength(2);
    expect(readFileSync(join(caseOf('text-attention').out.keras.dir, 'model.py'), 'utf8')).not.toContain('use_causal_mask');
    for (const c of cases) expect(spawnSync(PYTHON, ['-m', 'py_compile', join(c.out.keras.dir, 'model.py')], { encoding: 'utf8' }).status).toBe(0);
  });
});

describe('TensorFlow.js export of text models', () => {
  it.each(fixtures.map((f) => [f.name] as const))('%s: model.json reloads and predicts the same (< 1e-5)', async (name) => {
    const c = caseOf(name);
    const back = await tf.loadLayersModel(folderLoadHandler(tf, c.out.tfjs.dir));
    const [y, yc] = [predict(back, c.x, BATCH, c.T), predict(back, c.xc, BATCH, c.T)];
    expect(Math.max(maxDiff(y, c.want), maxDiff(yc, c.wantC))).toBeLessThan(1e-5);
    if (isLm(c.f)) {
      const { before, after } = causalChange(y, yc, c);
      expect(before).toBeLessThan(1e-6);
      expect(after).toBeGreaterThan(1e-3);
    }
    back.dispose();
  });
});

/** Texts every encoder must turn into shared/text's ids: the Unicode lines, a few fortunes, and edge cases. */
const ENCODE_TEXTS = [
  ...UNICODE_TEXTS,
  ...textCorpus().slice(0, 4),
  '',
  '   ',
  'x'.repeat(150),
  `${' '.repeat(100)}a`,
  '!!!!'.repeat(30),
  "It's THE END, isn't it?  We'll see... they've 2 cats & 3 dogs",
  '\u03a3\u039f\u03a6\u039f\u03a3 \u0130stanbul STRASSE \u00df',
  'unknown \u2603 snowman and \u{1F9E9} puzzle',
];

/** The encoders under test: each kind, the word one also case-kept, and a BPE trained on the Unicode lines only (merges of multi-byte characters). */
const encoderCases: [string, Tokenizer][] = [
  ['char', tokenizers.char],
  ['word (lower-cased)', tokenizers.word],
  ['word (case kept)', trainTokenizer('word', textCorpus(), { vocabSize: 500 })],
  ['bpe', tokenizers.bpe],
  ['bpe (Unicode merges)', trainTokenizer('bpe', [...UNICODE_TEXTS, ...UNICODE_TEXTS, ...UNICODE_TEXTS], { vocabSize: 600, minFrequency: 2 })],
];

describe("the READMEs' encoders give shared/text's ids", () => {
  it.runIf(hasNumpy).each(encoderCases)("%s: the Python encoder (plain Python from tokenizer.json, run with Debian's python3)", (label, tok) => {
    const dir = join(work, `py-encoder-${label.replace(/\W+/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
    writeFileSync(join(dir, 'texts.json'), JSON.stringify(ENCODE_TEXTS));
    const script = `${pythonTokenizer(tok, 'tokenizer.json', 10, true)}
with open('texts.json', encoding='utf-8') as f:
    texts = json.load(f)
ids = [encode(t) for t in texts]
print(json.dumps({'ids': ids, 'padded': [encode_padded(t) for t in texts], 'decoded': [decode(i) for i in ids]}))
`;
    writeFileSync(join(dir, 'encode.py'), script);
    const r = spawnSync(PYTHON, ['-W', 'error', 'encode.py'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as { ids: number[][]; padded: number[][]; decoded: string[] };
    ENCODE_TEXTS.forEach((t, i) => {
      expect(got.ids[i], `${label}: ${JSON.stringify(t)}`).toEqual(encode(tok, t));
      expect(got.padded[i]).toEqual([...encodePadded(tok, t, 10).ids]);
      if (tok.kind !== 'word') expect(got.decoded[i]).toBe(decode(tok, encode(tok, t)));
    });
    // the Unicode lines reach OOV (char, word) or multi-byte merges (bpe): the comparison is not trivial
    const all = ENCODE_TEXTS.flatMap((t) => encode(tok, t));
    expect(tok.kind === 'bpe' ? all.some((id) => id > 256) : all.includes(1)).toBe(true);
  });

  it.each(encoderCases)('%s: the JavaScript encoder of the tfjs README', (_label, tok) => {
    const { encode: jsEncode, decode: jsDecode } = new Function('tok', 'PAD', `${jsTokenizer(tok, true)}\nreturn { encode, decode };`)(tok, PAD_ID) as { encode: (t: string) => number[]; decode: (ids: number[]) => string };
    for (const t of ENCODE_TEXTS) {
      expect(jsEncode(t), JSON.stringify(t)).toEqual(encode(tok, t));
      if (tok.kind !== 'word') expect(jsDecode(encode(tok, t))).toBe(decode(tok, encode(tok, t)));
    }
  });
});

/**
 * Runs READMEs' Python in ONE python3 process (importing torch once instead of once per README: 15 runs cost
 * ~45 s of start-up alone, twice that on a busy machine). Each job runs as `python3 readme_run.py` would in its
 * folder: its own working directory, environment and PYTHONPATH, `__main__` as its name, stdout and stderr
 * captured apart, and the modules it imported from the export folders (`model`, the stand-ins) forgotten
 * afterwards, so the next job's `from model import load` reads its own model.py.
 */
const README_DRIVER = `
import contextlib, io, json, os, runpy, sys, traceback
jobs = json.load(open(sys.argv[1]))
out = {}
for job in jobs:
    env, path, cwd = dict(os.environ), list(sys.path), os.getcwd()
    before = set(sys.modules)
    os.environ.update(job['env'])
    sys.path[:0] = [job['cwd']] + [p for p in job['env'].get('PYTHONPATH', '').split(os.pathsep) if p]
    os.chdir(job['cwd'])
    o, e = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            runpy.run_path('readme_run.py', run_name='__main__')
    except BaseException:
        e.write(traceback.format_exc())
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(env)
        for name in set(sys.modules) - before:
            f = getattr(sys.modules[name], '__file__', None) or ''
            if name == 'model' or f.startswith(job['root']):
                del sys.modules[name]
    out[job['id']] = {'stdout': o.getvalue(), 'stderr': e.getvalue()}
json.dump(out, open(sys.argv[2], 'w'))
`;

interface ReadmeJob {
  id: string;
  cwd: string;
  env: Record<string, string>;
}
const readmeJobs: ReadmeJob[] = [];
let readmeOutput: Record<string, { stdout: string; stderr: string }> = {};

/** Writes a README's Python (with a last line printing what it computed as JSON) to `cwd` as a job for runReadmeJobs. */
function addReadmeJob(id: string, c: Case, code: string, cwd: string, env: Record<string, string> = {}): void {
  const result = isLm(c.f) ? 'new_ids' : 'np.asarray(probs).ravel().tolist()';
  writeFileSync(join(cwd, 'readme_run.py'), `${code}\nimport json as _json\nprint(_json.dumps(${result}))\n`);
  readmeJobs.push({ id, cwd, env });
}

function runReadmeJobs(): void {
  if (!readmeJobs.length) return;
  writeFileSync(join(work, 'readme-driver.py'), README_DRIVER);
  writeFileSync(join(work, 'readme-jobs.json'), JSON.stringify(readmeJobs.map((j) => ({ ...j, root: work }))));
  const r = spawnSync(PYTHON, [join(work, 'readme-driver.py'), join(work, 'readme-jobs.json'), join(work, 'readme-out.json')], { encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`the README driver failed (${r.status ?? r.signal}): ${r.stderr}`);
  readmeOutput = JSON.parse(readFileSync(join(work, 'readme-out.json'), 'utf8')) as typeof readmeOutput;
}

/** What README job `id` finally printed as JSON (the probabilities or the new ids); it wrote nothing to stderr. */
function readmeResult(id: string): number[] {
  const r = readmeOutput[id];
  if (!r) throw new Error(`README job ${id} did not run`);
  expect(r.stderr).toBe('');
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as number[];
}

function expectReadmeResult(c: Case, got: number[]): void {
  const want = expectedReadmeResult(c);
  if (isLm(c.f)) expect(got).toEqual(want);
  else expect(maxDiff(got, want)).toBeLessThan(1e-4);
}

describe("the READMEs' code encodes text and runs the model (classifies, or generates greedily) as the app would", () => {
  const names = fixtures.map((f) => [f.name] as const);
  const onnxEnv = (c: Case) => ({ PYTHONPATH: fakeOrt, ORT_FILE: `${c.f.name}.onnx`, ORT_TWIN: c.out.pytorch.dir, ORT_INPUT: c.f.graph.nodes[0]!.name, ORT_T: String(c.T) });

  beforeAll(() => {
    for (const c of cases) {
      if (hasTorch) addReadmeJob(`pytorch:${c.f.name}`, c, textCodeOf(readFileSync(readmePath(c, 'pytorch'), 'utf8'), 'python'), c.out.pytorch.dir);
      if (hasNumpy) addReadmeJob(`keras:${c.f.name}`, c, textCodeOf(readFileSync(readmePath(c, 'keras'), 'utf8'), 'python'), c.out.keras.dir, { PYTHONPATH: stub });
      if (hasTorch) addReadmeJob(`onnx:${c.f.name}`, c, textCodeOf(readFileSync(readmePath(c, 'onnx'), 'utf8'), 'python'), c.out.onnx.dir, onnxEnv(c));
    }
    runReadmeJobs();
  }, 300_000);

  it.runIf(hasTorch).each(names)('%s: PyTorch README (Debian PyTorch)', (name) => {
    expectReadmeResult(caseOf(name), readmeResult(`pytorch:${name}`));
  });

  it.runIf(hasNumpy).each(names)('%s: Keras README (numpy stand-in keras)', (name) => {
    expectReadmeResult(caseOf(name), readmeResult(`keras:${name}`));
  });

  it.runIf(hasTorch).each(names)('%s: ONNX README (stand-in onnxruntime checking the feed, computing with the PyTorch twin)', (name) => {
    const c = caseOf(name);
    expect(textCodeOf(readFileSync(readmePath(c, 'onnx'), 'utf8'), 'python')).toContain(`with open('${c.f.name}.tokenizer.json'`);
    expectReadmeResult(c, readmeResult(`onnx:${name}`));
  });

  it.each(names)('%s: TensorFlow.js README (its JavaScript on the reloaded model.json)', async (name) => {
    const c = caseOf(name);
    const js = textCodeOf(readFileSync(readmePath(c, 'tfjs'), 'utf8'), 'js');
    expect(js).toContain("const tok = await (await fetch('tokenizer.json')).json();");
    expect(js).toContain("const model = await tf.loadLayersModel('model.json');");
    // the README's code after loading, as written, on the exported files
    const body = js.slice(js.indexOf('const T = '));
    const back = await tf.loadLayersModel(folderLoadHandler(tf, c.out.tfjs.dir));
    const tok = JSON.parse(readFileSync(join(c.out.tfjs.dir, 'tokenizer.json'), 'utf8')) as Tokenizer;
    const quiet = { log: () => undefined };
    const run = new Function('tf', 'tok', 'model', 'console', `${body}\nreturn ${isLm(c.f) ? 'newIds' : 'probs.flat()'};`) as (...a: unknown[]) => number[];
    expectReadmeResult(c, run(tf, tok, back, quiet));
    back.dispose();
  });
});

describe('text model exports of every tokenizer kind', () => {
  it('the fixtures use each kind', () => {
    const kinds = new Set<TokenizerKind>(fixtures.map((f) => f.tokenizer));
    expect([...kinds].sort()).toEqual(['bpe', 'char', 'word']);
  });
});
