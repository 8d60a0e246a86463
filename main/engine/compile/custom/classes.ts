import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../../../../shared/layers';
import { attentionSoftmax } from '../../backends/attentionSoftmax';
import { fusedAttention, fusedAttentionHere, fusedMhaHere, fusedMhaSelfAttention, fusedSelfAttention } from '../../backends/attention';
import { defineBatchNormClass, type BatchNormalizationArgs } from './batchNorm';
import { gelu } from '../../backends/gelu';
import { layerNorm } from '../../backends/layerNorm';
import { fusedDense, fusedDenseHere } from '../../backends/dense';
import { embeddingLookup, hashedDropout, residualAdd, sequenceMean, sequenceOpsHere } from '../../backends/sequenceOps';

type Tensor = tfjs.Tensor;
type Shape = (number | null)[];
type LayerArgs = NonNullable<ConstructorParameters<typeof tfjs.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;

export interface MultiHeadAttentionArgs extends LayerArgs {
  numHeads: number;
  keyDim: number;
  /** Per-head value size; defaults to keyDim. */
  valueDim?: number | null;
  dropout?: number;
  causal?: boolean;
  useBias?: boolean;
}

export interface PositionalEmbeddingArgs extends LayerArgs {
  sequenceLength: number;
  /** Feature size D; taken from the input when omitted. */
  outputDim?: number | null;
}

export interface LayerNormalizationArgs extends LayerArgs {
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
}

export interface CustomLayerClasses {
  MultiHeadAttention: new (args: MultiHeadAttentionArgs) => tfjs.layers.Layer;
  PositionalEmbedding: new (args: PositionalEmbeddingArgs) => tfjs.layers.Layer;
  LayerNormalization: new (args: LayerNormalizationArgs) => tfjs.layers.Layer;
  /** tfjs's BatchNormalization with a fused training op (batchNorm.ts). */
  BatchNormalization: new (args: BatchNormalizationArgs) => tfjs.layers.Layer;
}

/** The fields of tfjs's LayerNormalization that our subclass reads. */
interface TfjsLayerNormalization {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfjs.LayerVariable | null;
  beta: tfjs.LayerVariable | null;
}

/** One or several input shapes, as tfjs hands them to build / computeOutputShape. */
function shapeList(inputShape: Shape | Shape[]): Shape[] {
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
}

type CallFn = (inputs: Tensor | Tensor[], kwargs: Kwargs) => Tensor | Tensor[];

/** The fields of tfjs's Dense that the fused call reads. */
interface TfjsDense {
  kernel: tfjs.LayerVariable | null;
  bias: tfjs.LayerVariable | null;
  activation: { getClassName(): string; apply(x: Tensor): Tensor } | null;
  invokeCallHook(inputs: Tensor | Tensor[], kwargs: Kwargs): void;
}

/** Layer prototypes already patched (one method each; a tf instance's classes are patched once). */
const patched = new WeakSet<object>();

/**
 * Replaces method `name` of the prototype of `layer` (a tfjs layer) with `make(original)`, once: the class keeps its
 * name, config and weights, and the replacement calls the original where it does not apply.
 */
function replaceOnPrototype<F>(layer: object, name: string, make: (original: F) => F): void {
  const proto = Object.getPrototypeOf(layer) as Record<string, F>;
  if (patched.has(proto)) return;
  patched.add(proto);
  proto[name] = make(proto[name]!);
}

/**
 * tfjs's Dense with its product, bias and relu as one op with its own gradient (backends/dense.ts) on wasm
 * with our module, for inputs of any rank (no reshapes): the class's call() is replaced on this tf
 * instance, so layers built by tf.layers.dense and loaded models use it; class name, config and weights
 * are tfjs's own. Elsewhere, for non-float32 inputs, or with LAYERFORGE_FUSED_DENSE=0: tfjs's call().
 */
function patchDense(tf: Tf): void {
  replaceOnPrototype<CallFn>(tf.layers.dense({ units: 1 }), 'call', (original) => function (this: TfjsDense, inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const act = this.activation?.getClassName() ?? 'linear';
    if (x.dtype !== 'float32' || x.rank < 2 || !this.kernel || (!this.bias && act === 'relu') || !fusedDenseHere(tf)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const fused = act === 'relu' || act === 'linear' ? act : 'linear';
      const y = fusedDense(tf, x, this.kernel!.read(), this.bias ? this.bias.read() : null, fused);
      return fused === act || !this.activation ? y : this.activation.apply(y);
    });
  });
}

