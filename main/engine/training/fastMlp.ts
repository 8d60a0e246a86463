/**
 * The fast dense-network loop: training steps for small MLPs on table rows (feature vectors) in plain
 * JS loops over Float32Arrays, instead of ~200 tfjs kernel dispatches per step.
 *
 * It accepts only models it reproduces exactly (`fastMlpUnsupported` says why not otherwise): one
 * chain from a single float32 rank-1 Input through Dense (with or without bias), Dropout and
 * Activation layers, with no regularizers or constraints, activations linear, relu, sigmoid, tanh,
 * elu, selu, softplus, softsign, swish, gelu (tfjs's own erf approximation) and softmax (only as the
 * stripped head of the output layer), on the cpu or wasm backend (where dataSync reads the weights).
 * Forward and backward follow tfjs's kernels and gradients (the fused-relu step, the custom
 * softmax-cross-entropy gradient, the subgradients of abs/min in mae and huber), the optimizers follow
 * @tensorflow/tfjs-core's sgd / momentum / rmsprop / adam formulas (and optimizers.ts's AdamW decay),
 * the loss and stats follow the task's loss and stats. Matrix products are register-blocked loops
 * (4×4 outputs per pass) accumulating in float64 and storing float32, like the cpu backend's matMul.
 *
 * Dropout in training steps uses an inverted-dropout mask from a seeded mulberry32 stream: the same
 * distribution as tfjs's, not its random numbers.
 *
 * The weights are copied out of the model once; `sync()` writes them back (the trainer calls it
 * after each epoch, before evaluation, checkpoints and exports use the tfjs model). Buffers are
 * allocated once for the batch size; a step allocates nothing.
 *
 * The matrix products (Dense forward, weight, bias and input gradients) and the Adam update run in
 * wasm (native/mlp.c, on a memory of the net's own where all its buffers live): the same operations in
 * the same order as the JS loops here, so the same weights bit for bit (fastMlp.test.ts checks), but
 * compiled before the first step (V8's Liftoff) and two float64 lanes at a time. A 100-epoch run on a
 * 150-row table is only 400 steps: the JS loops spent a third of its time in V8's interpreter or in
 * a warm-up before V8 had optimised them; the wasm loops need no warm-up. LAYERFORGE_FAST_MLP_WASM=0
 * (or a runtime without WebAssembly) runs the JS loops instead, and then, before the first step,
 * createFastMlp runs them on a tiny net of the same structure (see warmUp), so that V8 has optimised
 * them when the real steps start.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { TrainingSettings } from '../../../shared/project';
import { mulberry32 } from '../../../shared/random';
import type { TargetInfo, TaskDef, TaskPlan } from '../../../shared/tasks';
import { erf, SELU_SCALE, SELU_SCALEALPHA } from '../tfjsScalar';
import { WASM_PLAIN as MLP_WASM } from '../backends/native/mlpWasm';

export interface FastMlpInit {
  tf: typeof tfjs;
  model: tfjs.LayersModel;
  task: TaskDef;
  plan: TaskPlan;
  target: TargetInfo;
  settings: TrainingSettings;
}

export interface FastMlp {
  /** Shown in the run's notes, e.g. "3 dense layers, adam; matrix loops in wasm (mlp.c)" (or "; loops warmed up on a tiny copy in 9 ms" when the JS loops ran the warm-up). */
  readonly describe: string;
  /**
   * One training step on rows x[0..n) (n × F standardised features) with int labels or standardised
   * targets; loss is the batch mean, stats as task.stats. The returned object and its stats array are
   * reused by the next step: read them before stepping again.
   */
  step(x: Float32Array, y: Int32Array | Float32Array, n: number, lr: number): { loss: number; stats: ArrayLike<number> };
  /** Writes the current weights into the tfjs model's variables. */
  sync(): void;
}

/** Backends whose tensors can be read synchronously (dataSync); others (webgl, webgpu) are declined. */
const SYNC_BACKENDS = ['cpu', 'wasm'];

// Activation codes (monomorphic switch in the hot loops).
const LINEAR = 0;
const RELU = 1;
const SIGMOID = 2;
const TANH = 3;
const ELU = 4;
const SELU = 5;
const SOFTPLUS = 6;
const SOFTSIGN = 7;
const SWISH = 8;
const GELU = 9;
const ACTIVATIONS: Record<string, number> = {
  linear: LINEAR,
  relu: RELU,
  sigmoid: SIGMOID,
  tanh: TANH,
  elu: ELU,
  selu: SELU,
  softplus: SOFTPLUS,
  softsign: SOFTSIGN,
  swish: SWISH,
  gelu: GELU,
};
/** Activations whose gradient tfjs computes from the input (the others from the output). */
const needsInput = (act: number) => act >= SELU;

// tfjs-core's constants (ops/selu_util.ts, ops/erf_util.ts, cpu Softplus kernel).
const SOFTPLUS_THRESHOLD = Math.log(1.1920928955078125e-7) + 2.0;
const SQRT2 = Math.sqrt(2);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** A Dense layer as analyse() finds it. */
interface DenseSpec {
  kind: 'dense';
  name: string;
  inW: number;
  outW: number;
  act: number;
  /** The model's variables (null in the warm-up's copy). */
  kernel: tfjs.LayerVariable | null;
  bias: tfjs.LayerVariable | null;
  trainable: boolean;
}

/**
 * A Dense layer with its weights (copied out of the model), gradients and optimizer slots. Built by
 * makeOps only, so every net (the warm-up's too) has ops of the same hidden classes; no tfjs references.
 */
interface DenseOp {
  kind: 'dense';
  name: string;
  inW: number;
  outW: number;
  act: number;
  trainable: boolean;
  /** Kernel [inW × outW] row-major, as tfjs stores it, and bias (null without). */
  w: Float32Array;
  b: Float32Array | null;
  gw: Float64Array;
  gb: Float64Array | null;
  /** Optimizer slots: momentum / Adam first moment / RMSprop mean square (s1), Adam second moment (s2). */
  s1w: Float32Array;
  s1b: Float32Array | null;
  s2w: Float32Array;
  s2b: Float32Array | null;
}

interface ActOp {
  kind: 'activation';
  name: string;
  inW: number;
  outW: number;
  act: number;
}

interface DropoutOp {
  kind: 'dropout';
  name: string;
  inW: number;
  outW: number;
  /** Drop probability in (0, 1); 0 = identity (tfjs skips rates outside (0, 1)). */
  rate: number;
  scale: number;
}

type Op = DenseOp | ActOp | DropoutOp;
type OpSpec = DenseSpec | ActOp | DropoutOp;

interface Chain {
  features: number;
  ops: OpSpec[];
}

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  inboundNodes: Array<{ inputTensors: tfjs.SymbolicTensor[] }>;
  activation?: { getClassName(): string };
  kernel?: tfjs.LayerVariable;
  bias?: tfjs.LayerVariable | null;
  rate?: number;
  noiseShape?: unknown;
}

