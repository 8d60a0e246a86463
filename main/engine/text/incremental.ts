/**
 * Incremental inference for causal language models: a key/value cache in plain TypeScript on
 * Float32Arrays, so each new token costs one position's worth of arithmetic instead of a forward pass
 * of the whole T-token window through tfjs.
 *
 * `planIncremental(model)` walks the tfjs graph from its output back to its input (topological order)
 * and accepts only layers whose output at position t depends on positions <= t in a way we can compute
 * one position at a time: InputLayer, Embedding, PositionalEmbedding, LayerNormalization,
 * BatchNormalization (inference statistics), Dense on the last axis, Activation, Dropout (identity at
 * inference), Add / Multiply / Average / Concatenate on the last axis, and causal self-attention
 * (our MultiHeadAttention with causal: true and one input). Anything else (recurrent layers,
 * convolutions, Flatten, pooling, reshapes, non-causal or cross-attention) makes the plan report why it
 * cannot be used; generate() then keeps the full-window tfjs path.
 *
 * `loadIncremental(model)` reads every weight once (await tensor.data(), never dataSync, so it works on
 * backends that only read asynchronously) and returns an `IncrementalModel`: `feed(ids)` runs new
 * positions through every layer, each attention layer appending its keys and values to its cache and
 * attending over all cached positions; `reset()` empties the caches.
 *
 * The math is that of the tfjs layers (main/engine/compile/custom/classes.ts for attention and
 * positional embedding; Keras weight layouts query/kernel [D, heads, dim], attention_output/kernel
 * [heads, valueDim, D]; the causal mask leaves exactly positions <= t; GELU is tfjs's erf form with
 * tfjs's erf approximation), computed in double precision and stored as float32, so logits agree with
 * the tfjs model's to ~1e-6.
 *
 * Context beyond T tokens (`ContextWindow`): positions are learned absolute embeddings, so cached keys
 * and values are only valid while the window does not move. The window starts as the last T tokens of
 * the prompt (all of it when shorter) and grows by one position per token; when it is full (T tokens)
 * and another token must be read, it restarts from the last `keep` = floor(T/2) tokens, which are
 * re-read (prefilled) at positions 0…keep-1, and the new token takes position keep. So the model sees
 * between keep+1 and T tokens of context, and the re-read costs keep positions every T-keep tokens
 * (about one extra position per token, amortised). Within T tokens this equals the full-window path
 * exactly; beyond T the full-window path always sees the last T tokens (and pays a whole window per
 * token), so long continuations may differ.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { erf, SELU_SCALE, SELU_SCALEALPHA } from '../tfjsScalar';

/** Why a model cannot take the incremental path (a sentence naming the layer and the reason). */
export interface PlanRefusal {
  ok: false;
  reason: string;
}

/** The layers of a model that can run incrementally, in topological order, before weights are read. */
export interface IncrementalPlan {
  ok: true;
  /** Window length T (the model's input length). */
  T: number;
  /** Output features per position (the vocabulary for a language model). */
  outputDim: number;
  steps: PlanStep[];
  /** Number of value slots (one per distinct tensor); slot 0 holds the token ids. */
  slots: number[];
  outputSlot: number;
}

export type Activation = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'hardSigmoid' | 'tanh' | 'softmax' | 'logSoftmax' | 'elu' | 'selu' | 'softplus' | 'softsign' | 'swish' | 'gelu' | 'gelu_new' | 'mish';
/** The activations the incremental path computes (tfjs's names). */
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'relu6', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax', 'logSoftmax', 'elu', 'selu', 'softplus', 'softsign', 'swish', 'gelu', 'gelu_new', 'mish'];

/** One layer of the plan: its kind, the layer (to read weights from), input slots and output slot. */
export interface PlanStep {
  kind: 'embedding' | 'positional' | 'layerNorm' | 'batchNorm' | 'dense' | 'activation' | 'add' | 'multiply' | 'average' | 'concat' | 'attention';
  layer: tfjs.layers.Layer;
  ins: number[];
  out: number;
}

type Config = Record<string, unknown>;

