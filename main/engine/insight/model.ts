/**
 * Insight on the model a worker holds (a training run's, or a model folder opened for prediction): a test
 * sample and the model's prediction for it, any node's output for it, Grad-CAM and saliency maps, embeddings
 * of a layer projected to 2-D, and the samples of a confusion cell. Nodes are graph node ids (layer names are
 * node names: compile/index.ts); samples are indices in the dataset's own test order (the order the test split
 * is stored and evaluated in: CIFAR-10's test_batch.bin records, MNIST's t10k file, a table's test rows).
 *
 * Sub-models cut at a layer are built once per layer and kept with the model. Reads are async (webgpu-safe).
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { ActivationView, ChannelImage, EmbeddingPoint, SampleInfo, SampleView } from '../../../shared/api/insight';
import type { Graph, GraphNode } from '../../../shared/graph';
import { PAD_ID, decode, tokenString, type Tokenizer } from '../../../shared/text';
import type { Split } from '../datasets/types';
import { pngDataUrl } from '../service/png';
import { attentionWeights, visibleToken } from '../text/attention';
import type { Trainer } from '../training/trainer';
import { channelPng, overlayPng } from './images';
import { project2d } from './projection';
import { InsightError, type InsightOp, type InsightValue } from './types';

type Tf = typeof tfjs;
type Layer = tfjs.layers.Layer;

export interface InsightSource {
  trainer: Trainer;
  /** The model's graph (its project's), to map node ids to layers. */
  graph: Graph | null;
  /** Text models: the tokenizer, to show tokens. */
  tokenizer?: Tokenizer;
}

/** Most features (and steps) of a sequence output returned. */
const MAX_SEQUENCE = 512;
/** Characters of a text sample shown. */
const TEXT_CHARS = 400;
const CONV_CLASSES = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

function cut(text: string, max = TEXT_CHARS): string {
  const points = [...text.trimEnd()];
  return points.length <= max ? points.join('') : `${points.slice(0, max).join('').trimEnd()}…`;
}

export class ModelInsight {
  private readonly subModels = new Map<string, tfjs.LayersModel>();
  /** Whole-test-split predictions (confusion cells), for a model whose weights no longer change. */
  private predictions: { truth: number[]; predicted: number[]; confidence: number[] } | null = null;

  constructor(private readonly src: InsightSource) {}

  private get trainer(): Trainer {
    return this.src.trainer;
  }

  private get tf(): Tf {
    return this.src.trainer.tf;
  }

  private get model(): tfjs.LayersModel {
    return this.src.trainer.model;
  }

  /** Answers one request; `frozen` says the weights will not change (a cache of predictions may be kept). */
  async answer(op: InsightOp, frozen: boolean): Promise<InsightValue> {
    switch (op.kind) {
      case 'sample':
        return { kind: 'sample', sample: await this.sample(op.sample) };
      case 'activations':
        return { kind: 'activations', activations: await this.activations(op.sample, op.nodeId, op.maxChannels) };
      case 'explain':
        return { kind: 'explain', explanation: await this.explain(op) };
      case 'embeddings':
        return { kind: 'embeddings', embeddings: await this.embeddings(op) };
      case 'confusion':
        return { kind: 'confusion', confusion: await this.confusion(op, frozen) };
    }
  }

  // ---- samples ------------------------------------------------------------------------------------
  private testSplit(): Split {
    const ds = this.trainer.dataset;
    if (!ds) throw new InsightError('this model was opened without its dataset: samples come from the test split of the data it was trained on', 'no-dataset');
    return ds.test;
  }

  private checkSample(index: number): Split {
    const test = this.testSplit();
    if (test.count === 0) throw new InsightError(`the dataset '${this.trainer.dataset!.info.name}' has no test samples`, 'no-samples');
    if (!Number.isInteger(index) || index < 0 || index >= test.count) {
      throw new InsightError(`sample ${index} is out of range: the test split has ${test.count} samples (0 … ${test.count - 1})`, 'bad-sample');
    }
    return test;
  }

