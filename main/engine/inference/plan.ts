/**
 * The inference plan of a trained model (issue #16, item 4): the model's own layer graph, walked once in
 * topological order, with each Conv2D / DepthwiseConv2D / Dense that feeds only a BatchNormalization
 * folded with it (inference mode: moving mean and variance) into one fused op with a new kernel and bias,
 *
 *   s = γ / √(σ² + ε),   W' = W · s (per output channel),   b' = (b − μ) · s + β,
 *
 * and, where the folded layer's only consumer is a separate activation layer (Activation relu / relu6 /
 * elu / sigmoid / linear, ReLU without slope or threshold, LeakyReLU, ELU with alpha 1), that activation
 * fused into the same op (XNNPACK applies relu / relu6 as a clamp in the convolution's output loop). A
 * residual Add of two same-shape tensors followed only by a ReLU runs as one pass (backends/addRelu.ts, our
 * wasm module on two threads), and GlobalAveragePooling2D as one average pool over the image. Every
 * other layer runs as `model.apply` would run it (`layer.apply(inputs, { training: false })`, tfjs's
 * executor's order, intermediates freed after their last use).
 *
 * Nothing changes for training or for the saved model: the plan holds only the folded kernels and biases
 * (computed with tf ops on the model's backend, so no synchronous read: webgpu-safe) and refolds them
 * when the weights they come from have changed (a variable's `assign` gives it a new data id: a training
 * step, setWeights, fine-tuning), checked at every run.
 *
 * `planInference` returns null when there is nothing to fold or fuse (the caller then runs the model
 * itself) and for models it does not handle (several inputs or outputs are fine; masks are not: a
 * Masking layer or an Embedding with maskZero keeps the model's own path).
 */
import type * as tfjs from '@tensorflow/tfjs';
import { addRelu } from '../backends/addRelu';
import { convAddRelu, convMaxPool } from '../backends/conv';

type Tf = typeof tfjs;
type Tensor = tfjs.Tensor;
type Layer = tfjs.layers.Layer;
type SymbolicTensor = tfjs.SymbolicTensor;

/** An activation the fused conv / matMul ops apply themselves. */
export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu';

/** What one fused step replaced: a layer, the BatchNormalization folded into it, the activation layer fused. */
export interface Fold {
  layer: string;
  kind: 'Conv2D' | 'DepthwiseConv2D' | 'Dense';
  batchNorm: string | null;
  activation: { layer: string; fused: FusedActivation } | null;
  /** A 2x2 MaxPooling2D (stride 2, valid) after a Conv2D, taken in the same pass (wasm: backends/conv.ts convMaxPool). */
  maxPool: string | null;
  /** A residual Add (and the ReLU after it) taken in the same pass ("add_1+activation_3"; wasm: backends/conv.ts convAddRelu). */
  residual: string | null;
}

export interface InferencePlan {
  /** The folds and fusions, in execution order. */
  readonly folds: readonly Fold[];
  /** GlobalAveragePooling2D layers run as one average pool over the image. */
  readonly pools: readonly string[];
  /** Add layers whose ReLU runs in the same pass ("add_1+activation_3"). */
  readonly merges: readonly string[];
  /** One line: "3 BatchNormalizations folded, 5 activations fused (conv1+bn1+relu1, …)". */
  readonly describe: string;
  /** The model's output(s) for its input(s), in inference mode. The caller disposes the result. */
  run(inputs: Tensor | Tensor[]): Tensor | Tensor[];
  /** Frees the folded kernels and biases. */
  dispose(): void;
}

interface NodeLike {
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
  outboundLayer: Layer;
}
interface LayerVariableLike {
  read(): tfjs.Variable;
}
interface ConvFields {
  kernel?: LayerVariableLike | null;
  depthwiseKernel?: LayerVariableLike | null;
  bias?: LayerVariableLike | null;
  strides?: number[] | number;
  padding?: string;
  dilationRate?: number[] | number;
  dataFormat?: string;
  rank?: number;
  activation?: { getClassName(): string };
}
interface BatchNormFields {
  gamma?: LayerVariableLike | null;
  beta?: LayerVariableLike | null;
  movingMean?: LayerVariableLike | null;
  movingVariance?: LayerVariableLike | null;
}