type LossKind = 'ce' | 'bce' | 'mse' | 'mae' | 'huber';

/** Why the fast loop cannot train this model with these settings exactly as tfjs would; null when it can. */
export function fastMlpUnsupported(init: FastMlpInit): string | null {
  const r = analyse(init);
  return typeof r === 'string' ? r : null;
}

export function createFastMlp(init: FastMlpInit): FastMlp | null {
  const r = analyse(init);
  if (typeof r === 'string') return null;
  const wasm = mlpModuleHere();
  const w0 = performance.now();
  // The wasm loops run compiled from the first step: the JS warm-up is for the JS loops only.
  const warmedUp = wasm ? false : warmUp(r.chain, r.loss, init.settings);
  const warmMs = performance.now() - w0;
  // The weights, read once (dataSync: cpu and wasm only) into our own buffers.
  const ops = makeOps(r.chain.ops, (spec) => ({
    w: Float32Array.from(spec.kernel!.read().dataSync() as Float32Array),
    b: spec.bias ? Float32Array.from(spec.bias.read().dataSync() as Float32Array) : null,
  }));
  const net = new FastNet(init.tf, r.chain.ops, ops, r.loss, init.settings, wasm);
  if (wasm) net.describe += '; matrix loops in wasm (mlp.c)';
  if (warmedUp) net.describe += `; loops warmed up on a tiny copy in ${Math.max(1, Math.round(warmMs))} ms`;
  return net;
}

/** The ops of a chain, every kind built by one object literal (one hidden class per kind), with zeroed gradients and slots. */
function makeOps(specs: OpSpec[], weightsOf: (spec: DenseSpec, i: number) => { w: Float32Array; b: Float32Array | null }): Op[] {
  return specs.map((spec, i): Op => {
    if (spec.kind === 'activation') return { kind: 'activation', name: spec.name, inW: spec.inW, outW: spec.outW, act: spec.act };
    if (spec.kind === 'dropout') return { kind: 'dropout', name: spec.name, inW: spec.inW, outW: spec.outW, rate: spec.rate, scale: spec.scale };
    const size = spec.inW * spec.outW;
    const { w, b } = weightsOf(spec, i);
    return {
      kind: 'dense',
      name: spec.name,
      inW: spec.inW,
      outW: spec.outW,
      act: spec.act,
      trainable: spec.trainable,
      w,
      b,
      gw: new Float64Array(size),
      gb: b ? new Float64Array(spec.outW) : null,
      s1w: new Float32Array(size),
      s1b: b ? new Float32Array(spec.outW) : null,
      s2w: new Float32Array(size),
      s2b: b ? new Float32Array(spec.outW) : null,
    };
  });
}

/** mlp.c's exports (byte offsets into `memory` and scalars), bound to a memory of one net's own. */
interface MlpKernels {
  memory: WebAssembly.Memory;
  forward(a: number, n: number, inW: number, w: number, b: number, out: number, outW: number, relu: number): void;
  grads(a: number, g: number, n: number, inW: number, outW: number, gw: number): void;
  biasGrads(g: number, n: number, outW: number, gb: number): void;
  inputGrad(g: number, w: number, n: number, inW: number, outW: number, gIn: number, gate: number): void;
  adam(w: number, g: number, s1: number, s2: number, len: number, b1: number, ob1: number, b2: number, ob2: number, k1: number, k2: number, eps: number): void;
}

/** mlp.c compiled once per process (null: LAYERFORGE_FAST_MLP_WASM=0 or no WebAssembly here). */
let mlpModule: WebAssembly.Module | null | undefined;

/** Whether the matrix loops run in mlp.c: not with LAYERFORGE_FAST_MLP_WASM=0, nor where the module does not compile. */
function mlpModuleHere(): boolean {
  if (process.env.LAYERFORGE_FAST_MLP_WASM === '0') return false;
  if (mlpModule === undefined) {
    try {
      mlpModule = new WebAssembly.Module(Buffer.from(MLP_WASM, 'base64'));
    } catch {
      mlpModule = null;
    }
  }
  return mlpModule !== null;
}