  /** The model input for one test sample (normalised as in evaluation), and its targets. */
  private input(index: number): { xs: tfjs.Tensor; ys: tfjs.Tensor } {
    return this.trainer.inputsFor(this.checkSample(index), Int32Array.of(index));
  }

  private get isImage(): boolean {
    const ds = this.trainer.dataset;
    return Boolean(ds && !ds.table && !ds.text && ds.test.images.length > 0);
  }

  private imagePixels(index: number): { pixels: Uint8Array; h: number; w: number; c: number } {
    const ds = this.trainer.dataset!;
    const [h, w, c] = ds.shape;
    const size = h * w * c;
    return { pixels: ds.test.images.subarray(index * size, (index + 1) * size), h, w, c };
  }

  /** The token ids a token model reads for an input (one sample), the real ones (trailing padding dropped for texts). */
  private async tokenIds(xs: tfjs.Tensor): Promise<number[] | null> {
    if (xs.dtype !== 'int32') return null;
    const ids = Array.from(await xs.data());
    if (this.trainer.dataset?.text?.kind === 'corpus') return ids;
    let n = ids.length;
    while (n > 1 && ids[n - 1] === PAD_ID) n--;
    return ids.slice(0, n);
  }

  private tokensOf(ids: number[]): string[] {
    const tok = this.src.tokenizer ?? this.trainer.dataset?.text?.tokenizer;
    return ids.map((id) => (tok ? visibleToken(tokenString(tok, id)) : String(id)));
  }

  private view(index: number, ids: number[] | null): SampleView {
    const ds = this.trainer.dataset!;
    if (ds.table) {
      const row = ds.table.testRows[index] ?? [];
      const values: Record<string, string | number> = {};
      ds.table.header.forEach((h, j) => (values[h] = row[j] ?? ''));
      return { kind: 'row', values };
    }
    if (ds.text) {
      const tok = this.src.tokenizer ?? ds.text.tokenizer;
      const text = ds.text.kind === 'text' ? (ds.text.testTexts?.[index]?.text ?? '') : decode(tok, ids ?? []);
      return { kind: 'text', text: cut(text), tokens: this.tokensOf(ids ?? []) };
    }
    const { pixels, h, w, c } = this.imagePixels(index);
    return { kind: 'image', image: pngDataUrl(pixels, h, w, c), height: h, width: w, channels: c };
  }

  private labelOf(index: number): number | null {
    const t = this.trainer;
    const test = this.testSplit();
    if (t.task.id === 'language-modelling') return null;
    if (t.task.id === 'regression') return test.targets ? test.targets[index]! * t.target.std + t.target.mean : null;
    return test.labels[index] ?? null;
  }

  /** A test sample with the model's prediction for it (from its prepared input `xs` when the caller has it). */
  private async sampleInfo(index: number, xs: tfjs.Tensor): Promise<SampleInfo> {
    const t = this.trainer;
    const ids = await this.tokenIds(xs);
    let predicted: number | null = null;
    let probabilities: number[] | undefined;
    if (t.task.id !== 'language-modelling') {
      const p = t.predictionOf(xs);
      try {
        const v = await p.data();
        if (t.task.id === 'classification') {
          probabilities = Array.from(v);
          predicted = argmax(v);
        } else predicted = v[0]!;
      } finally {
        p.dispose();
      }
    }
    return { index, count: this.testSplit().count, label: this.labelOf(index), predicted, ...(probabilities ? { probabilities } : {}), view: this.view(index, ids) };
  }

  async sample(index: number): Promise<SampleInfo> {
    const { xs, ys } = this.input(index);
    try {
      return await this.sampleInfo(index, xs);
    } finally {
      this.tf.dispose([xs, ys]);
    }
  }

