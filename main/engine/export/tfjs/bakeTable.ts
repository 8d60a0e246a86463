import type * as tfjs from '@tensorflow/tfjs';
import { freshName, type TableScaling } from '../exportGraph';

/**
 * Builds a table model's normalisation into its TensorFlow.js artifacts (topology + weights), so the
 * written model.json takes raw encoded features, returns a regression target in its units, and still
 * loads with a plain `tf.loadLayersModel` (only core layers, no custom class to register):
 *
 * - input, x' = (x - mean) / std: **folded** into the first layers when every layer reading the input is
 *   a Dense (W'[i,:] = W[i,:] / std[i], b' = b - Σ_i (mean[i] / std[i]) W[i,:]; a bias is added when the
 *   Dense had none). Otherwise a frozen Dense with a diagonal kernel (1/std) and bias (-mean/std) is put
 *   between the input and its readers: exact too, but N² weights, so it is refused above
 *   MAX_DIAGONAL_FEATURES features.
 * - output, y = y' * std + mean (regression): folded into the output layer when it is a linear Dense that
 *   no other layer reads (W' = W * std, b' = b * std + mean); otherwise a frozen Dense 1 -> 1 (kernel std,
 *   bias mean) is appended and becomes the model's output.
 *
 * A frozen Dense (not BatchNormalization, which would also need only O(N) weights) because tfjs runs
 * BatchNormalization with batch statistics under fit() even when it is not trainable: a fine-tuned
 * export would then see wrongly scaled inputs.
 */
export const MAX_DIAGONAL_FEATURES = 4096;

/** What was done, for the export's notes and tests. */
export interface BakedTable {
  input: { how: 'folded'; into: string[] } | { how: 'layer'; layer: string };
  output?: { how: 'folded'; into: string } | { how: 'layer'; layer: string };
}

type InboundRef = [string, number, number, Record<string, unknown>];
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: InboundRef[][];
}
interface TopologyJson {
  class_name: string;
  config: { name?: string; layers: LayerJson[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] };
  [key: string]: unknown;
}

/** The weights of saved artifacts by name, in spec order (non-float32 weights kept as bytes). */
class WeightTable {
  readonly specs: tfjs.io.WeightsManifestEntry[];
  private readonly values = new Map<string, Float32Array | Uint8Array>();

  constructor(tf: typeof tfjs, artifacts: tfjs.io.ModelArtifacts) {
    this.specs = [...(artifacts.weightSpecs ?? [])];
    const data = artifacts.weightData ? new Uint8Array(tf.io.concatenateArrayBuffers([artifacts.weightData].flat())) : new Uint8Array();
    let offset = 0;
    for (const spec of this.specs) {
      if (spec.quantization) throw new Error(`internal error: weight ${spec.name} is quantized`);
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const bytes = data.slice(offset, offset + count * 4);
      offset += count * 4;
      this.values.set(spec.name, spec.dtype === 'float32' ? new Float32Array(bytes.buffer) : bytes);
    }
  }

  floats(name: string): Float32Array | undefined {
    const v = this.values.get(name);
    return v instanceof Float32Array ? v : undefined;
  }

  set(name: string, shape: number[], values: Float32Array): void {
    if (!this.values.has(name)) this.specs.push({ name, shape, dtype: 'float32' });
    this.values.set(name, values);
  }

  data(): ArrayBuffer {
    const parts = this.specs.map((s) => {
      const v = this.values.get(s.name)!;
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    });
    const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.byteLength;
    }
    return out.buffer;
  }
}

const refsTo = (layer: LayerJson, name: string) => layer.inbound_nodes.some((node) => node.some((r) => r[0] === name));

/** A frozen Dense layer's JSON, as tfjs saves a Dense. */
function frozenDense(name: string, units: number, inbound: string): LayerJson {
  return {
    name,
    class_name: 'Dense',
    config: {
      units,
      activation: 'linear',
      use_bias: true,
      kernel_initializer: { class_name: 'Zeros', config: {} },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: false,
    },
    inbound_nodes: [[[inbound, 0, 0, {}]]],
  };
}

/** Kernel [rows, units] and bias of a Dense in the table; the bias is created (zeros, use_bias on) when missing. */
function denseWeights(w: WeightTable, layer: LayerJson): { kernel: Float32Array; rows: number; units: number; bias: Float32Array } {
  const kernel = w.floats(`${layer.name}/kernel`);
  const units = Number(layer.config.units);
  if (!kernel || !units) throw new Error(`internal error: Dense ${layer.name} has no float32 kernel`);
  let bias = w.floats(`${layer.name}/bias`);
  if (!bias) {
    bias = new Float32Array(units);
    layer.config.use_bias = true;
    layer.config.bias_initializer ??= { class_name: 'Zeros', config: {} };
    w.set(`${layer.name}/bias`, [units], bias);
  }
  return { kernel, rows: kernel.length / units, units, bias };
}

