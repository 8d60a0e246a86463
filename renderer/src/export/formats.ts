/**
 * What the Export dialog knows about each model format and about paths on the engine's machine:
 * one line per format, the suggested output path, and checks made before the request is sent.
 * Pure: no React, no engine calls.
 */
import type { ExportFormat, RunSummary } from '../../../shared/api';
import { fileSlug } from '../../../shared/fileSlug';

export interface FormatInfo {
  id: ExportFormat;
  label: string;
  /** One line for the dialog: what is written and the input layout. */
  line: string;
  /** 'file' formats write one file (the path names it); 'folder' formats fill a folder. */
  output: 'file' | 'folder';
  extension?: string;
}

export const MODEL_FORMATS: readonly FormatInfo[] = [
  {
    id: 'tfjs',
    label: 'TensorFlow.js',
    line: 'model.json + weight shards for tf.loadLayersModel (browser or Node); input NHWC, as trained here.',
    output: 'folder',
  },
  {
    id: 'onnx',
    label: 'ONNX',
    line: 'One .onnx file (opset 17) for onnxruntime, Netron, TensorRT; input and output stay NHWC, as in TensorFlow.js.',
    output: 'file',
    extension: '.onnx',
  },
  {
    id: 'pytorch',
    label: 'PyTorch',
    line: 'model.py (nn.Module "Model", load()) + weights.safetensors + README; input NCHW ([N, C, H, W]).',
    output: 'folder',
  },
  {
    id: 'keras',
    label: 'Keras',
    line: 'model.py that rebuilds the model with keras.layers and loads the trained weights; input NHWC.',
    output: 'folder',
  },
];

export function formatInfo(id: ExportFormat): FormatInfo {
  const f = MODEL_FORMATS.find((x) => x.id === id);
  if (!f) throw new Error(`unknown export format '${id}'`);
  return f;
}

/** The separator paths on the engine's machine use, judged from a path it gave us (its data folder). */
export function separatorOf(enginePath: string): '/' | '\\' {
  return /^[A-Za-z]:\\|^\\\\/.test(enginePath) || (enginePath.includes('\\') && !enginePath.includes('/')) ? '\\' : '/';
}

export function joinPath(sep: '/' | '\\', ...parts: string[]): string {
  const kept = parts.filter((p) => p !== '');
  // The first part keeps its leading root ('/', 'C:\\'); a bare root becomes '' so that join adds one separator.
  const joined = kept.map((p, i) => (i === 0 ? p.replace(/[\\/]+$/, '') : p.replace(/^[\\/]+|[\\/]+$/g, ''))).join(sep);
  return joined || (kept[0] ?? '');
}

/** Where an export goes by default: <data folder>/exports/<run>-<format>[.onnx]. */
export function suggestedOutPath(dataDir: string, run: Pick<RunSummary, 'id' | 'name'>, format: ExportFormat): string {
  const sep = separatorOf(dataDir);
  const base = `${fileSlug(run.name || run.id, 'model')}-${format}`;
  const info = formatInfo(format);
  return joinPath(sep, dataDir, 'exports', info.output === 'file' ? `${base}${info.extension ?? ''}` : base);
}

export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/**
 * The path sent to the engine: a file format given a folder (no extension) writes model<ext> inside
 * it, so "Output folder" means the same thing for every format.
 */
export function resolveOutPath(format: ExportFormat, path: string): string {
  const p = path.trim();
  const info = formatInfo(format);
  if (info.output === 'file' && info.extension && !p.toLowerCase().endsWith(info.extension)) {
    return joinPath(separatorOf(p), p, `model${info.extension}`);
  }
  return p;
}

/** A run that has a trained model to export: finished (completed or stopped) with its weights saved. */
export function isExportable(run: RunSummary): boolean {
  return run.hasModel && (run.status === 'completed' || run.status === 'stopped');
}

/** Exportable runs, newest first. */
export function exportableRuns(runs: readonly RunSummary[]): RunSummary[] {
  return runs.filter(isExportable).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

export interface ExportFormErrors {
  run?: string;
  outPath?: string;
}

export function validateExportForm(form: { runId: string | null; outPath: string }, runs: readonly RunSummary[]): ExportFormErrors {
  const errors: ExportFormErrors = {};
  const run = runs.find((r) => r.id === form.runId);
  if (!form.runId || !run) errors.run = 'Choose a trained run to export.';
  else if (!isExportable(run)) errors.run = `Run "${run.name}" has no trained model to export (${run.status}).`;
  const p = form.outPath.trim();
  if (!p) errors.outPath = 'Give the output folder on the engine’s machine.';
  else if (!isAbsolutePath(p)) errors.outPath = 'Give an absolute path on the engine’s machine (for example /home/me/exports/model).';
  else if (/[\0]/.test(p)) errors.outPath = 'The path contains a NUL character.';
  return errors;
}

/** What the Import dialog reads, for its help line (the engine's importer registry says which it found). */
export const IMPORT_KINDS: ReadonlyArray<{ ext: string; what: string }> = [
  { ext: 'model.json', what: 'TensorFlow.js layers model (with its weight files)' },
  { ext: '.json', what: 'Keras model.to_json() (Keras 2 or 3)' },
  { ext: '.h5', what: 'Keras HDF5 (model and weights)' },
  { ext: '.keras', what: 'Keras 3 archive' },
  { ext: '.onnx', what: 'ONNX (opset 11–21)' },
  { ext: 'folder', what: 'a folder holding one of these, or a Layerforge project / model folder' },
];

export function validateImportPath(path: string): string | null {
  const p = path.trim();
  if (!p) return 'Give the path of a model file (model.json, .h5, .keras, .onnx) or folder on the engine’s machine.';
  if (!isAbsolutePath(p)) return 'Give an absolute path on the engine’s machine (for example /home/me/model/model.json).';
  if (/[\0]/.test(p)) return 'The path contains a NUL character.';
  return null;
}

/**
 * The sizes typed for the unknown input dimensions: whole numbers from 1 to 1,000,000, by dimension key.
 * Returns the dims to send, or the first problem in words.
 */
export function parseDims(fields: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> = {}): { dims: Record<string, number> } | { error: string; key: string } {
  const dims: Record<string, number> = {};
  for (const [key, text] of Object.entries(fields)) {
    const t = text.trim();
    const n = Number(t);
    if (!t || !Number.isInteger(n) || n < 1 || n > 1_000_000) return { key, error: `${labels[key] ?? key}: give a whole number from 1 to 1,000,000${t ? ` (not '${t}')` : ''}.` };
    dims[key] = n;
  }
  return { dims };
}