const nodeOf = (s: SymbolicTensor): NodeLike => (s.sourceLayer as unknown as { inboundNodes: NodeLike[] }).inboundNodes[s.nodeIndex]!;
const inboundCount = (l: Layer): number => (l as unknown as { inboundNodes: NodeLike[] }).inboundNodes.length;
const configOf = (l: Layer): Record<string, unknown> => l.getConfig() as Record<string, unknown>;

/** The fused op's activation for an activation layer, or null when it is not one the fused ops apply exactly as the layer does. */
export function fusedActivationOf(layer: Layer): { fused: FusedActivation; alpha?: number } | null {
  const cls = layer.getClassName();
  const c = configOf(layer);
  if (cls === 'Activation') {
    const a = String(c.activation);
    return a === 'linear' || a === 'relu' || a === 'relu6' || a === 'elu' || a === 'sigmoid' ? { fused: a } : null;
  }
  if (cls === 'ReLU') {
    if (Number(c.negativeSlope ?? 0) !== 0 || Number(c.threshold ?? 0) !== 0) return null;
    const max = c.maxValue == null ? null : Number(c.maxValue);
    return max == null ? { fused: 'relu' } : max === 6 ? { fused: 'relu6' } : null;
  }
  if (cls === 'LeakyReLU') return { fused: 'leakyrelu', alpha: Number(c.alpha ?? 0.3) };
  if (cls === 'ELU') return Number(c.alpha ?? 1) === 1 ? { fused: 'elu' } : null;
  return null;
}

/** The per-output-channel scale and shift of a BatchNormalization in inference mode: y = x · scale + shift. */
function batchNormAffine(tf: Tf, bn: Layer, channels: number): { scale: Tensor; shift: Tensor } {
  const f = bn as unknown as BatchNormFields;
  const eps = Number(configOf(bn).epsilon ?? 1e-3);
  return tf.tidy(() => {
    const mean = f.movingMean!.read();
    const variance = f.movingVariance!.read();
    let scale = tf.rsqrt(tf.add(variance, eps));
    if (f.gamma) scale = tf.mul(scale, f.gamma.read());
    let shift = tf.neg(tf.mul(mean, scale));
    if (f.beta) shift = tf.add(shift, f.beta.read());
    if (scale.size !== channels) throw new Error(`BatchNormalization '${bn.name}' has ${scale.size} channels where the layer before gives ${channels}`);
    return { scale, shift };
  });
}

interface FusedStep {
  kind: 'fused';
  fold: Fold;
  layer: Layer;
  bn: Layer | null;
  alpha: number | undefined;
  input: number;
  output: number;
  /** The layer's own activation (a Conv2D with activation relu / relu6 before a fused MaxPool), else null. */
  own: 'relu' | 'relu6' | null;
  pool: Layer | null;
  /** The tensor added to the output before a ReLU (a merged residual Add + ReLU), else null. */
  residual: number | null;
  /** The variables the folded tensors come from, and their data ids when folded. */
  sources: tfjs.Variable[];
  ids: object[];
  kernel: Tensor | null;
  bias: Tensor | null;
}
interface LayerStep {
  kind: 'layer';
  layer: Layer;
  inputs: number[];
  outputs: number[];
}
/** GlobalAveragePooling2D as an average pool over the whole image (wasm: XNNPACK's pooling, ~0.2 ms where tfjs's Mean over axes 1, 2 transposes first, ~4 ms for 256×16×16×32). */
interface PoolStep {
  kind: 'pool';
  layer: Layer;
  input: number;
  output: number;
}
/** A residual Add of two same-shape tensors and the ReLU after it, in one pass on wasm (backends/addRelu.ts). */
interface AddReluStep {
  kind: 'addRelu';
  inputs: [number, number];
  output: number;
}
type Step = FusedStep | LayerStep | PoolStep | AddReluStep;

