import { activationOf, pair, requireWeight, samePads, transposeArray, weight, type ExportLayer } from '../exportGraph';
import type { ActivationName } from '../../../../shared/layers';
import type { Coverage } from '../types';
import { A, type OnnxBuilder } from './builder';

/**
 * How each registry layer type becomes ONNX ops. Tensors keep tfjs's layout throughout (NHWC images,
 * [N, T, F] sequences), so Flatten, Reshape, Permute, Dense and Concatenate mean exactly what they mean
 * in tfjs; ops that need NCHW (Conv, pools, Resize) are wrapped in a pair of Transposes, which
 * onnxruntime's optimizer folds away between consecutive convolutions.
 *
 * Adding a layer type to the registry makes export/coverage.test.ts fail until it has an entry here
 * (or an `unsupported` reason).
 */
export type OnnxLowering = (b: OnnxBuilder, layer: ExportLayer, inputs: string[]) => string;

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

type OnnxActivation = (b: OnnxBuilder, x: string, hint: string) => string;

const clip = (b: OnnxBuilder, x: string, lo: number, hi: number, hint: string) =>
  b.op('Clip', [x, b.floats(`${hint}_min`, [lo], []), b.floats(`${hint}_max`, [hi], [])], {}, hint);

/**
 * Every activation of the palette (shared/layers/params.ts ACTIVATIONS) as ONNX ops: keyed by the shared
 * list, so a new activation fails to compile until it is written here.
 */
const ONNX_ACTIVATIONS: Record<ActivationName, OnnxActivation> = {
  linear: (_b, x) => x,
  relu: (b, x, hint) => b.op('Relu', [x], {}, hint),
  relu6: (b, x, hint) => clip(b, x, 0, 6, hint),
  sigmoid: (b, x, hint) => b.op('Sigmoid', [x], {}, hint),
  hardSigmoid: (b, x, hint) => b.op('HardSigmoid', [x], { alpha: A.float(0.2), beta: A.float(0.5) }, hint),
  // x * relu6(x + 3) / 6: ONNX's HardSwish (opset 14) is exactly this
  hardSwish: (b, x, hint) => b.op('HardSwish', [x], {}, hint),
  tanh: (b, x, hint) => b.op('Tanh', [x], {}, hint),
  softmax: (b, x, hint) => b.op('Softmax', [x], { axis: A.int(-1) }, hint),
  elu: (b, x, hint) => b.op('Elu', [x], { alpha: A.float(1) }, hint),
  selu: (b, x, hint) => b.op('Selu', [x], {}, hint),
  softplus: (b, x, hint) => b.op('Softplus', [x], {}, hint),
  softsign: (b, x, hint) => b.op('Softsign', [x], {}, hint),
  swish: (b, x, hint) => b.op('Mul', [x, b.op('Sigmoid', [x], {}, `${hint}_sig`)], {}, hint),
  mish: (b, x, hint) => b.op('Mul', [x, b.op('Tanh', [b.op('Softplus', [x], {}, `${hint}_sp`)], {}, `${hint}_t`)], {}, hint),
  gelu: (b, x, hint) => {
    // 0.5 * x * (1 + erf(x / sqrt(2))), as tfjs computes it
    const erf = b.op('Erf', [b.op('Div', [x, b.floats(`${hint}_sqrt2`, [Math.SQRT2], [])], {}, `${hint}_div`)], {}, `${hint}_erf`);
    const cdf = b.op('Mul', [b.op('Add', [erf, b.floats(`${hint}_one`, [1], [])], {}, `${hint}_1p`), b.floats(`${hint}_half`, [0.5], [])], {}, `${hint}_cdf`);
    return b.op('Mul', [x, cdf], {}, hint);
  },
};

/** tfjs activations outside the palette that a tfjs layer config may still carry. */
const ONNX_OTHER_ACTIVATIONS: Record<string, OnnxActivation> = {
  logSoftmax: (b, x, hint) => b.op('LogSoftmax', [x], { axis: A.int(-1) }, hint),
};

/** Applies a tfjs activation by name. */
export function onnxActivation(b: OnnxBuilder, x: string, act: string, hint: string): string {
  const f = Object.hasOwn(ONNX_ACTIVATIONS, act) ? ONNX_ACTIVATIONS[act as ActivationName] : Object.hasOwn(ONNX_OTHER_ACTIVATIONS, act) ? ONNX_OTHER_ACTIVATIONS[act] : undefined;
  if (!f) throw new Error(`activation '${act}' has no ONNX equivalent here`);
  return f(b, x, hint);
}

function nchw<T>(b: OnnxBuilder, x: string, hint: string, f: (xc: string) => T & string): string {
  const t = b.op('Transpose', [x], { perm: A.ints(TO_NCHW) }, `${hint}_nchw`);
  return b.op('Transpose', [f(t)], { perm: A.ints(TO_NHWC) }, `${hint}_nhwc`);
}

function withBias(b: OnnxBuilder, layer: ExportLayer, y: string): string {
  const bias = weight(layer, 'bias');
  return bias ? b.op('Add', [y, b.floats(`${layer.name}_bias`, bias.values, bias.shape)], {}, `${layer.name}_biased`) : y;
}

