import type * as tfjs from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { analyzeGraph, type Graph, type GraphEdge, type GraphNode } from '../../../../shared/graph';
import { checkParam, getLayer } from '../../../../shared/layers';
import { newProject } from '../../../../shared/project';
import { compileGraph } from '../../compile';
import { registerCustomLayers } from '../../compile/custom';
import type { ModelFolder } from '../../export/modelFolder';
import { ModelImportError } from '../errors';
import type { ImportOptions, ImportProbe, ImportResult, ModelImporter } from '../types';
import { convertOnnx, type BuiltNode } from './convert';
import { decodeOnnx, looksLikeOnnx, type OnnxModel } from './decode';

export { ONNX_IMPORT_OPS } from './convert';

/** Rows by topological depth (the canvas re-lays out large graphs itself). */
function layout(nodes: GraphNode[], edges: GraphEdge[]): void {
  const depth = new Map<string, number>();
  const preds = new Map<string, string[]>();
  for (const e of edges) (preds.get(e.target) ?? preds.set(e.target, []).get(e.target)!).push(e.source);
  for (const n of nodes) depth.set(n.id, Math.max(-1, ...(preds.get(n.id) ?? []).map((p) => depth.get(p) ?? 0)) + 1);
  const rows = new Map<number, GraphNode[]>();
  for (const n of nodes) (rows.get(depth.get(n.id)!) ?? rows.set(depth.get(n.id)!, []).get(depth.get(n.id)!)!).push(n);
  for (const [row, ns] of rows) ns.forEach((n, i) => (n.position = { x: (i - (ns.length - 1) / 2) * 240, y: row * 110 }));
}

interface Read {
  result: ImportResult;
  built: BuiltNode[];
}

/** Bytes of an .onnx file -> the project, and the weights of each node (tfjs layout). */
export function importOnnxBytes(bytes: Uint8Array, options: ImportOptions = {}, fallbackName = 'Imported model'): Read {
  let model: OnnxModel;
  let conv: ReturnType<typeof convertOnnx>;
  try {
    model = decodeOnnx(bytes);
    conv = convertOnnx(model, options.dims ?? {});
  } catch (error) {
    if (error instanceof ModelImportError) throw error;
    // A field of an unexpected shape deep in a malformed file: say so rather than leak a TypeError.
    if (error instanceof TypeError || error instanceof RangeError) throw new ModelImportError(`the ONNX file is malformed: ${error.message}`);
    throw error;
  }
  const bad: { name: string; className: string; reason: string }[] = [];
  for (const n of conv.nodes) {
    const def = getLayer(n.type)!;
    for (const [k, v] of Object.entries(n.params)) {
      const spec = def.params[k];
      const problem = spec ? checkParam(spec, v) : `is not a ${n.type} param`;
      if (problem) bad.push({ name: n.source, className: n.type, reason: `${k} ${problem}` });
    }
  }
  if (bad.length) throw new ModelImportError(`cannot import: ${bad.map((b) => `${b.name} (${b.className}): ${b.reason}`).join('; ')}`, bad);
  const nodes: GraphNode[] = conv.nodes.map((n) => ({ id: n.id, type: n.type, name: n.id, params: n.params, position: { x: 0, y: 0 } }));
  const edges: GraphEdge[] = conv.nodes.flatMap((n) => n.inputs.map((src, port) => ({ id: `e_${src}_${n.id}_${port}`, source: src, target: n.id, targetPort: port })));
  layout(nodes, edges);
  const graph: Graph = { nodes, edges };
  const analysis = analyzeGraph(graph);
  if (!analysis.valid) {
    throw new ModelImportError(`the imported graph is not valid: ${analysis.problems.filter((p) => p.severity === 'error').map((p) => p.message).join('; ')}`);
  }
  const name = options.name ?? (model.graphName && model.graphName !== 'main_graph' && model.graphName !== 'torch_jit' && model.graphName !== 'torch-jit-export' ? model.graphName : fallbackName);
  const warnings = [...conv.warnings];
  if (conv.hasWeights && analysis.totals.params !== conv.sourceParams) {
    const why = [
      conv.nodes.some((n) => ['LSTM', 'GRU', 'SimpleRNN'].includes(n.type) && !n.params.resetAfter) ? 'a recurrent layer keeps one bias per gate where ONNX stores two' : '',
      conv.nodes.some((n) => n.source.startsWith('affine:')) ? 'a per-channel scale and shift becomes a BatchNormalization with a mean and variance' : '',
    ].filter(Boolean);
    warnings.push(`the imported graph has ${analysis.totals.params} parameters, the file's weight initializers ${conv.sourceParams}${why.length ? ` (${why.join('; ')})` : ''}`);
  }
  return {
    result: {
      project: newProject(name, graph),
      kind: 'onnx',
      warnings,
      hasWeights: conv.hasWeights,
      renamed: conv.renamed,
      assumed: conv.assumed,
      ...(conv.hasWeights ? { sourceParams: conv.sourceParams } : {}),
    },
    built: conv.nodes,
  };
}