/** A fresh instance of mlp.c on a new memory of `pages` (64 KiB) pages (never grown), where mlpModuleHere(). */
function mlpKernels(pages: number): MlpKernels {
  if (!mlpModule) throw new Error('mlp.c is not available here');
  // The module declares a maximum (65,536 pages); an imported memory must declare one within it.
  const size = Math.max(2, pages);
  const memory = new WebAssembly.Memory({ initial: size, maximum: size });
  const e = new WebAssembly.Instance(mlpModule, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
  return { memory, forward: e.mlp_dense_forward!, grads: e.mlp_dense_grads!, biasGrads: e.mlp_bias_grads!, inputGrad: e.mlp_dense_input_grad!, adam: e.mlp_adam_update! };
}

/** Byte offset of a view on the wasm memory; 0 (null in mlp.c) for none. No buffer starts at 0 (see FastNet.place). */
const at = (a: Float32Array | Float64Array | null): number => (a ? a.byteOffset : 0);

/** Warm-up steps on a tiny copy of the chain (see warmUp): V8 optimises the matrix loops after ~30, the step itself after ~300. */
const WARM_STEPS = 400;
/** Chain signatures (op kinds, activations, loss, optimizer) already warmed up in this process. */
const warmed = new Set<string>();

/**
 * Runs the hot loops on a tiny net of the same structure (same op kinds, activations, dropout, loss,
 * optimizer; widths of 5-7 units, batches of 7 rows, so the 4-wide blocks and their edges both run)
 * before the first real step, so that V8 has type feedback for every path and optimises the loops
 * early: a cold 100-epoch run on a 150-row table otherwise spends most of its time in unoptimised code.
 * It touches nothing of the real net (its own weights, data and dropout stream) and costs a few
 * milliseconds, once per structure per process, before training starts (counted in the run's start-up,
 * not in its training steps; its time is in `describe`, so in the run's notes). LAYERFORGE_FAST_MLP_WARMUP=0
 * skips it. Returns whether it ran.
 */
function warmUp(chain: Chain, loss: LossKind, settings: TrainingSettings): boolean {
  if (process.env.LAYERFORGE_FAST_MLP_WARMUP === '0') return false;
  const key = `${chain.ops.map((o) => (o.kind === 'dense' ? `d${o.act}${o.trainable ? 't' : 'f'}${o.bias ? 'b' : ''}` : o.kind === 'dropout' ? `p${o.rate > 0 ? 1 : 0}` : `a${o.act}`)).join('.')}|${loss}|${settings.optimizer}|${settings.optimizer === 'adamw' && settings.weightDecay > 0 ? 1 : 0}`;
  if (warmed.has(key)) return false;
  warmed.add(key);
  const features = 5;
  const lastDense = chain.ops.reduce((last, o, i) => (o.kind === 'dense' ? i : last), -1);
  const outW = loss === 'ce' ? 3 : 1;
  let width = features;
  const specs = chain.ops.map((o, i): OpSpec => {
    if (o.kind !== 'dense') return { ...o, inW: width, outW: width };
    const spec: DenseSpec = { ...o, inW: width, outW: i === lastDense ? outW : 5 + (i % 3), kernel: null, bias: null };
    width = spec.outW;
    return spec;
  });
  const rand = mulberry32(12345);
  const ops = makeOps(specs, (spec, i) => ({
    w: Float32Array.from({ length: spec.inW * spec.outW }, () => (rand() - 0.5) * 0.5),
    b: (chain.ops[i] as DenseSpec).bias ? Float32Array.from({ length: spec.outW }, () => (rand() - 0.5) * 0.1) : null,
  }));
  const n = 7;
  const net = new FastNet(null, specs, ops, loss, { ...settings, batchSize: n, seed: 7 });
  const x = Float32Array.from({ length: n * features }, () => rand() * 2 - 1);
  const y = loss === 'mse' || loss === 'mae' || loss === 'huber' ? Float32Array.from({ length: n }, () => rand() - 0.5) : Int32Array.from({ length: n }, (_, i) => i % outW);
  for (let i = 0; i < WARM_STEPS; i++) net.step(x, y, n, 1e-3);
  return true;
}

function analyse(init: FastMlpInit): string | { chain: Chain; loss: LossKind } {
  const { tf, model, task, plan, target, settings } = init;
  const backend = tf.getBackend();
  if (!SYNC_BACKENDS.includes(backend)) return `the ${backend} backend reads tensors asynchronously`;
  if (!['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'].includes(settings.optimizer)) return `optimizer ${settings.optimizer}`;
  const loss = lossKind(task, plan);
  if (!loss) return `the ${task.id} loss ${plan.loss}`;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return 'the model has several inputs or outputs';
  const input = model.inputs[0]!;
  if (input.dtype !== 'float32' || input.shape.length !== 2 || input.shape[1] == null) return `the input is ${input.shape.slice(1).join('×')} ${input.dtype}, not a float feature vector`;
  const features = input.shape[1];

  // Walk back from the output to the input: every layer must have exactly one input tensor.
  const layers: LayerLike[] = [];
  let t: tfjs.SymbolicTensor = model.outputs[0]!;
  for (;;) {
    const layer = t.sourceLayer as unknown as LayerLike;
    if (layer.getClassName() === 'InputLayer') break;
    if (layers.length > 10_000) return 'the model is too deep';
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node || node.inputTensors.length !== 1) return `layer '${layer.name}' (${layer.getClassName()}) has ${node?.inputTensors.length ?? 0} inputs`;
    if (layer.inboundNodes.length !== 1) return `layer '${layer.name}' is applied more than once`;
    layers.unshift(layer);
    t = node.inputTensors[0]!;
  }
  if (t !== input) return 'the chain does not start at the model input';
  const onChain = new Set<unknown>(layers);
  for (const l of model.layers) {
    if (l.getClassName() !== 'InputLayer' && !onChain.has(l)) return `layer '${l.name}' is not on the input-output chain`;
  }
  const trainable = new Set<unknown>(model.trainableWeights);

  const ops: OpSpec[] = [];
  let width = features;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const cls = layer.getClassName();
    const last = i === layers.length - 1;
    const config = safeConfig(layer);
    for (const key of ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint']) {
      if (config[key] != null || (layer as unknown as Record<string, unknown>)[key] != null) return `layer '${layer.name}' has a ${key.replace(/([A-Z])/g, ' $1').toLowerCase()}`;
    }
    if (cls === 'Dense' || cls === 'Activation') {
      const actName = layer.activation?.getClassName() ?? 'linear';
      let act = ACTIVATIONS[actName];
      if (actName === 'softmax' || (last && plan.head !== 'none')) {
        // The trainer runs the output layer's softmax/sigmoid head as linear (the loss works on logits).
        if (!last || plan.head !== actName) return `layer '${layer.name}' uses ${actName} ${last ? `but the loss's head is ${plan.head}` : 'before the output layer'}`;
        act = LINEAR;
      }
      if (act === undefined) return `layer '${layer.name}' uses the ${actName} activation`;
      if (cls === 'Activation') {
        ops.push({ kind: 'activation', name: layer.name, inW: width, outW: width, act });
        continue;
      }
      const kernel = layer.kernel;
      const bias = layer.bias ?? null;
      if (!kernel || kernel.shape.length !== 2 || kernel.shape[0] !== width || kernel.dtype !== 'float32') return `layer '${layer.name}' has an unexpected kernel`;
      const outW = kernel.shape[1]!;
      if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outW)) return `layer '${layer.name}' has an unexpected bias`;
      const weights = (layer as unknown as { weights: unknown[] }).weights;
      if (weights.length !== (bias ? 2 : 1)) return `layer '${layer.name}' has extra weights`;
      const isTrainable = trainable.has(kernel);
      if (bias && trainable.has(bias) !== isTrainable) return `layer '${layer.name}' has a frozen kernel or bias only`;
      ops.push({ kind: 'dense', name: layer.name, inW: width, outW, act, kernel, bias, trainable: isTrainable });
      width = outW;
    } else if (cls === 'Dropout') {
      if (layer.noiseShape != null) return `layer '${layer.name}' has a noise shape`;
      const r = Number(layer.rate ?? 0);
      const rate = r > 0 && r < 1 ? r : 0;
      ops.push({ kind: 'dropout', name: layer.name, inW: width, outW: width, rate, scale: Math.fround(1 / Math.fround(1 - rate)) });
    } else {
      return `layer '${layer.name}' is a ${cls}`;
    }
  }
  if (!ops.some((o) => o.kind === 'dense')) return 'the model has no Dense layer';
  const out = width;
  if (loss === 'bce' || task.id === 'regression') {
    if (out !== 1) return `the output has ${out} units, the ${plan.loss} loss needs 1`;
  } else if (target.classes > out) return `the output has ${out} units for ${target.classes} classes`;
  return { chain: { features, ops }, loss };
}

function safeConfig(layer: LayerLike): Record<string, unknown> {
  try {
    return layer.getConfig();
  } catch {
    return { unreadable: true, kernelRegularizer: 'unknown' };
  }
}

function lossKind(task: TaskDef, plan: TaskPlan): LossKind | null {
  if (task.id === 'classification') {
    if (plan.loss === 'cross-entropy') return 'ce';
    if (plan.loss === 'binary-cross-entropy') return 'bce';
    return null;
  }
  if (task.id === 'regression') {
    if (plan.loss === 'mse' || plan.loss === 'mae' || plan.loss === 'huber') return plan.loss;
    return null;
  }
  return null;
}