/** Explicit ONNX pads [top, left, bottom, right] for tfjs padding on an NHWC input shape. */
function convPads(layer: ExportLayer, kernel: [number, number], strides: [number, number], dilation: [number, number]): number[] {
  if (layer.config.padding !== 'same') return [0, 0, 0, 0];
  const [h, w] = [layer.inputShapes[0]![0]!, layer.inputShapes[0]![1]!];
  const ph = samePads(h, kernel[0], strides[0], dilation[0]);
  const pw = samePads(w, kernel[1], strides[1], dilation[1]);
  return [ph[0], pw[0], ph[1], pw[1]];
}

const conv2d: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const k = requireWeight(layer, 'kernel'); // [kh, kw, in, out]
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  const dil = pair(c.dilationRate);
  const w = transposeArray(k.values, k.shape, [3, 2, 0, 1]);
  const inputs = [b.floats(`${layer.name}_W`, w.values, w.shape)];
  const bias = weight(layer, 'bias');
  if (bias) inputs.push(b.floats(`${layer.name}_B`, bias.values, bias.shape));
  const y = nchw(b, x!, layer.name, (xc) =>
    b.op('Conv', [xc, ...inputs], {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      dilations: A.ints(dil),
      pads: A.ints(convPads(layer, kernel, strides, dil)),
      group: A.int(1),
    }, `${layer.name}_conv`),
  );
  return onnxActivation(b, y, activationOf(c), layer.name);
};

const depthwiseConv2d: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const k = requireWeight(layer, 'depthwise_kernel'); // [kh, kw, in, mult]
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  const dil = pair(c.dilationRate);
  // ONNX group conv weight [in*mult, 1, kh, kw]; output channel c*mult+m, as tfjs orders them
  const t = transposeArray(k.values, k.shape, [2, 3, 0, 1]);
  const inputs = [b.floats(`${layer.name}_W`, t.values, [cin * mult, 1, kh, kw])];
  const bias = weight(layer, 'bias');
  if (bias) inputs.push(b.floats(`${layer.name}_B`, bias.values, bias.shape));
  const y = nchw(b, x!, layer.name, (xc) =>
    b.op('Conv', [xc, ...inputs], {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      dilations: A.ints(dil),
      pads: A.ints(convPads(layer, kernel, strides, dil)),
      group: A.int(cin),
    }, `${layer.name}_conv`),
  );
  return onnxActivation(b, y, activationOf(c), layer.name);
};

const conv2dTranspose: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const k = requireWeight(layer, 'kernel'); // [kh, kw, out, in]
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  if (pair(c.dilationRate).some((d) => d !== 1)) throw new Error(`${layer.name}: dilated transposed convolution is not exported`);
  const w = transposeArray(k.values, k.shape, [3, 2, 0, 1]); // [in, out, kh, kw]
  const inputs = [b.floats(`${layer.name}_W`, w.values, w.shape)];
  const bias = weight(layer, 'bias');
  if (bias) inputs.push(b.floats(`${layer.name}_B`, bias.values, bias.shape));
  const { pads, outputPadding } = transposePads(c.padding === 'same', kernel, strides);
  const y = nchw(b, x!, layer.name, (xc) =>
    b.op('ConvTranspose', [xc, ...inputs], {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      pads: A.ints(pads),
      output_padding: A.ints(outputPadding),
    }, `${layer.name}_convt`),
  );
  return onnxActivation(b, y, activationOf(c), layer.name);
};

/** ONNX/PyTorch pads [top, left, bottom, right] and output padding that reproduce tfjs's transposed conv output size. */
export function transposePads(same: boolean, kernel: [number, number], strides: [number, number]): { pads: number[]; outputPadding: number[] } {
  if (!same) {
    // tfjs valid: out = (in - 1) * s + max(k, s)
    return { pads: [0, 0, 0, 0], outputPadding: [Math.max(strides[0] - kernel[0], 0), Math.max(strides[1] - kernel[1], 0)] };
  }
  const total = [Math.max(kernel[0] - strides[0], 0), Math.max(kernel[1] - strides[1], 0)];
  const before = total.map((t) => Math.floor(t / 2));
  return {
    pads: [before[0]!, before[1]!, total[0]! - before[0]!, total[1]! - before[1]!],
    outputPadding: [Math.max(strides[0] - kernel[0], 0), Math.max(strides[1] - kernel[1], 0)],
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): OnnxLowering {
  return (b, layer, [x]) => {
    const c = layer.config;
    const kernel = pair(c.poolSize);
    const strides = pair(c.strides ?? c.poolSize);
    const attrs = { kernel_shape: A.ints(kernel), strides: A.ints(strides), pads: A.ints(convPads(layer, kernel, strides, [1, 1])) };
    if (op === 'AveragePool') Object.assign(attrs, { count_include_pad: A.int(0) });
    return nchw(b, x!, layer.name, (xc) => b.op(op, [xc], attrs, `${layer.name}_pool`));
  };
}

const reduce = (op: 'ReduceMean' | 'ReduceMax', axes: number[]): OnnxLowering => (b, layer, [x]) =>
  b.op(op, [x!], { axes: A.ints(axes), keepdims: A.int(0) }, layer.name);

const dense: OnnxLowering = (b, layer, [x]) => {
  const k = requireWeight(layer, 'kernel');
  const y = withBias(b, layer, b.op('MatMul', [x!, b.floats(`${layer.name}_kernel`, k.values, k.shape)], {}, `${layer.name}_matmul`));
  return onnxActivation(b, y, activationOf(layer.config), layer.name);
};

const batchNorm: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const axis = Array.isArray(c.axis) ? Number(c.axis[0]) : Number(c.axis ?? -1);
  const rank = layer.inputShapes[0]!.length + 1;
  if (axis !== -1 && axis !== rank - 1) throw new Error(`${layer.name}: BatchNormalization over axis ${axis} (not the last) is not exported`);
  const eps = Number(c.epsilon ?? 1e-3);
  const mean = requireWeight(layer, 'moving_mean').values;
  const variance = requireWeight(layer, 'moving_variance').values;
  const gamma = weight(layer, 'gamma')?.values;
  const beta = weight(layer, 'beta')?.values;
  const n = mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + eps);
    scale[i] = s;
    shift[i] = (beta ? beta[i]! : 0) - mean[i]! * s;
  }
  const y = b.op('Mul', [x!, b.floats(`${layer.name}_scale`, scale, [n])], {}, `${layer.name}_mul`);
  return b.op('Add', [y, b.floats(`${layer.name}_shift`, shift, [n])], {}, layer.name);
};

