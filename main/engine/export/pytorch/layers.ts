import { activationOf, pair, requireWeight, samePads, transposeArray, weight, type ExportLayer } from '../exportGraph';
import type { ActivationName } from '../../../../shared/layers';
import { transposePads } from '../onnx/layers';
import type { Coverage } from '../types';

/**
 * How each registry layer type becomes PyTorch code. Layout rule of the generated model: a tensor whose
 * per-sample shape has rank 3 (an image, H×W×C in tfjs) is channels-first [N, C, H, W], as PyTorch
 * expects; every other tensor keeps the tfjs layout ([N, F], [N, T, F] batch-first). Flatten and
 * Reshape of images go through channels-last so their element order (and so the Dense weights after
 * them) matches the trained model.
 *
 * Adding a layer type to the registry makes export/coverage.test.ts fail until it has an entry here
 * (or an `unsupported` reason).
 */
export interface TorchTensor {
  /** state_dict key under the layer's attribute, e.g. 'weight' -> 'conv2d_1.weight'. */
  key: string;
  shape: number[];
  values: Float32Array;
}

export interface TorchCode {
  /** Constructor expression for `self.<attr> = …`, or null when the layer has no module. */
  module: string | null;
  /** Forward expression: `self_` is the module attribute (e.g. 'self.conv2d_1'), `xs` the input variables. */
  forward(self_: string, xs: string[]): string;
  tensors: TorchTensor[];
  /** Names of helper functions/classes from HELPERS the code uses. */
  helpers?: string[];
}

export type TorchLowering = (layer: ExportLayer) => TorchCode;