/**
 * tfjs's Embedding, GlobalAveragePooling1D, Dropout and Add with one op each way (backends/sequenceOps.ts) on
 * wasm with our module: the lookup of int32 (or float32) ids of rank 2, the mean over the steps of a float32
 * [batch, T, D], dropout while training (hashed mask), the sum of two float32 tensors of one shape. Their call() is replaced on this tf instance (class, config and weights are tfjs's);
 * elsewhere, for other inputs, or with LAYERFORGE_SEQUENCE_OPS=0: tfjs's call().
 */
function patchSequenceLayers(tf: Tf): void {
  replaceOnPrototype<CallFn>(tf.layers.embedding({ inputDim: 1, outputDim: 1 }), 'call', (original) => function (this: { embeddings: tfjs.LayerVariable | null; invokeCallHook(inputs: Tensor | Tensor[], kwargs: Kwargs): void }, inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (x.rank !== 2 || (x.dtype !== 'int32' && x.dtype !== 'float32') || !this.embeddings || this.embeddings.dtype !== 'float32' || !sequenceOpsHere(tf)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      return embeddingLookup(tf, this.embeddings!.read(), x.dtype === 'int32' ? x : tf.cast(x, 'int32'));
    });
  });
  replaceOnPrototype<CallFn>(tf.layers.globalAveragePooling1d({}), 'call', (original) => function (this: unknown, inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (x.rank !== 3 || x.dtype !== 'float32' || !sequenceOpsHere(tf)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => sequenceMean(tf, x));
  });
  // Dropout while training, unseeded, on the whole tensor: one op each way with a hashed mask.
  replaceOnPrototype<CallFn>(tf.layers.dropout({ rate: 0.5 }), 'call', (original) => function (this: { rate: number; noiseShape: unknown; seed: unknown; invokeCallHook(inputs: Tensor | Tensor[], kwargs: Kwargs): void }, inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs?.training !== true || !(this.rate > 0 && this.rate < 1) || this.noiseShape != null || this.seed != null || x.dtype !== 'float32' || !sequenceOpsHere(tf)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      return hashedDropout(tf, x, this.rate);
    });
  });
  // Add of two float32 tensors of one shape (residual connections): one op forward and one backward.
  replaceOnPrototype<(inputs: Tensor[]) => Tensor>(tf.layers.add({}), 'mergeFunction', (original) => function (this: unknown, inputs: Tensor[]): Tensor {
    const [a, b] = inputs;
    if (inputs.length !== 2 || a!.dtype !== 'float32' || b!.dtype !== 'float32' || a!.shape.join() !== b!.shape.join() || !sequenceOpsHere(tf)) return original.call(this, inputs);
    return tf.tidy(() => residualAdd(tf, a!, b!));
  });
}

/** Glorot-uniform limit from the fans of the 2-D matrix a kernel acts as. */
const glorotLimit = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));

/**
 * Defines our custom layer classes on the given tfjs instance and registers them for serialization
 * (so tf.loadLayersModel finds them by className). Only the `tf` passed in is used, whatever its backend.
 */