const refuse = (reason: string): PlanRefusal => ({ ok: false, reason });

function activationOf(config: Config, layer: string): Activation | string {
  const a = config.activation;
  const name = typeof a === 'string' ? a : a && typeof a === 'object' && typeof (a as { className?: unknown }).className === 'string' ? (a as { className: string }).className : 'linear';
  return (ACTIVATIONS as readonly string[]).includes(name) ? (name as Activation) : `layer '${layer}' uses activation '${name}', which the incremental path does not compute`;
}

/** True when `axis` (a number or [number], as LayerNormalization/BatchNormalization configs hold it) is the last of `rank` axes. */
function isLastAxis(axis: unknown, rank: number): boolean {
  const a = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : null) : axis;
  return a === -1 || a === rank - 1;
}

/**
 * Builds the plan for `model`, or says why it cannot run incrementally. Reads no weights.
 */
export function planIncremental(model: tfjs.LayersModel): IncrementalPlan | PlanRefusal {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return refuse(`the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the incremental path takes one token input and one output`);
  const input = model.inputs[0]!;
  const T = input.shape[1];
  if (input.shape.length !== 2 || typeof T !== 'number') return refuse(`the model's input is ${JSON.stringify(input.shape.slice(1))}, not a window of token ids [T]`);
  const output = model.outputs[0]!;
  const outputDim = output.shape[2];
  if (output.shape.length !== 3 || output.shape[1] !== T || typeof outputDim !== 'number') return refuse(`the model's output is ${JSON.stringify(output.shape.slice(1))}, not one vector per position [${T}, features]`);

  const slotOf = new Map<number, number>(); // SymbolicTensor id -> slot
  const slots: number[] = [1]; // slot 0: the token ids
  const steps: PlanStep[] = [];
  const visiting = new Set<number>();
  let refusal: PlanRefusal | null = null;

  const visit = (st: tfjs.SymbolicTensor): number => {
    const known = slotOf.get(st.id);
    if (known !== undefined) return known;
    if (refusal) return -1;
    if (visiting.has(st.id)) {
      refusal = refuse(`the graph has a cycle at '${st.sourceLayer.name}'`);
      return -1;
    }
    visiting.add(st.id);
    const slot = build(st);
    visiting.delete(st.id);
    if (slot >= 0) slotOf.set(st.id, slot);
    return slot;
  };

  const newSlot = (width: number) => slots.push(width) - 1;

  const build = (st: tfjs.SymbolicTensor): number => {
    const layer = st.sourceLayer;
    const cls = layer.getClassName();
    const name = layer.name;
    const fail = (why: string) => {
      refusal ??= refuse(`layer '${name}' (${cls}) ${why}`);
      return -1;
    };
    if (cls === 'InputLayer') return st.id === input.id ? 0 : fail('is not the model input');
    const config = layer.getConfig() as Config;
    const ins = st.inputs.map((i) => visit(i));
    if (refusal) return -1;
    const inShapes = st.inputs.map((i) => i.shape);
    const width = st.shape[st.shape.length - 1];
    const seqOut = st.shape.length === 3 && st.shape[1] === T && typeof width === 'number';
    const seqIns = inShapes.every((s) => s.length === 3 && s[1] === T && typeof s[2] === 'number');
    if (cls === 'Embedding') {
      if (ins[0] !== 0) return fail('reads something other than the token input');
      if (config.maskZero === true) return fail('masks token 0 (maskZero), which the incremental path does not model');
      if (!seqOut) return fail(`outputs ${JSON.stringify(st.shape.slice(1))}, not [${T}, features]`);
      const slot = newSlot(width);
      steps.push({ kind: 'embedding', layer, ins, out: slot });
      return slot;
    }
    if (ins.includes(0)) return fail('reads the raw token ids (only an Embedding can)');
    if (!seqOut || !seqIns) return fail(`maps ${inShapes.map((s) => JSON.stringify(s.slice(1))).join(', ')} to ${JSON.stringify(st.shape.slice(1))}; the incremental path needs [${T}, features] throughout`);
    const d0 = inShapes[0]![2] as number;
    switch (cls) {
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'GaussianDropout':
      case 'GaussianNoise':
      case 'AlphaDropout':
        return ins[0]!; // identity at inference
      case 'PositionalEmbedding': {
        const len = config.sequenceLength;
        if (len !== T) return fail(`has sequenceLength ${String(len)}, not the window's ${T}`);
        const slot = newSlot(width);
        steps.push({ kind: 'positional', layer, ins, out: slot });
        return slot;
      }
      case 'LayerNormalization':
      case 'BatchNormalization': {
        if (!isLastAxis(config.axis, 3)) return fail(`normalises over axis ${JSON.stringify(config.axis)}; the incremental path takes the last axis only`);
        const slot = newSlot(width);
        steps.push({ kind: cls === 'LayerNormalization' ? 'layerNorm' : 'batchNorm', layer, ins, out: slot });
        return slot;
      }
      case 'Dense':
      case 'Activation': {
        const act = activationOf(config, name);
        if (!(ACTIVATIONS as readonly string[]).includes(act)) {
          refusal ??= refuse(act);
          return -1;
        }
        const slot = newSlot(width);
        steps.push({ kind: cls === 'Dense' ? 'dense' : 'activation', layer, ins, out: slot });
        return slot;
      }
      case 'Add':
      case 'Multiply':
      case 'Average': {
        if (inShapes.some((s) => s[2] !== width)) return fail(`merges inputs of different widths (${inShapes.map((s) => s[2]).join(', ')})`);
        const slot = newSlot(width);
        steps.push({ kind: cls === 'Add' ? 'add' : cls === 'Multiply' ? 'multiply' : 'average', layer, ins, out: slot });
        return slot;
      }
      case 'Concatenate': {
        if (!isLastAxis(config.axis, 3)) return fail(`joins along axis ${String(config.axis)}; the incremental path takes the last axis only`);
        const slot = newSlot(width);
        steps.push({ kind: 'concat', layer, ins, out: slot });
        return slot;
      }
      case 'MultiHeadAttention': {
        if (config.causal !== true) return fail('is not causal: every position sees later ones, so it cannot run one token at a time');
        if (ins.length > 1 && !st.inputs.every((i) => i.id === st.inputs[0]!.id)) return fail('is cross-attention (its keys and values come from another sequence)');
        if (width !== d0) return fail(`outputs ${width} features from ${d0}`);
        const slot = newSlot(width);
        steps.push({ kind: 'attention', layer, ins: [ins[0]!], out: slot });
        return slot;
      }
      default:
        return fail('is not one the incremental path computes position by position');
    }
  };

  const outputSlot = visit(output);
  if (refusal) return refusal;
  if (outputSlot === 0) return refuse('the model outputs its token ids unchanged');
  return { ok: true, T, outputDim, steps, slots, outputSlot };
}