const layerNorm: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const rank = layer.inputShapes[0]!.length + 1;
  const axes = (Array.isArray(c.axis) ? c.axis : [c.axis ?? -1]).map((a) => (Number(a) < 0 ? rank + Number(a) : Number(a)));
  if (axes.length !== 1 || axes[0] !== rank - 1) throw new Error(`${layer.name}: LayerNormalization over axes [${axes}] (not just the last) is not exported`);
  const d = layer.inputShapes[0]![layer.inputShapes[0]!.length - 1]!;
  const gamma = weight(layer, 'gamma')?.values ?? new Float32Array(d).fill(1);
  const beta = weight(layer, 'beta')?.values ?? new Float32Array(d);
  return b.op('LayerNormalization', [x!, b.floats(`${layer.name}_gamma`, gamma, [d]), b.floats(`${layer.name}_beta`, beta, [d])], {
    axis: A.int(-1),
    epsilon: A.float(Number(c.epsilon ?? 1e-3)),
  }, layer.name);
};

const reshapeTo = (b: OnnxBuilder, x: string, shape: readonly number[], hint: string) =>
  b.op('Reshape', [x, b.int64s(`${hint}_shape`, [-1, ...shape])], {}, hint);

const upSampling: OnnxLowering = (b, layer, [x]) => {
  const [sh, sw] = pair(layer.config.size, 2);
  const bilinear = layer.config.interpolation === 'bilinear';
  const scales = b.floats(`${layer.name}_scales`, [1, 1, sh, sw], [4]);
  return nchw(b, x!, layer.name, (xc) =>
    b.op('Resize', [xc, '', scales], {
      mode: A.str(bilinear ? 'linear' : 'nearest'),
      // tfjs resizes with alignCorners = halfPixelCenters = false
      coordinate_transformation_mode: A.str('asymmetric'),
      nearest_mode: A.str('floor'),
    }, `${layer.name}_resize`),
  );
};

const zeroPadding: OnnxLowering = (b, layer, [x]) => {
  const p = layer.config.padding as [[number, number], [number, number]] | number;
  const [[t, bot], [l, r]] = Array.isArray(p) ? p : [[p, p], [p, p]];
  return b.op('Pad', [x!, b.int64s(`${layer.name}_pads`, [0, t, l, 0, 0, bot, r, 0])], { mode: A.str('constant') }, layer.name);
};

const variadic = (op: string): OnnxLowering => (b, layer, inputs) => b.op(op, inputs, {}, layer.name);

const concat: OnnxLowering = (b, layer, inputs) => b.op('Concat', inputs, { axis: A.int(Number(layer.config.axis ?? -1)) }, layer.name);

const embedding: OnnxLowering = (b, layer, [x]) => {
  const e = requireWeight(layer, 'embeddings');
  return b.op('Gather', [b.floats(`${layer.name}_embeddings`, e.values, e.shape), b.op('Cast', [x!], { to: A.int(7) }, `${layer.name}_ids`)], { axis: A.int(0) }, layer.name);
};

/** An activation of ONNX's recurrent ops, with the alpha / beta it takes (where it takes them). */
interface OnnxRnnActivation {
  op: string;
  alpha?: number;
  beta?: number;
}

/**
 * The palette's activations as ONNX recurrent-op activations (the LSTM/GRU/RNN ops take a fixed list);
 * null where ONNX's recurrent ops have none, so the export names the layer and the activation. Keyed by the
 * shared list, so a new activation fails to compile until it is decided here. Elu takes an alpha (1 here).
 */
