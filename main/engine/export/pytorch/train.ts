/**
 * The `pytorch-train` export: a PyTorch training bundle (main/engine/pytorch/bundle.ts) of a run, a trained-model
 * folder or a project, to train further on a cluster and bring back with `layerforge import-run`. Unlike the model
 * formats (EXPORT_FORMATS) it needs the dataset too, so it has its own entry point: the weights of the trained
 * model when there is one, else a fresh seeded initialisation.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Graph } from '../../../../shared/graph';
import { parseProjectText, type ProjectFile, type TrainingSettings } from '../../../../shared/project';
import { isRunId } from '../../service/runStore';
import { loadModelFolder } from '../modelFolder';
import type { ExportResult } from '../types';

type Tf = typeof tfjs;

export interface TrainingBundleExportOptions {
  /** A run id (DATA_DIR/runs/<id>), a run folder, a trained-model folder, a project folder or a project file. */
  source: string;
  /** The bundle folder to write. */
  out: string;
  /** The Layerforge data folder (runs and datasets). */
  dataDir: string;
  /** The dataset (default: the project's). */
  datasetId?: string;
  procs?: number;
  limit?: number;
  /** Copy the image data into the bundle (default: data.json names the files on this machine). */
  copyData?: boolean;
  tf: Tf;
}

export interface TrainingBundleExport extends ExportResult {
  command: string[];
  /** Where the starting weights came from: a trained model folder, or none (fresh, seeded). */
  weightsFrom: string | null;
}

interface Source {
  name: string;
  graph: Graph;
  settings: TrainingSettings;
  dataset: string | null;
  /** A trained-model folder to take the weights from. */
  modelDir: string | null;
}

async function project(path: string): Promise<ProjectFile> {
  return parseProjectText(await readFile(path, 'utf8'), path);
}

async function fromRunDir(dir: string): Promise<Source> {
  const modelDir = join(dir, 'model');
  if (existsSync(join(modelDir, 'model.json'))) return fromModelDir(modelDir);
  const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { name: string; graph: Graph; settings: TrainingSettings; datasetId: string };
  return { name: run.name, graph: run.graph, settings: run.settings, dataset: run.datasetId, modelDir: null };
}

async function fromModelDir(dir: string): Promise<Source> {
  const p = await project(join(dir, 'project.json'));
  return { name: p.name, graph: p.graph, settings: p.training, dataset: p.dataset, modelDir: dir };
}

/** What RUN_OR_PROJECT names. */
export async function resolveBundleSource(source: string, dataDir: string): Promise<Source> {
  const runDir = join(dataDir, 'runs', source);
  if (isRunId(source) && existsSync(join(runDir, 'run.json'))) return fromRunDir(runDir);
  const path = resolve(source);
  if (!existsSync(path)) throw new Error(`${source} is neither a run id in ${join(dataDir, 'runs')} nor a file or folder`);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'model.json')) && existsSync(join(path, 'project.json'))) return fromModelDir(path);
    if (existsSync(join(path, 'run.json'))) return fromRunDir(path);
    if (existsSync(join(path, 'project.json'))) {
      const p = await project(join(path, 'project.json'));
      return { name: p.name, graph: p.graph, settings: p.training, dataset: p.dataset, modelDir: null };
    }
    throw new Error(`${path} holds no run (run.json), trained model (model.json + project.json) or project (project.json)`);
  }
  const p = await project(path);
  return { name: p.name, graph: p.graph, settings: p.training, dataset: p.dataset, modelDir: null };
}

/** Writes the training bundle of a run or project (see the module comment). */
export async function exportTrainingBundle(opts: TrainingBundleExportOptions): Promise<TrainingBundleExport> {
  const src = await resolveBundleSource(opts.source, opts.dataDir);
  const datasetId = opts.datasetId ?? src.dataset;
  if (!datasetId) throw new Error(`${opts.source} names no dataset: pass --dataset ID`);
  // Loaded when used: the bundle pulls in the dataset registry and the trainer's task planning.
  const { writeTrainingBundle } = await import('../../pytorch/bundle');
  const folder = src.modelDir ? await loadModelFolder(opts.tf, src.modelDir) : null;
  try {
    const out = resolve(opts.out);
    const bundle = await writeTrainingBundle({
      dir: out,
      graph: src.graph,
      settings: src.settings,
      name: src.name,
      datasetId,
      dataDir: opts.dataDir,
      tf: opts.tf,
      ...(folder ? { initialModel: folder.model } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.procs ? { procs: opts.procs } : {}),
      ...(opts.copyData ? { copyData: true } : {}),
    });
    const src0 = bundle.dataset.source;
    const notes = [
      folder ? `starts from the trained weights of ${src.modelDir}` : 'no trained model: starts from a fresh initialisation (seed ' + String(src.settings.seed) + ')',
      src0.type === 'arrays' || opts.copyData ? 'the data is in the bundle (data/)' : `data.json names the data on this machine (${src0.type === 'idx' ? 'IDX files' : src0.dir}); README.md says how to get it elsewhere, or export with --with-data`,
      `run it: cd ${out} && ${bundle.command.join(' ')}   (see README.md for several machines and SLURM)`,
    ];
    return { files: bundle.files, notes, command: bundle.command, weightsFrom: src.modelDir };
  } finally {
    folder?.model.dispose();
  }
}

/** The registry entry: listed beside the model formats (export/index.ts). */
export const pytorchTrainFormat = {
  id: 'pytorch-train' as const,
  label: 'PyTorch training bundle (model.py, train.py, data manifest, README; torchrun / SLURM)',
  extension: '',
  export: exportTrainingBundle,
};