// ---------------------------------------------------------------------------------------------------
// Kernels on Float32Arrays (rows × width, row-major)

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Applies `act` in place to `rows` rows of `width` values (softmax and logSoftmax per row), as tfjs computes it. */
export function activate(act: Activation, a: Float32Array, rows: number, width: number): void {
  const n = rows * width;
  switch (act) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < n; i++) if (!(a[i]! > 0)) a[i] = 0;
      return;
    case 'relu6':
      for (let i = 0; i < n; i++) a[i] = Math.min(6, Math.max(0, a[i]!));
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) a[i] = 1 / (1 + Math.exp(-a[i]!));
      return;
    case 'hardSigmoid':
      for (let i = 0; i < n; i++) a[i] = Math.min(1, Math.max(0, 0.5 + 0.2 * a[i]!));
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) a[i] = Math.tanh(a[i]!);
      return;
    case 'elu':
      for (let i = 0; i < n; i++) a[i] = a[i]! > 0 ? a[i]! : Math.expm1(a[i]!);
      return;
    case 'selu':
      for (let i = 0; i < n; i++) a[i] = a[i]! > 0 ? SELU_SCALE * a[i]! : SELU_SCALEALPHA * Math.expm1(a[i]!);
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) a[i] = softplus(a[i]!);
      return;
    case 'softsign':
      for (let i = 0; i < n; i++) a[i] = a[i]! / (Math.abs(a[i]!) + 1);
      return;
    case 'swish':
      for (let i = 0; i < n; i++) a[i] = a[i]! / (1 + Math.exp(-a[i]!));
      return;
    case 'mish':
      for (let i = 0; i < n; i++) a[i] = a[i]! * Math.tanh(softplus(a[i]!));
      return;
    case 'gelu':
      for (let i = 0; i < n; i++) a[i] = a[i]! * 0.5 * (1 + erf(a[i]! / Math.SQRT2));
      return;
    case 'gelu_new':
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        a[i] = 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
      }
      return;
    case 'softmax':
    case 'logSoftmax':
      for (let r = 0; r < rows; r++) {
        const o = r * width;
        let max = -Infinity;
        for (let j = 0; j < width; j++) max = Math.max(max, a[o + j]!);
        let sum = 0;
        for (let j = 0; j < width; j++) sum += Math.exp(a[o + j]! - max);
        if (act === 'softmax') for (let j = 0; j < width; j++) a[o + j] = Math.exp(a[o + j]! - max) / sum;
        else {
          const lse = max + Math.log(sum);
          for (let j = 0; j < width; j++) a[o + j] = a[o + j]! - lse;
        }
      }
      return;
  }
}

