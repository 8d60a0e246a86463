/**
 * Brings a finished PyTorch training bundle back into Layerforge: `layerforge import-run DIR`. Reads the run's
 * JSON lines (metrics.jsonl), result.json and weights.safetensors, writes the model folder (weightsBack.ts) and a
 * run record in the RunStore format under DATA_DIR/runs/<id>/, so the engine lists it like any run: charts from
 * the metrics, and (on first open) the test evaluation, confusion matrix, predict and every export.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BatchPoint, EpochPoint, RunStatus } from '../../../shared/api/engine';
import { parseProjectText, type ProjectFile } from '../../../shared/project';
import { batchPointOf, epochPointOf } from '../service/points';
import { RunStore, newRunId, type StoredRun } from '../service/runStore';
import type { EpochMetrics, TrainingEvent } from '../training/types';
import type { BundleConfig, BundleDataset } from './bundle';
import { modelFolderFromTorch } from './weightsBack';

type Tf = typeof tfjs;

export interface ImportRunOptions {
  /** The bundle folder, or the --out folder train.py wrote into (the bundle is then its parent). */
  dir: string;
  /** The Layerforge data folder (LAYERFORGE_DATA_DIR): the run goes to DATA_DIR/runs/<id>/. */
  dataDir: string;
  /** The run's name (default: the project's name + ' (PyTorch)'). */
  name?: string;
  /** The metrics file (default: DIR/metrics.jsonl, else the result.json history only). */
  metrics?: string;
  tf?: Tf;
}

export interface ImportedRun {
  runId: string;
  runDir: string;
  run: StoredRun;
  /** What was read and what was missing, one line each. */
  notes: string[];
}

interface ResultJson {
  reason?: string;
  message?: string;
  epochsCompleted?: number;
  history?: EpochMetrics[];
  processes?: number;
}

/** The JSON lines of a run (other lines skipped), as events. A resumed run's repeated epochs replace the first try's. */
export function runFromLines(text: string): { started?: Extract<TrainingEvent, { type: 'started' }>; ended?: Extract<TrainingEvent, { type: 'ended' }>; batches: BatchPoint[]; epochPoints: EpochPoint[]; bad: number } {
  let started: Extract<TrainingEvent, { type: 'started' }> | undefined;
  let ended: Extract<TrainingEvent, { type: 'ended' }> | undefined;
  let batches: BatchPoint[] = [];
  let epochPoints: EpochPoint[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: TrainingEvent;
    try {
      e = JSON.parse(line) as TrainingEvent;
    } catch {
      bad++; // a line cut by a kill
      continue;
    }
    switch (e.type) {
      case 'started':
        started ??= e;
        ended = undefined; // a resumed run goes on
        break;
      case 'batch': {
        const point = batchPointOf(e);
        batches = batches.filter((b) => b.step < point.step);
        batches.push(point);
        break;
      }
      case 'epoch':
        epochPoints = epochPoints.filter((p) => p.epoch < e.epoch);
        epochPoints.push(epochPointOf(e));
        break;
      case 'ended':
        ended = e;
        break;
      default:
        break;
    }
  }
  return { started, ended, batches, epochPoints, bad };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Imports a finished (or stopped) PyTorch run; throws, naming the file, when the folder is not one. */
export async function importRun(opts: ImportRunOptions): Promise<ImportedRun> {
  const dir = resolve(opts.dir);
  const bundleDir = existsSync(join(dir, 'project.json')) ? dir : existsSync(join(dirname(dir), 'project.json')) ? dirname(dir) : undefined;
  if (!bundleDir) throw new Error(`${dir} is not a Layerforge PyTorch bundle (nor a run folder inside one): no project.json there or in its parent`);
  const weights = join(dir, 'weights.safetensors');
  if (!existsSync(weights)) throw new Error(`${weights} is missing: the run has not finished (train.py writes it at the end, or on stop)`);
  const projectPath = join(bundleDir, 'project.json');
  const project: ProjectFile = parseProjectText(await readFile(projectPath, 'utf8'), projectPath);
  const config = await readJson<BundleConfig>(join(bundleDir, 'config.json'));
  const result = await readJson<ResultJson>(join(dir, 'result.json'));
  const data = await readJson<BundleDataset>(join(bundleDir, 'data.json'));
  const notes: string[] = [];
  const metricsPath = opts.metrics ?? join(dir, 'metrics.jsonl');
  const lines = existsSync(metricsPath) ? runFromLines(await readFile(metricsPath, 'utf8')) : undefined;
  if (!lines) notes.push(`no ${basename(metricsPath)}: the charts show the epochs of result.json only`);
  else if (lines.bad) notes.push(`${lines.bad} unreadable line${lines.bad === 1 ? '' : 's'} in ${basename(metricsPath)} skipped`);
  if (!project.dataset) throw new Error(`${projectPath} names no dataset: the run cannot be evaluated`);

  const reason = lines?.ended?.reason ?? result?.reason;
  if (!reason) throw new Error(`neither ${basename(metricsPath)} nor result.json says how the run ended (is it still training?)`);
  const status: RunStatus = reason === 'error' ? 'failed' : reason === 'stopped' ? 'stopped' : 'completed';
  const epochPoints = lines?.epochPoints.length ? lines.epochPoints : (result?.history ?? []).map(epochPointOf);
  const last = epochPoints.at(-1);
  const vals = epochPoints.map((p) => p.valAccuracy).filter((v): v is number => v !== undefined);

  const store = new RunStore(join(opts.dataDir, 'runs'));
  const runId = newRunId();
  const runDir = store.dir(runId);
  try {
    await modelFolderFromTorch({
      bundleDir,
      weights,
      outDir: store.modelDir(runId),
      project,
      ...(opts.tf ? { tf: opts.tf } : {}),
      metrics: { reason, history: result?.history ?? [], backend: 'pytorch', data: { datasetId: project.dataset, dataDir: opts.dataDir } },
    });
    const settings = config?.settings ?? project.training;
    const run: StoredRun = {
      id: runId,
      name: opts.name?.trim() || `${project.name} (PyTorch)`,
      datasetId: project.dataset,
      status,
      createdAt: new Date().toISOString(),
      endedAt: new Date().toISOString(),
      backend: 'pytorch',
      epochs: lines?.started?.epochs ?? settings.epochs,
      epochsDone: lines?.ended?.epochsCompleted ?? result?.epochsCompleted ?? epochPoints.length,
      ...(last ? { lastLoss: last.loss } : {}),
      ...(last?.accuracy !== undefined ? { lastAccuracy: last.accuracy } : {}),
      ...(vals.length ? { bestValAccuracy: Math.max(...vals) } : {}),
      ...(config?.task ? { task: config.task.id } : {}),
      ...(config?.task.target.name ? { target: config.task.target.name } : {}),
      ...(status === 'failed' ? { error: lines?.ended?.message ?? result?.message ?? 'the run failed' } : {}),
      hasModel: true,
      settings,
      graph: project.graph,
      classNames: lines?.started?.dataset.classNames ?? data?.classNames ?? [],
      batches: lines?.batches ?? [],
      epochPoints,
      ...(config?.limit ? { maxTrainSamples: config.limit } : {}),
    };
    await store.save(run);
    return { runId, runDir, run, notes };
  } catch (error) {
    await rm(runDir, { recursive: true, force: true });
    throw error;
  }
}