class FastNet implements FastMlp {
  describe: string;
  private readonly tf: typeof tfjs | null;
  private readonly ops: Op[];
  private readonly loss: LossKind;
  private readonly optimizer: TrainingSettings['optimizer'];
  private readonly momentum: number;
  private readonly weightDecay: number;
  /** The dropout stream's state (mulberry32, inlined: one closure per net would make the step's call site polymorphic). */
  private randState: number;
  private cap = 0;
  /** outs[i]: op i's output (n × outW); pres[i]: a Dense op's pre-activation when its gradient needs it. */
  private outs: Float32Array[] = [];
  private pres: (Float32Array | null)[] = [];
  /** grads[i]: dLoss/d outs[i] (float64). */
  private grads: Float64Array[] = [];
  private masks: (Float32Array | null)[] = [];
  /** Whether op i needs the gradient of its input (some trainable Dense before it). */
  private readonly needInGrad: boolean[];
  /** Whether op i is a relu Dense whose gradient the next op applies (denseInputGrad's or dropoutGrad's gate). */
  private readonly reluGated: boolean[];
  private readonly statsBuf: Float64Array;
  private readonly result: { loss: number; stats: Float64Array };
  /** Adam's accumulated beta powers, as tfjs's float32 accBeta1/accBeta2 variables hold them. */
  private accBeta1 = Math.fround(0.9);
  private accBeta2 = Math.fround(0.999);

  /** The specs of the ops (their tfjs variables, for sync), op by op. */
  private readonly specs: OpSpec[];
  /** mlp.c on this net's own memory, where every buffer of the net lives (null: the JS loops, buffers in JS arrays). */
  private wasm: MlpKernels | null = null;
  private readonly useWasm: boolean;
  /** The step's input rows, copied onto the wasm memory (wasm only). */
  private xBuf: Float32Array = new Float32Array(0);

  /** `tf` null: a net of its own (the warm-up's), never synced. */
  constructor(tf: typeof tfjs | null, specs: OpSpec[], ops: Op[], loss: LossKind, settings: TrainingSettings, useWasm = false) {
    this.tf = tf;
    this.useWasm = useWasm;
    this.specs = specs;
    this.ops = ops;
    this.loss = loss;
    this.optimizer = settings.optimizer;
    this.momentum = settings.momentum;
    this.weightDecay = settings.optimizer === 'adamw' ? settings.weightDecay : 0;
    this.randState = (settings.seed ^ 0x2545f491) >>> 0;
    let seen = false;
    this.needInGrad = this.ops.map((op) => {
      const need = seen;
      if (op.kind === 'dense' && op.trainable) seen = true;
      return need;
    });
    // A relu Dense followed by a Dense or a Dropout that passes the gradient back: that op applies the relu's gradient.
    this.reluGated = this.ops.map((op, i) => {
      const next = this.ops[i + 1];
      return op.kind === 'dense' && op.act === RELU && next !== undefined && this.needInGrad[i + 1]! && (next.kind === 'dense' || (next.kind === 'dropout' && next.rate > 0));
    });
    this.statsBuf = new Float64Array(loss === 'ce' || loss === 'bce' ? 1 : 4);
    this.result = { loss: 0, stats: this.statsBuf };
    const dense = this.ops.filter((o) => o.kind === 'dense').length;
    const dropout = this.ops.some((o) => o.kind === 'dropout' && o.rate > 0);
    this.describe = `${dense} dense layer${dense === 1 ? '' : 's'}${dropout ? ' with dropout' : ''}, ${settings.optimizer}`;
    this.ensure(Math.max(1, settings.batchSize));
  }

  private ensure(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    if (this.useWasm) {
      this.place(n);
      return;
    }
    this.outs = this.ops.map((o) => new Float32Array(n * o.outW));
    this.pres = this.ops.map((o) => (o.kind === 'dense' && needsInput(o.act) ? new Float32Array(n * o.outW) : null));
    this.grads = this.ops.map((o) => new Float64Array(n * o.outW));
    this.masks = this.ops.map((o) => (o.kind === 'dropout' && o.rate > 0 ? new Float32Array(n * o.outW) : null));
  }

  /**
   * Wasm: every buffer of the net (weights, gradients, optimizer slots, activations for n rows, the input
   * rows) as views on one new memory of mlp.c's, 16-byte aligned, none at offset 0 (mlp.c's null); the
   * weights and slots copied over. Run again (a new memory) if a batch outgrows the first.
   */
  private place(n: number): void {
    const sizes: number[] = [];
    const f32 = (len: number) => sizes.push(len * 4);
    const f64 = (len: number) => sizes.push(len * 8);
    f32(n * this.ops[0]!.inW);
    for (const op of this.ops) {
      if (op.kind === 'dense') {
        // w, gw, s1w, s2w (and the same for the bias)
        for (const len of op.b ? [op.inW * op.outW, op.outW] : [op.inW * op.outW]) {
          f32(len);
          f64(len);
          f32(len);
          f32(len);
        }
      }
      f32(n * op.outW); // out
      f64(n * op.outW); // grad
      if (op.kind === 'dense' && needsInput(op.act)) f32(n * op.outW);
      if (op.kind === 'dropout' && op.rate > 0) f32(n * op.outW);
    }
    const bytes = sizes.reduce((t, b) => t + ((b + 15) & ~15), 16);
    const k = mlpKernels(Math.ceil(bytes / 65536));
    this.wasm = k;
    const buffer = k.memory.buffer;
    let next = 16;
    const take = (b: number) => {
      const o = next;
      next += (b + 15) & ~15;
      return o;
    };
    const v32 = (len: number, from?: Float32Array | null) => {
      const v = new Float32Array(buffer, take(len * 4), len);
      if (from) v.set(from);
      return v;
    };
    const v64 = (len: number) => new Float64Array(buffer, take(len * 8), len);
    this.xBuf = v32(n * this.ops[0]!.inW);
    for (const op of this.ops) {
      if (op.kind !== 'dense') continue;
      const size = op.inW * op.outW;
      op.w = v32(size, op.w);
      op.gw = v64(size);
      op.s1w = v32(size, op.s1w);
      op.s2w = v32(size, op.s2w);
      if (op.b) {
        op.b = v32(op.outW, op.b);
        op.gb = v64(op.outW);
        op.s1b = v32(op.outW, op.s1b);
        op.s2b = v32(op.outW, op.s2b);
      }
    }
    this.outs = this.ops.map((o) => v32(n * o.outW));
    this.grads = this.ops.map((o) => v64(n * o.outW));
    this.pres = this.ops.map((o) => (o.kind === 'dense' && needsInput(o.act) ? v32(n * o.outW) : null));
    this.masks = this.ops.map((o) => (o.kind === 'dropout' && o.rate > 0 ? v32(n * o.outW) : null));
  }