/** out[rows × m] = x[rows × k] · w[k × m] (+ bias[m]). */
function matmul(x: Float32Array, rows: number, k: number, w: Float32Array, m: number, bias: Float32Array | null, out: Float32Array): void {
  let r = 0;
  // Four rows per pass over the weights (a prefill): each weight read once for four outputs.
  for (; r + 3 < rows; r += 4) {
    const o0 = r * m;
    const o1 = o0 + m;
    const o2 = o1 + m;
    const o3 = o2 + m;
    for (let j = 0; j < m; j++) {
      const b = bias ? bias[j]! : 0;
      out[o0 + j] = b;
      out[o1 + j] = b;
      out[o2 + j] = b;
      out[o3 + j] = b;
    }
    const x0 = r * k;
    const x1 = x0 + k;
    const x2 = x1 + k;
    const x3 = x2 + k;
    for (let i = 0; i < k; i++) {
      const a0 = x[x0 + i]!;
      const a1 = x[x1 + i]!;
      const a2 = x[x2 + i]!;
      const a3 = x[x3 + i]!;
      const wi = i * m;
      for (let j = 0; j < m; j++) {
        const wv = w[wi + j]!;
        out[o0 + j] = out[o0 + j]! + a0 * wv;
        out[o1 + j] = out[o1 + j]! + a1 * wv;
        out[o2 + j] = out[o2 + j]! + a2 * wv;
        out[o3 + j] = out[o3 + j]! + a3 * wv;
      }
    }
  }
  for (; r < rows; r++) {
    const o = r * m;
    if (bias) for (let j = 0; j < m; j++) out[o + j] = bias[j]!;
    else out.fill(0, o, o + m);
    const xo = r * k;
    let i = 0;
    // Two input features per pass: half the stores to the output row.
    for (; i + 1 < k; i += 2) {
      const a0 = x[xo + i]!;
      const a1 = x[xo + i + 1]!;
      const w0 = i * m;
      const w1 = w0 + m;
      for (let j = 0; j < m; j++) out[o + j] = out[o + j]! + a0 * w[w0 + j]! + a1 * w[w1 + j]!;
    }
    if (i < k) {
      const a0 = x[xo + i]!;
      const w0 = i * m;
      for (let j = 0; j < m; j++) out[o + j] = out[o + j]! + a0 * w[w0 + j]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Loaded steps

interface Attention {
  heads: number;
  keyDim: number;
  valueDim: number;
  wq: Float32Array;
  bq: Float32Array | null;
  wk: Float32Array;
  bk: Float32Array | null;
  wv: Float32Array;
  bv: Float32Array | null;
  wo: Float32Array;
  bo: Float32Array | null;
  /** [T, heads·keyDim] and [T, heads·valueDim]: the keys and values of every position read so far. */
  kCache: Float32Array;
  vCache: Float32Array;
  /** Scratch: queries of the new rows, merged head outputs, scores over the window. */
  q: Float32Array;
  o: Float32Array;
  scores: Float64Array;
}

type Step =
  | { kind: 'embedding'; in: number; out: number; d: number; vocab: number; table: Float32Array; layer: string }
  | { kind: 'positional'; in: number; out: number; d: number; table: Float32Array }
  | { kind: 'layerNorm'; in: number; out: number; d: number; eps: number; gamma: Float32Array | null; beta: Float32Array | null }
  | { kind: 'batchNorm'; in: number; out: number; d: number; mean: Float32Array; invStd: Float32Array; gamma: Float32Array | null; beta: Float32Array | null }
  | { kind: 'dense'; in: number; out: number; din: number; dout: number; kernel: Float32Array; bias: Float32Array | null; act: Activation }
  | { kind: 'activation'; in: number; out: number; d: number; act: Activation }
  | { kind: 'add' | 'multiply' | 'average'; ins: number[]; out: number; d: number }
  | { kind: 'concat'; ins: number[]; out: number; widths: number[] }
  | ({ kind: 'attention'; in: number; out: number; d: number } & Attention);

async function readWeight(layer: tfjs.layers.Layer, key: string, expectSize: number): Promise<Float32Array> {
  const v = layer.weights.find((w) => w.originalName === `${layer.name}/${key}` || w.originalName.endsWith(`/${key}`) || w.originalName === key);
  if (!v) throw new Error(`layer '${layer.name}' has no weight '${key}' (it has ${layer.weights.map((w) => w.originalName).join(', ') || 'none'})`);
  const data = await v.read().data();
  if (!(data instanceof Float32Array)) throw new Error(`weight ${v.originalName} of layer '${layer.name}' is ${v.dtype}, not float32`);
  if (data.length !== expectSize) throw new Error(`weight ${v.originalName} of layer '${layer.name}' has ${data.length} values, expected ${expectSize}`);
  return new Float32Array(data); // a copy: the backend may hand out its own buffer
}

const hasWeight = (layer: tfjs.layers.Layer, key: string) => layer.weights.some((w) => w.originalName === `${layer.name}/${key}` || w.originalName.endsWith(`/${key}`));

/**
 * A language model ready for incremental inference: weights read, caches for T positions. One
 * sequence at a time (batch 1).
 */
export class IncrementalModel {
  /** Positions read so far (the cache length). */
  private len = 0;
  private readonly buffers: Float32Array[];
  private rowsAllocated = 0;

  private constructor(
    readonly T: number,
    readonly outputDim: number,
    private readonly steps: Step[],
    private readonly widths: number[],
    private readonly outputSlot: number,
  ) {
    this.buffers = widths.map(() => new Float32Array(0));
  }

  /** Plans `model` and reads its weights; or the reason it cannot run incrementally. */
  static async load(model: tfjs.LayersModel): Promise<IncrementalModel | PlanRefusal> {
    const plan = planIncremental(model);
    if (!plan.ok) return plan;
    const T = plan.T;
    const w = plan.slots;
    const steps: Step[] = [];
    for (const s of plan.steps) {
      const c = s.layer.getConfig() as Config;
      const l = s.layer;
      const d = w[s.out]!;
      const din = w[s.ins[0]!]!;
      switch (s.kind) {
        case 'embedding': {
          const vocab = Number(c.inputDim);
          steps.push({ kind: 'embedding', in: 0, out: s.out, d, vocab, table: await readWeight(l, 'embeddings', vocab * d), layer: l.name });
          break;
        }
        case 'positional':
          steps.push({ kind: 'positional', in: s.ins[0]!, out: s.out, d, table: await readWeight(l, 'embeddings', T * d) });
          break;
        case 'layerNorm':
          steps.push({
            kind: 'layerNorm',
            in: s.ins[0]!,
            out: s.out,
            d,
            eps: Number(c.epsilon ?? 1e-3),
            gamma: c.scale === false ? null : await readWeight(l, 'gamma', d),
            beta: c.center === false ? null : await readWeight(l, 'beta', d),
          });
          break;
        case 'batchNorm': {
          const eps = Number(c.epsilon ?? 1e-3);
          const variance = await readWeight(l, 'moving_variance', d);
          steps.push({
            kind: 'batchNorm',
            in: s.ins[0]!,
            out: s.out,
            d,
            mean: await readWeight(l, 'moving_mean', d),
            invStd: variance.map((v) => 1 / Math.sqrt(v + eps)),
            gamma: c.scale === false ? null : await readWeight(l, 'gamma', d),
            beta: c.center === false ? null : await readWeight(l, 'beta', d),
          });
          break;
        }
        case 'dense':
          steps.push({
            kind: 'dense',
            in: s.ins[0]!,
            out: s.out,
            din,
            dout: d,
            kernel: await readWeight(l, 'kernel', din * d),
            bias: c.useBias === false ? null : await readWeight(l, 'bias', d),
            act: activationOf(c, l.name) as Activation,
          });
          break;
        case 'activation':
          steps.push({ kind: 'activation', in: s.ins[0]!, out: s.out, d, act: activationOf(c, l.name) as Activation });
          break;
        case 'add':
        case 'multiply':
        case 'average':
          steps.push({ kind: s.kind, ins: s.ins, out: s.out, d });
          break;
        case 'concat':
          steps.push({ kind: 'concat', ins: s.ins, out: s.out, widths: s.ins.map((i) => w[i]!) });
          break;
        case 'attention': {
          const heads = Number(c.numHeads);
          const keyDim = Number(c.keyDim);
          const valueDim = Number(c.valueDim || c.keyDim);
          const bias = c.useBias !== false && hasWeight(l, 'query/bias');
          const hk = heads * keyDim;
          const hv = heads * valueDim;
          steps.push({
            kind: 'attention',
            in: s.ins[0]!,
            out: s.out,
            d,
            heads,
            keyDim,
            valueDim,
            wq: await readWeight(l, 'query/kernel', d * hk),
            bq: bias ? await readWeight(l, 'query/bias', hk) : null,
            wk: await readWeight(l, 'key/kernel', d * hk),
            bk: bias ? await readWeight(l, 'key/bias', hk) : null,
            wv: await readWeight(l, 'value/kernel', d * hv),
            bv: bias ? await readWeight(l, 'value/bias', hv) : null,
            wo: await readWeight(l, 'attention_output/kernel', hv * d),
            bo: bias ? await readWeight(l, 'attention_output/bias', d) : null,
            kCache: new Float32Array(T * hk),
            vCache: new Float32Array(T * hv),
            q: new Float32Array(0),
            o: new Float32Array(0),
            scores: new Float64Array(T),
          });
          break;
        }
      }
    }
    return new IncrementalModel(T, plan.outputDim, steps, w, plan.outputSlot);
  }

  /** Positions in the cache. */
  get length(): number {
    return this.len;
  }

  /** Empties the caches: the next token read takes position 0. */
  reset(): void {
    this.len = 0;
  }

  /**
   * Reads `ids` at the next positions (length … length+n-1; at most T in all) and returns their outputs
   * (n × outputDim, logits for a language model), a new array.
   */
  feed(ids: ArrayLike<number>): Float32Array {
    const n = ids.length;
    if (n === 0) return new Float32Array(0);
    if (this.len + n > this.T) throw new Error(`the window holds ${this.T} positions; ${this.len} are read and ${n} more do not fit (reset first)`);
    this.ensureRows(n);
    const buf = this.buffers;
    const start = this.len;
    for (const s of this.steps) {
      switch (s.kind) {
        case 'embedding': {
          const out = buf[s.out]!;
          for (let r = 0; r < n; r++) {
            const id = ids[r]!;
            if (!Number.isInteger(id) || id < 0 || id >= s.vocab) throw new Error(`token id ${id} is outside the vocabulary of layer '${s.layer}' (0…${s.vocab - 1})`);
            out.set(s.table.subarray(id * s.d, (id + 1) * s.d), r * s.d);
          }
          break;
        }
        case 'positional': {
          const x = buf[s.in]!;
          const out = buf[s.out]!;
          for (let r = 0; r < n; r++) {
            const p = (start + r) * s.d;
            const o = r * s.d;
            for (let j = 0; j < s.d; j++) out[o + j] = x[o + j]! + s.table[p + j]!;
          }
          break;
        }
        case 'layerNorm': {
          const x = buf[s.in]!;
          const out = buf[s.out]!;
          for (let r = 0; r < n; r++) {
            const o = r * s.d;
            let mean = 0;
            for (let j = 0; j < s.d; j++) mean += x[o + j]!;
            mean /= s.d;
            let variance = 0;
            for (let j = 0; j < s.d; j++) variance += (x[o + j]! - mean) ** 2;
            variance /= s.d;
            const inv = 1 / Math.sqrt(variance + s.eps);
            for (let j = 0; j < s.d; j++) {
              let y = (x[o + j]! - mean) * inv;
              if (s.gamma) y *= s.gamma[j]!;
              if (s.beta) y += s.beta[j]!;
              out[o + j] = y;
            }
          }
          break;
        }
        case 'batchNorm': {
          const x = buf[s.in]!;
          const out = buf[s.out]!;
          for (let r = 0; r < n; r++) {
            const o = r * s.d;
            for (let j = 0; j < s.d; j++) {
              let y = (x[o + j]! - s.mean[j]!) * s.invStd[j]!;
              if (s.gamma) y *= s.gamma[j]!;
              if (s.beta) y += s.beta[j]!;
              out[o + j] = y;
            }
          }
          break;
        }
        case 'dense': {
          const out = buf[s.out]!;
          matmul(buf[s.in]!, n, s.din, s.kernel, s.dout, s.bias, out);
          activate(s.act, out, n, s.dout);
          break;
        }
        case 'activation': {
          const out = buf[s.out]!;
          out.set(buf[s.in]!.subarray(0, n * s.d));
          activate(s.act, out, n, s.d);
          break;
        }
        case 'add':
        case 'multiply':
        case 'average': {
          const out = buf[s.out]!;
          const m = n * s.d;
          out.set(buf[s.ins[0]!]!.subarray(0, m));
          for (let i = 1; i < s.ins.length; i++) {
            const x = buf[s.ins[i]!]!;
            if (s.kind === 'multiply') for (let j = 0; j < m; j++) out[j] = out[j]! * x[j]!;
            else for (let j = 0; j < m; j++) out[j] = out[j]! + x[j]!;
          }
          if (s.kind === 'average') for (let j = 0; j < m; j++) out[j] = out[j]! / s.ins.length;
          break;
        }
        case 'concat': {
          const out = buf[s.out]!;
          const total = s.widths.reduce((a, b) => a + b, 0);
          for (let r = 0; r < n; r++) {
            let o = r * total;
            s.ins.forEach((slot, i) => {
              const wd = s.widths[i]!;
              out.set(buf[slot]!.subarray(r * wd, (r + 1) * wd), o);
              o += wd;
            });
          }
          break;
        }
        case 'attention':
          this.attend(s, buf[s.in]!, buf[s.out]!, n, start);
          break;
      }
    }
    this.len += n;
    const dOut = this.widths[this.outputSlot]!;
    return buf[this.outputSlot]!.slice(0, n * dOut);
  }

  private attend(s: Extract<Step, { kind: 'attention' }>, x: Float32Array, out: Float32Array, n: number, start: number): void {
    const { heads, keyDim, valueDim, d } = s;
    const hk = heads * keyDim;
    const hv = heads * valueDim;
    if (s.q.length < n * hk) s.q = new Float32Array(n * hk);
    if (s.o.length < n * hv) s.o = new Float32Array(n * hv);
    const q = s.q;
    const o = s.o;
    matmul(x, n, d, s.wq, hk, s.bq, q);
    // New keys and values go straight into the cache rows start … start+n-1.
    matmul(x, n, d, s.wk, hk, s.bk, s.kCache.subarray(start * hk));
    matmul(x, n, d, s.wv, hv, s.bv, s.vCache.subarray(start * hv));
    const scale = 1 / Math.sqrt(keyDim);
    const scores = s.scores;
    const K = s.kCache;
    const V = s.vCache;
    for (let r = 0; r < n; r++) {
      const last = start + r; // causal: positions 0 … last
      for (let h = 0; h < heads; h++) {
        const qo = r * hk + h * keyDim;
        let max = -Infinity;
        for (let t = 0; t <= last; t++) {
          const ko = t * hk + h * keyDim;
          let dot = 0;
          for (let i = 0; i < keyDim; i++) dot += q[qo + i]! * K[ko + i]!;
          const sc = dot * scale;
          scores[t] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let t = 0; t <= last; t++) {
          const e = Math.exp(scores[t]! - max);
          scores[t] = e;
          sum += e;
        }
        const oo = r * hv + h * valueDim;
        for (let i = 0; i < valueDim; i++) o[oo + i] = 0;
        for (let t = 0; t <= last; t++) {
          const wt = scores[t]! / sum;
          const vo = t * hv + h * valueDim;
          for (let i = 0; i < valueDim; i++) o[oo + i] = o[oo + i]! + wt * V[vo + i]!;
        }
      }
    }
    matmul(o, n, hv, s.wo, d, s.bo, out);
  }

  private ensureRows(n: number): void {
    if (n <= this.rowsAllocated) return;
    const rows = Math.min(this.T, Math.max(n, this.rowsAllocated * 2, 1));
    this.widths.forEach((wd, i) => {
      if (i > 0) this.buffers[i] = new Float32Array(rows * wd);
    });
    this.rowsAllocated = rows;
  }
}

/** Plans and loads `model` for incremental inference (see IncrementalModel.load). */
export function loadIncremental(model: tfjs.LayersModel): Promise<IncrementalModel | PlanRefusal> {
  return IncrementalModel.load(model);
}

/**
 * Feeds a growing token history to an IncrementalModel under the window rule of this module's doc:
 * the window starts as the last T tokens of the first history it is given, grows one position per
 * token, and when full restarts from the last `keep` tokens (default floor(T/2)).
 */
export class ContextWindow {
  /** Index in the history of the window's first token. */
  start = 0;
  /** Tokens of the history read so far. */
  private fed = 0;
  readonly keep: number;

  constructor(
    readonly model: IncrementalModel,
    keep?: number,
  ) {
    const k = keep ?? Math.floor(model.T / 2);
    if (!Number.isInteger(k) || k < 0 || k >= model.T) throw new Error(`keep must be a whole number from 0 to ${model.T - 1}, got ${k}`);
    this.keep = k;
    model.reset();
  }

  /**
   * The model's output after the last token of `ids` (which must extend the history passed before:
   * tokens are only appended). Reads only the tokens not read yet (re-reading `keep` of them when the
   * window restarts). Returns a new array of outputDim values.
   */
  next(ids: readonly number[]): Float32Array {
    const T = this.model.T;
    if (ids.length === 0) throw new Error('the history is empty: give at least one token');
    if (ids.length <= this.fed) throw new Error(`the history has ${ids.length} tokens but ${this.fed} were read already: it must grow`);
    if (this.fed === 0) {
      this.start = Math.max(0, ids.length - T);
      this.fed = this.start;
      this.model.reset();
    }
    let out: Float32Array = new Float32Array(0);
    while (this.fed < ids.length) {
      let room = T - (this.fed - this.start);
      if (room === 0) {
        this.start = this.fed - this.keep;
        this.model.reset();
        if (this.keep > 0) this.model.feed(ids.slice(this.start, this.fed));
        room = T - this.keep;
      }
      const chunk = ids.slice(this.fed, Math.min(ids.length, this.fed + room));
      out = this.model.feed(chunk);
      this.fed += chunk.length;
    }
    const d = this.model.outputDim;
    return out.slice(out.length - d);
  }
}