const ONNX_RNN_ACTIVATIONS: Record<ActivationName, OnnxRnnActivation | null> = {
  linear: { op: 'Affine', alpha: 1, beta: 0 },
  relu: { op: 'Relu' },
  sigmoid: { op: 'Sigmoid' },
  // tfjs's and Keras 2's hard sigmoid, clip(0.2x + 0.5, 0, 1)
  hardSigmoid: { op: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  tanh: { op: 'Tanh' },
  elu: { op: 'Elu', alpha: 1 },
  softsign: { op: 'Softsign' },
  softplus: { op: 'Softplus' },
  softmax: null,
  selu: null,
  swish: null,
  gelu: null,
  relu6: null,
  hardSwish: null,
  mish: null,
};
/** Gate activations of LSTM / GRU outside the palette (shared/layers/recurrent.ts RECURRENT_ACTIVATIONS). */
const ONNX_RNN_OTHER: Record<string, OnnxRnnActivation> = {
  // Keras 3's hard sigmoid, relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)
  hardSigmoidKeras3: { op: 'HardSigmoid', alpha: 1 / 6, beta: 0.5 },
};
const onnxRnnActivation = (a: string): OnnxRnnActivation | undefined =>
  (Object.hasOwn(ONNX_RNN_ACTIVATIONS, a) ? ONNX_RNN_ACTIVATIONS[a as ActivationName] : undefined) ?? (Object.hasOwn(ONNX_RNN_OTHER, a) ? ONNX_RNN_OTHER[a] : undefined);

/** Reorders the gate blocks of a [rows, G*units] tfjs matrix and transposes it to ONNX's [G*units, rows]. */
function gates(values: Float32Array, rows: number, units: number, order: number[]): Float32Array {
  const g = order.length;
  const out = new Float32Array(rows * g * units);
  for (let gi = 0; gi < g; gi++) {
    const src = order[gi]!;
    for (let u = 0; u < units; u++) for (let r = 0; r < rows; r++) out[(gi * units + u) * rows + r] = values[r * g * units + src * units + u]!;
  }
  return out;
}

/**
 * ONNX's [Wb, Rb] from a tfjs bias: [G*u] (Rb stays zero), or a reset-after GRU's [2, G*u] (row 0 the
 * input bias Wb, row 1 the recurrent bias Rb), each reordered to ONNX's gate order.
 */
function gateBias(values: Float32Array | undefined, units: number, order: number[]): Float32Array {
  const gu = order.length * units;
  const out = new Float32Array(2 * gu);
  if (values) {
    for (let row = 0; row < values.length / gu; row++) {
      order.forEach((src, gi) => out.set(values.subarray(row * gu + src * units, row * gu + (src + 1) * units), row * gu + gi * units));
    }
  }
  return out;
}

/** LSTM / GRU / SimpleRNN (optionally Bidirectional) as one ONNX recurrent op. */
function recurrent(kind: 'LSTM' | 'GRU' | 'RNN'): OnnxLowering {
  // tfjs gate order -> ONNX gate order. LSTM: tfjs i,f,c,o -> ONNX i,o,f,c. GRU: z,r,h both.
  const order = kind === 'LSTM' ? [0, 3, 1, 2] : kind === 'GRU' ? [0, 1, 2] : [0];
  return (b, layer, [x]) => {
    const bidi = layer.className === 'Bidirectional';
    const cell = (bidi ? ((layer.config.layer as { config: Record<string, unknown> }).config) : layer.config) as Record<string, unknown>;
    if (cell.goBackwards) throw new Error(`${layer.name}: goBackwards is not exported`);
    const units = Number(cell.units);
    const features = layer.inputShapes[0]![1]!;
    const dirs = bidi ? ['forward/', 'backward/'] : [''];
    const Ws: Float32Array[] = [];
    const Rs: Float32Array[] = [];
    const Bs: Float32Array[] = [];
    for (const d of dirs) {
      Ws.push(gates(requireWeight(layer, `${d}kernel`).values, features, units, order));
      Rs.push(gates(requireWeight(layer, `${d}recurrent_kernel`).values, units, units, order));
      Bs.push(gateBias(weight(layer, `${d}bias`)?.values, units, order));
    }
    const cat = (arrs: Float32Array[]) => {
      const out = new Float32Array(arrs.reduce((a, v) => a + v.length, 0));
      let o = 0;
      for (const a of arrs) {
        out.set(a, o);
        o += a.length;
      }
      return out;
    };
    const G = order.length;
    const n = dirs.length;
    const act = activationOf(cell);
    const rec = activationOf(cell, 'recurrentActivation');
    const acts = kind === 'LSTM' ? [rec, act, act] : kind === 'GRU' ? [rec, act] : [act];
    const onnxActs = acts.map((a) => {
      const o = onnxRnnActivation(a);
      if (!o) throw new Error(`${layer.name}: recurrent activation '${a}' has no ONNX equivalent`);
      return o;
    });
    const allActs = Array.from({ length: n }, () => onnxActs).flat();
    const attrs: Record<string, ReturnType<typeof A.int>> = {
      hidden_size: A.int(units),
      direction: A.str(bidi ? 'bidirectional' : 'forward'),
      activations: A.strs(allActs.map((a) => a.op)),
    };
    // Each function that takes an alpha (a beta) consumes the next value of activation_alpha (activation_beta),
    // in the order of the activations (onnxruntime's reading): the lists hold only those functions' values.
    if (allActs.some((a) => a.beta !== undefined)) {
      attrs.activation_alpha = A.floats(allActs.flatMap((a) => (a.alpha === undefined ? [] : [a.alpha])));
      attrs.activation_beta = A.floats(allActs.flatMap((a) => (a.beta === undefined ? [] : [a.beta])));
    }
    // Keras's reset_after is ONNX's linear_before_reset: r ⊙ (h·Rh + Rbh)
    if (kind === 'GRU') attrs.linear_before_reset = A.int(cell.resetAfter === true ? 1 : 0);
    const xt = b.op('Transpose', [x!], { perm: A.ints([1, 0, 2]) }, `${layer.name}_tnf`);
    const [Y, Yh] = b.opN(kind, [
      xt,
      b.floats(`${layer.name}_W`, cat(Ws), [n, G * units, features]),
      b.floats(`${layer.name}_R`, cat(Rs), [n, G * units, units]),
      b.floats(`${layer.name}_B`, cat(Bs), [n, 2 * G * units]),
    ], attrs, `${layer.name}_${kind.toLowerCase()}`, 2);
    const returnSequences = Boolean(cell.returnSequences);
    // Y: [T, dirs, N, H] -> [N, T, dirs, H]; Y_h: [dirs, N, H] -> [N, dirs, H]
    const y = returnSequences
      ? b.op('Transpose', [Y!], { perm: A.ints([2, 0, 1, 3]) }, `${layer.name}_ntdh`)
      : b.op('Transpose', [Yh!], { perm: A.ints([1, 0, 2]) }, `${layer.name}_ndh`);
    const dirAxis = returnSequences ? 2 : 1;
    const merge = bidi ? String(layer.config.mergeMode ?? 'concat') : 'concat';
    const outShape = layer.outputShape;
    switch (merge) {
      case 'concat':
        return reshapeTo(b, y, outShape, layer.name);
      case 'sum':
        return b.op('ReduceSum', [y, b.int64s(`${layer.name}_axes`, [dirAxis])], { keepdims: A.int(0) }, layer.name);
      case 'ave':
        return b.op('ReduceMean', [y], { axes: A.ints([dirAxis]), keepdims: A.int(0) }, layer.name);
      case 'mul':
        return b.op('ReduceProd', [y], { axes: A.ints([dirAxis]), keepdims: A.int(0) }, layer.name);
      default:
        throw new Error(`${layer.name}: Bidirectional mergeMode '${merge}' is not exported`);
    }
  };
}

/** Our MultiHeadAttention (Keras weight layout), decomposed: projections, scaled dot products, softmax, output projection. */
const multiHeadAttention: OnnxLowering = (b, layer, [query, kv]) => {
  const c = layer.config;
  const h = Number(c.numHeads);
  const kd = Number(c.keyDim);
  const vd = Number(c.valueDim ?? kd) || kd;
  const src = kv ?? query!;
  const n = layer.name;
  const project = (x: string, which: 'query' | 'key' | 'value', dim: number, perm: number[]) => {
    const k = requireWeight(layer, `${which}/kernel`); // [Din, heads, dim]
    let y = b.op('MatMul', [x, b.floats(`${n}_${which}_kernel`, k.values, [k.shape[0]!, h * dim])], {}, `${n}_${which}_mm`);
    const bias = weight(layer, `${which}/bias`);
    if (bias) y = b.op('Add', [y, b.floats(`${n}_${which}_bias`, bias.values, [h * dim])], {}, `${n}_${which}_b`);
    const split = b.op('Reshape', [y, b.int64s(`${n}_${which}_shape`, [0, 0, h, dim])], {}, `${n}_${which}_heads`);
    return b.op('Transpose', [split], { perm: A.ints(perm) }, `${n}_${which}_t`);
  };
  const q = project(query!, 'query', kd, [0, 2, 1, 3]); // [N, H, Tq, K]
  const kt = project(src, 'key', kd, [0, 2, 3, 1]); // [N, H, K, Tk]
  const v = project(src, 'value', vd, [0, 2, 1, 3]); // [N, H, Tk, V]
  let scores = b.op('Mul', [b.op('MatMul', [q, kt], {}, `${n}_qk`), b.floats(`${n}_scale`, [1 / Math.sqrt(kd)], [])], {}, `${n}_scores`);
  if (c.causal) {
    const tq = layer.inputShapes[0]![0]!;
    const tk = (layer.inputShapes[1] ?? layer.inputShapes[0]!)[0]!;
    const mask = Float32Array.from({ length: tq * tk }, (_, i) => (i % tk > Math.floor(i / tk) ? -1e9 : 0));
    scores = b.op('Add', [scores, b.floats(`${n}_causal_mask`, mask, [tq, tk])], {}, `${n}_masked`);
  }
  const probs = b.op('Softmax', [scores], { axis: A.int(-1) }, `${n}_probs`);
  const o = b.op('Transpose', [b.op('MatMul', [probs, v], {}, `${n}_pv`)], { perm: A.ints([0, 2, 1, 3]) }, `${n}_o_t`);
  const merged = b.op('Reshape', [o, b.int64s(`${n}_merge_shape`, [0, 0, h * vd])], {}, `${n}_merged`);
  const wo = requireWeight(layer, 'attention_output/kernel'); // [heads, V, D]
  let out = b.op('MatMul', [merged, b.floats(`${n}_out_kernel`, wo.values, [h * vd, wo.shape[2]!])], {}, `${n}_out_mm`);
  const bo = weight(layer, 'attention_output/bias');
  if (bo) out = b.op('Add', [out, b.floats(`${n}_out_bias`, bo.values, bo.shape)], {}, n);
  return out;
};

const positionalEmbedding: OnnxLowering = (b, layer, [x]) => {
  const e = requireWeight(layer, 'embeddings');
  return b.op('Add', [x!, b.floats(`${layer.name}_embeddings`, e.values, e.shape)], {}, layer.name);
};

/** Keras's ReLU: x above the threshold (capped at maxValue), negativeSlope · (x − threshold) at or below it. */
const kerasRelu: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const max = c.maxValue == null ? null : Number(c.maxValue);
  const slope = Number(c.negativeSlope ?? 0);
  const threshold = Number(c.threshold ?? 0);
  const n = layer.name;
  if (slope === 0 && threshold === 0) return max === null ? b.op('Relu', [x!], {}, n) : clip(b, x!, 0, max, n);
  let y = threshold === 0
    ? b.op('Relu', [x!], {}, `${n}_relu`)
    : b.op('Where', [b.op('Greater', [x!, b.floats(`${n}_threshold`, [threshold], [])], {}, `${n}_above`), x!, b.floats(`${n}_zero`, [0], [])], {}, `${n}_kept`);
  if (max !== null) y = clip(b, y, 0, max, `${n}_capped`);
  if (slope === 0) return b.op('Identity', [y], {}, n);
  const below = b.op('Relu', [b.op('Sub', [b.floats(`${n}_t`, [threshold], []), x!], {}, `${n}_neg`)], {}, `${n}_below`);
  return b.op('Sub', [y, b.op('Mul', [below, b.floats(`${n}_slope`, [slope], [])], {}, `${n}_sloped`)], {}, n);
};