export function defineCustomLayerClasses(tf: Tf): CustomLayerClasses {
  patchDense(tf);
  patchSequenceLayers(tf);
  /**
   * Keras-style multi-head attention. Inputs: [query] (self-attention) or [query, key/value]
   * (cross-attention), each [batch, T, features]. Weights use Keras's names and shapes:
   * query|key|value/kernel [D, heads, dim], …/bias [heads, dim], attention_output/kernel
   * [heads, valueDim, D], attention_output/bias [D]. Output: [batch, Tq, D] (D = query features).
   */
  class MultiHeadAttention extends tf.layers.Layer {
    static className = 'MultiHeadAttention';
    readonly numHeads: number;
    readonly keyDim: number;
    readonly valueDim: number;
    readonly dropoutRate: number;
    readonly causal: boolean;
    readonly useBias: boolean;
    private w: Record<string, tfjs.LayerVariable> = {};

    constructor(args: MultiHeadAttentionArgs) {
      super(args);
      if (!Number.isInteger(args.numHeads) || args.numHeads < 1) throw new Error(`MultiHeadAttention: numHeads must be an integer >= 1, got ${args.numHeads}`);
      if (!Number.isInteger(args.keyDim) || args.keyDim < 1) throw new Error(`MultiHeadAttention: keyDim must be an integer >= 1, got ${args.keyDim}`);
      this.numHeads = args.numHeads;
      this.keyDim = args.keyDim;
      this.valueDim = args.valueDim || args.keyDim;
      this.dropoutRate = args.dropout ?? 0;
      this.causal = args.causal ?? false;
      this.useBias = args.useBias ?? true;
    }

    override build(inputShape: Shape | Shape[]): void {
      const shapes = shapeList(inputShape);
      const q = shapes[0]!;
      const kv = shapes[1] ?? q;
      const d = q[q.length - 1];
      const dkv = kv[kv.length - 1];
      if (q.length !== 3 || kv.length !== 3 || d == null || dkv == null) {
        throw new Error(`MultiHeadAttention '${this.name}' expects inputs [batch, T, features], got ${JSON.stringify(shapes)}`);
      }
      const h = this.numHeads;
      const zeros = tf.initializers.zeros();
      const uniform = (limit: number) => tf.initializers.randomUniform({ minval: -limit, maxval: limit });
      const add = (name: string, shape: number[], init: ReturnType<typeof tfjs.initializers.zeros>) => {
        this.w[name] = this.addWeight(name, shape, 'float32', init);
      };
      add('query/kernel', [d, h, this.keyDim], uniform(glorotLimit(d, h * this.keyDim)));
      if (this.useBias) add('query/bias', [h, this.keyDim], zeros);
      add('key/kernel', [dkv, h, this.keyDim], uniform(glorotLimit(dkv, h * this.keyDim)));
      if (this.useBias) add('key/bias', [h, this.keyDim], zeros);
      add('value/kernel', [dkv, h, this.valueDim], uniform(glorotLimit(dkv, h * this.valueDim)));
      if (this.useBias) add('value/bias', [h, this.valueDim], zeros);
      add('attention_output/kernel', [h, this.valueDim, d], uniform(glorotLimit(h * this.valueDim, d)));
      if (this.useBias) add('attention_output/bias', [d], zeros);
      this.built = true;
    }

    /** [B, T, Din] -> [B, heads, T, dim] through kernel [Din, heads, dim] (+ bias). */
    private project(x: Tensor, name: string, dim: number): Tensor {
      const [, t, din] = x.shape as number[];
      const units = this.numHeads * dim;
      let y = tf.matMul(tf.reshape(x, [-1, din!]), tf.reshape(this.w[`${name}/kernel`]!.read(), [din!, units]));
      if (this.useBias) y = tf.add(y, tf.reshape(this.w[`${name}/bias`]!.read(), [units]));
      return tf.transpose(tf.reshape(y, [-1, t!, this.numHeads, dim]), [0, 2, 1, 3]);
    }

    /** The same attention as one fused op (backends/attention.ts): projections without head transposes; self-attention projects Q, K and V in one product. */
    private callFused(query: Tensor, kv: Tensor, kwargs: Kwargs): Tensor {
      const [b, tq, d] = query.shape as number[];
      const [, tk, dkv] = kv.shape as number[];
      const h = this.numHeads, hk = h * this.keyDim, hv = h * this.valueDim;
      const rate = kwargs.training === true ? this.dropoutRate : 0;
      const opts = { heads: h, keyDim: this.keyDim, valueDim: this.valueDim, causal: this.causal, dropout: rate };
      const kernel = (name: string, din: number, units: number) => tf.reshape(this.w[`${name}/kernel`]!.read(), [din, units]);
      const bias = (name: string, units: number) => (this.useBias ? tf.reshape(this.w[`${name}/bias`]!.read(), [units]) : undefined);
      let o: Tensor;
      if (fusedDenseHere(tf)) {
        // Products as our dense op on the weights as they are ([D, heads, dim] kernels, [heads, dim] biases): no reshapes.
        const wk = (name: string) => this.w[`${name}/kernel`]!.read();
        const wb = (name: string) => (this.useBias ? this.w[`${name}/bias`]!.read() : null);
        if (kv === query && fusedMhaHere(tf, this.keyDim, this.valueDim, tq)) {
          // The whole layer as one op: projections on the kernels as they are, packed in scratch (backends/attention.ts).
          const biases = this.useBias ? ([wb('query')!, wb('key')!, wb('value')!, wb('attention_output')!] as [Tensor, Tensor, Tensor, Tensor]) : null;
          return fusedMhaSelfAttention(tf, query, { wq: wk('query'), wk: wk('key'), wv: wk('value'), wo: wk('attention_output'), biases }, opts);
        }
        if (kv === query) {
          // Concatenating [D, H, dk] kernels on their head axis lays each row out as Q | K | V, as the packed op reads them.
          const flat = this.keyDim === this.valueDim ? (t: Tensor) => t : (t: Tensor) => tf.reshape(t, [d!, -1]);
          const flatB = this.keyDim === this.valueDim ? (t: Tensor) => t : (t: Tensor) => tf.reshape(t, [-1]);
          const w = tf.concat([flat(wk('query')), flat(wk('key')), flat(wk('value'))], 1);
          const b = this.useBias ? tf.concat([flatB(wb('query')!), flatB(wb('key')!), flatB(wb('value')!)], 0) : null;
          o = fusedSelfAttention(tf, fusedDense(tf, query, w, b), opts);
        } else {
          o = fusedAttention(tf, fusedDense(tf, query, wk('query'), wb('query')), fusedDense(tf, kv, wk('key'), wb('key')), fusedDense(tf, kv, wk('value'), wb('value')), opts);
        }
        return fusedDense(tf, o, wk('attention_output'), wb('attention_output'));
      }
      if (kv === query) {
        const w = tf.concat([kernel('query', d!, hk), kernel('key', d!, hk), kernel('value', d!, hv)], 1);
        const wb = this.useBias ? tf.concat([bias('query', hk)!, bias('key', hk)!, bias('value', hv)!], 0) : undefined;
        const qkv = tf.fused.matMul({ a: tf.reshape(query, [-1, d!]), b: w, bias: wb });
        o = fusedSelfAttention(tf, tf.reshape(qkv, [b!, tq!, 2 * hk + hv]), opts);
      } else {
        const proj = (x: Tensor, t: number, din: number, name: string, units: number) => tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [-1, din]), b: kernel(name, din, units), bias: bias(name, units) }), [b!, t, units]);
        o = fusedAttention(tf, proj(query, tq!, d!, 'query', hk), proj(kv, tk!, dkv!, 'key', hk), proj(kv, tk!, dkv!, 'value', hv), opts);
      }
      const out = tf.fused.matMul({ a: tf.reshape(o, [-1, hv]), b: tf.reshape(this.w['attention_output/kernel']!.read(), [hv, d!]), bias: this.useBias ? this.w['attention_output/bias']!.read() : undefined });
      return tf.reshape(out, [-1, tq!, d!]);
    }

    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
      return tf.tidy(() => {
        const list = Array.isArray(inputs) ? inputs : [inputs];
        const query = list[0]!;
        const kv = list[1] ?? query;
        const [, tq, d] = query.shape as number[];
        if (query.dtype === 'float32' && kv.dtype === 'float32' && query.shape[0] != null && fusedAttentionHere(tf, this.keyDim, this.valueDim, kv.shape[1])) {
          return this.callFused(query, kv, kwargs);
        }
        const q = this.project(query, 'query', this.keyDim); // [B, H, Tq, K]
        const k = this.project(kv, 'key', this.keyDim); // [B, H, Tk, K]
        const v = this.project(kv, 'value', this.valueDim); // [B, H, Tk, V]
        // softmax(QKᵀ/√d + causal mask) as one op with its own gradient (backends/attentionSoftmax.ts).
        let weights = attentionSoftmax(tf, tf.matMul(q, k, false, true), 1 / Math.sqrt(this.keyDim), this.causal); // [B, H, Tq, Tk]
        if (kwargs.training === true && this.dropoutRate > 0) weights = tf.dropout(weights, this.dropoutRate);
        const o = tf.matMul(weights, v); // [B, H, Tq, V]
        const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [-1, this.numHeads * this.valueDim]);
        let out = tf.matMul(merged, tf.reshape(this.w['attention_output/kernel']!.read(), [this.numHeads * this.valueDim, d!]));
        if (this.useBias) out = tf.add(out, this.w['attention_output/bias']!.read());
        return tf.reshape(out, [-1, tq!, d!]);
      });
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return shapeList(inputShape)[0]!;
    }

    override getConfig() {
      return {
        ...super.getConfig(),
        numHeads: this.numHeads,
        keyDim: this.keyDim,
        valueDim: this.valueDim,
        dropout: this.dropoutRate,
        causal: this.causal,
        useBias: this.useBias,
      };
    }
  }

  /** Adds a learned vector per position (weights `embeddings` [sequenceLength, D]) to a [batch, T, D] input. */
  class PositionalEmbedding extends tf.layers.Layer {
    static className = 'PositionalEmbedding';
    readonly sequenceLength: number;
    outputDim: number | null;
    private embeddings: tfjs.LayerVariable | null = null;

    constructor(args: PositionalEmbeddingArgs) {
      super(args);
      if (!Number.isInteger(args.sequenceLength) || args.sequenceLength < 1) {
        throw new Error(`PositionalEmbedding: sequenceLength must be an integer >= 1, got ${args.sequenceLength}`);
      }
      this.sequenceLength = args.sequenceLength;
      this.outputDim = args.outputDim ?? null;
    }

    override build(inputShape: Shape | Shape[]): void {
      const shape = shapeList(inputShape)[0]!;
      const t = shape[1];
      const d = shape[shape.length - 1];
      if (shape.length !== 3 || d == null) throw new Error(`PositionalEmbedding '${this.name}' expects [batch, T, D], got ${JSON.stringify(shape)}`);
      if (t != null && t !== this.sequenceLength) {
        throw new Error(`PositionalEmbedding '${this.name}': sequenceLength ${this.sequenceLength} does not match the input's ${t} steps`);
      }
      if (this.outputDim != null && this.outputDim !== d) {
        throw new Error(`PositionalEmbedding '${this.name}': outputDim ${this.outputDim} does not match the input's ${d} features`);
      }
      this.outputDim = d;
      const limit = glorotLimit(this.sequenceLength, d);
      this.embeddings = this.addWeight('embeddings', [this.sequenceLength, d], 'float32', tf.initializers.randomUniform({ minval: -limit, maxval: limit }));
      this.built = true;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0]! : inputs;
        // [T, D] broadcasts against [batch, T, D] as it is (no ExpandDims, one Reshape less in the gradient).
        return tf.add(x, this.embeddings!.read());
      });
    }

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      return shapeList(inputShape)[0]!;
    }

    override getConfig() {
      return { ...super.getConfig(), sequenceLength: this.sequenceLength, outputDim: this.outputDim };
    }
  }

  /**
   * tfjs's LayerNormalization with the same class name, config and weights (so saved models and the
   * tfjs export load anywhere as the standard layer), whose call() over the last axis is one fused op
   * with its own gradient (backends/layerNorm.ts) instead of tfjs's tiles + moments + batchNorm.
   * Registered in place of tfjs's class on this tf instance, so loaded models use it too.
   */
  const TfjsLayerNormalization = (tf.layers.layerNormalization({}) as object).constructor as new (args: LayerNormalizationArgs) => tfjs.layers.Layer;
  class LayerNormalization extends TfjsLayerNormalization {
    static className = 'LayerNormalization';
    override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const self = this as unknown as TfjsLayerNormalization;
      const axes = Array.isArray(self.axis) ? self.axis : [self.axis];
      const lastAxisOnly = axes.length === 1 && (axes[0] === -1 || axes[0] === x.rank - 1);
      if (!lastAxisOnly || x.dtype !== 'float32') return super.call(inputs, kwargs);
      return tf.tidy(() => layerNorm(tf, x, self.scale && self.gamma ? self.gamma.read() : null, self.center && self.beta ? self.beta.read() : null, self.epsilon));
    }
  }

  /**
   * The 'gelu' activation (Dense(activation: 'gelu'), Activation layers) as one fused op with its own
   * gradient (backends/gelu.ts); same name and formula as tfjs's, registered in its place.
   */
  const TfjsGelu = (tf.layers.activation({ activation: 'gelu' }) as unknown as { activation: object }).activation.constructor as new () => { apply(x: Tensor): Tensor };
  class Gelu extends TfjsGelu {
    static className = 'gelu';
    override apply(x: Tensor): Tensor {
      return tf.tidy(() => gelu(tf, x));
    }
  }

  tf.serialization.registerClass(Gelu as unknown as Parameters<Tf['serialization']['registerClass']>[0]);
  tf.serialization.registerClass(MultiHeadAttention);
  tf.serialization.registerClass(PositionalEmbedding);
  tf.serialization.registerClass(LayerNormalization as unknown as Parameters<Tf['serialization']['registerClass']>[0]);
  const BatchNormalization = defineBatchNormClass(tf);
  tf.serialization.registerClass(BatchNormalization as unknown as Parameters<Tf['serialization']['registerClass']>[0]);
  return { MultiHeadAttention, PositionalEmbedding, LayerNormalization, BatchNormalization };
}