/** Puts the converted weights into a compiled model's layers; names every node whose weights do not fit. */
export function setOnnxWeights(tf: typeof tfjs, model: tfjs.LayersModel, built: BuiltNode[]): void {
  const bad: { name: string; className: string; reason: string }[] = [];
  for (const n of built) {
    if (n.type === 'Input') continue;
    const layer = model.getLayer(n.id);
    const want = layer.weights;
    if (!want.length) continue;
    const tensors: tfjs.Tensor[] = [];
    let problem = '';
    for (const w of want) {
      // 'lstm_1/forward_lstm_1_cell/kernel' -> 'forward/kernel'; 'conv/kernel' -> 'kernel'
      const parts = w.originalName.split('/');
      const dir = parts.slice(1, -1).find((p) => p.startsWith('forward_') || p.startsWith('backward_'));
      // MultiHeadAttention's 'mha/query/kernel' -> 'query/kernel'
      const full = parts.slice(1).join('/');
      const key = Object.hasOwn(n.weights, full) ? full : `${dir ? `${dir.split('_')[0]}/` : ''}${parts[parts.length - 1]}`;
      const src = n.weights[key];
      if (!src) {
        problem = `no ONNX weight for ${key}`;
        break;
      }
      if (src.shape.join('x') !== w.shape.join('x')) {
        problem = `${key} is [${src.shape.join(', ')}] in the file, the layer wants [${w.shape.join(', ')}]`;
        break;
      }
      tensors.push(tf.tensor(src.values, src.shape, 'float32'));
    }
    if (problem) bad.push({ name: n.source, className: n.type, reason: problem });
    else layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  if (bad.length) throw new ModelImportError(`cannot import the weights of ${bad.length} node${bad.length === 1 ? '' : 's'}: ${bad.map((b) => `${b.name} (${b.className}): ${b.reason}`).join('; ')}`, bad);
}

const stem = (path: string) => basename(path).replace(/\.onnx$/i, '') || 'Imported model';

async function readBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export const onnxImporter: ModelImporter = {
  id: 'onnx',
  label: 'ONNX',
  detect: (probe: ImportProbe) => !probe.isDirectory && (probe.ext === '.onnx' || (probe.ext === '' && looksLikeOnnx(probe.head))),
  async read(path, options) {
    return importOnnxBytes(await readBytes(path), options, stem(path)).result;
  },
  async readWithWeights(tf, path, options) {
    const { result, built } = importOnnxBytes(await readBytes(path), options, stem(path));
    if (!result.hasWeights) throw new ModelImportError(`${path} has no weights (no initializers)`);
    registerCustomLayers(tf);
    const { model } = compileGraph(tf, result.project.graph, result.project.name.replace(/[^A-Za-z0-9_]/g, '_') || 'model');
    try {
      setOnnxWeights(tf, model, built);
    } catch (error) {
      model.dispose();
      throw error;
    }
    const folder: ModelFolder = { project: result.project, model, metrics: { importedFrom: path, format: 'onnx' } };
    return { result, folder };
  },
};