  step(x: Float32Array, y: Int32Array | Float32Array, n: number, lr: number): { loss: number; stats: ArrayLike<number> } {
    if (n <= 0) {
      this.result.loss = NaN;
      this.statsBuf.fill(0);
      return this.result;
    }
    this.ensure(n);
    const { ops, outs, pres, grads, masks, wasm } = this;
    if (wasm) {
      // The input rows onto the wasm memory; from here on x is that copy.
      this.xBuf.set(x.subarray(0, n * ops[0]!.inW));
      x = this.xBuf;
    }
    // Forward.
    let a: Float32Array = x;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const out = outs[i]!;
      const len = n * op.outW;
      if (op.kind === 'dense') {
        const pre = pres[i];
        const z = pre ?? out;
        // relu is fused into the product (its gradient needs only the output, so pre is null).
        if (wasm) wasm.forward(a.byteOffset, n, op.inW, op.w.byteOffset, at(op.b), z.byteOffset, op.outW, op.act === RELU ? 1 : 0);
        else denseForward(a, n, op.inW, op.w, op.b, z, op.outW, op.act === RELU);
        if (op.act !== LINEAR && op.act !== RELU) activate(op.act, z, out, len);
      } else if (op.kind === 'activation') {
        activate(op.act, a, out, len);
      } else if (op.rate > 0) {
        this.randState = dropoutForward(a, out, masks[i]!, len, 1 - op.rate, op.scale, this.randState);
      } else {
        out.set(a.subarray(0, len));
      }
      a = out;
    }
    // Loss, stats and dLoss/d output.
    const last = ops.length - 1;
    this.result.loss = this.lossAndGrad(outs[last]!, ops[last]!.outW, y, n, grads[last]!);
    // Backward.
    for (let i = last; i >= 0; i--) {
      const op = ops[i]!;
      const g = grads[i]!;
      const len = n * op.outW;
      const input = i > 0 ? outs[i - 1]! : x;
      const gIn = i > 0 ? grads[i - 1]! : null;
      const need = this.needInGrad[i]!;
      // A relu Dense before this op gets its gradient applied as this op writes gIn.
      const gate = i > 0 && this.reluGated[i - 1] ? input : null;
      if (op.kind === 'dense') {
        if (op.act !== LINEAR && !this.reluGated[i]) activationGrad(op.act, g, pres[i] ?? outs[i]!, outs[i]!, g, len);
        if (wasm) {
          if (op.trainable) {
            wasm.grads(input.byteOffset, g.byteOffset, n, op.inW, op.outW, op.gw.byteOffset);
            if (op.gb) wasm.biasGrads(g.byteOffset, n, op.outW, op.gb.byteOffset);
          }
          if (need) wasm.inputGrad(g.byteOffset, op.w.byteOffset, n, op.inW, op.outW, gIn!.byteOffset, at(gate));
        } else {
          if (op.trainable) {
            denseGrads(input, g, n, op.inW, op.outW, op.gw);
            if (op.gb) biasGrads(g, n, op.outW, op.gb);
          }
          if (need) denseInputGrad(g, op.w, n, op.inW, op.outW, gIn!, gate);
        }
      } else if (!need) {
        continue;
      } else if (op.kind === 'activation') {
        activationGrad(op.act, g, input, outs[i]!, gIn!, len);
      } else if (op.rate > 0) {
        dropoutGrad(g, masks[i]!, gIn!, len, gate);
      } else {
        gIn!.set(g.subarray(0, len));
      }
    }
    this.update(lr);
    return this.result;
  }

  /** Mean loss over the batch, the task's stats into statsBuf, and the gradient of the mean loss w.r.t. the raw output. */
  private lossAndGrad(raw: Float32Array, k: number, y: Int32Array | Float32Array, n: number, g: Float64Array): number {
    const stats = this.statsBuf;
    stats.fill(0);
    const inv = 1 / n;
    let total = 0;
    switch (this.loss) {
      case 'ce': {
        let correct = 0;
        for (let i = 0; i < n; i++) {
          const o = i * k;
          const label = y[i]!;
          let max = raw[o]!;
          let best = 0;
          for (let j = 1; j < k; j++) {
            const v = raw[o + j]!;
            if (v > max) {
              max = v;
              best = j;
            }
          }
          if (best === label) correct++;
          let sum = 0;
          for (let j = 0; j < k; j++) sum += Math.exp(raw[o + j]! - max);
          const lse = max + Math.log(sum);
          for (let j = 0; j < k; j++) {
            const logp = Math.fround(raw[o + j]! - lse);
            const hot = j === label ? 1 : 0;
            if (hot) total -= logp;
            g[o + j] = (Math.exp(logp) - hot) * inv;
          }
        }
        stats[0] = correct;
        break;
      }
      case 'bce': {
        let correct = 0;
        for (let i = 0; i < n; i++) {
          const z = raw[i]!;
          const t = y[i]!;
          if ((z > 0 ? 1 : 0) === t) correct++;
          total += (z > 0 ? z : 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
          const s = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
          g[i] = (s - t) * inv;
        }
        stats[0] = correct;
        break;
      }
      default: {
        const kind = this.loss;
        let sAbs = 0;
        let sSq = 0;
        let sY = 0;
        let sYY = 0;
        for (let i = 0; i < n; i++) {
          const p = raw[i]!;
          const t = y[i]!;
          const e = p - t;
          const ae = Math.abs(e);
          sAbs += ae;
          sSq += e * e;
          sY += t;
          sYY += t * t;
          if (kind === 'mse') {
            total += e * e;
            g[i] = 2 * e * inv;
          } else if (kind === 'mae') {
            total += ae;
            // d|t - p|/dp with tfjs's abs subgradient (step(t - p, -1): -1 at 0).
            g[i] = (t - p > 0 ? -1 : 1) * inv;
          } else {
            // Huber, delta 1: 0.5 q² + (|e| - q), q = min(|e|, 1); min passes the gradient to |e| when |e| <= 1.
            const q = ae <= 1 ? ae : 1;
            total += 0.5 * q * q + (ae - q);
            const sign = e > 0 ? 1 : -1;
            g[i] = (ae <= 1 ? ae : 1) * sign * inv;
          }
        }
        stats[0] = sAbs;
        stats[1] = sSq;
        stats[2] = sY;
        stats[3] = sYY;
      }
    }
    return total * inv;
  }

  private update(lr: number): void {
    for (const op of this.ops) {
      if (op.kind !== 'dense' || !op.trainable) continue;
      this.apply(op.w, op.gw, op.s1w, op.s2w, lr);
      if (op.b) this.apply(op.b, op.gb!, op.s1b!, op.s2b!, lr);
    }
    if (this.optimizer === 'adam' || this.optimizer === 'adamw') {
      this.accBeta1 = Math.fround(this.accBeta1 * Math.fround(0.9));
      this.accBeta2 = Math.fround(this.accBeta2 * Math.fround(0.999));
    }
    if (this.weightDecay > 0) {
      // optimizers.ts afterStep: every weight of rank >= 2 (the kernels) × (1 - lr × weightDecay).
      const factor = Math.fround(1 - lr * this.weightDecay);
      for (const op of this.ops) {
        if (op.kind !== 'dense' || !op.trainable) continue;
        const w = op.w;
        for (let j = 0; j < w.length; j++) w[j] = w[j]! * factor;
      }
    }
  }

  /** One optimizer update of `w` by gradient `g`, with tfjs's formulas (float32 constants). */
  private apply(w: Float32Array, g: Float64Array, s1: Float32Array, s2: Float32Array, lr: number): void {
    const len = w.length;
    switch (this.optimizer) {
      case 'sgd': {
        const c = Math.fround(-lr);
        for (let j = 0; j < len; j++) w[j] = w[j]! + c * g[j]!;
        return;
      }
      case 'momentum': {
        // acc = m·acc + g; w += -lr·acc
        const c = Math.fround(-lr);
        const m = Math.fround(this.momentum);
        for (let j = 0; j < len; j++) {
          const acc = Math.fround(m * s1[j]! + g[j]!);
          s1[j] = acc;
          w[j] = w[j]! + c * acc;
        }
        return;
      }
      case 'rmsprop': {
        // tf.train.rmsprop(lr, decay 0.9, momentum 0, epsilon 1e-7): ms = 0.9·ms + 0.1·g²; w -= lr·g / sqrt(ms + eps)
        const decay = Math.fround(0.9);
        const oneMinus = Math.fround(1 - 0.9);
        const eps = Math.fround(1e-7);
        const rate = Math.fround(lr);
        for (let j = 0; j < len; j++) {
          const gj = g[j]!;
          const ms = Math.fround(s1[j]! * decay + gj * gj * oneMinus);
          s1[j] = ms;
          w[j] = w[j]! - (gj * rate) / Math.sqrt(ms + eps);
        }
        return;
      }
      case 'adam':
      case 'adamw': {
        // tfjs AdamOptimizer: m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; w += -lr · (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
        const b1 = Math.fround(0.9);
        const ob1 = Math.fround(1 - 0.9);
        const b2 = Math.fround(0.999);
        const ob2 = Math.fround(1 - 0.999);
        const c1 = Math.fround(1 - this.accBeta1);
        const c2 = Math.fround(1 - this.accBeta2);
        const eps = Math.fround(1e-7);
        const negLr = Math.fround(-lr);
        // (m / c1) / (sqrt(v / c2) + eps) · -lr with the constants folded (float64: the same up to rounding), one division per weight.
        const k1 = negLr / c1;
        const k2 = 1 / c2;
        if (this.wasm) this.wasm.adam(w.byteOffset, g.byteOffset, s1.byteOffset, s2.byteOffset, len, b1, ob1, b2, ob2, k1, k2, eps);
        else adamUpdate(w, g, s1, s2, len, b1, ob1, b2, ob2, k1, k2, eps);
        return;
      }
    }
  }

  sync(): void {
    const tf = this.tf;
    if (!tf) return;
    tf.tidy(() => {
      this.ops.forEach((op, i) => {
        const spec = this.specs[i]!;
        if (op.kind !== 'dense' || spec.kind !== 'dense' || !op.trainable || !spec.kernel) return;
        // A copy: the cpu backend would otherwise keep our buffer as the variable's storage.
        (spec.kernel.read() as tfjs.Variable).assign(tf.tensor(op.w.slice(), [op.inW, op.outW], 'float32'));
        if (op.b && spec.bias) (spec.bias.read() as tfjs.Variable).assign(tf.tensor(op.b.slice(), [op.outW], 'float32'));
      });
    });
  }
}

