/**
 * PyTorch weights back into our model folder: the inverse of the PyTorch export's tensor transforms (conv
 * OIHW -> HWIO, dense transpose, depthwise reshape, attention projections, …), so a run trained by train.py
 * (or any state_dict of the exported Model) can be evaluated, predicted with and exported like a tfjs run.
 *
 * The inverse is not written per layer: every lowering in export/pytorch/layers.ts moves values without
 * changing them (a transpose, a reshape, a copy), so it is run once on weights filled with their own indices
 * (two passes: low and high 12 bits, exact in float32) and the torch tensor it produces says, element by
 * element, which tfjs value went where. Values the export writes as constants are handled here: a
 * recurrent layer's `bias_hh` (zero in the export, trained by nn.LSTM/nn.RNN) is added to `bias_ih`, as
 * Keras has one bias; `num_batches_tracked` and a table model's normalisation buffers are not weights.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseProjectText, type ProjectFile } from '../../../shared/project';
import type { ModelTask } from '../../../shared/tasks';
import { parseTokenizer } from '../../../shared/text';
import { compileGraph } from '../compile';
import { registerCustomLayers } from '../compile/custom';
import { exportGraphOf, type ExportGraph, type ExportLayer } from '../export/exportGraph';
import { saveModelFolder } from '../export/modelFolder';
import { pyName } from '../export/pytorch';
import { PYTORCH_LAYERS, type TorchCode } from '../export/pytorch/layers';
import { decodeSafetensors, type SafeTensor } from '../export/pytorch/safetensors';
import { readPreprocessing } from '../export/modelFolder';

type Tf = typeof tfjs;

/** For one torch tensor: per element, which weight of the layer (index into layer.weights) and which element of it. */
interface Origin {
  layer: ExportLayer;
  weight: Int32Array;
  element: Float64Array;
  shape: number[];
}

const LOW = 4096;

function lower(layer: ExportLayer, values: (w: number, i: number) => number): TorchCode {
  const entry = PYTORCH_LAYERS[layer.type];
  if (!entry || !('supported' in entry)) throw new Error(`${layer.name} (${layer.type}): no PyTorch lowering, so its weights cannot come back`);
  const weights = layer.weights.map((w, j) => ({ ...w, values: Float32Array.from({ length: w.values.length }, (_, i) => values(j, i)) }));
  return entry.supported({ ...layer, weights });
}

/** torch state_dict key -> where each of its elements comes from in the tfjs weights. */
export function torchWeightOrigins(g: ExportGraph): Map<string, Origin> {
  const out = new Map<string, Origin>();
  for (const layer of g.layers) {
    if (!layer.weights.length) continue;
    if (layer.weights.length > 1000) throw new Error(`${layer.name}: ${layer.weights.length} weights in one layer is more than this mapping handles`);
    const a = lower(layer, (j, i) => j * LOW + (i % LOW) + 1);
    const b = lower(layer, (_j, i) => Math.floor(i / LOW) + 1);
    const v = pyName(layer.name);
    a.tensors.forEach((ta, k) => {
      const tb = b.tensors[k]!;
      const n = ta.values.length;
      const weight = new Int32Array(n).fill(-1);
      const element = new Float64Array(n).fill(-1);
      for (let e = 0; e < n; e++) {
        const ca = ta.values[e]!;
        if (ca === 0) continue; // a constant of the export (zeros), not a weight
        weight[e] = Math.floor((ca - 1) / LOW);
        element[e] = (tb.values[e]! - 1) * LOW + ((ca - 1) % LOW);
      }
      out.set(`${v}.${ta.key}`, { layer, weight, element, shape: ta.shape });
    });
  }
  return out;
}

/**
 * Puts a state_dict (torch layout, the PyTorch export's keys) into a tfjs model of the same graph. Throws,
 * naming the keys, when a weight is missing or has another shape.
 */