  // ---- nodes and layers ---------------------------------------------------------------------------
  /** The layer of a graph node (by node id; a layer name works too, for the CLI), and the node id it answers for. */
  layerOf(nodeId: string): { layer: Layer; nodeId: string } {
    const nodes = this.src.graph?.nodes ?? [];
    const node: GraphNode | undefined = nodes.find((n) => n.id === nodeId) ?? nodes.find((n) => n.name === nodeId);
    const name = node?.name ?? nodeId;
    const layer = this.model.layers.find((l) => l.name === name);
    if (!layer) {
      const known = nodes.length ? nodes.map((n) => (n.id === n.name ? n.id : `${n.id} (${n.name})`)) : this.model.layers.map((l) => l.name);
      throw new InsightError(`no node '${nodeId}' in this model: its nodes are ${known.join(', ')}`, 'bad-node');
    }
    return { layer, nodeId: node?.id ?? this.nodeIdOf(layer.name) };
  }

  private nodeIdOf(layerName: string): string {
    return this.src.graph?.nodes.find((n) => n.name === layerName)?.id ?? layerName;
  }

  /** input -> the layer's output, built once per layer. */
  private subModel(key: string, outputs: tfjs.SymbolicTensor | tfjs.SymbolicTensor[]): tfjs.LayersModel {
    let m = this.subModels.get(key);
    if (!m) {
      m = this.tf.model({ inputs: this.model.inputs, outputs, name: `${this.model.name}_insight_${this.subModels.size}` });
      this.subModels.set(key, m);
    }
    return m;
  }

  private static outputOf(layer: Layer): tfjs.SymbolicTensor {
    const out = layer.output;
    if (Array.isArray(out)) throw new InsightError(`layer '${layer.name}' has ${out.length} outputs: activations show layers with one`, 'bad-node');
    return out;
  }

  /** A layer's output for one prepared input (the input itself for the input layer). The caller disposes it. */
  private layerOutput(layer: Layer, xs: tfjs.Tensor): tfjs.Tensor {
    if (layer.getClassName() === 'InputLayer') return xs.clone();
    return this.subModel(layer.name, ModelInsight.outputOf(layer)).predict(xs) as tfjs.Tensor;
  }

  // ---- activations --------------------------------------------------------------------------------
  async activations(index: number, nodeId: string, maxChannels: number) {
    const { layer, nodeId: id } = this.layerOf(nodeId);
    const { xs, ys } = this.input(index);
    const out = this.layerOutput(layer, xs);
    try {
      const sample = await this.sampleInfo(index, xs);
      const shape = out.shape.slice(1);
      let view: ActivationView;
      if (layer.getClassName() === 'MultiHeadAttention') view = await this.attentionView(layer, xs);
      else view = this.viewOf(await out.data(), shape, layer, maxChannels, await this.tokenIds(xs));
      return { nodeId: id, layerName: layer.name, shape, view, sample };
    } finally {
      this.tf.dispose([xs, ys, out]);
    }
  }

  /** The flat values of a layer's output for one test sample (the CLI's --json). */
  async layerValues(index: number, nodeId: string): Promise<{ layerName: string; nodeId: string; shape: number[]; values: Float32Array | Int32Array | Uint8Array }> {
    const { layer, nodeId: id } = this.layerOf(nodeId);
    const { xs, ys } = this.input(index);
    const out = this.layerOutput(layer, xs);
    try {
      return { layerName: layer.name, nodeId: id, shape: out.shape.slice(1), values: (await out.data()) as Float32Array | Int32Array | Uint8Array };
    } finally {
      this.tf.dispose([xs, ys, out]);
    }
  }

