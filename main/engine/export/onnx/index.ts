import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { exportGraphOfFolder, UnsupportedLayersError, type ExportGraph } from '../exportGraph';
import { tableReadme, writePreprocessingJson } from '../tableDocs';
import { textNote, textReadme, tokenizerJson, writeTokenizerJson } from '../textDocs';
import type { ExportFormat } from '../types';
import { OnnxBuilder } from './builder';
import { ONNX_LAYERS } from './layers';
import { DataType, encodeModel } from './proto';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export const ONNX_LAYOUT_NOTE =
  'Inputs and outputs keep the TensorFlow.js layout: images are NHWC [N, H, W, C], sequences [N, T, F], token ids int32 [N, T], feature vectors (table rows) [N, F]. ' +
  'Convolutions and pools run in NCHW between Transpose ops, which onnxruntime folds away.';

/** Layers of the graph that ONNX cannot express, with reasons. Empty when the graph exports. */
export function onnxUnsupported(g: ExportGraph): { name: string; type: string; reason: string }[] {
  return g.layers.flatMap((l) => {
    const entry = ONNX_LAYERS[l.type];
    if (!entry) return [{ name: l.name, type: l.type, reason: 'no ONNX exporter for this layer type yet' }];
    return 'unsupported' in entry ? [{ name: l.name, type: l.type, reason: entry.unsupported }] : [];
  });
}

/**
 * Builds the ONNX ModelProto bytes (opset 17) for an export graph with its trained weights. A table model
 * (`g.table`) gets its normalisation as ops: Sub/Div after the input, Mul/Add before a regression output,
 * and its preprocessing in the metadata ('table_preprocessing'). A text model (`g.text`) gets its tokenizer in
 * the metadata ('tokenizer', the layerforge-tokenizer JSON; 'text_input': input name, T, PAD, head).
 */
export function buildOnnx(g: ExportGraph, producerVersion = '0.1.0'): Uint8Array {
  const bad = onnxUnsupported(g);
  if (bad.length) throw new UnsupportedLayersError('ONNX', bad);
  const b = new OnnxBuilder();
  for (const name of [...g.inputs, ...g.outputs]) b.reserve(name);
  const out = new Map<string, string>();
  const failures: { name: string; type: string; reason: string }[] = [];
  for (const layer of g.layers) {
    const entry = ONNX_LAYERS[layer.type]!;
    if (!('supported' in entry)) continue;
    try {
      let y = entry.supported(b, layer, layer.inputs.map((i) => out.get(i)!));
      if (g.table?.input === layer.name) {
        const { mean, std } = g.table;
        const centred = b.op('Sub', [y, b.floats(`${layer.name}_feature_mean`, mean, [mean.length])], {}, `${layer.name}_centred`);
        y = b.op('Div', [centred, b.floats(`${layer.name}_feature_std`, std, [std.length])], {}, `${layer.name}_standardized`);
      }
      out.set(layer.name, y);
    } catch (error) {
      failures.push({ name: layer.name, type: layer.type, reason: error instanceof Error ? error.message : String(error) });
      out.set(layer.name, layer.name);
    }
  }
  if (failures.length) throw new UnsupportedLayersError('ONNX', failures);
  const byName = new Map(g.layers.map((l) => [l.name, l]));
  const valueInfo = (name: string, elemType: number, shape: readonly number[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'N' }, ...shape.map((d) => ({ dimValue: d }))] } } },
  });
  const scaled = g.table?.output;
  if (scaled) {
    const y = b.op('Mul', [out.get(scaled.name)!, b.floats(`${scaled.name}_target_std`, [scaled.std], [1])], {}, `${scaled.name}_scaled`);
    out.set(scaled.name, b.op('Add', [y, b.floats(`${scaled.name}_target_mean`, [scaled.mean], [1])], {}, `${scaled.name}_in_units`));
  }
  for (const name of g.outputs) b.nodes.push({ name: `${name}_output`, opType: 'Identity', input: [out.get(name)!], output: [name], attribute: [] });
  const model = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'Layerforge',
    producerVersion,
    docString: ONNX_LAYOUT_NOTE,
    metadataProps: [
      { key: 'layout', value: g.table ? 'NF' : g.text ? 'NT' : 'NHWC' },
      { key: 'layout_note', value: ONNX_LAYOUT_NOTE },
      { key: 'layers', value: JSON.stringify(g.layers.map((l) => ({ name: l.name, type: l.type }))) },
      ...(g.table ? [{ key: 'table_preprocessing', value: JSON.stringify(g.table.preprocessing) }] : []),
      ...(g.text ? [{ key: 'tokenizer', value: tokenizerJson(g.text.tokenizer) }, { key: 'text_input', value: JSON.stringify({ input: g.text.input, length: g.text.length, pad: 0, head: g.text.head }) }] : []),
    ],
    graph: {
      name: g.name.replace(/[^A-Za-z0-9_]/g, '_') || 'model',
      node: b.nodes,
      initializer: b.initializers,
      input: g.inputs.map((n) => {
        const l = byName.get(n)!;
        return valueInfo(n, l.dtype === 'int32' ? DataType.INT32 : DataType.FLOAT, l.outputShape);
      }),
      output: g.outputs.map((n) => valueInfo(n, DataType.FLOAT, byName.get(n)!.outputShape)),
    },
  };
  return encodeModel(model);
}

export const onnxFormat: ExportFormat = {
  id: 'onnx',
  label: 'ONNX (.onnx, opset 17)',
  extension: '.onnx',
  async export(_tf, folder, outPath) {
    const g = exportGraphOfFolder(folder);
    const bytes = buildOnnx(g);
    const path = resolve(outPath);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    if (!g.table && !g.text) return { files: [path], notes: [ONNX_LAYOUT_NOTE] };
    // One file is the format, so the companions are named after it (model.onnx -> model.preprocessing.json or model.tokenizer.json, model.README.md).
    const stem = basename(path).replace(/\.onnx$/i, '');
    const companion = (suffix: string) => join(dirname(path), `${stem}${suffix}`);
    const files = [path];
    const notes = [ONNX_LAYOUT_NOTE];
    const sections: string[] = [];
    if (g.table) {
      files.push(companion('.preprocessing.json'));
      await writePreprocessingJson(companion('.preprocessing.json'), g.table.preprocessing);
      sections.push(tableReadme(g, 'onnx', stem));
      notes.push(`Table model: takes the raw encoded features, normalised inside the model; see ${stem}.README.md.`);
    }
    if (g.text) {
      files.push(companion('.tokenizer.json'));
      await writeTokenizerJson(companion('.tokenizer.json'), g.text.tokenizer);
      sections.push(textReadme(g, 'onnx', stem));
      notes.push(textNote(g, `${stem}.tokenizer.json`, `${stem}.README.md`));
    }
    files.push(companion('.README.md'));
    const meta = g.table ? 'The preprocessing is also in the model\'s metadata (`table_preprocessing`).' : 'The tokenizer is also in the model\'s metadata (`tokenizer`).';
    await writeFile(companion('.README.md'), `# ${g.name} — ONNX export\n\nGenerated by Layerforge: \`${basename(path)}\`, ONNX opset ${ONNX_OPSET}. ${meta}\n\n${sections.join('\n')}`);
    return { files, notes };
  },
};