/** PReLU: its alpha weight keeps tfjs's layout (the input's, 1 on shared axes), which ONNX broadcasts over [N, …] as tfjs does. */
const prelu: OnnxLowering = (b, layer, [x]) => {
  const alpha = requireWeight(layer, 'alpha');
  return b.op('PRelu', [x!, b.floats(`${layer.name}_alpha`, alpha.values, alpha.shape)], {}, layer.name);
};

/** Runs `f` on the [N, F, T] (channels-first) view of a [N, T, F] sequence and turns its result back. */
function ncl(b: OnnxBuilder, x: string, hint: string, f: (xc: string) => string): string {
  const t = b.op('Transpose', [x], { perm: A.ints([0, 2, 1]) }, `${hint}_nft`);
  return b.op('Transpose', [f(t)], { perm: A.ints([0, 2, 1]) }, `${hint}_ntf`);
}

/** Explicit ONNX pads [start, end] for tfjs padding along a sequence ('valid', 'same' or 'causal'). */
function pads1d(layer: ExportLayer, kernel: number, stride: number, dilation: number): number[] {
  // Keras's 'causal' (Conv1D): (kernel − 1) · dilation zeros before the start only
  if (layer.config.padding === 'causal') return [(kernel - 1) * dilation, 0];
  return layer.config.padding === 'same' ? samePads(layer.inputShapes[0]![0]!, kernel, stride, dilation) : [0, 0];
}