  private viewOf(values: ArrayLike<number>, shape: number[], layer: Layer, maxChannels: number, ids: number[] | null): ActivationView {
    if (shape.length === 3) {
      const [h, w, c] = shape as [number, number, number];
      const stats = Array.from({ length: c }, () => ({ sum: 0, min: Infinity, max: -Infinity }));
      for (let i = 0, n = h * w; i < n; i++) {
        for (let ch = 0; ch < c; ch++) {
          const v = values[i * c + ch]!;
          const s = stats[ch]!;
          s.sum += v;
          if (v < s.min) s.min = v;
          if (v > s.max) s.max = v;
        }
      }
      const order = stats.map((s, ch) => ({ ch, mean: s.sum / (h * w) })).sort((a, b) => b.mean - a.mean || a.ch - b.ch);
      const channels: ChannelImage[] = order.slice(0, maxChannels).map(({ ch, mean }) => {
        const s = stats[ch]!;
        return { channel: ch, mean, min: s.min, max: s.max, image: channelPng(values, h, w, c, ch, s.min, s.max) };
      });
      return { kind: 'feature-maps', height: h, width: w, channels, totalChannels: c };
    }
    if (shape.length === 2) {
      const [steps, features] = shape as [number, number];
      const keepSteps = Math.min(steps, MAX_SEQUENCE);
      const keepFeatures = Math.min(features, MAX_SEQUENCE);
      const rows: number[][] = [];
      for (let t = 0; t < keepSteps; t++) {
        const row = new Array<number>(keepFeatures);
        for (let f = 0; f < keepFeatures; f++) row[f] = values[t * features + f]!;
        rows.push(row);
      }
      const tokens = ids ? this.tokensOf(ids).slice(0, keepSteps) : undefined;
      return {
        kind: 'sequence',
        steps,
        features,
        values: rows,
        ...(tokens ? { tokens } : {}),
      };
    }
    const flat = Array.from(values);
    const out = this.model.outputLayers[0];
    const classNames = this.trainer.dataset?.info.classNames ?? [];
    const labels = layer === out && this.trainer.task.id === 'classification' && classNames.length === flat.length ? classNames : undefined;
    return { kind: 'vector', values: flat, ...(labels ? { labels } : {}) };
  }

  /** A MultiHeadAttention layer's weights for one sample: heads × tokens × tokens over the real tokens. */
  private async attentionView(layer: Layer, xs: tfjs.Tensor): Promise<ActivationView> {
    const node = layer.inboundNodes[0];
    if (!node) throw new InsightError(`attention layer '${layer.name}' is not connected in the model`, 'bad-node');
    const inbound = [...new Set(node.inputTensors)];
    const sub = this.subModel(`${layer.name}#inputs`, inbound);
    const raw = sub.predict(xs);
    const list = Array.isArray(raw) ? raw : [raw];
    const ins = node.inputTensors.map((t) => list[inbound.indexOf(t)]!);
    const ids = (await this.tokenIds(xs)) ?? [];
    const T = ins[0]!.shape[1]!;
    const n = Math.max(1, Math.min(ids.length || T, T));
    const w = this.tf.tidy(() => this.tf.slice(attentionWeights(this.tf, layer, ins[0]!, ins[1] ?? ins[0]!), [0, 0, 0], [-1, n, n]));
    try {
      const weights = (await w.array()) as number[][][];
      const tokens = ids.length ? this.tokensOf(ids.slice(0, n)) : Array.from({ length: n }, (_, i) => String(i));
      return { kind: 'attention', heads: weights.length, tokens, weights };
    } finally {
      this.tf.dispose([w, ...list]);
    }
  }

  // ---- explanations -------------------------------------------------------------------------------
  private checkImageClassifier(): void {
    const t = this.trainer;
    if (!this.isImage || t.inputShape.length !== 3 || t.inputDtype !== 'float32') {
      const ds = t.dataset;
      const what = ds?.table ? 'table rows' : ds?.text || t.inputDtype === 'int32' ? `${t.inputShape.join('×')} token ids` : `${t.inputShape.join('×')} values`;
      throw new InsightError(`Grad-CAM and saliency maps explain image classifiers; this model reads ${what}`, 'not-an-image-model');
    }
    if (t.task.id !== 'classification') throw new InsightError(`Grad-CAM and saliency maps explain classifiers; this model was trained for ${t.task.label.toLowerCase()}`, 'not-a-classifier');
  }