/**
 * out[n × outW] = a[n × inW] · w[inW × outW] + b, like tfjs's matMul then bias add (a float32 product,
 * then the bias). Register-blocked: 4 rows × 4 columns of the output per pass over k, accumulated in
 * float64 locals (16 multiply-adds per 8 loads); edges of fewer than 4 rows or columns one by one.
 * With `relu`, the relu is applied as each output is stored (a fused Dense + relu, no second pass).
 */
function denseForward(a: Float32Array, n: number, inW: number, w: Float32Array, b: Float32Array | null, out: Float32Array, outW: number, relu: boolean): void {
  const n4 = n - (n % 4);
  const o4 = outW - (outW % 4);
  for (let i = 0; i < n4; i += 4) {
    const r0 = i * inW;
    const r1 = r0 + inW;
    const r2 = r1 + inW;
    const r3 = r2 + inW;
    for (let j = 0; j < o4; j += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0, wk = j; k < inW; k++, wk += outW) {
        const w0 = w[wk]!;
        const w1 = w[wk + 1]!;
        const w2 = w[wk + 2]!;
        const w3 = w[wk + 3]!;
        let x = a[r0 + k]!;
        s00 += x * w0; s01 += x * w1; s02 += x * w2; s03 += x * w3;
        x = a[r1 + k]!;
        s10 += x * w0; s11 += x * w1; s12 += x * w2; s13 += x * w3;
        x = a[r2 + k]!;
        s20 += x * w0; s21 += x * w1; s22 += x * w2; s23 += x * w3;
        x = a[r3 + k]!;
        s30 += x * w0; s31 += x * w1; s32 += x * w2; s33 += x * w3;
      }
      const b0 = b ? b[j]! : 0;
      const b1 = b ? b[j + 1]! : 0;
      const b2 = b ? b[j + 2]! : 0;
      const b3 = b ? b[j + 3]! : 0;
      let o = i * outW + j;
      out[o] = rect(Math.fround(s00) + b0, relu); out[o + 1] = rect(Math.fround(s01) + b1, relu); out[o + 2] = rect(Math.fround(s02) + b2, relu); out[o + 3] = rect(Math.fround(s03) + b3, relu);
      o += outW;
      out[o] = rect(Math.fround(s10) + b0, relu); out[o + 1] = rect(Math.fround(s11) + b1, relu); out[o + 2] = rect(Math.fround(s12) + b2, relu); out[o + 3] = rect(Math.fround(s13) + b3, relu);
      o += outW;
      out[o] = rect(Math.fround(s20) + b0, relu); out[o + 1] = rect(Math.fround(s21) + b1, relu); out[o + 2] = rect(Math.fround(s22) + b2, relu); out[o + 3] = rect(Math.fround(s23) + b3, relu);
      o += outW;
      out[o] = rect(Math.fround(s30) + b0, relu); out[o + 1] = rect(Math.fround(s31) + b1, relu); out[o + 2] = rect(Math.fround(s32) + b2, relu); out[o + 3] = rect(Math.fround(s33) + b3, relu);
    }
    for (let j = o4; j < outW; j++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0, wk = j; k < inW; k++, wk += outW) {
        const wv = w[wk]!;
        s0 += a[r0 + k]! * wv;
        s1 += a[r1 + k]! * wv;
        s2 += a[r2 + k]! * wv;
        s3 += a[r3 + k]! * wv;
      }
      const bj = b ? b[j]! : 0;
      const o = i * outW + j;
      out[o] = rect(Math.fround(s0) + bj, relu);
      out[o + outW] = rect(Math.fround(s1) + bj, relu);
      out[o + 2 * outW] = rect(Math.fround(s2) + bj, relu);
      out[o + 3 * outW] = rect(Math.fround(s3) + bj, relu);
    }
  }
  for (let i = n4; i < n; i++) {
    const r0 = i * inW;
    for (let j = 0; j < outW; j++) {
      let s = 0;
      for (let k = 0, wk = j; k < inW; k++, wk += outW) s += a[r0 + k]! * w[wk]!;
      out[i * outW + j] = rect(Math.fround(s) + (b ? b[j]! : 0), relu);
    }
  }
}