const conv1d: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const k = requireWeight(layer, 'kernel'); // [k, in, out]
  const [kernel] = pair(c.kernelSize);
  const [stride] = pair(c.strides);
  const [dil] = pair(c.dilationRate);
  const w = transposeArray(k.values, k.shape, [2, 1, 0]); // [out, in, k]
  const inputs = [b.floats(`${layer.name}_W`, w.values, w.shape)];
  const bias = weight(layer, 'bias');
  if (bias) inputs.push(b.floats(`${layer.name}_B`, bias.values, bias.shape));
  const y = ncl(b, x!, layer.name, (xc) =>
    b.op('Conv', [xc, ...inputs], { kernel_shape: A.ints([kernel]), strides: A.ints([stride]), dilations: A.ints([dil]), pads: A.ints(pads1d(layer, kernel, stride, dil)), group: A.int(1) }, `${layer.name}_conv`),
  );
  return onnxActivation(b, y, activationOf(c), layer.name);
};

function pool1d(op: 'MaxPool' | 'AveragePool'): OnnxLowering {
  return (b, layer, [x]) => {
    const [kernel] = pair(layer.config.poolSize);
    const [stride] = pair(layer.config.strides ?? layer.config.poolSize);
    const attrs = { kernel_shape: A.ints([kernel]), strides: A.ints([stride]), pads: A.ints(pads1d(layer, kernel, stride, 1)) };
    if (op === 'AveragePool') Object.assign(attrs, { count_include_pad: A.int(0) });
    return ncl(b, x!, layer.name, (xc) => b.op(op, [xc], attrs, `${layer.name}_pool`));
  };
}