/** The layer types a BatchNormalization can be folded into and an activation fused with. */
function foldableKind(layer: Layer): Fold['kind'] | null {
  const cls = layer.getClassName();
  const f = layer as unknown as ConvFields;
  if (cls === 'Dense') return f.kernel ? 'Dense' : null;
  if (cls === 'Conv2D') return f.kernel && f.rank === 2 && f.dataFormat === 'channelsLast' && f.padding !== 'causal' ? 'Conv2D' : null;
  if (cls === 'DepthwiseConv2D') return f.depthwiseKernel && f.dataFormat === 'channelsLast' ? 'DepthwiseConv2D' : null;
  return null;
}

/** A MaxPooling2D with a 2x2 window, stride 2, valid padding, channels last: the pool conv.c takes in its output loop. */
function isMaxPool2x2(layer: Layer): boolean {
  if (layer.getClassName() !== 'MaxPooling2D' || inboundCount(layer) !== 1) return false;
  const c = configOf(layer);
  const two = (v: unknown) => Array.isArray(v) && v.length === 2 && v[0] === 2 && v[1] === 2;
  return two(c.poolSize) && (c.strides == null || two(c.strides)) && c.padding === 'valid' && (c.dataFormat ?? 'channelsLast') === 'channelsLast';
}

const pair = (v: number[] | number | undefined): [number, number] => (typeof v === 'number' ? [v, v] : v ? [v[0] ?? 1, v[1] ?? v[0] ?? 1] : [1, 1]);

/**
 * The inference plan of `model`, or null when nothing folds or fuses (or the model uses masks).
 * `options.fold: false` builds the plain plan (every layer as is), for comparisons.
 */