/**
 * gw[inW × outW] = aᵀ · g (sum over the batch rows). Register-blocked:
 * 4 kernel rows × 4 columns per pass over the batch; edges one by one.
 */
function denseGrads(a: Float32Array, g: Float64Array, n: number, inW: number, outW: number, gw: Float64Array): void {
  const k4 = inW - (inW % 4);
  const o4 = outW - (outW % 4);
  for (let k = 0; k < k4; k += 4) {
    for (let j = 0; j < o4; j += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let i = 0, ai = k, gi = j; i < n; i++, ai += inW, gi += outW) {
        const g0 = g[gi]!;
        const g1 = g[gi + 1]!;
        const g2 = g[gi + 2]!;
        const g3 = g[gi + 3]!;
        let x = a[ai]!;
        s00 += x * g0; s01 += x * g1; s02 += x * g2; s03 += x * g3;
        x = a[ai + 1]!;
        s10 += x * g0; s11 += x * g1; s12 += x * g2; s13 += x * g3;
        x = a[ai + 2]!;
        s20 += x * g0; s21 += x * g1; s22 += x * g2; s23 += x * g3;
        x = a[ai + 3]!;
        s30 += x * g0; s31 += x * g1; s32 += x * g2; s33 += x * g3;
      }
      let r = k * outW + j;
      gw[r] = s00; gw[r + 1] = s01; gw[r + 2] = s02; gw[r + 3] = s03;
      r += outW;
      gw[r] = s10; gw[r + 1] = s11; gw[r + 2] = s12; gw[r + 3] = s13;
      r += outW;
      gw[r] = s20; gw[r + 1] = s21; gw[r + 2] = s22; gw[r + 3] = s23;
      r += outW;
      gw[r] = s30; gw[r + 1] = s31; gw[r + 2] = s32; gw[r + 3] = s33;
    }
    for (let j = o4; j < outW; j++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0, ai = k, gi = j; i < n; i++, ai += inW, gi += outW) {
        const gv = g[gi]!;
        s0 += a[ai]! * gv;
        s1 += a[ai + 1]! * gv;
        s2 += a[ai + 2]! * gv;
        s3 += a[ai + 3]! * gv;
      }
      const r = k * outW + j;
      gw[r] = s0;
      gw[r + outW] = s1;
      gw[r + 2 * outW] = s2;
      gw[r + 3 * outW] = s3;
    }
  }
  for (let k = k4; k < inW; k++) {
    for (let j = 0; j < outW; j++) {
      let s = 0;
      for (let i = 0, ai = k, gi = j; i < n; i++, ai += inW, gi += outW) s += a[ai]! * g[gi]!;
      gw[k * outW + j] = s;
    }
  }
}

/** gb = column sums of g (n × outW). */
function biasGrads(g: Float64Array, n: number, outW: number, gb: Float64Array): void {
  gb.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * outW;
    for (let j = 0; j < outW; j++) gb[j] = gb[j]! + g[o + j]!;
  }
}

/**
 * Inverted dropout: mask[j] = scale with probability keep (else 0), out = a · mask; the random numbers
 * are shared/random's mulberry32 stream from `state` (inlined). Returns the stream's next state.
 */
function dropoutForward(a: Float32Array, out: Float32Array, mask: Float32Array, len: number, keep: number, scale: number, state: number): number {
  let s = state;
  for (let j = 0; j < len; j++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const m = ((t ^ (t >>> 14)) >>> 0) / 4294967296 < keep ? scale : 0;
    mask[j] = m;
    out[j] = a[j]! * m;
  }
  return s;
}

/** gIn = g · mask, gated by a relu layer's output (its gradient) when `gate` is given. */
function dropoutGrad(g: Float64Array, mask: Float32Array, gIn: Float64Array, len: number, gate: Float32Array | null): void {
  for (let j = 0; j < len; j++) gIn[j] = gated(g[j]! * mask[j]!, gate, j);
}

/** s, or 0 where the relu output gate[o] is not positive (relu's gradient, as activationGrad computes it) when `gate` is given. */
function gated(s: number, gate: Float32Array | null, o: number): number {
  return gate !== null && !(gate[o]! > 0) ? 0 : s;
}

/**
 * gIn[n × inW] = g · wᵀ (dot products of contiguous rows of g and w). Register-blocked: 4 batch rows ×
 * 4 kernel rows per pass over the outputs; edges one by one. With `gate` (the output of a relu layer
 * before this one), the relu's gradient is applied as each value is stored.
 */