  /** The last convolution of the model, or the node asked (which must be a convolution). */
  convLayer(nodeId?: string): { layer: Layer; nodeId: string } {
    if (nodeId !== undefined) {
      const r = this.layerOf(nodeId);
      const shape = ModelInsight.outputOf(r.layer).shape;
      if (!CONV_CLASSES.has(r.layer.getClassName()) && shape.length !== 4) {
        throw new InsightError(`Grad-CAM needs a convolution layer (or another with an h×w×c output); node '${nodeId}' is a ${r.layer.getClassName()} with a ${shape.slice(1).join('×')} output`, 'not-a-conv-layer');
      }
      return r;
    }
    const convs = this.model.layers.filter((l) => CONV_CLASSES.has(l.getClassName()));
    const last = convs.at(-1);
    if (!last) throw new InsightError('Grad-CAM needs a convolution layer; this model has none: use saliency', 'no-conv-layer');
    return { layer: last, nodeId: this.nodeIdOf(last.name) };
  }

  async explain(op: Extract<InsightOp, { kind: 'explain' }>) {
    this.checkImageClassifier();
    const { tf } = this;
    const t = this.trainer;
    const classNames = t.dataset?.info.classNames ?? [];
    const classes = t.classes;
    if (op.classIndex !== undefined && (op.classIndex < 0 || op.classIndex >= classes)) {
      throw new InsightError(`class ${op.classIndex} is out of range: the model has ${classes} classes (0 … ${classes - 1})`, 'bad-class');
    }
    const conv = op.method === 'gradcam' ? this.convLayer(op.nodeId) : null;
    const { xs, ys } = this.input(op.sample);
    try {
      const sample = await this.sampleInfo(op.sample, xs);
      const classIndex = op.classIndex ?? sample.predicted ?? 0;
      const { pixels, h, w, c } = this.imagePixels(op.sample);
      const heat = conv ? await this.gradCam(conv.layer, xs, classIndex, h, w) : await this.saliency(xs, classIndex, h, w);
      const heatmap: number[][] = [];
      for (let y = 0; y < h; y++) heatmap.push(Array.from(heat.subarray(y * w, (y + 1) * w), (v) => Math.round(v * 1e4) / 1e4));
      return {
        method: op.method,
        classIndex,
        className: classNames[classIndex] ?? String(classIndex),
        ...(conv ? { nodeId: conv.nodeId, layerName: conv.layer.name } : {}),
        heatmap,
        image: pngDataUrl(pixels, h, w, c),
        overlay: overlayPng(pixels, h, w, c, heat),
        sample,
      };
    } finally {
      tf.dispose([xs, ys]);
    }
  }

  /** The class's logit (the score before the output activation) for one input, as a scalar. */
  private score(x: tfjs.Tensor, classIndex: number): tfjs.Scalar {
    const { tf } = this;
    const logits = this.trainer.logits(x, false);
    return tf.squeeze(tf.slice(logits, [0, classIndex], [1, 1])) as tfjs.Scalar;
  }

  /** A [1, h0, w0] map (any size) resized bilinearly to h × w and scaled to 0..1 by its maximum (all 0 when flat). */
  private async normalised(map: tfjs.Tensor, h: number, w: number): Promise<Float32Array> {
    const { tf } = this;
    const up = tf.tidy(() => {
      const m = tf.reshape(map, [1, map.shape[1]!, map.shape[2]!, 1]) as tfjs.Tensor4D;
      const r = m.shape[1] === h && m.shape[2] === w ? m : tf.image.resizeBilinear(m, [h, w]);
      const lo = tf.min(r);
      const span = tf.sub(tf.max(r), lo);
      return tf.reshape(tf.where(tf.greater(span, 0), tf.div(tf.sub(r, lo), tf.maximum(span, 1e-12)), tf.zerosLike(r)), [h * w]);
    });
    try {
      return (await up.data()) as Float32Array;
    } finally {
      up.dispose();
    }
  }