export function planInference(tf: Tf, model: tfjs.LayersModel, options: { fold?: boolean } = {}): InferencePlan | null {
  const fold = options.fold ?? true;
  for (const l of model.layers) {
    const c = configOf(l);
    if (l.getClassName() === 'Masking' || c.maskZero === true) return null;
  }
  const inputIds = new Set(model.inputs.map((s) => s.id));
  const outputIds = new Set(model.outputs.map((s) => s.id));
  const outputLayers = new Set(model.outputLayers);
  // Nodes in topological order (depth first from the outputs), and each tensor's consumers.
  const order: NodeLike[] = [];
  const seen = new Set<NodeLike>();
  const consumers = new Map<number, NodeLike[]>();
  const visit = (node: NodeLike): void => {
    if (seen.has(node)) return;
    seen.add(node);
    for (const s of node.inputTensors) {
      if (!inputIds.has(s.id)) visit(nodeOf(s));
      (consumers.get(s.id) ?? consumers.set(s.id, []).get(s.id)!).push(node);
    }
    order.push(node);
  };
  for (const s of model.outputs) if (!inputIds.has(s.id)) visit(nodeOf(s));
  /** The single node consuming tensor `s` when nothing else (no other node, no model output) reads it. */
  const soleConsumer = (s: SymbolicTensor): NodeLike | null => {
    const c = consumers.get(s.id);
    return !outputIds.has(s.id) && c?.length === 1 && c[0]!.inputTensors.length === 1 ? c[0]! : null;
  };

  const steps: Step[] = [];
  const folds: Fold[] = [];
  const pools: string[] = [];
  const merges: string[] = [];
  const absorbed = new Set<NodeLike>();
  for (const node of order) {
    if (absorbed.has(node)) continue;
    const layer = node.outboundLayer;
    const kind = fold && node.inputTensors.length === 1 && node.outputTensors.length === 1 && inboundCount(layer) === 1 ? foldableKind(layer) : null;
    const ownClass = (layer as unknown as ConvFields).activation?.getClassName();
    const linear = ownClass === 'linear';
    // A Conv2D with its own relu / relu6: nothing folds into it, but a MaxPool after it can be fused.
    const own = kind === 'Conv2D' && (ownClass === 'relu' || ownClass === 'relu6') ? ownClass : null;
    if (kind && (linear || own)) {
      let out = node.outputTensors[0]!;
      let bn: Layer | null = null;
      const next = linear ? soleConsumer(out) : null;
      if (next && next.outboundLayer.getClassName() === 'BatchNormalization' && inboundCount(next.outboundLayer) === 1) {
        const axis = Number(configOf(next.outboundLayer).axis ?? -1);
        if (axis === -1 || axis === out.shape.length - 1) {
          bn = next.outboundLayer;
          absorbed.add(next);
          out = next.outputTensors[0]!;
        }
      }
      // The output layer's activation is left alone: the trainer runs it as linear when the loss wants logits.
      const after = linear ? soleConsumer(out) : null;
      const act = after && !outputLayers.has(after.outboundLayer) ? fusedActivationOf(after.outboundLayer) : null;
      if (act && after) {
        absorbed.add(after);
        out = after.outputTensors[0]!;
      }
      // A 2x2 max pool after the conv (and its BN and activation), where the fused activation is one conv.c applies.
      const effective = act?.fused ?? own ?? 'linear';
      const poolNode = kind === 'Conv2D' && (effective === 'linear' || effective === 'relu' || effective === 'relu6') && pair((layer as unknown as ConvFields).dilationRate).every((d) => d === 1) ? soleConsumer(out) : null;
      const pool = poolNode && !outputLayers.has(poolNode.outboundLayer) && isMaxPool2x2(poolNode.outboundLayer) ? poolNode.outboundLayer : null;
      if (pool && poolNode) {
        absorbed.add(poolNode);
        out = poolNode.outputTensors[0]!;
      }
      if (bn || act || pool) {
        const f: Fold = { layer: layer.name, kind, batchNorm: bn?.name ?? null, activation: act && after ? { layer: after.outboundLayer.name, fused: act.fused } : null, maxPool: pool?.name ?? null, residual: null };
        folds.push(f);
        const fields = layer as unknown as ConvFields;
        const bnFields = (bn ?? {}) as BatchNormFields;
        const sources = [fields.kernel ?? fields.depthwiseKernel, fields.bias, bnFields.gamma, bnFields.beta, bnFields.movingMean, bnFields.movingVariance]
          .filter((v): v is LayerVariableLike => v != null)
          .map((v) => v.read());
        steps.push({ kind: 'fused', fold: f, layer, bn, alpha: act?.alpha, input: node.inputTensors[0]!.id, output: out.id, own: act ? null : own, pool, residual: null, sources, ids: [], kernel: null, bias: null });
        continue;
      }
    }
    if (fold && layer.getClassName() === 'Add' && node.inputTensors.length === 2 && node.outputTensors.length === 1) {
      const [a, b] = node.inputTensors as [SymbolicTensor, SymbolicTensor];
      const after = soleConsumer(node.outputTensors[0]!);
      const act = after && !outputLayers.has(after.outboundLayer) ? fusedActivationOf(after.outboundLayer) : null;
      if (after && act?.fused === 'relu' && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
        absorbed.add(after);
        const merged = `${layer.name}+${after.outboundLayer.name}`;
        merges.push(merged);
        // A Conv2D (+ BN) step whose output only this Add reads takes the Add and the ReLU in its own pass:
        // it moves here, where both its input and the other operand exist.
        const at = a.id === b.id ? -1 : steps.findIndex((st) => st.kind === 'fused' && (st.output === a.id || st.output === b.id) && st.fold.kind === 'Conv2D' && !st.pool && !st.own && !st.fold.activation && st.residual === null && !outputIds.has(st.output) && consumers.get(st.output)?.length === 1);
        if (at >= 0) {
          const st = steps.splice(at, 1)[0] as FusedStep;
          st.residual = st.output === a.id ? b.id : a.id;
          st.output = after.outputTensors[0]!.id;
          st.fold.residual = merged;
          steps.push(st);
          continue;
        }
        steps.push({ kind: 'addRelu', inputs: [a.id, b.id], output: after.outputTensors[0]!.id });
        continue;
      }
    }
    const inShape = node.inputTensors[0]?.shape;
    if (fold && layer.getClassName() === 'GlobalAveragePooling2D' && node.inputTensors.length === 1 && configOf(layer).dataFormat === 'channelsLast' && !configOf(layer).keepDims && inShape?.length === 4 && inShape[1] != null && inShape[2] != null) {
      pools.push(layer.name);
      steps.push({ kind: 'pool', layer, input: node.inputTensors[0]!.id, output: node.outputTensors[0]!.id });
      continue;
    }
    steps.push({ kind: 'layer', layer, inputs: node.inputTensors.map((s) => s.id), outputs: node.outputTensors.map((s) => s.id) });
  }
  if (fold && folds.length === 0 && pools.length === 0 && merges.length === 0) return null;

  // How many steps read each tensor: an intermediate is freed after its last reader.
  const readers = new Map<number, number>();
  for (const st of steps) for (const id of st.kind === 'layer' || st.kind === 'addRelu' ? st.inputs : st.kind === 'fused' && st.residual !== null ? [st.input, st.residual] : [st.input]) readers.set(id, (readers.get(id) ?? 0) + 1);

  const refold = (st: FusedStep): void => {
    if (!st.bn) return; // an activation fused alone: the layer's own kernel and bias
    const ids = st.sources.map((v) => v.dataId);
    if (st.kernel && ids.every((id, i) => id === st.ids[i])) return;
    tf.dispose([st.kernel!, st.bias!].filter(Boolean));
    const fields = st.layer as unknown as ConvFields;
    const w = (fields.kernel ?? fields.depthwiseKernel)!.read();
    const b = fields.bias?.read() ?? null;
    const bn = st.bn;
    const made = tf.tidy(() => {
      // Output channels: the kernel's last axis (Conv2D [kh, kw, in, out], Dense [in, out]); a depthwise
      // kernel [kh, kw, in, multiplier] gives channel c·multiplier + m.
      const outChannels = st.fold.kind === 'DepthwiseConv2D' ? w.shape[2]! * w.shape[3]! : w.shape.at(-1)!;
      const { scale, shift } = batchNormAffine(tf, bn, outChannels);
      const kernel = tf.mul(w, st.fold.kind === 'DepthwiseConv2D' ? tf.reshape(scale, [w.shape[2]!, w.shape[3]!]) : scale);
      const bias = b ? tf.add(tf.mul(b, scale), shift) : shift;
      return { kernel, bias };
    });
    st.kernel = tf.keep(made.kernel);
    st.bias = made.bias ? tf.keep(made.bias) : null;
    st.ids = ids;
  };

  const runFused = (st: FusedStep, x: Tensor, residual: Tensor | null): Tensor => {
    const fields = st.layer as unknown as ConvFields;
    const activation = st.fold.activation?.fused ?? st.own ?? 'linear';
    const alpha = st.alpha !== undefined ? { leakyreluAlpha: st.alpha } : {};
    const kernel = st.bn ? st.kernel! : (fields.kernel ?? fields.depthwiseKernel)!.read();
    const bias = (st.bn ? st.bias : fields.bias?.read()) ?? undefined;
    if (st.fold.kind === 'Conv2D' && residual) {
      const strides = pair(fields.strides);
      const pad = fields.padding === 'same' ? 'same' : 'valid';
      const fusedY = pair(fields.dilationRate).every((d) => d === 1) ? convAddRelu(tf, { x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, bias, strides, pad, residual }) : null;
      if (fusedY) return fusedY;
      const y = tf.fused.conv2d({ x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, strides, pad, dilations: pair(fields.dilationRate), dataFormat: 'NHWC', bias, activation });
      try {
        return addRelu(tf, y, residual);
      } finally {
        y.dispose();
      }
    }
    if (st.fold.kind === 'Conv2D' && st.pool) {
      const strides = pair(fields.strides);
      const pad = fields.padding === 'same' ? 'same' : 'valid';
      const pooled = convMaxPool(tf, { x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, bias, strides, pad, activation });
      if (pooled) return pooled;
      return tf.tidy(() => tf.maxPool(tf.fused.conv2d({ x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, strides, pad, dataFormat: 'NHWC', bias, activation }), 2, 2, 'valid'));
    }
    if (st.fold.kind === 'Conv2D') {
      return tf.fused.conv2d({ x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, strides: pair(fields.strides), pad: fields.padding === 'same' ? 'same' : 'valid', dilations: pair(fields.dilationRate), dataFormat: 'NHWC', bias, activation, ...alpha });
    }
    if (st.fold.kind === 'DepthwiseConv2D') {
      // tfjs's DepthwiseConv2D layer ignores its dilation rate; so does the plan, to compute the same function.
      return tf.fused.depthwiseConv2d({ x: x as tfjs.Tensor4D, filter: kernel as tfjs.Tensor4D, strides: pair(fields.strides), pad: fields.padding === 'same' ? 'same' : 'valid', dataFormat: 'NHWC', bias, activation, ...alpha });
    }
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const a = x.rank === 2 ? (x as tfjs.Tensor2D) : tf.reshape(x, [-1, x.shape.at(-1)!]) as tfjs.Tensor2D;
      const y = tf.fused.matMul({ a, b: kernel as tfjs.Tensor2D, bias, activation, ...alpha });
      return x.rank === 2 ? y : tf.reshape(y, [...lead, y.shape[1]!]);
    });
  };

  const describe =
    `${folds.filter((f) => f.batchNorm).length} BatchNormalization${folds.filter((f) => f.batchNorm).length === 1 ? '' : 's'} folded, ` +
    `${folds.filter((f) => f.activation).length} activation${folds.filter((f) => f.activation).length === 1 ? '' : 's'} fused` +
    (folds.length ? ` (${folds.map((f) => [f.layer, f.batchNorm, f.activation?.layer, f.maxPool, f.residual].filter(Boolean).join('+')).join(', ')})` : '') +
    (folds.some((f) => f.maxPool) ? `, ${folds.filter((f) => f.maxPool).length} max pool${folds.filter((f) => f.maxPool).length === 1 ? '' : 's'} in the convolution's pass` : '') +
    (merges.length ? `, ${merges.length} residual Add${merges.length === 1 ? '' : 's'} + ReLU in one pass` : '') +
    (pools.length ? `, ${pools.length} global average pool${pools.length === 1 ? '' : 's'} as a pooling op` : '');

  return {
    folds,
    pools,
    merges,
    describe,
    run(given: Tensor | Tensor[]): Tensor | Tensor[] {
      const list = Array.isArray(given) ? given : [given];
      if (list.length !== model.inputs.length) throw new Error(`the model '${model.name}' takes ${model.inputs.length} inputs, got ${list.length}`);
      for (const st of steps) if (st.kind === 'fused') refold(st);
      const values = new Map<number, Tensor>();
      model.inputs.forEach((s, i) => values.set(s.id, list[i]!));
      const left = new Map(readers);
      const release = (id: number): void => {
        const n = left.get(id)! - 1;
        left.set(id, n);
        if (n > 0 || inputIds.has(id) || outputIds.has(id)) return;
        const t = values.get(id)!;
        values.delete(id);
        // A layer may hand its input on as its output (same tensor): free it only when nothing else holds it.
        for (const v of values.values()) if (v === t) return;
        t.dispose();
      };
      try {
        for (const st of steps) {
          if (st.kind === 'fused') {
            values.set(st.output, runFused(st, values.get(st.input)!, st.residual !== null ? values.get(st.residual)! : null));
            release(st.input);
            if (st.residual !== null) release(st.residual);
          } else if (st.kind === 'addRelu') {
            values.set(st.output, addRelu(tf, values.get(st.inputs[0])!, values.get(st.inputs[1])!));
            for (const id of st.inputs) release(id);
          } else if (st.kind === 'pool') {
            const x = values.get(st.input)! as tfjs.Tensor4D;
            const [n, h, w, c] = x.shape;
            values.set(st.output, tf.tidy(() => tf.reshape(tf.avgPool(x, [h, w], [h, w], 'valid'), [n, c])));
            release(st.input);
          } else {
            const ins = st.inputs.map((id) => values.get(id)!);
            const outs = st.layer.apply(ins, { training: false }) as Tensor | Tensor[];
            const outList = Array.isArray(outs) ? outs : [outs];
            st.outputs.forEach((id, i) => values.set(id, outList[i]!));
            for (const id of st.inputs) release(id);
          }
        }
      } catch (error) {
        for (const [id, t] of values) if (!inputIds.has(id)) t.dispose();
        throw error;
      }
      const outs = model.outputs.map((s) => values.get(s.id)!);
      return outs.length === 1 && !Array.isArray(model.output) ? outs[0]! : outs;
    },
    dispose(): void {
      for (const st of steps) {
        if (st.kind !== 'fused') continue;
        tf.dispose([st.kernel!, st.bias!].filter(Boolean));
        st.kernel = st.bias = null;
      }
    },
  };
}