/** Returns new artifacts with the table scaling built in (the given artifacts are not changed). */
export function bakeTableScaling(tf: typeof tfjs, artifacts: tfjs.io.ModelArtifacts, t: TableScaling): { artifacts: tfjs.io.ModelArtifacts; baked: BakedTable } {
  const topology = structuredClone(artifacts.modelTopology) as TopologyJson;
  const layers = topology?.config?.layers;
  if (!Array.isArray(layers) || !Array.isArray(topology.config.output_layers)) throw new Error('internal error: the TensorFlow.js topology is not a functional model');
  const w = new WeightTable(tf, artifacts);
  const taken = new Set(layers.map((l) => l.name));
  const n = t.mean.length;

  // input: x' = x * (1/std) + (-mean/std)
  const readers = layers.filter((l) => refsTo(l, t.input));
  let input: BakedTable['input'];
  if (readers.length > 0 && readers.every((l) => l.class_name === 'Dense' && l.inbound_nodes.length === 1)) {
    for (const layer of readers) {
      const { kernel, rows, units, bias } = denseWeights(w, layer);
      if (rows !== n) throw new Error(`internal error: ${layer.name} reads ${rows} features, the preprocessing has ${n}`);
      for (let u = 0; u < units; u++) {
        let shift = 0;
        for (let i = 0; i < n; i++) shift += (t.mean[i]! / t.std[i]!) * kernel[i * units + u]!;
        bias[u] = bias[u]! - shift;
      }
      for (let i = 0; i < n; i++) for (let u = 0; u < units; u++) kernel[i * units + u] = kernel[i * units + u]! / t.std[i]!;
    }
    input = { how: 'folded', into: readers.map((l) => l.name) };
  } else {
    if (n > MAX_DIAGONAL_FEATURES) {
      throw new Error(
        `the TensorFlow.js export builds the feature normalisation into the Dense layers that read the input; ${t.input} is also read by ${readers
          .filter((l) => l.class_name !== 'Dense')
          .map((l) => `${l.name} (${l.class_name})`)
          .join(', ')}, and a separate normalisation layer for ${n} features (over ${MAX_DIAGONAL_FEATURES}) would need ${n}² weights: put a Dense layer first, or export to ONNX, PyTorch or Keras`,
      );
    }
    const name = freshName(taken, `${t.input}_normalize`);
    for (const l of readers) for (const node of l.inbound_nodes) for (const r of node) if (r[0] === t.input) r[0] = name;
    layers.splice(layers.findIndex((l) => l.name === t.input) + 1, 0, frozenDense(name, n, t.input));
    const kernel = new Float32Array(n * n);
    const bias = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      kernel[i * n + i] = 1 / t.std[i]!;
      bias[i] = -t.mean[i]! / t.std[i]!;
    }
    w.set(`${name}/kernel`, [n, n], kernel);
    w.set(`${name}/bias`, [n], bias);
    input = { how: 'layer', layer: name };
  }

  // output: y = y' * std + mean
  let output: BakedTable['output'];
  if (t.output) {
    const { name: outName, mean, std } = t.output;
    const out = layers.find((l) => l.name === outName);
    if (!out) throw new Error(`internal error: no output layer ${outName}`);
    const linear = out.config.activation === 'linear' || out.config.activation === undefined;
    if (out.class_name === 'Dense' && linear && !layers.some((l) => refsTo(l, outName))) {
      const { kernel, bias } = denseWeights(w, out);
      for (let j = 0; j < kernel.length; j++) kernel[j] = kernel[j]! * std;
      for (let u = 0; u < bias.length; u++) bias[u] = bias[u]! * std + mean;
      output = { how: 'folded', into: outName };
    } else {
      const name = freshName(taken, `${outName}_to_units`);
      layers.push(frozenDense(name, 1, outName));
      w.set(`${name}/kernel`, [1, 1], Float32Array.of(std));
      w.set(`${name}/bias`, [1], Float32Array.of(mean));
      topology.config.output_layers = topology.config.output_layers.map((r) => (r[0] === outName ? [name, 0, 0] : r));
      output = { how: 'layer', layer: name };
    }
  }
  return {
    artifacts: { ...artifacts, modelTopology: topology as unknown as tfjs.io.ModelArtifacts['modelTopology'], weightSpecs: w.specs, weightData: w.data() },
    baked: { input, ...(output ? { output } : {}) },
  };
}