  /**
   * Grad-CAM (Selvaraju et al.): A = the layer's output, g = d score / d A; channel weights are the spatial
   * means of g, the map is ReLU(Σ_c weight_c · A_c), upsampled to the image and scaled to 0..1. The gradient
   * is taken at the layer by adding a zero tensor to its output inside the forward pass (any topology works,
   * skips and branches included).
   */
  private async gradCam(layer: Layer, xs: tfjs.Tensor, classIndex: number, h: number, w: number): Promise<Float32Array> {
    const { tf } = this;
    const outShape = ModelInsight.outputOf(layer).shape.slice(1) as number[];
    const holder = layer as unknown as { call: (inputs: tfjs.Tensor | tfjs.Tensor[], kwargs: Record<string, unknown>) => tfjs.Tensor | tfjs.Tensor[] };
    const original = holder.call;
    let activation: tfjs.Tensor | null = null;
    const zero = tf.zeros([1, ...outShape]);
    let grads: tfjs.Tensor | null = null;
    try {
      grads = tf.grad((delta: tfjs.Tensor) => {
        holder.call = (inputs, kwargs) => {
          const y = original.call(layer, inputs, kwargs) as tfjs.Tensor;
          activation?.dispose();
          activation = tf.keep(y.clone());
          return tf.add(y, delta);
        };
        try {
          return this.score(xs, classIndex);
        } finally {
          holder.call = original;
        }
      })(zero);
      if (!activation) throw new InsightError(`layer '${layer.name}' was not run by the model's forward pass`, 'bad-node');
      const a: tfjs.Tensor = activation;
      const g: tfjs.Tensor = grads;
      const cam = tf.tidy(() => tf.relu(tf.sum(tf.mul(a, tf.mean(g, [1, 2], true)), -1)));
      try {
        return await this.normalised(cam, h, w);
      } finally {
        cam.dispose();
      }
    } finally {
      holder.call = original;
      tf.dispose([zero, ...(grads ? [grads] : []), ...(activation ? [activation as tfjs.Tensor] : [])]);
    }
  }

  /** Gradient saliency (Simonyan et al.): max over channels of |d score / d input|, scaled to 0..1. */
  private async saliency(xs: tfjs.Tensor, classIndex: number, h: number, w: number): Promise<Float32Array> {
    const { tf } = this;
    const g = tf.grad((x: tfjs.Tensor) => this.score(x, classIndex))(xs);
    const map = tf.tidy(() => tf.max(tf.abs(g), -1));
    try {
      return await this.normalised(map, h, w);
    } finally {
      tf.dispose([g, map]);
    }
  }

  // ---- embeddings ---------------------------------------------------------------------------------
  /** The layer whose output the output layer reads (the penultimate output). */
  private penultimate(): Layer {
    const out = this.model.outputLayers[0]!;
    const prev = out.inboundNodes[0]?.inboundLayers[0];
    if (!prev || prev.getClassName() === 'InputLayer') throw new InsightError(`the output layer '${out.name}' reads the input directly: there is no hidden layer to project`, 'bad-node');
    return prev;
  }