const separableConv2d: OnnxLowering = (b, layer, [x]) => {
  const c = layer.config;
  const dk = requireWeight(layer, 'depthwise_kernel'); // [kh, kw, in, mult]
  const pk = requireWeight(layer, 'pointwise_kernel'); // [1, 1, in*mult, out]
  const [kh, kw, cin, mult] = dk.shape as [number, number, number, number];
  const kernel = pair(c.kernelSize);
  const strides = pair(c.strides);
  const dil = pair(c.dilationRate);
  const dw = transposeArray(dk.values, dk.shape, [2, 3, 0, 1]);
  const pw = transposeArray(pk.values, pk.shape, [3, 2, 0, 1]); // [out, in*mult, 1, 1]
  const pwInputs = [b.floats(`${layer.name}_PW`, pw.values, pw.shape)];
  const bias = weight(layer, 'bias');
  if (bias) pwInputs.push(b.floats(`${layer.name}_B`, bias.values, bias.shape));
  const y = nchw(b, x!, layer.name, (xc) => {
    const d = b.op('Conv', [xc, b.floats(`${layer.name}_DW`, dw.values, [cin * mult, 1, kh, kw])], {
      kernel_shape: A.ints(kernel),
      strides: A.ints(strides),
      dilations: A.ints(dil),
      pads: A.ints(convPads(layer, kernel, strides, dil)),
      group: A.int(cin),
    }, `${layer.name}_depthwise`);
    return b.op('Conv', [d, ...pwInputs], { kernel_shape: A.ints([1, 1]), group: A.int(1) }, `${layer.name}_pointwise`);
  });
  return onnxActivation(b, y, activationOf(c), layer.name);
};

const slice = (b: OnnxBuilder, x: string, starts: number[], ends: number[], axes: number[], hint: string) =>
  b.op('Slice', [x, b.int64s(`${hint}_starts`, starts), b.int64s(`${hint}_ends`, ends), b.int64s(`${hint}_axes`, axes)], {}, hint);

const cropping1d: OnnxLowering = (b, layer, [x]) => {
  const [a, e] = layer.config.cropping as [number, number];
  return slice(b, x!, [a], [layer.inputShapes[0]![0]! - e], [1], layer.name);
};

const cropping2d: OnnxLowering = (b, layer, [x]) => {
  const [[t, bot], [l, r]] = layer.config.cropping as [[number, number], [number, number]];
  const [h, w] = layer.inputShapes[0]!;
  return slice(b, x!, [t, l], [h! - bot, w! - r], [1, 2], layer.name);
};

/** UpSampling1D: [N, T, F] -> [N, T, 1, F] -> (broadcast) [N, T, size, F] -> [N, T·size, F]. */
const upSampling1d: OnnxLowering = (b, layer, [x]) => {
  const size = Number(layer.config.size);
  const u = b.op('Unsqueeze', [x!, b.int64s(`${layer.name}_axis`, [2])], {}, `${layer.name}_unsq`);
  const e = b.op('Expand', [u, b.int64s(`${layer.name}_reps`, [1, 1, size, 1])], {}, `${layer.name}_rep`);
  return reshapeTo(b, e, layer.outputShape, layer.name);
};

const identity: OnnxLowering = (b, layer, [x]) => b.op('Identity', [x!], {}, layer.name);

/** RepeatVector: [N, F] -> [N, 1, F] -> (broadcast) [N, n, F]. */
const repeatVector: OnnxLowering = (b, layer, [x]) => {
  const u = b.op('Unsqueeze', [x!, b.int64s(`${layer.name}_axis`, [1])], {}, `${layer.name}_unsq`);
  return b.op('Expand', [u, b.int64s(`${layer.name}_reps`, [1, Number(layer.config.n), 1])], {}, layer.name);
};

/** x / sqrt(max(Σ x², 1e-7)) along `axis` (tfjs's l2Normalize, as its Dot layer uses it). */
function l2Normalize(b: OnnxBuilder, x: string, axis: number, hint: string): string {
  const ss = b.op('ReduceSum', [b.op('Mul', [x, x], {}, `${hint}_sq`), b.int64s(`${hint}_axes`, [axis])], { keepdims: A.int(1) }, `${hint}_ss`);
  const norm = b.op('Sqrt', [b.op('Max', [ss, b.floats(`${hint}_eps`, [1e-7], [])], {}, `${hint}_clamped`)], {}, `${hint}_norm`);
  return b.op('Div', [x, norm], {}, hint);
}

/** Keras's Dot on vectors ([N, 1]) or sequences (an Einsum contracting the chosen axis of both). */
const dot: OnnxLowering = (b, layer, [x, y]) => {
  const a = layer.inputShapes[0]!;
  const rank = a.length;
  const axes = Number(Array.isArray(layer.config.axes) ? layer.config.axes[0] : (layer.config.axes ?? -1));
  const ax = axes < 0 ? rank + axes : axes - 1; // sample axis
  let [p, q] = [x!, y!];
  if (layer.config.normalize) {
    p = l2Normalize(b, p, ax + 1, `${layer.name}_a_l2`);
    q = l2Normalize(b, q, ax + 1, `${layer.name}_b_l2`);
  }
  if (rank === 1) return b.op('ReduceSum', [b.op('Mul', [p, q], {}, `${layer.name}_mul`), b.int64s(`${layer.name}_sum_axes`, [1])], { keepdims: A.int(1) }, layer.name);
  const la = ['i', 'j'];
  const lb = ['k', 'l'];
  lb[ax] = la[ax]!;
  const out = `n${la.filter((_, i) => i !== ax).join('')}${lb.filter((_, i) => i !== ax).join('')}`;
  return b.op('Einsum', [p, q], { equation: A.str(`n${la.join('')},n${lb.join('')}->${out}`) }, layer.name);
};