export function setTorchWeights(tf: Tf, graph: ProjectFile['graph'], model: tfjs.LayersModel, tensors: Record<string, SafeTensor>, name = 'model'): void {
  const g = exportGraphOf(graph, model, name);
  const origins = torchWeightOrigins(g);
  const values = new Map<ExportLayer, Float32Array[]>(g.layers.map((l) => [l, l.weights.map((w) => new Float32Array(w.values.length))]));
  const filled = new Map<ExportLayer, Uint8Array[]>(g.layers.map((l) => [l, l.weights.map((w) => new Uint8Array(w.values.length))]));
  const missing: string[] = [];
  const bad: string[] = [];
  for (const [key, o] of origins) {
    const t = tensors[key];
    if (!t) {
      missing.push(key);
      continue;
    }
    if (t.shape.join() !== o.shape.join()) {
      bad.push(`${key} is [${t.shape.join(', ')}], the model needs [${o.shape.join(', ')}]`);
      continue;
    }
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data, Number);
    // nn.LSTM / nn.RNN have two biases where Keras has one: their sum is the Keras bias
    const hhKey = key.replace('bias_ih_l0', 'bias_hh_l0');
    const hh = /\.bias_ih_l0(_reverse)?$/.test(key) ? tensors[hhKey] : undefined;
    const hhIsConstant = !origins.get(hhKey)?.weight.some((w) => w >= 0); // the export writes zeros there
    const hhData = hh && hhIsConstant && hh.data.length === data.length ? (hh.data instanceof Float32Array ? hh.data : Float32Array.from(hh.data, Number)) : undefined;
    const vs = values.get(o.layer)!;
    const fs = filled.get(o.layer)!;
    for (let e = 0; e < data.length; e++) {
      const w = o.weight[e]!;
      if (w < 0) continue;
      vs[w]![o.element[e]!] = data[e]! + (hhData ? hhData[e]! : 0);
      fs[w]![o.element[e]!] = 1;
    }
  }
  if (missing.length || bad.length) {
    throw new Error(`the PyTorch weights do not fit the model: ${[...(missing.length ? [`missing ${missing.join(', ')}`] : []), ...bad].join('; ')}`);
  }
  for (const layer of g.layers) {
    if (!layer.weights.length) continue;
    const fs = filled.get(layer)!;
    layer.weights.forEach((w, j) => {
      const gap = fs[j]!.indexOf(0);
      if (gap >= 0) throw new Error(`${layer.name}: the PyTorch weights leave ${w.fullName} element ${gap} unset (the export writes a constant there)`);
    });
    const tfLayer = model.getLayer(layer.name);
    const vs = values.get(layer)!;
    tfLayer.setWeights(layer.weights.map((w, j) => tf.tensor(vs[j]!, w.shape)));
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export interface ModelFolderFromTorchOptions {
  /** The training bundle (project.json, config.json, and tokenizer.json / preprocessing.json where the dataset has them). */
  bundleDir: string;
  /** The .safetensors written by train.py (or any state_dict of the bundle's Model). */
  weights: string;
  /** The model folder to write (model.json, weights.bin, project.json, metrics.json …). */
  outDir: string;
  tf?: Tf;
  /** The project, when bundleDir has no project.json (e.g. a plain PyTorch export). */
  project?: ProjectFile;
  /** Extra fields for metrics.json (default: result.json's reason, history and backend when the folder has one). */
  metrics?: Record<string, unknown>;
}

/** Writes our model folder from PyTorch weights, so evaluate, predict and every export work on a PyTorch-trained run. */
export async function modelFolderFromTorch(opts: ModelFolderFromTorchOptions): Promise<void> {
  const tf = opts.tf ?? (await import('@tensorflow/tfjs'));
  await tf.ready();
  registerCustomLayers(tf);
  const projectPath = join(opts.bundleDir, 'project.json');
  const project = opts.project ?? parseProjectText(await readFile(projectPath, 'utf8').catch(() => {
    throw new Error(`${projectPath} is missing: the bundle's project (graph) is needed to rebuild the model`);
  }), projectPath);
  const config = await readJson<{ task?: ModelTask }>(join(opts.bundleDir, 'config.json'));
  const result = await readJson<Record<string, unknown>>(join(opts.bundleDir, 'result.json'));
  const { model } = compileGraph(tf, project.graph, project.name);
  try {
    const { tensors } = decodeSafetensors(new Uint8Array(await readFile(opts.weights)));
    setTorchWeights(tf, project.graph, model, tensors, project.name);
    const tokenizerJson = await readJson<unknown>(join(opts.bundleDir, 'tokenizer.json'));
    const tokenizer = tokenizerJson ? parseTokenizer(tokenizerJson, join(opts.bundleDir, 'tokenizer.json')) : undefined;
    const preprocessing = await readPreprocessing(opts.bundleDir);
    const metrics = opts.metrics ?? (result ? { reason: result.reason, history: result.history, backend: 'pytorch' } : { backend: 'pytorch' });
    await saveModelFolder(tf, opts.outDir, {
      project,
      model,
      metrics,
      ...(config?.task ? { task: config.task } : {}),
      ...(preprocessing ? { preprocessing } : {}),
      ...(tokenizer ? { tokenizer } : {}),
    });
  } finally {
    model.dispose();
  }
}