  async embeddings(op: Extract<InsightOp, { kind: 'embeddings' }>) {
    const { tf } = this;
    const t = this.trainer;
    if (t.task.id !== 'classification') throw new InsightError(`embeddings are coloured by class: they need a classifier; this model was trained for ${t.task.label.toLowerCase()}`, 'not-a-classifier');
    const test = this.testSplit();
    const n = Math.min(op.samples, test.count);
    if (n < 2) throw new InsightError(`embeddings need at least 2 test samples; the test split has ${test.count}`, 'no-samples');
    const layer = op.nodeId !== undefined ? this.layerOf(op.nodeId).layer : this.penultimate();
    const sub = this.subModel(`${layer.name}#embedding`, [ModelInsight.outputOf(layer), ...this.model.outputs]);
    let dims = 0;
    let features: Float32Array | null = null;
    const labels: number[] = [];
    const predicted: number[] = [];
    const bs = 128;
    for (let from = 0; from < n; from += bs) {
      const k = Math.min(bs, n - from);
      const idx = Int32Array.from({ length: k }, (_, i) => from + i);
      const { xs, ys } = t.inputsFor(test, idx);
      const [f, p] = sub.predict(xs) as tfjs.Tensor[];
      try {
        const fv = await f!.data();
        const pv = await p!.data();
        dims = fv.length / k;
        features ??= new Float32Array(n * dims);
        features.set(fv, from * dims);
        const width = pv.length / k;
        for (let r = 0; r < k; r++) {
          predicted.push(argmax(pv.subarray(r * width, (r + 1) * width)));
          labels.push(test.labels[from + r] ?? 0);
        }
      } finally {
        tf.dispose([xs, ys, f!, p!]);
      }
    }
    const xy = project2d(features!, n, dims, op.method, op.seed);
    const points: EmbeddingPoint[] = labels.map((label, i) => ({ index: i, x: xy[i * 2]!, y: xy[i * 2 + 1]!, label, predicted: predicted[i]! }));
    const classNames = t.dataset?.info.classNames ?? [];
    return { method: op.method, nodeId: this.nodeIdOf(layer.name), layerName: layer.name, dimensions: dims, classNames, points };
  }

  // ---- confusion cells ----------------------------------------------------------------------------
  async confusion(op: Extract<InsightOp, { kind: 'confusion' }>, frozen: boolean) {
    const t = this.trainer;
    if (t.task.id !== 'classification') throw new InsightError(`confusion cells belong to classifiers; this model was trained for ${t.task.label.toLowerCase()}`, 'not-a-classifier');
    const k = t.dataset?.info.classNames.length || t.classes;
    for (const [what, v] of [['actual', op.actual], ['predicted', op.predicted]] as const) {
      if (v >= k) throw new InsightError(`${what} class ${v} is out of range: the model has ${k} classes (0 … ${k - 1})`, 'bad-class');
    }
    let p = frozen ? this.predictions : null;
    if (!p) {
      const ev = await t.evaluate('test', undefined, true);
      const pr = ev.predictions!;
      p = { truth: pr.truth, predicted: pr.predicted, confidence: pr.confidence ?? [] };
      if (frozen) this.predictions = p;
    }
    const cell: number[] = [];
    for (let i = 0; i < p.truth.length; i++) if (p.truth[i] === op.actual && p.predicted[i] === op.predicted) cell.push(i);
    // The most confident first (for a mistake: the most convincing ones), then by index.
    cell.sort((a, b) => (p.confidence[b] ?? 0) - (p.confidence[a] ?? 0) || a - b);
    const count = this.testSplit().count;
    const items: SampleInfo[] = cell.slice(0, op.limit).map((i) => ({ index: i, count, label: p.truth[i]!, predicted: p.predicted[i]!, view: this.view(i, this.rowIds(i)) }));
    return { actual: op.actual, predicted: op.predicted, total: cell.length, items };
  }

  /** A text sample's token ids without running the model (labelled-text rows; corpus windows). */
  private rowIds(index: number): number[] | null {
    const ds = this.trainer.dataset;
    if (!ds?.text) return null;
    const T = ds.text.seqLen;
    const test = ds.test;
    if (test.tokens) {
      const row = Array.from(test.tokens.subarray(index * T, (index + 1) * T));
      let n = row.length;
      while (n > 1 && row[n - 1] === PAD_ID) n--;
      return row.slice(0, n);
    }
    if (test.stream) {
      const s = index * (test.stride ?? T);
      return Array.from(test.stream.subarray(s, s + T));
    }
    return null;
  }
}