/** Keras's Normalization: (x − mean) / max(√variance, 1e-7) per channel (last axis), as constants. */
const normalizationLayer: OnnxLowering = (b, layer, [x]) => {
  const mean = requireWeight(layer, 'mean').values;
  const variance = requireWeight(layer, 'variance').values;
  const std = Float32Array.from(variance, (v) => Math.max(Math.sqrt(v), 1e-7));
  const centred = b.op('Sub', [x!, b.floats(`${layer.name}_mean`, mean, [mean.length])], {}, `${layer.name}_centred`);
  return b.op('Div', [centred, b.floats(`${layer.name}_std`, std, [std.length])], {}, layer.name);
};

/** Registry type -> ONNX lowering (or why there is none). */
export const ONNX_LAYERS: Record<string, Coverage<OnnxLowering>> = {
  Input: { supported: (_b, layer) => layer.name },
  Conv2D: { supported: conv2d },
  Conv2DTranspose: { supported: conv2dTranspose },
  DepthwiseConv2D: { supported: depthwiseConv2d },
  MaxPool2D: { supported: pool('MaxPool') },
  AvgPool2D: { supported: pool('AveragePool') },
  GlobalAvgPool2D: { supported: reduce('ReduceMean', [1, 2]) },
  GlobalMaxPool2D: { supported: reduce('ReduceMax', [1, 2]) },
  GlobalAvgPool1D: { supported: reduce('ReduceMean', [1]) },
  GlobalMaxPool1D: { supported: reduce('ReduceMax', [1]) },
  Flatten: { supported: (b, layer, [x]) => b.op('Flatten', [x!], { axis: A.int(1) }, layer.name) },
  Dense: { supported: dense },
  Dropout: { supported: (b, layer, [x]) => b.op('Identity', [x!], {}, layer.name) },
  BatchNormalization: { supported: batchNorm },
  LayerNormalization: { supported: layerNorm },
  Activation: { supported: (b, layer, [x]) => b.op('Identity', [onnxActivation(b, x!, activationOf(layer.config), `${layer.name}_act`)], {}, layer.name) },
  Reshape: { supported: (b, layer, [x]) => reshapeTo(b, x!, layer.outputShape, layer.name) },
  Permute: { supported: (b, layer, [x]) => b.op('Transpose', [x!], { perm: A.ints([0, ...(layer.config.dims as number[])]) }, layer.name) },
  UpSampling2D: { supported: upSampling },
  ZeroPadding2D: { supported: zeroPadding },
  SimpleRNN: { supported: recurrent('RNN') },
  LSTM: { supported: recurrent('LSTM') },
  GRU: { supported: recurrent('GRU') },
  Embedding: { supported: embedding },
  Add: { supported: variadic('Sum') },
  Multiply: {
    supported: (b, layer, inputs) => inputs.slice(1).reduce((acc, x, i) => b.op('Mul', [acc, x], {}, i === inputs.length - 2 ? layer.name : `${layer.name}_${i}`), inputs[0]!),
  },
  Average: { supported: variadic('Mean') },
  Maximum: { supported: variadic('Max') },
  Minimum: { supported: variadic('Min') },
  Subtract: { supported: (b, layer, [x, y]) => b.op('Sub', [x!, y!], {}, layer.name) },
  Concatenate: { supported: concat },
  MultiHeadAttention: { supported: multiHeadAttention },
  PositionalEmbedding: { supported: positionalEmbedding },
  ReLU: { supported: kerasRelu },
  LeakyReLU: { supported: (b, layer, [x]) => b.op('LeakyRelu', [x!], { alpha: A.float(Number(layer.config.alpha ?? 0.3)) }, layer.name) },
  PReLU: { supported: prelu },
  ELU: { supported: (b, layer, [x]) => b.op('Elu', [x!], { alpha: A.float(Number(layer.config.alpha ?? 1)) }, layer.name) },
  Softmax: { supported: (b, layer, [x]) => b.op('Softmax', [x!], { axis: A.int(Number(layer.config.axis ?? -1)) }, layer.name) },
  Conv1D: { supported: conv1d },
  SeparableConv2D: { supported: separableConv2d },
  MaxPool1D: { supported: pool1d('MaxPool') },
  AvgPool1D: { supported: pool1d('AveragePool') },
  ZeroPadding1D: {
    supported: (b, layer, [x]) => {
      const [l, r] = layer.config.padding as [number, number];
      return b.op('Pad', [x!, b.int64s(`${layer.name}_pads`, [0, l, 0, 0, r, 0])], { mode: A.str('constant') }, layer.name);
    },
  },
  Cropping1D: { supported: cropping1d },
  Cropping2D: { supported: cropping2d },
  UpSampling1D: { supported: upSampling1d },
  // training-only noise: the identity at inference
  SpatialDropout1D: { supported: identity },
  SpatialDropout2D: { supported: identity },
  GaussianNoise: { supported: identity },
  GaussianDropout: { supported: identity },
  RepeatVector: { supported: repeatVector },
  Dot: { supported: dot },
  Rescaling: {
    supported: (b, layer, [x]) =>
      b.op('Add', [b.op('Mul', [x!, b.floats(`${layer.name}_scale`, [Number(layer.config.scale ?? 1)], [])], {}, `${layer.name}_scaled`), b.floats(`${layer.name}_offset`, [Number(layer.config.offset ?? 0)], [])], {}, layer.name),
  },
  Normalization: { supported: normalizationLayer },
};