function denseInputGrad(g: Float64Array, w: Float32Array, n: number, inW: number, outW: number, gIn: Float64Array, gate: Float32Array | null): void {
  const n4 = n - (n % 4);
  const k4 = inW - (inW % 4);
  for (let i = 0; i < n4; i += 4) {
    const g0r = i * outW;
    const g1r = g0r + outW;
    const g2r = g1r + outW;
    const g3r = g2r + outW;
    for (let k = 0; k < k4; k += 4) {
      const w0r = k * outW;
      const w1r = w0r + outW;
      const w2r = w1r + outW;
      const w3r = w2r + outW;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let j = 0; j < outW; j++) {
        const w0 = w[w0r + j]!;
        const w1 = w[w1r + j]!;
        const w2 = w[w2r + j]!;
        const w3 = w[w3r + j]!;
        let x = g[g0r + j]!;
        s00 += x * w0; s01 += x * w1; s02 += x * w2; s03 += x * w3;
        x = g[g1r + j]!;
        s10 += x * w0; s11 += x * w1; s12 += x * w2; s13 += x * w3;
        x = g[g2r + j]!;
        s20 += x * w0; s21 += x * w1; s22 += x * w2; s23 += x * w3;
        x = g[g3r + j]!;
        s30 += x * w0; s31 += x * w1; s32 += x * w2; s33 += x * w3;
      }
      let o = i * inW + k;
      gIn[o] = gated(s00, gate, o); gIn[o + 1] = gated(s01, gate, o + 1); gIn[o + 2] = gated(s02, gate, o + 2); gIn[o + 3] = gated(s03, gate, o + 3);
      o += inW;
      gIn[o] = gated(s10, gate, o); gIn[o + 1] = gated(s11, gate, o + 1); gIn[o + 2] = gated(s12, gate, o + 2); gIn[o + 3] = gated(s13, gate, o + 3);
      o += inW;
      gIn[o] = gated(s20, gate, o); gIn[o + 1] = gated(s21, gate, o + 1); gIn[o + 2] = gated(s22, gate, o + 2); gIn[o + 3] = gated(s23, gate, o + 3);
      o += inW;
      gIn[o] = gated(s30, gate, o); gIn[o + 1] = gated(s31, gate, o + 1); gIn[o + 2] = gated(s32, gate, o + 2); gIn[o + 3] = gated(s33, gate, o + 3);
    }
    for (let k = k4; k < inW; k++) {
      const wr = k * outW;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < outW; j++) {
        const wv = w[wr + j]!;
        s0 += g[g0r + j]! * wv;
        s1 += g[g1r + j]! * wv;
        s2 += g[g2r + j]! * wv;
        s3 += g[g3r + j]! * wv;
      }
      const o = i * inW + k;
      gIn[o] = gated(s0, gate, o);
      gIn[o + inW] = gated(s1, gate, o + inW);
      gIn[o + 2 * inW] = gated(s2, gate, o + 2 * inW);
      gIn[o + 3 * inW] = gated(s3, gate, o + 3 * inW);
    }
  }
  for (let i = n4; i < n; i++) {
    const gr = i * outW;
    for (let k = 0; k < inW; k++) {
      const wr = k * outW;
      let s = 0;
      for (let j = 0; j < outW; j++) s += g[gr + j]! * w[wr + j]!;
      gIn[i * inW + k] = gated(s, gate, i * inW + k);
    }
  }
}

/** relu(v) as tfjs's kernel computes it (0 for v <= 0 and NaN) when `relu`, else v. */
function rect(v: number, relu: boolean): number {
  return relu && !(v > 0) ? 0 : v;
}

/** Adam in one pass over the weights: moments (stored float32 like tfjs's slots), then w += k1·m / (sqrt(k2·v) + eps). */
function adamUpdate(w: Float32Array, g: Float64Array, s1: Float32Array, s2: Float32Array, len: number, b1: number, ob1: number, b2: number, ob2: number, k1: number, k2: number, eps: number): void {
  for (let j = 0; j < len; j++) {
    const gj = g[j]!;
    const m = Math.fround(s1[j]! * b1 + gj * ob1);
    const v = Math.fround(s2[j]! * b2 + gj * gj * ob2);
    s1[j] = m;
    s2[j] = v;
    w[j] = w[j]! + (m * k1) / (Math.sqrt(v * k2) + eps);
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** y = act(x) elementwise, as tfjs's cpu kernels compute it (x and y may be the same buffer). */
function activate(act: number, x: Float32Array, y: Float32Array, len: number): void {
  switch (act) {
    case RELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v > 0 ? v : 0;
      }
      return;
    case SIGMOID:
      for (let j = 0; j < len; j++) y[j] = sigmoid(x[j]!);
      return;
    case TANH:
      for (let j = 0; j < len; j++) y[j] = Math.tanh(x[j]!);
      return;
    case ELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v >= 0 ? v : Math.exp(v) - 1;
      }
      return;
    case SELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v >= 0 ? SELU_SCALE * v : SELU_SCALEALPHA * (Math.exp(v) - 1);
      }
      return;
    case SOFTPLUS:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v < SOFTPLUS_THRESHOLD ? Math.exp(v) : v > -SOFTPLUS_THRESHOLD ? v : Math.log(1.0 + Math.exp(v));
      }
      return;
    case SOFTSIGN:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v / (1 + Math.abs(v));
      }
      return;
    case SWISH:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = Math.fround(sigmoid(v)) * v;
      }
      return;
    case GELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        y[j] = v * Math.fround(0.5 * (1 + Math.fround(erf(Math.fround(v / SQRT2)))));
      }
      return;
    default:
      if (x !== y) y.set(x.subarray(0, len));
  }
}

/** gIn = g · act'(x) elementwise, with tfjs's gradient formulas (from y for relu/sigmoid/tanh/elu, from x for the others); gIn may be g. */
function activationGrad(act: number, g: Float64Array, x: Float32Array, y: Float32Array, gIn: Float64Array, len: number): void {
  switch (act) {
    case RELU:
      for (let j = 0; j < len; j++) gIn[j] = y[j]! > 0 ? g[j]! : 0;
      return;
    case SIGMOID:
      for (let j = 0; j < len; j++) {
        const s = y[j]!;
        gIn[j] = g[j]! * (s * (1 - s));
      }
      return;
    case TANH:
      for (let j = 0; j < len; j++) {
        const t = y[j]!;
        gIn[j] = g[j]! * (1 - t * t);
      }
      return;
    case ELU:
      for (let j = 0; j < len; j++) {
        const v = y[j]!;
        gIn[j] = v >= 0 ? g[j]! : g[j]! * (v + 1);
      }
      return;
    case SELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        gIn[j] = v > 0 ? g[j]! * SELU_SCALE : g[j]! * SELU_SCALEALPHA * Math.exp(v);
      }
      return;
    case SOFTPLUS:
      for (let j = 0; j < len; j++) gIn[j] = g[j]! * sigmoid(x[j]!);
      return;
    case SOFTSIGN:
      for (let j = 0; j < len; j++) {
        const d = 1 + Math.abs(x[j]!);
        gIn[j] = g[j]! / (d * d);
      }
      return;
    case SWISH:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        const s = Math.fround(sigmoid(v));
        gIn[j] = g[j]! * (s + v * s * (1 - s));
      }
      return;
    case GELU:
      for (let j = 0; j < len; j++) {
        const v = x[j]!;
        const u = v / SQRT2;
        const cdf = 0.5 * (1 + erf(u));
        gIn[j] = g[j]! * (cdf + (v * 0.5 * TWO_OVER_SQRT_PI * Math.exp(-u * u)) / SQRT2);
      }
      return;
    default:
      if (gIn !== g) gIn.set(g.subarray(0, len));
  }
}