const isImage = (shape: readonly number[]) => shape.length === 3;
const py = (v: number | boolean) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));
const tup = (v: readonly number[]) => `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;

/**
 * Every activation of the palette (shared/layers/params.ts ACTIVATIONS) as Python on `x`; `dim` is where
 * tfjs's last axis lives in torch. Keyed by the shared list, so a new activation fails to compile until it
 * is written here (the KerasRecurrent helper's table is generated from it too).
 */
const TORCH_ACTIVATIONS: Record<ActivationName, (x: string, dim: number) => string> = {
  linear: (x) => x,
  relu: (x) => `torch.relu(${x})`,
  relu6: (x) => `F.relu6(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  hardSigmoid: (x) => `torch.clamp(0.2 * ${x} + 0.5, 0.0, 1.0)`,
  hardSwish: (x) => `F.hardswish(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  softmax: (x, dim) => `torch.softmax(${x}, dim=${dim})`,
  elu: (x) => `F.elu(${x})`,
  selu: (x) => `F.selu(${x})`,
  softplus: (x) => `F.softplus(${x})`,
  softsign: (x) => `F.softsign(${x})`,
  swish: (x) => `F.silu(${x})`,
  mish: (x) => `F.mish(${x})`,
  gelu: (x) => `F.gelu(${x})`,
};

/**
 * tfjs activations outside the palette that a tfjs layer config may still carry, and the gate activation of
 * LSTM / GRU that is not in the palette: Keras 3's hard sigmoid, relu6(x + 3) / 6, which is torch's hardsigmoid.
 */
const TORCH_OTHER_ACTIVATIONS: Record<string, (x: string, dim: number) => string> = {
  logSoftmax: (x, dim) => `F.log_softmax(${x}, dim=${dim})`,
  hardSigmoidKeras3: (x) => `F.hardsigmoid(${x})`,
};

/** Python for a tfjs activation applied to `x`; `channelDim` is where tfjs's last axis lives in torch. */
export function torchActivation(act: string, x: string, channelDim = -1): string {
  const f = Object.hasOwn(TORCH_ACTIVATIONS, act) ? TORCH_ACTIVATIONS[act as ActivationName] : Object.hasOwn(TORCH_OTHER_ACTIVATIONS, act) ? TORCH_OTHER_ACTIVATIONS[act] : undefined;
  if (!f) throw new Error(`activation '${act}' has no PyTorch equivalent here`);
  return f(x, channelDim);
}

const chanDim = (layer: ExportLayer) => (isImage(layer.outputShape) ? 1 : -1);
const act = (layer: ExportLayer, x: string) => torchActivation(activationOf(layer.config), x, chanDim(layer));

/** tfjs conv kernel [kh, kw, in, out] -> torch [out, in, kh, kw]. */
function convWeight(layer: ExportLayer, key: string, perm: number[]): TorchTensor {
  const k = requireWeight(layer, key);
  const t = transposeArray(k.values, k.shape, perm);
  return { key: 'weight', shape: t.shape, values: t.values };
}

function biasTensor(layer: ExportLayer): TorchTensor[] {
  const b = weight(layer, 'bias');
  return b ? [{ key: 'bias', shape: b.shape, values: b.values }] : [];
}

/** [left, right, top, bottom] for F.pad, or null when 'same' padding is symmetric (or valid). */
function padsOf(layer: ExportLayer, kernel: [number, number], strides: [number, number], dil: [number, number]): { sym: [number, number]; asym: number[] | null } {
  if (layer.config.padding !== 'same') return { sym: [0, 0], asym: null };
  const [h, w] = layer.inputShapes[0]!;
  const ph = samePads(h!, kernel[0], strides[0], dil[0]);
  const pw = samePads(w!, kernel[1], strides[1], dil[1]);
  if (ph[0] === ph[1] && pw[0] === pw[1]) return { sym: [ph[0], pw[0]], asym: null };
  return { sym: [0, 0], asym: [pw[0], pw[1], ph[0], ph[1]] };
}

function convLike(depthwise: boolean): TorchLowering {
  return (layer) => {
    const c = layer.config;
    const kernel = pair(c.kernelSize);
    const strides = pair(c.strides);
    const dil = pair(c.dilationRate);
    const cin = layer.inputShapes[0]![2]!;
    const cout = layer.outputShape[2]!;
    const { sym, asym } = padsOf(layer, kernel, strides, dil);
    const hasBias = Boolean(weight(layer, 'bias'));
    const w = depthwise ? convWeight(layer, 'depthwise_kernel', [2, 3, 0, 1]) : convWeight(layer, 'kernel', [3, 2, 0, 1]);
    if (depthwise) w.shape = [cin * Number(c.depthMultiplier ?? 1), 1, kernel[0], kernel[1]];
    return {
      module: `nn.Conv2d(${cin}, ${cout}, kernel_size=${tup(kernel)}, stride=${tup(strides)}, padding=${tup(sym)}, dilation=${tup(dil)}${depthwise ? `, groups=${cin}` : ''}, bias=${py(hasBias)})`,
      forward: (s, [x]) => act(layer, `${s}(${asym ? `F.pad(${x}, ${tup(asym)})` : x})`),
      tensors: [w, ...biasTensor(layer)],
    };
  };
}

const conv2dTranspose: TorchLowering = (layer) => {
  const c = layer.config;
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  const cin = layer.inputShapes[0]![2]!;
  const [oh, ow, cout] = layer.outputShape as [number, number, number];
  const { pads, outputPadding } = transposePads(c.padding === 'same', kernel, strides);
  const crop = pads.some((p) => p > 0);
  return {
    module: `nn.ConvTranspose2d(${cin}, ${cout}, kernel_size=${tup(kernel)}, stride=${tup(strides)}, output_padding=${tup(outputPadding)}, bias=${py(Boolean(weight(layer, 'bias')))})`,
    forward: (s, [x]) => act(layer, crop ? `${s}(${x})[:, :, ${pads[0]}:${pads[0]! + oh}, ${pads[1]}:${pads[1]! + ow}]` : `${s}(${x})`),
    tensors: [convWeight(layer, 'kernel', [3, 2, 0, 1]), ...biasTensor(layer)],
  };
};

function pool(kind: 'max' | 'avg'): TorchLowering {
  return (layer) => {
    const c = layer.config;
    const kernel = pair(c.poolSize);
    const strides = pair(c.strides ?? c.poolSize);
    const { sym, asym } = padsOf(layer, kernel, strides, [1, 1]);
    if (kind === 'max') {
      return {
        module: `nn.MaxPool2d(kernel_size=${tup(kernel)}, stride=${tup(strides)}, padding=${tup(sym)})`,
        forward: (s, [x]) => `${s}(${asym ? `F.pad(${x}, ${tup(asym)}, value=float('-inf'))` : x})`,
        tensors: [],
      };
    }
    if (c.padding === 'same') {
      return { module: null, forward: (_s, [x]) => `_avg_pool_same(${x}, ${tup(kernel)}, ${tup(strides)}, ${tup(asym ?? [sym[1], sym[1], sym[0], sym[0]])})`, tensors: [], helpers: ['_avg_pool_same'] };
    }
    return { module: `nn.AvgPool2d(kernel_size=${tup(kernel)}, stride=${tup(strides)})`, forward: (s, [x]) => `${s}(${x})`, tensors: [] };
  };
}

const toLast = (x: string, shape: readonly number[]) => (isImage(shape) ? `${x}.permute(0, 2, 3, 1)` : x);
const toFirst = (x: string, shape: readonly number[]) => (isImage(shape) ? `${x}.permute(0, 3, 1, 2)` : x);

const dense: TorchLowering = (layer) => {
  const k = requireWeight(layer, 'kernel');
  const t = transposeArray(k.values, k.shape, [1, 0]);
  return {
    module: `nn.Linear(${k.shape[0]}, ${k.shape[1]}, bias=${py(Boolean(weight(layer, 'bias')))})`,
    forward: (s, [x]) => act(layer, `${s}(${x})`),
    tensors: [{ key: 'weight', shape: t.shape, values: t.values }, ...biasTensor(layer)],
  };
};

function affine(layer: ExportLayer, n: number): TorchTensor[] {
  const gamma = weight(layer, 'gamma')?.values ?? new Float32Array(n).fill(1);
  const beta = weight(layer, 'beta')?.values ?? new Float32Array(n);
  return [
    { key: 'weight', shape: [n], values: gamma },
    { key: 'bias', shape: [n], values: beta },
  ];
}

const batchNorm: TorchLowering = (layer) => {
  const shape = layer.inputShapes[0]!;
  const n = shape[shape.length - 1]!;
  const eps = Number(layer.config.epsilon ?? 1e-3);
  const momentum = 1 - Number(layer.config.momentum ?? 0.99);
  const cls = isImage(shape) ? 'BatchNorm2d' : 'BatchNorm1d';
  return {
    module: `nn.${cls}(${n}, eps=${eps}, momentum=${Number(momentum.toFixed(6))})`,
    // tfjs normalises the last axis; BatchNorm1d wants channels at dim 1 of [N, C, L]
    forward: (s, [x]) => (shape.length === 2 ? `${s}(${x}.transpose(1, 2)).transpose(1, 2)` : `${s}(${x})`),
    tensors: [
      ...affine(layer, n),
      { key: 'running_mean', shape: [n], values: requireWeight(layer, 'moving_mean').values },
      { key: 'running_var', shape: [n], values: requireWeight(layer, 'moving_variance').values },
    ],
  };
};

const layerNorm: TorchLowering = (layer) => {
  const shape = layer.inputShapes[0]!;
  const n = shape[shape.length - 1]!;
  return {
    module: `nn.LayerNorm(${n}, eps=${Number(layer.config.epsilon ?? 1e-3)})`,
    forward: (s, [x]) => toFirst(`${s}(${toLast(x!, shape)})`, shape),
    tensors: affine(layer, n),
  };
};

const upSampling: TorchLowering = (layer) => {
  const [sh, sw] = pair(layer.config.size, 2);
  if (layer.config.interpolation === 'bilinear') {
    // tfjs resizes with align_corners = half_pixel_centers = False, which F.interpolate cannot do
    return { module: null, forward: (_s, [x]) => `_resize_bilinear_asymmetric(${x}, ${sh}, ${sw})`, tensors: [], helpers: ['_resize_bilinear_asymmetric'] };
  }
  return { module: `nn.Upsample(scale_factor=${tup([sh, sw])}, mode='nearest')`, forward: (s, [x]) => `${s}(${x})`, tensors: [] };
};

const zeroPadding: TorchLowering = (layer) => {
  const p = layer.config.padding as [[number, number], [number, number]] | number;
  const [[t, b], [l, r]] = Array.isArray(p) ? p : [[p, p], [p, p]];
  return { module: `nn.ZeroPad2d(${tup([l, r, t, b])})`, forward: (s, [x]) => `${s}(${x})`, tensors: [] };
};

/**
 * A recurrent layer's tensors in torch.nn naming: weight_ih / weight_hh (transposed kernels), bias_ih (the
 * tfjs bias), bias_hh (a reset-after GRU's recurrent bias, its bias row 1; zeros where `hhBias` asks for
 * one tfjs does not have). `order` reorders the gate blocks (tfjs / Keras GRU z, r, h -> torch.nn.GRU r, z, n).
 */
function rnnTensors(layer: ExportLayer, bidi: boolean, hhBias: boolean, order: number[] | null = null): TorchTensor[] {
  const out: TorchTensor[] = [];
  // rows of a [G*u, cols] tensor are G contiguous gate blocks
  const gates = (v: Float32Array): Float32Array => {
    if (!order) return v;
    const block = v.length / order.length;
    const r = new Float32Array(v.length);
    order.forEach((src, gi) => r.set(v.subarray(src * block, (src + 1) * block), gi * block));
    return r;
  };
  for (const [dir, suffix] of bidi ? [['forward/', ''], ['backward/', '_reverse']] : [['', '']]) {
    const k = requireWeight(layer, `${dir}kernel`);
    const r = requireWeight(layer, `${dir}recurrent_kernel`);
    const kt = transposeArray(k.values, k.shape, [1, 0]);
    const rt = transposeArray(r.values, r.shape, [1, 0]);
    const b = weight(layer, `${dir}bias`);
    out.push({ key: `weight_ih_l0${suffix}`, shape: kt.shape, values: gates(kt.values) });
    out.push({ key: `weight_hh_l0${suffix}`, shape: rt.shape, values: gates(rt.values) });
    const nb = kt.shape[0]!;
    // a reset-after GRU's bias is [2, G*u]: the input bias, then the recurrent one
    const twoRows = b?.shape.length === 2;
    out.push({ key: `bias_ih_l0${suffix}`, shape: [nb], values: gates(b ? b.values.slice(0, nb) : new Float32Array(nb)) });
    if (b && twoRows) out.push({ key: `bias_hh_l0${suffix}`, shape: [nb], values: gates(b.values.slice(nb, 2 * nb)) });
    else if (hhBias) out.push({ key: `bias_hh_l0${suffix}`, shape: [nb], values: new Float32Array(nb) });
  }
  return out;
}

function recurrent(kind: 'LSTM' | 'GRU' | 'RNN'): TorchLowering {
  return (layer) => {
    const bidi = layer.className === 'Bidirectional';
    const cell = (bidi ? (layer.config.layer as { config: Record<string, unknown> }).config : layer.config) as Record<string, unknown>;
    if (cell.goBackwards) throw new Error(`${layer.name}: goBackwards is not exported`);
    const units = Number(cell.units);
    const features = layer.inputShapes[0]![1]!;
    const a = activationOf(cell);
    const rec = activationOf(cell, 'recurrentActivation');
    const seqs = Boolean(cell.returnSequences);
    const merge = bidi ? String(layer.config.mergeMode ?? 'concat') : 'concat';
    const dirs = bidi ? 2 : 1;
    const resetAfter = kind === 'GRU' && cell.resetAfter === true;
    let module: string;
    let hhBias = true;
    let helpers: string[] = [];
    let order: number[] | null = null;
    if (kind === 'LSTM' && a === 'tanh' && rec === 'sigmoid') {
      module = `nn.LSTM(${features}, ${units}, batch_first=True, bidirectional=${py(bidi)})`;
    } else if (kind === 'RNN' && (a === 'tanh' || a === 'relu')) {
      module = `nn.RNN(${features}, ${units}, nonlinearity='${a}', batch_first=True, bidirectional=${py(bidi)})`;
    } else if (resetAfter && a === 'tanh' && rec === 'sigmoid') {
      // Keras's reset_after GRU is torch.nn.GRU's formula; only the gate order differs (z, r, h -> r, z, n)
      module = `nn.GRU(${features}, ${units}, batch_first=True, bidirectional=${py(bidi)})`;
      order = [1, 0, 2];
    } else {
      // Keras-compatible recurrent cell (tfjs's GRU resets before the recurrent matmul; nn.GRU after).
      module = `KerasRecurrent('${kind}', ${features}, ${units}, activation='${a}', recurrent_activation='${rec}', bidirectional=${py(bidi)}${resetAfter ? ', reset_after=True' : ''})`;
      hhBias = false;
      helpers = ['KerasRecurrent'];
    }
    const mergeExpr = (t: string, axis: number) =>
      merge === 'concat' ? t : merge === 'sum' ? `${t}.sum(dim=${axis})` : merge === 'ave' ? `${t}.mean(dim=${axis})` : merge === 'mul' ? `${t}.prod(dim=${axis})` : null;
    if (!mergeExpr('x', 0)) throw new Error(`${layer.name}: Bidirectional mergeMode '${merge}' is not exported`);
    return {
      module,
      forward: (s, [x]) => {
        if (seqs) {
          const y = `${s}(${x})[0]`;
          return merge === 'concat' ? y : mergeExpr(`${y}.unflatten(-1, (2, ${units}))`, 2)!;
        }
        const hExpr = kind === 'LSTM' && !helpers.length ? `${s}(${x})[1][0]` : `${s}(${x})[1]`;
        const h = `${hExpr}.transpose(0, 1)`; // [N, dirs, units]
        return merge === 'concat' ? `${h}.reshape(-1, ${dirs * units})` : mergeExpr(h, 1)!;
      },
      tensors: rnnTensors(layer, bidi, hhBias, order),
      helpers,
    };
  };
}

/** Maps a tfjs axis (with batch = 0, may be negative) to the generated model's layout. */
function torchAxis(axis: number, shape: readonly number[]): number {
  const rank = shape.length + 1;
  const a = axis < 0 ? rank + axis : axis;
  if (!isImage(shape)) return a;
  return [0, 2, 3, 1][a]!; // NHWC axis -> NCHW axis
}

const noModule = (forward: TorchCode['forward'], helpers: string[] = []): TorchCode => ({ module: null, forward, tensors: [], helpers });

const multiHeadAttention: TorchLowering = (layer) => {
  const c = layer.config;
  const h = Number(c.numHeads);
  const kd = Number(c.keyDim);
  const vd = Number(c.valueDim ?? kd) || kd;
  const dq = layer.inputShapes[0]![1]!;
  const dkv = (layer.inputShapes[1] ?? layer.inputShapes[0]!)[1]!;
  const hasBias = Boolean(weight(layer, 'query/bias'));
  const tensors: TorchTensor[] = [];
  const linear = (which: string, attr: string, rows: number, cols: number) => {
    const k = requireWeight(layer, `${which}/kernel`);
    const t = transposeArray(k.values, [rows, cols], [1, 0]); // Keras [in, heads*dim] -> torch [heads*dim, in]
    tensors.push({ key: `${attr}.weight`, shape: t.shape, values: t.values });
    const b = weight(layer, `${which}/bias`);
    if (b) tensors.push({ key: `${attr}.bias`, shape: [b.values.length], values: b.values });
  };
  linear('query', 'query', dq, h * kd);
  linear('key', 'key', dkv, h * kd);
  linear('value', 'value', dkv, h * vd);
  linear('attention_output', 'output', h * vd, dq);
  return {
    module: `MultiHeadAttention(${dq}, ${dkv}, num_heads=${h}, key_dim=${kd}, value_dim=${vd}, dropout=${Number(c.dropout ?? 0)}, causal=${py(Boolean(c.causal))}, bias=${py(hasBias)})`,
    forward: (s, xs) => `${s}(${xs.join(', ')})`,
    tensors,
    helpers: ['MultiHeadAttention'],
  };
};

const positionalEmbedding: TorchLowering = (layer) => {
  const e = requireWeight(layer, 'embeddings');
  return {
    module: `PositionalEmbedding(${e.shape[0]}, ${e.shape[1]})`,
    forward: (s, [x]) => `${s}(${x})`,
    tensors: [{ key: 'embeddings', shape: e.shape, values: e.values }],
    helpers: ['PositionalEmbedding'],
  };
};

/** Keras's ReLU as one expression where torch has it, else the _keras_relu helper. */
const kerasRelu: TorchLowering = (layer) => {
  const c = layer.config;
  const max = c.maxValue == null ? null : Number(c.maxValue);
  const slope = Number(c.negativeSlope ?? 0);
  const threshold = Number(c.threshold ?? 0);
  if (slope === 0 && threshold === 0) {
    return noModule((_s, [x]) => (max === null ? `torch.relu(${x})` : max === 6 ? `F.relu6(${x})` : `torch.clamp(torch.relu(${x}), max=${max})`));
  }
  return noModule((_s, [x]) => `_keras_relu(${x}, negative_slope=${slope}, max_value=${max === null ? 'None' : max}, threshold=${threshold})`, ['_keras_relu']);
};

/** PReLU: alpha in the generated model's layout (an image's [H, W, C] becomes [C, H, W]). */
const prelu: TorchLowering = (layer) => {
  const a = requireWeight(layer, 'alpha');
  const t = isImage(layer.inputShapes[0]!) ? transposeArray(a.values, a.shape, [2, 0, 1]) : { values: a.values, shape: a.shape };
  return {
    module: `KerasPReLU(${tup(t.shape)})`,
    forward: (s, [x]) => `${s}(${x})`,
    tensors: [{ key: 'alpha', shape: t.shape, values: t.values }],
    helpers: ['KerasPReLU'],
  };
};

/** [start, end] padding of a 1-D window along the sequence, as tfjs pads it. */
function pads1d(layer: ExportLayer, kernel: number, stride: number, dilation: number): [number, number] {
  // Keras's 'causal' (Conv1D): (kernel − 1) · dilation zeros before the start only
  if (layer.config.padding === 'causal') return [(kernel - 1) * dilation, 0];
  return layer.config.padding === 'same' ? samePads(layer.inputShapes[0]![0]!, kernel, stride, dilation) : [0, 0];
}

/** Sequences stay [N, T, F]; torch's 1-D ops take [N, F, T]: the input is transposed (and padded), the result transposed back. */
const nclIn = (x: string, pads: [number, number], value?: string) =>
  pads[0] || pads[1] ? `F.pad(${x}.transpose(1, 2), ${tup(pads)}${value ? `, value=${value}` : ''})` : `${x}.transpose(1, 2)`;

const conv1d: TorchLowering = (layer) => {
  const c = layer.config;
  const [kernel] = pair(c.kernelSize);
  const [stride] = pair(c.strides);
  const [dil] = pair(c.dilationRate);
  const cin = layer.inputShapes[0]![1]!;
  const cout = layer.outputShape[1]!;
  const pads = pads1d(layer, kernel, stride, dil);
  return {
    module: `nn.Conv1d(${cin}, ${cout}, kernel_size=${kernel}, stride=${stride}, dilation=${dil}, bias=${py(Boolean(weight(layer, 'bias')))})`,
    forward: (s, [x]) => act(layer, `${s}(${nclIn(x!, pads)}).transpose(1, 2)`),
    tensors: [convWeight(layer, 'kernel', [2, 1, 0]), ...biasTensor(layer)],
  };
};

function pool1d(kind: 'max' | 'avg'): TorchLowering {
  return (layer) => {
    const [kernel] = pair(layer.config.poolSize);
    const [stride] = pair(layer.config.strides ?? layer.config.poolSize);
    const pads = pads1d(layer, kernel, stride, 1);
    if (kind === 'max') return noModule((_s, [x]) => `F.max_pool1d(${nclIn(x!, pads, "float('-inf')")}, ${kernel}, ${stride}).transpose(1, 2)`);
    if (pads[0] || pads[1]) return noModule((_s, [x]) => `_avg_pool1d_same(${x}.transpose(1, 2), ${kernel}, ${stride}, ${tup(pads)}).transpose(1, 2)`, ['_avg_pool1d_same']);
    return noModule((_s, [x]) => `F.avg_pool1d(${x}.transpose(1, 2), ${kernel}, ${stride}).transpose(1, 2)`);
  };
}

const separableConv2d: TorchLowering = (layer) => {
  const c = layer.config;
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  const dil = pair(c.dilationRate);
  const cin = layer.inputShapes[0]![2]!;
  const mult = requireWeight(layer, 'depthwise_kernel').shape[3]!; // [kh, kw, in, mult]
  const cout = layer.outputShape[2]!;
  const { sym, asym } = padsOf(layer, kernel, strides, dil);
  const hasBias = Boolean(weight(layer, 'bias'));
  const dw = convWeight(layer, 'depthwise_kernel', [2, 3, 0, 1]);
  dw.shape = [cin * mult, 1, kernel[0], kernel[1]];
  const pw = convWeight(layer, 'pointwise_kernel', [3, 2, 0, 1]);
  return {
    module: `nn.Sequential(nn.Conv2d(${cin}, ${cin * mult}, kernel_size=${tup(kernel)}, stride=${tup(strides)}, padding=${tup(sym)}, dilation=${tup(dil)}, groups=${cin}, bias=False), nn.Conv2d(${cin * mult}, ${cout}, kernel_size=1, bias=${py(hasBias)}))`,
    forward: (s, [x]) => act(layer, `${s}(${asym ? `F.pad(${x}, ${tup(asym)})` : x})`),
    tensors: [
      { ...dw, key: '0.weight' },
      { ...pw, key: '1.weight' },
      ...biasTensor(layer).map((t) => ({ ...t, key: '1.bias' })),
    ],
  };
};

/** Keras's Dot: vectors give [N, 1], sequences an einsum contracting the chosen axis of both. */
const dot: TorchLowering = (layer) => {
  const rank = layer.inputShapes[0]!.length;
  const axes = Number(Array.isArray(layer.config.axes) ? layer.config.axes[0] : (layer.config.axes ?? -1));
  const ax = axes < 0 ? rank + axes : axes - 1;
  const norm = (x: string) => (layer.config.normalize ? `_l2_normalize(${x}, ${ax + 1})` : x);
  const helpers = layer.config.normalize ? ['_l2_normalize'] : [];
  if (rank === 1) return noModule((_s, [x, y]) => `(${norm(x!)} * ${norm(y!)}).sum(dim=1, keepdim=True)`, helpers);
  const la = ['i', 'j'];
  const lb = ['k', 'l'];
  lb[ax] = la[ax]!;
  const eq = `n${la.join('')},n${lb.join('')}->n${la.filter((_, i) => i !== ax).join('')}${lb.filter((_, i) => i !== ax).join('')}`;
  return noModule((_s, [x, y]) => `torch.einsum('${eq}', ${norm(x!)}, ${norm(y!)})`, helpers);
};

/** Keras's Normalization: buffers mean and variance per channel (dim 1 of an NCHW image, else the last). */
const normalizationLayer: TorchLowering = (layer) => {
  const mean = requireWeight(layer, 'mean');
  const variance = requireWeight(layer, 'variance');
  return {
    module: `KerasNormalization(${mean.values.length}, channel_dim=${isImage(layer.inputShapes[0]!) ? 1 : -1})`,
    forward: (s, [x]) => `${s}(${x})`,
    tensors: [
      { key: 'mean', shape: mean.shape, values: mean.values },
      { key: 'variance', shape: variance.shape, values: variance.values },
    ],
    helpers: ['KerasNormalization'],
  };
};

/** Registry type -> PyTorch code (or why there is none). */
export const PYTORCH_LAYERS: Record<string, Coverage<TorchLowering>> = {
  Input: { supported: () => noModule((_s, xs) => xs[0]!) },
  Conv2D: { supported: convLike(false) },
  DepthwiseConv2D: { supported: convLike(true) },
  Conv2DTranspose: { supported: conv2dTranspose },
  MaxPool2D: { supported: pool('max') },
  AvgPool2D: { supported: pool('avg') },
  GlobalAvgPool2D: { supported: () => noModule((_s, [x]) => `${x}.mean(dim=(2, 3))`) },
  GlobalMaxPool2D: { supported: () => noModule((_s, [x]) => `${x}.amax(dim=(2, 3))`) },
  GlobalAvgPool1D: { supported: () => noModule((_s, [x]) => `${x}.mean(dim=1)`) },
  GlobalMaxPool1D: { supported: () => noModule((_s, [x]) => `${x}.amax(dim=1)`) },
  Flatten: { supported: (layer) => noModule((_s, [x]) => `${toLast(x!, layer.inputShapes[0]!)}.flatten(1)`) },
  Dense: { supported: dense },
  Dropout: { supported: (layer) => ({ module: `nn.Dropout(${Number(layer.config.rate ?? 0)})`, forward: (s, [x]) => `${s}(${x})`, tensors: [] }) },
  BatchNormalization: { supported: batchNorm },
  LayerNormalization: { supported: layerNorm },
  Activation: { supported: (layer) => noModule((_s, [x]) => act(layer, x!)) },
  Reshape: {
    supported: (layer) => noModule((_s, [x]) => toFirst(`${toLast(x!, layer.inputShapes[0]!)}.reshape(-1, ${layer.outputShape.join(', ')})`, layer.outputShape)),
  },
  Permute: {
    supported: (layer) =>
      noModule((_s, [x]) => toFirst(`${toLast(x!, layer.inputShapes[0]!)}.permute(0, ${(layer.config.dims as number[]).join(', ')})`, layer.outputShape)),
  },
  UpSampling2D: { supported: upSampling },
  ZeroPadding2D: { supported: zeroPadding },
  SimpleRNN: { supported: recurrent('RNN') },
  LSTM: { supported: recurrent('LSTM') },
  GRU: { supported: recurrent('GRU') },
  Embedding: {
    supported: (layer) => {
      const e = requireWeight(layer, 'embeddings');
      return { module: `nn.Embedding(${e.shape[0]}, ${e.shape[1]})`, forward: (s, [x]) => `${s}(${x}.long())`, tensors: [{ key: 'weight', shape: e.shape, values: e.values }] };
    },
  },
  Add: { supported: () => noModule((_s, xs) => xs.join(' + ')) },
  Subtract: { supported: () => noModule((_s, xs) => xs.join(' - ')) },
  Multiply: { supported: () => noModule((_s, xs) => xs.join(' * ')) },
  Average: { supported: (layer) => noModule((_s, xs) => `(${xs.join(' + ')}) / ${layer.inputs.length}`) },
  Maximum: { supported: () => noModule((_s, xs) => xs.slice(1).reduce((a, x) => `torch.maximum(${a}, ${x})`, xs[0]!)) },
  Minimum: { supported: () => noModule((_s, xs) => xs.slice(1).reduce((a, x) => `torch.minimum(${a}, ${x})`, xs[0]!)) },
  Concatenate: {
    supported: (layer) => noModule((_s, xs) => `torch.cat([${xs.join(', ')}], dim=${torchAxis(Number(layer.config.axis ?? -1), layer.inputShapes[0]!)})`),
  },
  MultiHeadAttention: { supported: multiHeadAttention },
  PositionalEmbedding: { supported: positionalEmbedding },
  ReLU: { supported: kerasRelu },
  LeakyReLU: { supported: (layer) => noModule((_s, [x]) => `F.leaky_relu(${x}, ${Number(layer.config.alpha ?? 0.3)})`) },
  PReLU: { supported: prelu },
  ELU: { supported: (layer) => noModule((_s, [x]) => `F.elu(${x}, alpha=${Number(layer.config.alpha ?? 1)})`) },
  Softmax: { supported: (layer) => noModule((_s, [x]) => `torch.softmax(${x}, dim=${torchAxis(Number(layer.config.axis ?? -1), layer.inputShapes[0]!)})`) },
  Conv1D: { supported: conv1d },
  SeparableConv2D: { supported: separableConv2d },
  MaxPool1D: { supported: pool1d('max') },
  AvgPool1D: { supported: pool1d('avg') },
  ZeroPadding1D: { supported: (layer) => noModule((_s, [x]) => `F.pad(${x}, ${tup([0, 0, ...(layer.config.padding as [number, number])])})`) },
  Cropping1D: {
    supported: (layer) => {
      const [a, e] = layer.config.cropping as [number, number];
      return noModule((_s, [x]) => `${x}[:, ${a}:${layer.inputShapes[0]![0]! - e}]`);
    },
  },
  Cropping2D: {
    supported: (layer) => {
      const [[t, bot], [l, r]] = layer.config.cropping as [[number, number], [number, number]];
      const [h, w] = layer.inputShapes[0]!;
      return noModule((_s, [x]) => `${x}[:, :, ${t}:${h! - bot}, ${l}:${w! - r}]`);
    },
  },
  UpSampling1D: { supported: (layer) => noModule((_s, [x]) => `${x}.repeat_interleave(${Number(layer.config.size)}, dim=1)`) },
  // training-only noise: modules that are the identity in eval mode (and act as Keras's while training)
  SpatialDropout1D: { supported: (layer) => ({ module: `nn.Dropout1d(${Number(layer.config.rate ?? 0)})`, forward: (s, [x]) => `${s}(${x}.transpose(1, 2)).transpose(1, 2)`, tensors: [] }) },
  SpatialDropout2D: { supported: (layer) => ({ module: `nn.Dropout2d(${Number(layer.config.rate ?? 0)})`, forward: (s, [x]) => `${s}(${x})`, tensors: [] }) },
  GaussianNoise: { supported: (layer) => ({ module: `GaussianNoise(${Number(layer.config.stddev ?? 0)})`, forward: (s, [x]) => `${s}(${x})`, tensors: [], helpers: ['GaussianNoise'] }) },
  GaussianDropout: { supported: (layer) => ({ module: `GaussianDropout(${Number(layer.config.rate ?? 0)})`, forward: (s, [x]) => `${s}(${x})`, tensors: [], helpers: ['GaussianDropout'] }) },
  RepeatVector: { supported: (layer) => noModule((_s, [x]) => `${x}.unsqueeze(1).expand(-1, ${Number(layer.config.n)}, -1)`) },
  Dot: { supported: dot },
  Rescaling: { supported: (layer) => noModule((_s, [x]) => `${x} * ${Number(layer.config.scale ?? 1)} + ${Number(layer.config.offset ?? 0)}`) },
  Normalization: { supported: normalizationLayer },
};

/** Python helpers the generated code may use, emitted only when used. */
export const HELPERS: Record<string, string> = {
  MultiHeadAttention: `class MultiHeadAttention(nn.Module):
    """Multi-head attention as Layerforge / Keras compute it (batch-first): query [N, Tq, Dq], key/value [N, Tk, Dkv]."""

    def __init__(self, query_dim, kv_dim, num_heads, key_dim, value_dim, dropout=0.0, causal=False, bias=True):
        super().__init__()
        self.num_heads, self.key_dim, self.value_dim, self.causal = num_heads, key_dim, value_dim, causal
        self.query = nn.Linear(query_dim, num_heads * key_dim, bias=bias)
        self.key = nn.Linear(kv_dim, num_heads * key_dim, bias=bias)
        self.value = nn.Linear(kv_dim, num_heads * value_dim, bias=bias)
        self.output = nn.Linear(num_heads * value_dim, query_dim, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query, key_value=None):
        kv = query if key_value is None else key_value
        n, tq, tk = query.shape[0], query.shape[1], kv.shape[1]
        q = self.query(query).view(n, tq, self.num_heads, self.key_dim).transpose(1, 2)
        k = self.key(kv).view(n, tk, self.num_heads, self.key_dim).transpose(1, 2)
        v = self.value(kv).view(n, tk, self.num_heads, self.value_dim).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / self.key_dim ** 0.5
        if self.causal:
            future = torch.ones(tq, tk, dtype=torch.bool, device=query.device).triu(1)
            scores = scores.masked_fill(future, -1e9)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(n, tq, self.num_heads * self.value_dim)
        return self.output(out)`,
  PositionalEmbedding: `class PositionalEmbedding(nn.Module):
    """Adds a learned vector per position to a [N, T, D] input."""

    def __init__(self, sequence_length, dim):
        super().__init__()
        self.embeddings = nn.Parameter(torch.zeros(sequence_length, dim))

    def forward(self, x):
        return x + self.embeddings`,
  _keras_relu: `def _keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ReLU: x above the threshold (capped at max_value), negative_slope * (x - threshold) at or below it."""
    y = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0 else torch.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0.0, max_value)
    return y - negative_slope * torch.relu(threshold - x) if negative_slope != 0 else y`,
  KerasPReLU: `class KerasPReLU(nn.Module):
    """PReLU as Keras computes it: x above 0, alpha * x below, alpha learned per value (1 on shared axes)."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return torch.relu(x) - self.alpha * torch.relu(-x)`,
  _avg_pool1d_same: `def _avg_pool1d_same(x, kernel, stride, pads):
    """1-D average pooling of [N, C, L] with TensorFlow's 'same' padding: padded cells are not counted."""
    ones = torch.ones_like(x[:1, :1])
    return F.avg_pool1d(F.pad(x, pads), kernel, stride) / F.avg_pool1d(F.pad(ones, pads), kernel, stride)`,
  _l2_normalize: `def _l2_normalize(x, dim):
    """x / sqrt(max(sum(x^2), 1e-7)) along dim, as TensorFlow.js's Dot layer normalises."""
    return x / torch.sqrt(torch.clamp((x * x).sum(dim=dim, keepdim=True), min=1e-7))`,
  KerasNormalization: `class KerasNormalization(nn.Module):
    """Keras's Normalization: (x - mean) / max(sqrt(variance), 1e-7) per channel; mean and variance are buffers (not trained)."""

    def __init__(self, channels, channel_dim=-1):
        super().__init__()
        self.channel_dim = channel_dim
        self.register_buffer('mean', torch.zeros(channels))
        self.register_buffer('variance', torch.ones(channels))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[self.channel_dim] = -1
        return (x - self.mean.view(shape)) / torch.clamp(torch.sqrt(self.variance), min=1e-7).view(shape)`,
  GaussianNoise: `class GaussianNoise(nn.Module):
    """Keras's GaussianNoise: adds N(0, stddev^2) noise while training; the identity in eval mode."""

    def __init__(self, stddev):
        super().__init__()
        self.stddev = stddev

    def forward(self, x):
        return x + torch.randn_like(x) * self.stddev if self.training and self.stddev > 0 else x`,
  GaussianDropout: `class GaussianDropout(nn.Module):
    """Keras's GaussianDropout: multiplies by N(1, rate / (1 - rate)) noise while training; the identity in eval mode."""

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate <= 0:
            return x
        return x * (1 + torch.randn_like(x) * (self.rate / (1 - self.rate)) ** 0.5)`,
  _avg_pool_same: `def _avg_pool_same(x, kernel, stride, pads):
    """Average pooling with TensorFlow's 'same' padding: padded cells are not counted."""
    ones = torch.ones_like(x[:1, :1])
    total = F.avg_pool2d(F.pad(x, pads), kernel, stride)
    count = F.avg_pool2d(F.pad(ones, pads), kernel, stride)
    return total / count`,
  _resize_bilinear_asymmetric: `def _resize_bilinear_asymmetric(x, sh, sw):
    """Bilinear upsampling as TensorFlow does it (align_corners=False, half_pixel_centers=False)."""
    def axis(n, s):
        src = torch.arange(n * s, dtype=torch.float32, device=x.device) / s
        i0 = src.floor().long().clamp(max=n - 1)
        i1 = (i0 + 1).clamp(max=n - 1)
        return i0, i1, src - i0.float()
    h0, h1, fh = axis(x.shape[2], sh)
    w0, w1, fw = axis(x.shape[3], sw)
    top = x[:, :, h0][:, :, :, w0] * (1 - fw) + x[:, :, h0][:, :, :, w1] * fw
    bottom = x[:, :, h1][:, :, :, w0] * (1 - fw) + x[:, :, h1][:, :, :, w1] * fw
    fh = fh.view(1, 1, -1, 1)
    return top * (1 - fh) + bottom * fh`,
  KerasRecurrent: `_ACTIVATIONS = {
${[...Object.entries(TORCH_ACTIVATIONS), ['hardSigmoidKeras3', TORCH_OTHER_ACTIVATIONS.hardSigmoidKeras3!] as const]
  .map(([name, f]) => `    '${name}': lambda x: ${f('x', -1)},`)
  .join('\n')}
}


class KerasRecurrent(nn.Module):
    """A recurrent layer computed exactly as Keras / TensorFlow.js do (batch-first).

    Used where torch.nn has no equivalent: Keras's GRU applies the reset gate *before* the recurrent
    matmul (reset_after=False; torch.nn.GRU applies it after), and non-default activations.
    Parameters follow torch.nn naming and Keras's gate order (LSTM i, f, g, o; GRU z, r, h); a GRU with
    reset_after=True (Keras 2+'s default) has a second bias, bias_hh_l0, inside the reset gate's product.
    Returns (outputs [N, T, dirs*units], final hidden [dirs, N, units]) like torch.nn.GRU.
    """

    def __init__(self, kind, input_size, units, activation='tanh', recurrent_activation='sigmoid', bidirectional=False, reset_after=False):
        super().__init__()
        self.kind, self.units, self.bidirectional, self.reset_after = kind, units, bidirectional, reset_after
        self.act, self.rec = _ACTIVATIONS[activation], _ACTIVATIONS[recurrent_activation]
        gates = {'LSTM': 4, 'GRU': 3, 'RNN': 1}[kind]
        for suffix in ['', '_reverse'] if bidirectional else ['']:
            setattr(self, 'weight_ih_l0' + suffix, nn.Parameter(torch.empty(gates * units, input_size)))
            setattr(self, 'weight_hh_l0' + suffix, nn.Parameter(torch.empty(gates * units, units)))
            setattr(self, 'bias_ih_l0' + suffix, nn.Parameter(torch.zeros(gates * units)))
            if reset_after:
                setattr(self, 'bias_hh_l0' + suffix, nn.Parameter(torch.zeros(gates * units)))
        for name, p in self.named_parameters():
            if name.startswith('weight'):
                nn.init.xavier_uniform_(p)

    def _run(self, x, suffix, reverse):
        w_ih, w_hh, b = (getattr(self, n + suffix) for n in ('weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0'))
        n, steps, u = x.shape[0], x.shape[1], self.units
        h = x.new_zeros(n, u)
        c = x.new_zeros(n, u)
        xs = F.linear(x, w_ih, b)
        out = [None] * steps
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            xt = xs[:, t]
            if self.kind == 'LSTM':
                i, f, g, o = (xt + h @ w_hh.t()).chunk(4, dim=1)
                c = self.rec(f) * c + self.rec(i) * self.act(g)
                h = self.rec(o) * self.act(c)
            elif self.kind == 'GRU' and self.reset_after:
                xz, xr, xh = xt.chunk(3, dim=1)
                hz, hr, hh = F.linear(h, w_hh, getattr(self, 'bias_hh_l0' + suffix)).chunk(3, dim=1)
                z, r = self.rec(xz + hz), self.rec(xr + hr)
                h = z * h + (1 - z) * self.act(xh + r * hh)
            elif self.kind == 'GRU':
                xz, xr, xh = xt.chunk(3, dim=1)
                hz, hr = (h @ w_hh[: 2 * u].t()).chunk(2, dim=1)
                z, r = self.rec(xz + hz), self.rec(xr + hr)
                hh = self.act(xh + (r * h) @ w_hh[2 * u:].t())
                h = z * h + (1 - z) * hh
            else:
                h = self.act(xt + h @ w_hh.t())
            out[t] = h
        return torch.stack(out, dim=1), h

    def forward(self, x):
        y, h = self._run(x, '', False)
        if not self.bidirectional:
            return y, h.unsqueeze(0)
        yb, hb = self._run(x, '_reverse', True)
        return torch.cat([y, yb], dim=-1), torch.stack([h, hb])`,
};
