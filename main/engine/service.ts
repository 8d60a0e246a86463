/**
 * The Engine: implements the EngineApi contract (shared/api/engine.ts) on top of the dataset,
 * training and export modules. Plain Node, never imports electron, knows nothing of transports:
 * Electron IPC, the serve-mode WebSocket and tests all serve this same object through the proxy.
 */
import { join } from 'node:path';
import {
  ApiError,
  type BackendInfo,
  type BatchPoint,
  type DownloadRequest,
  type EngineApi,
  type EngineInfo,
  type Evaluation,
  type ExportRequest,
  type ImportDatasetRequest,
  type OpenedProject,
  type OpenProjectRequest,
  type ProjectList,
  type RecoveryList,
  type SavedProject,
  type SaveProjectAsRequest,
  type SaveProjectRequest,
  type SaveRecoveryRequest,
  type ExportResult,
  type PreparedDownload,
  type AttentionMap,
  type AttentionMapRequest,
  type GeneratedText,
  type GenerateTextRequest,
  type TextGenerated,
  type PredictRequest,
  type Predictions,
  type PredictRowsRequest,
  type PredictTextRequest,
  type RowPredictions,
  type TableResultRow,
  type TextPredictions,
  type TextResultItem,
  type RunDetail,
  type RunSummary,
  type StartTrainingRequest,
  type TrainingEnded,
  type TrainingProgress,
} from '../../shared/api';
import type { DatasetInfo, DatasetPreview, DatasetProgress, TablePreview } from '../../shared/api/datasets';
import { isTableError } from '../../shared/tables/errors';
import { previewTable } from './datasets/table';
import { analyzeGraph } from '../../shared/graph';
import { checkGraphForTask, getTask } from '../../shared/tasks';
import type { TableData, TextData } from './datasets/types';
import { readPreprocessing, readTokenizer } from './export/modelFolder';
import { encode } from '../../shared/text/tokenizer';
import { OOV_ID, type Tokenizer } from '../../shared/text/types';
import { readCsvFile } from './datasets/table/csv';
import { predictTableRows, RowInputError } from './tables/predictRows';
import type { EvaluationResult, TrainingEvent } from './training/types';
import { pngDataUrl } from './service/png';
import type { BackendsPort, DatasetsPort, DownloadsPort, ExportPort, RunHandle, TrainingPort } from './service/ports';
import { ModelImportError } from './import/errors';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { ExportLog, exportDownloadSource, runDownloadSource } from './service/downloads';
import { batchPointOf, epochPointOf, finite } from './service/points';
import { newRunId, RunStore, type StoredRun } from './service/runStore';
import { randomUUID } from 'node:crypto';
import { ProjectLibrary, type ProjectDialogs } from './projects/library';
import { addHealth, classScores, RunInsight } from './service/insight';
import type { Activations, ActivationsRequest, ConfusionSamples, ConfusionSamplesRequest, Embeddings, EmbeddingsRequest, Explanation, ExplainRequest, SampleInfo, SampleRequest, TrainingHealth } from '../../shared/api/insight';
import type { ImportedModel, ImportModelRequest } from '../../shared/api/importModel';
import type { ProjectFile } from '../../shared/project';

/** A table (CSV) problem is the request's fault: 'bad-request', with its code, line and column as details. */
function tableApiError(error: unknown): never {
  if (isTableError(error)) {
    throw new ApiError('bad-request', error.message, { reason: error.code, ...(error.line !== undefined ? { line: error.line } : {}), ...(error.column !== undefined ? { column: error.column } : {}) });
  }
  throw error;
}

export interface EngineDeps {
  dataDir: string;
  datasets: DatasetsPort;
  training: TrainingPort;
  exporter?: ExportPort;
  backends?: BackendsPort;
  /** 'electron', 'serve', 'test', … (shown in getInfo). */
  host?: string;
  version?: string;
  /** Most batch points kept per run (older ones are thinned). */
  maxBatchPoints?: number;
  /** Native Save As / Open dialogs, lent by the desktop app's main process (absent in serve mode and tests). */
  projectDialogs?: ProjectDialogs;
}

type Emitter<T> = { listeners: Set<(v: T) => void>; emit(v: T): void; on(l: (v: T) => void): () => void };

function emitter<T>(): Emitter<T> {
  const listeners = new Set<(v: T) => void>();
  return {
    listeners,
    emit(v) {
      for (const l of [...listeners]) {
        try {
          l(v);
        } catch (error) {
          console.error('engine event listener failed:', error);
        }
      }
    },
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

interface LiveRun {
  handle?: RunHandle;
  batchesPerEpoch: number;
  pending: BatchPoint[];
  lastSave: number;
  startedAt: number;
}

const ENDED = new Set(['completed', 'stopped', 'failed']);
const DEFAULT_PREDICT_POOL = 500;

/** Attention weights to 5 decimals (a 128-token map of 4 heads is then about half the JSON). */
function roundAttention(map: AttentionMap): AttentionMap {
  const r = (v: number) => Math.round(v * 1e5) / 1e5;
  return { ...map, layers: map.layers.map((l) => ({ ...l, weights: l.weights.map((h) => h.map((row) => row.map(r))), paddingWeight: l.paddingWeight.map((h) => h.map(r)) })) };
}

function summary(run: StoredRun): RunSummary {
  const { settings: _s, graph: _g, classNames: _c, batches: _b, epochPoints: _e, evaluation: _v, maxTrainSamples: _m, maxTestSamples: _t, health: _h, ...rest } = run;
  return rest;
}

function detail(run: StoredRun): RunDetail {
  const { maxTrainSamples: _m, maxTestSamples: _t, health: _h, ...rest } = run;
  return rest;
}

/** Most regression points, table rows and texts an evaluation carries to the UI, and the characters kept of each text. */
const MAX_POINTS = 5000;
const MAX_ROWS = 50;
const MAX_TEXTS = 50;
const TEXT_CHARS = 500;

/** A text cut at `max` characters (whole code points), ending in '…' when cut; trailing blank lines dropped. */
export function shownText(text: string, max = TEXT_CHARS): string {
  const t = text.trimEnd();
  if (t.length <= max) return t;
  const points = [...t];
  return points.length <= max ? t : `${points.slice(0, max).join('').trimEnd()}…`;
}

/** Misclassified test texts (most confident first) from per-sample predictions in test-split order and the dataset's test texts (same order). */
function misclassifiedTexts(r: EvaluationResult, text: TextData): Evaluation['texts'] {
  const p = r.predictions;
  const testTexts = text.testTexts ?? [];
  if (!p) return undefined;
  const items: TextResultItem[] = [];
  for (let i = 0; i < p.truth.length && i < testTexts.length; i++) {
    if (p.predicted[i] === p.truth[i]) continue;
    const t = testTexts[i]!;
    items.push({
      index: i,
      text: shownText(t.text),
      ...(t.source ? { source: t.source } : {}),
      truth: r.classNames[p.truth[i]!] ?? String(p.truth[i]),
      predicted: r.classNames[p.predicted[i]!] ?? String(p.predicted[i]),
      confidence: p.confidence?.[i] ?? 0,
    });
  }
  items.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return { items: items.slice(0, MAX_TEXTS), total: items.length };
}

export function toEvaluation(r: EvaluationResult, table?: TableData, text?: TextData): Evaluation {
  const counts = r.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const p = r.predictions;
  const regression = r.task === 'regression';
  let rows: Evaluation['rows'];
  if (p && table) {
    const target = table.preprocessing.target.name;
    const items: TableResultRow[] = [];
    for (let i = 0; i < p.truth.length && i < table.testRows.length; i++) {
      if (regression) items.push({ index: i, values: table.testRows[i]!, truth: p.truth[i]!, predicted: p.predicted[i]!, error: p.predicted[i]! - p.truth[i]! });
      else if (p.predicted[i] !== p.truth[i]) {
        items.push({ index: i, values: table.testRows[i]!, truth: r.classNames[p.truth[i]!] ?? String(p.truth[i]), predicted: r.classNames[p.predicted[i]!] ?? String(p.predicted[i]), confidence: p.confidence?.[i] ?? 0 });
      }
    }
    items.sort(regression ? (a, b) => Math.abs(b.error!) - Math.abs(a.error!) : (a, b) => b.confidence! - a.confidence!);
    rows = { header: table.header, target, items: items.slice(0, MAX_ROWS) };
  }
  return {
    task: r.task,
    count: r.count,
    loss: r.loss,
    ...(r.accuracy === null ? {} : { accuracy: r.accuracy }),
    metrics: r.metrics,
    classNames: r.classNames,
    perClass: r.classNames.map((className, i) => ({ className, count: counts[i] ?? 0, accuracy: r.perClassAccuracy[i] ?? 0, ...classScores(r.confusion, i) })),
    confusion: r.confusion,
    ...(regression && p ? { points: p.truth.slice(0, MAX_POINTS).map((truth, index) => ({ index, truth, predicted: p.predicted[index]! })) } : {}),
    ...(rows ? { rows } : {}),
    ...(text?.kind === 'text' && r.task === 'classification' && p ? { texts: misclassifiedTexts(r, text) } : {}),
  };
}


export class Engine implements EngineApi {
  private readonly store: RunStore;
  private readonly runs = new Map<string, StoredRun>();
  private readonly live = new Map<string, LiveRun>();
  private readonly preparing = new Map<string, AbortController>();
  private readonly progress = emitter<TrainingProgress>();
  private readonly ended = emitter<TrainingEnded>();
  private readonly datasetProgress = emitter<DatasetProgress>();
  private readonly textGenerated = emitter<TextGenerated>();
  /** Generations under way, by request id: aborting one stops it. */
  private readonly generations = new Map<string, AbortController>();
  /** Runs between the end of training and their saved record (evaluation, run.json): dispose waits for them. */
  private readonly finishing = new Set<Promise<void>>();
  private disposing = false;
  private ready: Promise<void>;
  private readonly projects: ProjectLibrary;
  /** Serve mode's download registry, lent by the server (attachDownloads); absent in the desktop app. */
  private downloads: DownloadsPort | undefined;
  private readonly exports = new ExportLog();
  /** Insight requests (activations, Grad-CAM, embeddings, …): service/insight.ts. */
  private readonly insight: RunInsight;

  constructor(private readonly deps: EngineDeps) {
    this.store = new RunStore(join(deps.dataDir, 'runs'));
    this.projects = new ProjectLibrary({ dataDir: deps.dataDir, ...(deps.projectDialogs ? { dialogs: deps.projectDialogs } : {}) });
    this.ready = this.load();
    this.insight = new RunInsight({
      ready: () => this.ready,
      run: (runId) => this.getStored(runId),
      liveHandle: (runId) => (ENDED.has(this.getStored(runId).status) ? undefined : this.live.get(runId)?.handle),
      modelDir: (runId) => this.store.modelDir(runId),
      training: deps.training,
      health: (runId) => this.runs.get(runId)?.health,
    });
  }

  private async load(): Promise<void> {
    for (const run of await this.store.loadAll((dir, e) => console.error(`skipping unreadable run ${dir}: ${e instanceof Error ? e.message : String(e)}`))) {
      if (!ENDED.has(run.status)) {
        run.status = 'failed';
        run.error = 'interrupted: the engine stopped while this run was training';
        run.endedAt ??= new Date().toISOString();
        await this.store.save(run).catch(() => {});
      }
      this.runs.set(run.id, run);
    }
  }

  /** Resolves once stored runs are loaded. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  // ---- info ---------------------------------------------------------------------------------
  async getInfo(): Promise<EngineInfo> {
    return {
      version: this.deps.version ?? '0.0.0',
      dataDir: this.deps.dataDir,
      host: this.deps.host ?? 'node',
      projectsDir: this.projects.dir,
      nativeDialogs: this.projects.nativeDialogs,
      downloads: this.downloads !== undefined,
    };
  }

  async listBackends(): Promise<BackendInfo[]> {
    return this.deps.backends ? this.deps.backends.list() : [{ name: 'cpu', available: true }];
  }

  // ---- datasets -----------------------------------------------------------------------------
  listDatasets(): Promise<DatasetInfo[]> {
    return this.deps.datasets.list();
  }

  private async runPreparation(id: string, work: (signal: AbortSignal) => Promise<DatasetInfo>): Promise<DatasetInfo> {
    if (this.preparing.has(id)) throw new ApiError('busy', `dataset '${id}' is already being prepared`);
    const controller = new AbortController();
    this.preparing.set(id, controller);
    try {
      return await work(controller.signal);
    } catch (error) {
      if (controller.signal.aborted) throw new ApiError('failed', `preparing dataset '${id}' was cancelled`);
      throw error;
    } finally {
      this.preparing.delete(id);
    }
  }

  async prepareDataset({ id }: { id: string }): Promise<DatasetInfo> {
    await this.knownDataset(id);
    return this.runPreparation(id, (signal) => this.deps.datasets.prepare(id, { signal, onProgress: (p) => this.datasetProgress.emit(p) }));
  }

  async cancelDatasetPreparation({ id }: { id: string }): Promise<void> {
    this.preparing.get(id)?.abort();
  }

  async importDataset(req: ImportDatasetRequest): Promise<DatasetInfo> {
    return this.runPreparation(`import:${req.path}`, (signal) => this.deps.datasets.importFrom(req, { signal, onProgress: (p) => this.datasetProgress.emit(p) })).catch(tableApiError);
  }

  async previewTable({ path, target, rows }: { path: string; target?: string; rows?: number }): Promise<TablePreview> {
    return previewTable(path, { ...(target !== undefined ? { target } : {}), ...(rows !== undefined ? { rows } : {}) }).catch(tableApiError);
  }

  async datasetPreview({ id, perClass }: { id: string; perClass?: number }): Promise<DatasetPreview> {
    const info = await this.knownDataset(id);
    if (info.status !== 'ready') throw new ApiError('not-found', `dataset '${info.name}' is not ready: download or import it first`);
    return this.deps.datasets.preview(id, perClass ?? 6);
  }

  private async knownDataset(id: string): Promise<DatasetInfo> {
    const info = (await this.deps.datasets.list()).find((d) => d.id === id);
    if (!info) throw new ApiError('not-found', `unknown dataset '${id}'`);
    return info;
  }

  // ---- training -----------------------------------------------------------------------------
  async startTraining(req: StartTrainingRequest): Promise<RunSummary> {
    await this.ready;
    const analysis = analyzeGraph(req.graph);
    if (!analysis.valid) {
      const problems = analysis.problems.filter((p) => p.severity === 'error');
      throw new ApiError('bad-request', `the model has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => p.message).join('; ')}`, { problems });
    }
    const init = req.settings.initialWeights;
    if (init && !existsSync(join(init, 'model.json'))) {
      throw new ApiError('bad-request', `initial weights: ${init} is not a trained-model folder (no model.json): choose an imported model or a run's model, or train from scratch`, { reason: 'initial-weights', path: init });
    }
    const dataset = await this.knownDataset(req.datasetId);
    if (dataset.status !== 'ready') throw new ApiError('not-found', `dataset '${dataset.name}' is not ready: ${dataset.status === 'error' && dataset.message ? dataset.message : 'download or import it first'}`);
    const task = getTask(dataset.task);
    const taskProblems = checkGraphForTask(req.graph, analysis, task, { classes: dataset.classNames.length, mean: 0, std: 1, ...(dataset.target ? { name: dataset.target } : {}) }, `'${dataset.name}'`);
    if (taskProblems.length) throw new ApiError('bad-request', `the model does not fit the dataset: ${taskProblems.map((p) => p.message).join('; ')}`, { problems: taskProblems });
    const active = [...this.runs.values()].find((r) => !ENDED.has(r.status));
    if (active) throw new ApiError('busy', `run '${active.name}' is still training: stop it before starting another`);

    const id = newRunId();
    const number = this.runs.size + 1;
    const run: StoredRun = {
      id,
      name: req.name?.trim() || `Run ${number}`,
      datasetId: req.datasetId,
      status: 'starting',
      createdAt: new Date().toISOString(),
      epochs: req.settings.epochs,
      epochsDone: 0,
      hasModel: false,
      settings: req.settings,
      graph: req.graph,
      classNames: dataset.classNames,
      task: task.id,
      ...(dataset.target ? { target: dataset.target } : {}),
      batches: [],
      epochPoints: [],
      maxTrainSamples: req.maxTrainSamples,
      maxTestSamples: req.maxTestSamples,
    };
    this.runs.set(id, run);
    const live: LiveRun = { batchesPerEpoch: 0, pending: [], lastSave: 0, startedAt: Date.now() };
    this.live.set(id, live);
    await this.store.save(run);
    try {
      live.handle = this.deps.training.startRun({
        runId: id,
        graph: req.graph,
        settings: req.settings,
        datasetId: req.datasetId,
        dataDir: this.deps.dataDir,
        limit: req.maxTrainSamples,
        name: run.name,
        modelDir: this.store.modelDir(id),
        onEvent: (e) => this.onRunEvent(run, live, e),
      });
    } catch (error) {
      await this.finish(run, 'failed', error instanceof Error ? error.message : String(error));
      return summary(run);
    }
    const finished = live.handle.done.then(
      (result) => {
        const status = result.reason === 'error' ? 'failed' : result.reason === 'stopped' ? 'stopped' : 'completed';
        run.backend ??= result.backend;
        return this.finish(run, status, result.reason === 'error' ? result.message : undefined, true);
      },
      (error: unknown) => this.finish(run, 'failed', error instanceof Error ? error.message : String(error)),
    );
    this.finishing.add(finished);
    void finished.finally(() => this.finishing.delete(finished));
    return summary(run);
  }

  private onRunEvent(run: StoredRun, live: LiveRun, e: TrainingEvent): void {
    if (ENDED.has(run.status)) return;
    const base = (): TrainingProgress => ({
      runId: run.id,
      status: run.status,
      backend: run.backend,
      epoch: Math.min(run.epochsDone + 1, run.epochs),
      epochs: run.epochs,
      batch: 0,
      batchesPerEpoch: live.batchesPerEpoch,
      step: run.epochsDone * live.batchesPerEpoch,
      totalSteps: run.epochs * live.batchesPerEpoch,
      imagesPerSecond: 0,
      elapsedMs: Date.now() - live.startedAt,
      etaMs: 0,
      batches: [],
    });
    switch (e.type) {
      case 'started':
        run.status = 'running';
        run.backend = e.backend;
        run.epochs = e.epochs;
        run.classNames = e.dataset.classNames;
        live.batchesPerEpoch = e.batchesPerEpoch;
        this.progress.emit(base());
        void this.store.save(run).catch(() => {});
        return;
      case 'batch': {
        live.batchesPerEpoch = e.batches;
        const point = batchPointOf(e);
        const step = point.step;
        this.addBatch(run, point);
        run.lastLoss = e.loss;
        if (e.accuracy !== null) run.lastAccuracy = e.accuracy;
        this.progress.emit({
          ...base(),
          epoch: e.epoch,
          epochs: e.epochs,
          batch: e.batch,
          batchesPerEpoch: e.batches,
          step,
          totalSteps: e.epochs * e.batches,
          imagesPerSecond: e.imagesPerSecond,
          elapsedMs: e.elapsedMs,
          etaMs: e.etaMs,
          batches: [point],
        });
        return;
      }
      case 'epoch': {
        const point = epochPointOf(e);
        run.epochPoints.push(point);
        if (e.health) run.health = addHealth(run.health, e.health, run.graph);
        run.epochsDone = e.epoch;
        run.lastLoss = e.loss;
        if (e.accuracy !== null) run.lastAccuracy = e.accuracy;
        if (e.valAccuracy !== null) run.bestValAccuracy = Math.max(run.bestValAccuracy ?? 0, e.valAccuracy);
        this.progress.emit({
          ...base(),
          epoch: e.epoch,
          epochs: e.epochs,
          batch: live.batchesPerEpoch,
          step: e.epoch * live.batchesPerEpoch,
          totalSteps: e.epochs * live.batchesPerEpoch,
          imagesPerSecond: e.imagesPerSecond,
          elapsedMs: e.elapsedMs,
          etaMs: e.etaMs,
          epochPoint: point,
        });
        void this.store.save(run).catch(() => {});
        return;
      }
      case 'paused':
        run.status = 'paused';
        this.progress.emit({ ...base(), epoch: e.epoch, batch: e.batch });
        return;
      case 'resumed':
        run.status = 'running';
        this.progress.emit(base());
        return;
      case 'ended':
        return; // handled by `done`
    }
  }

  private addBatch(run: StoredRun, point: BatchPoint): void {
    run.batches.push(point);
    const max = this.deps.maxBatchPoints ?? 20_000;
    if (run.batches.length > max) run.batches = run.batches.filter((_, i) => i % 2 === 0 || i === run.batches.length - 1);
  }

  private async finish(run: StoredRun, status: 'completed' | 'stopped' | 'failed', error?: string, modelSaved = false): Promise<void> {
    if (ENDED.has(run.status)) return;
    run.status = status;
    run.endedAt = new Date().toISOString();
    if (error) run.error = error;
    run.hasModel = modelSaved && status !== 'failed';
    this.live.delete(run.id);
    // Shutting down: the model is saved; its evaluation waits for the next getRun (it could take seconds).
    if (run.hasModel && !this.disposing) {
      try {
        await this.evaluateRun(run);
      } catch (e) {
        run.hasModel = false;
        run.error = `${run.error ? `${run.error}; ` : ''}evaluating the trained model failed: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    await this.store.save(run).catch((e: unknown) => console.error(`could not save run ${run.id}:`, e));
    this.ended.emit({ runId: run.id, status, ...(run.error ? { error: run.error } : {}), summary: summary(run) });
  }

  private getStored(runId: string): StoredRun {
    const run = this.runs.get(runId);
    if (!run) throw new ApiError('not-found', `no run '${runId}'`);
    return run;
  }

  private liveHandle(runId: string): RunHandle {
    const run = this.getStored(runId);
    const handle = this.live.get(runId)?.handle;
    if (!handle || ENDED.has(run.status)) throw new ApiError('bad-request', `run '${run.name}' is not training (it is ${run.status})`);
    return handle;
  }

  async stopTraining({ runId }: { runId: string }): Promise<void> {
    this.liveHandle(runId).stop();
  }

  async pauseTraining({ runId }: { runId: string }): Promise<void> {
    this.liveHandle(runId).pause();
  }

  async resumeTraining({ runId }: { runId: string }): Promise<void> {
    this.liveHandle(runId).resume();
  }

  async listRuns(): Promise<RunSummary[]> {
    await this.ready;
    return [...this.runs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(summary);
  }

  async getRun({ runId }: { runId: string }): Promise<RunDetail> {
    await this.ready;
    const run = this.getStored(runId);
    // A run stopped by a shutdown kept its model but was not evaluated: do it now, once.
    if (run.hasModel && !run.evaluation && ENDED.has(run.status)) await this.evaluate({ runId }).catch(() => undefined);
    return detail(run);
  }

  async deleteRun({ runId }: { runId: string }): Promise<void> {
    await this.ready;
    const run = this.getStored(runId);
    if (!ENDED.has(run.status)) throw new ApiError('busy', `run '${run.name}' is still training: stop it first`);
    this.runs.delete(runId);
    await this.store.remove(runId);
  }

  private withModel(runId: string): StoredRun {
    const run = this.getStored(runId);
    if (!run.hasModel) throw new ApiError('not-found', `run '${run.name}' has no trained model${run.error ? ` (${run.error})` : ''}`);
    return run;
  }

  /** A run with a model and the dataset it is evaluated on (an imported model has none until it is trained on one). */
  private withModelAndData(runId: string): StoredRun {
    const run = this.withModel(runId);
    if (!run.datasetId) {
      throw new ApiError('bad-request', `run '${run.name}' is an imported model with no dataset to evaluate or predict on: train the project on a dataset (it starts from these weights), or export the model as it is`, { reason: 'no-dataset' });
    }
    return run;
  }

  /** Evaluates a run's model on its test split and keeps the result (table runs get their worst rows too, labelled-text runs their misclassified texts). */
  private async evaluateRun(run: StoredRun): Promise<Evaluation> {
    const info = await this.knownDataset(run.datasetId).catch(() => undefined);
    const loaded = info?.kind === 'table' || info?.kind === 'text' ? await this.deps.datasets.load(run.datasetId) : undefined;
    const table = loaded?.table;
    const text = loaded?.text?.kind === 'text' ? loaded.text : undefined;
    const wantPoints = Boolean(table) || Boolean(text) || info?.task === 'regression';
    const r = await this.deps.training.evaluate(this.store.modelDir(run.id), run.datasetId, this.deps.dataDir, run.maxTestSamples, wantPoints);
    run.evaluation = toEvaluation(r, table, text);
    if (run.evaluation.accuracy !== undefined) run.testAccuracy = run.evaluation.accuracy;
    const tm = finite(run.evaluation.metrics);
    if (tm) run.testMetrics = tm;
    return run.evaluation;
  }

  async evaluate({ runId }: { runId: string }): Promise<Evaluation> {
    await this.ready;
    const run = this.withModelAndData(runId);
    if (!run.evaluation) {
      await this.evaluateRun(run);
      await this.store.save(run);
    }
    return run.evaluation!;
  }

  async predict({ runId, count = 24, misclassifiedFirst = true }: PredictRequest): Promise<Predictions> {
    await this.ready;
    const run = this.withModelAndData(runId);
    const data = await this.deps.datasets.load(run.datasetId);
    // Table and text runs show their rows or texts in the evaluation (misclassified, worst predictions) instead of a gallery.
    if (data.table || data.text) return { classNames: data.info.classNames, items: [] };
    const [h, w, c] = data.shape;
    const size = h * w * c;
    const pool = Math.min(data.test.count, run.maxTestSamples ?? DEFAULT_PREDICT_POOL, DEFAULT_PREDICT_POOL);
    if (pool === 0) throw new ApiError('not-found', `dataset '${data.info.name}' has no test images`);
    const images = data.test.images.subarray(0, pool * size);
    const out = await this.deps.training.predict(this.store.modelDir(runId), run.datasetId, images, pool);
    const order = [...Array(pool).keys()];
    if (misclassifiedFirst) {
      const wrong = (i: number) => (out.predicted[i] !== data.test.labels[i] ? 0 : 1);
      order.sort((a, b) => wrong(a) - wrong(b) || a - b);
    }
    return {
      classNames: data.info.classNames,
      items: order.slice(0, count).map((i) => ({
        index: i,
        label: data.test.labels[i]!,
        predicted: out.predicted[i]!,
        confidence: out.confidence[i]!,
        image: pngDataUrl(images.subarray(i * size, (i + 1) * size), h, w, c),
      })),
    };
  }

  async predictRows({ runId, rows, csvPath, maxRows = 1000 }: PredictRowsRequest): Promise<RowPredictions> {
    await this.ready;
    const run = this.withModel(runId);
    const dir = this.store.modelDir(runId);
    const pre = await readPreprocessing(dir);
    if (!pre) throw new ApiError('bad-request', `run '${run.name}' was not trained on a table: predict rows needs a table dataset's run`);
    if (!rows === !csvPath) throw new ApiError('bad-request', 'give either rows or csvPath');
    let header: string[];
    let cells: string[][];
    let lines: number[] | undefined;
    if (csvPath) {
      const t = await readCsvFile(csvPath).catch((e: unknown) => {
        throw new ApiError('bad-request', e instanceof Error ? e.message : String(e));
      });
      ({ header, rows: cells, lines } = t);
    } else {
      header = [...new Set(rows!.flatMap((r) => Object.keys(r)))];
      cells = rows!.map((r) => header.map((h) => r[h] ?? ''));
    }
    try {
      return await predictTableRows(pre, header, cells, (features, count) => this.deps.training.predictFeatures(dir, run.datasetId, features, count), { maxRows, ...(lines ? { lines } : {}) });
    } catch (e) {
      if (e instanceof RowInputError) throw new ApiError('bad-request', e.message);
      throw e;
    }
  }

  /** The tokenizer a text-classification run reads with (its model folder's, else its dataset's) and its tokens per text. */
  private async textModel(run: StoredRun): Promise<{ tokenizer: Tokenizer; T: number }> {
    const refuse = (why: string): never => {
      throw new ApiError('bad-request', `run '${run.name}' is not a text classifier (${why}): predicting a text needs a run trained on labelled text`, { reason: 'not-a-text-classifier' });
    };
    if (getTask(run.task).id !== 'classification') refuse(`it was trained for ${getTask(run.task).label.toLowerCase()}`);
    const input = run.graph.nodes.find((n) => n.type === 'Input');
    const T = Number(input?.params.length);
    if (input?.params.kind !== 'tokens' || !(T > 0)) refuse('its model does not read token ids');
    let tokenizer = await readTokenizer(this.store.modelDir(run.id)).catch(() => undefined);
    if (!tokenizer) {
      const data = await this.deps.datasets.load(run.datasetId).catch(() => undefined);
      if (data?.text?.kind === 'text') tokenizer = data.text.tokenizer;
    }
    if (!tokenizer) return refuse('it has no tokenizer');
    return { tokenizer, T };
  }

  async predictText({ runId, texts }: PredictTextRequest): Promise<TextPredictions> {
    await this.ready;
    const run = this.withModel(runId);
    const { tokenizer, T } = await this.textModel(run);
    const tokens = new Int32Array(texts.length * T);
    const meta = texts.map((t, k) => {
      const ids = encode(tokenizer, t);
      const n = Math.min(ids.length, T);
      for (let i = 0; i < n; i++) tokens[k * T + i] = ids[i]!;
      let unknown = 0;
      if (tokenizer.kind !== 'bpe') for (const id of ids) if (id === OOV_ID) unknown++;
      return { tokens: ids.length, truncated: ids.length > T, unknown };
    });
    let probs: number[][];
    try {
      probs = await this.deps.training.predictTokens(this.store.modelDir(runId), run.datasetId, tokens, texts.length);
    } catch (error) {
      throw new ApiError('failed', error instanceof Error ? error.message : String(error));
    }
    const classNames = run.evaluation?.classNames.length ? run.evaluation.classNames : run.classNames;
    return {
      classNames,
      items: probs.map((p, k) => {
        const best = p.reduce((b, v, i) => (v > p[b]! ? i : b), 0);
        return { predicted: classNames[best] ?? String(best), confidence: p[best] ?? 0, probabilities: p, ...meta[k]! };
      }),
    };
  }

  // ---- text generation (language models) ------------------------------------------------------
  async generateText(req: GenerateTextRequest): Promise<GeneratedText> {
    await this.ready;
    const run = this.withModel(req.runId);
    if (run.task !== 'language-modelling') {
      throw new ApiError('bad-request', `run '${run.name}' is not a language model (it was trained for ${getTask(run.task).label.toLowerCase()} on '${run.datasetId}'): generating text needs a run trained on a corpus`, {
        reason: 'not-a-language-model',
      });
    }
    const generate = this.deps.training.generate;
    if (!generate) throw new ApiError('failed', 'generating text is not available in this build');
    const requestId = req.requestId ?? `gen-${randomUUID()}`;
    if (this.generations.has(requestId)) throw new ApiError('busy', `a generation '${requestId}' is already under way`);
    const controller = new AbortController();
    this.generations.set(requestId, controller);
    const { prompt, tokens, temperature, topK, seed } = req;
    try {
      const r = await generate.call(
        this.deps.training,
        this.store.modelDir(run.id),
        run.datasetId,
        { prompt, ...(tokens !== undefined ? { tokens } : {}), ...(temperature !== undefined ? { temperature } : {}), ...(topK !== undefined ? { topK } : {}), ...(seed !== undefined ? { seed } : {}) },
        (piece) => this.textGenerated.emit({ runId: run.id, requestId, piece, done: false }),
        controller.signal,
      );
      return { requestId, text: r.text, tokens: r.tokens, tokensPerSecond: r.tokensPerSecond, stopped: r.stopped || controller.signal.aborted };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ApiError(/not a language model/.test(message) ? 'bad-request' : 'failed', message, /not a language model/.test(message) ? { reason: 'not-a-language-model' } : undefined);
    } finally {
      this.generations.delete(requestId);
      this.textGenerated.emit({ runId: run.id, requestId, piece: '', done: true });
    }
  }

  async stopGeneration({ requestId }: { requestId: string }): Promise<void> {
    this.generations.get(requestId)?.abort();
  }

  // ---- attention maps (text models with attention) ----------------------------------------------
  async attentionMap({ runId, text, maxTokens }: AttentionMapRequest): Promise<AttentionMap> {
    await this.ready;
    const run = this.getStored(runId);
    const refuse = (reason: string, why: string): never => {
      throw new ApiError('bad-request', `run '${run.name}' ${why}`, { reason });
    };
    if (!run.hasModel) {
      refuse('no-model', `has no trained model${run.error ? ` (${run.error})` : ENDED.has(run.status) ? '' : ' yet: attention maps are ready once it ends (Stop keeps the weights)'}`);
    }
    const input = run.graph.nodes.find((n) => n.type === 'Input');
    if (input?.params.kind !== 'tokens') refuse('not-a-text-model', `was not trained on text (its model does not read token ids): attention maps need a text classifier or a language model`);
    if (!run.graph.nodes.some((n) => n.type === 'MultiHeadAttention')) {
      refuse('no-attention', 'has no attention layer (MultiHeadAttention) in its model: there are no attention weights to show');
    }
    let tokenizer = await readTokenizer(this.store.modelDir(run.id)).catch(() => undefined);
    if (!tokenizer) {
      const data = await this.deps.datasets.load(run.datasetId).catch(() => undefined);
      tokenizer = data?.text?.tokenizer;
    }
    if (!tokenizer) return refuse('not-a-text-model', 'has no tokenizer (its model folder has no tokenizer.json and its dataset is gone)');
    if (encode(tokenizer, text).length === 0) refuse('empty-text', 'cannot read an empty text: type some text to see what the model attends to');
    const attention = this.deps.training.attention;
    if (!attention) throw new ApiError('failed', 'attention maps are not available in this build');
    try {
      return roundAttention(await attention.call(this.deps.training, this.store.modelDir(run.id), run.datasetId, { text, ...(maxTokens !== undefined ? { maxTokens } : {}) }));
    } catch (error) {
      throw new ApiError('failed', error instanceof Error ? error.message : String(error));
    }
  }

  // ---- insight (shared/api/insight.ts; service/insight.ts) ---------------------------------------
  getSample(req: SampleRequest): Promise<SampleInfo> {
    return this.insight.getSample(req);
  }

  activations(req: ActivationsRequest): Promise<Activations> {
    return this.insight.activations(req);
  }

  explain(req: ExplainRequest): Promise<Explanation> {
    return this.insight.explain(req);
  }

  trainingHealth(req: { runId: string }): Promise<TrainingHealth> {
    return this.insight.trainingHealth(req);
  }

  embeddings(req: EmbeddingsRequest): Promise<Embeddings> {
    return this.insight.embeddings(req);
  }

  confusionSamples(req: ConfusionSamplesRequest): Promise<ConfusionSamples> {
    return this.insight.confusionSamples(req);
  }

  // ---- export / import ----------------------------------------------------------------------
  async exportModel({ runId, format, outPath }: ExportRequest): Promise<ExportResult> {
    await this.ready;
    this.withModel(runId);
    if (!this.deps.exporter) throw new ApiError('failed', 'exporting is not available in this build');
    const result = await this.deps.exporter.exportModel(this.store.modelDir(runId), format, outPath);
    return { ...result, exportId: this.exports.remember(result) };
  }

  /** Serve mode: the server lends its download registry (main/server/downloads.ts) when it starts serving this engine. */
  attachDownloads(port: DownloadsPort | undefined): void {
    this.downloads = port;
  }

  async prepareDownload(req: DownloadRequest): Promise<PreparedDownload> {
    if (!this.downloads) {
      throw new ApiError('failed', 'downloads are offered in serve mode only: the desktop app writes exports and runs on this computer, where you chose', { reason: 'no-downloads' });
    }
    await this.ready;
    if (req.kind === 'run') {
      const run = this.getStored(req.runId);
      if (!ENDED.has(run.status)) throw new ApiError('busy', `run '${run.name}' is still training: stop it first (its model folder is written when it ends)`);
      return this.downloads.offer(runDownloadSource(run, this.store.dir(run.id)));
    }
    const made = this.exports.get(req.exportId);
    if (!made) throw new ApiError('not-found', `unknown export '${req.exportId}': export again (the engine remembers its last 50 exports until it restarts)`);
    return this.downloads.offer(exportDownloadSource(made));
  }

  /**
   * Imports a model file or folder. With weights they are saved as the model folder of a new finished run named
   * '<model name> (imported)' (evaluate, predict and export work on it at once), and the returned project starts
   * training from them (training.initialWeights). A file that cannot be imported is 'bad-request', its message
   * naming every layer / operator at fault and `details.layers` listing them.
   */
  async importModel(req: ImportModelRequest): Promise<ImportedModel> {
    if (!this.deps.exporter) throw new ApiError('failed', 'importing models is not available in this build');
    await this.ready;
    const id = newRunId();
    const modelDir = this.store.modelDir(id);
    let got: Awaited<ReturnType<ExportPort['importModel']>>;
    try {
      got = await this.deps.exporter.importModel(req, modelDir);
    } catch (error) {
      await rm(this.store.dir(id), { recursive: true, force: true }).catch(() => {});
      if (error instanceof ModelImportError || (error instanceof Error && error.name === 'ModelImportError')) throw new ApiError('bad-request', error.message, { path: req.path, layers: (error as ModelImportError).layers ?? [] });
      throw error;
    }
    const { imported } = got;
    if (!got.weightsSaved) return { ...imported, weights: null };
    let project = imported.project;
    const warnings = [...imported.warnings];
    let classNames: string[] = [];
    if (req.datasetId) {
      const fit = await this.importDatasetFit(project, req.datasetId);
      if (fit.problem) warnings.push(`not evaluated on ${fit.problem}`);
      else {
        project = { ...project, dataset: req.datasetId };
        classNames = fit.classNames;
      }
    }
    const now = new Date().toISOString();
    const run: StoredRun = {
      id,
      name: `${project.name} (imported)`,
      datasetId: project.dataset ?? '',
      status: 'completed',
      createdAt: now,
      endedAt: now,
      backend: `imported ${imported.formatLabel}`,
      epochs: 0,
      epochsDone: 0,
      hasModel: true,
      settings: project.training,
      graph: project.graph,
      classNames,
      batches: [],
      epochPoints: [],
    };
    try {
      await this.store.save(run);
    } catch (error) {
      await rm(this.store.dir(id), { recursive: true, force: true }).catch(() => {});
      throw error;
    }
    this.runs.set(id, run);
    return { ...imported, warnings, project: { ...project, training: { ...project.training, initialWeights: modelDir } }, weights: { runId: id, modelDir } };
  }

  /** Whether an imported model can be evaluated on a dataset: ready, the same input size, an output that fits its task. */
  private async importDatasetFit(project: ProjectFile, datasetId: string): Promise<{ problem?: string; classNames: string[] }> {
    const info = (await this.deps.datasets.list()).find((d) => d.id === datasetId);
    if (!info) return { problem: `'${datasetId}': no such dataset`, classNames: [] };
    if (info.status !== 'ready') return { problem: `'${info.name}': it is not ready (download or import it first)`, classNames: [] };
    const analysis = analyzeGraph(project.graph);
    const inputs = analysis.inputs.map((id) => analysis.nodes[id]?.shape ?? []);
    if (inputs.length !== 1 || inputs[0]!.join('x') !== info.inputShape.join('x')) {
      return { problem: `'${info.name}': its samples are ${info.inputShape.join('×')}, the model reads ${inputs.map((s) => s.join('×')).join(' and ')}`, classNames: [] };
    }
    const task = getTask(info.task);
    const problems = checkGraphForTask(project.graph, analysis, task, { classes: info.classNames.length, mean: 0, std: 1, ...(info.target ? { name: info.target } : {}) }, `'${info.name}'`);
    if (problems.length) return { problem: `'${info.name}': ${problems.map((p) => p.message).join('; ')}`, classNames: [] };
    return { classNames: info.classNames };
  }

  // ---- events -------------------------------------------------------------------------------
  // ---- projects -----------------------------------------------------------------------------
  listProjects(): Promise<ProjectList> {
    return this.projects.list();
  }

  saveProject(req: SaveProjectRequest): Promise<SavedProject> {
    return this.projects.save(req);
  }

  openProject(req: OpenProjectRequest): Promise<OpenedProject> {
    return this.projects.open(req);
  }

  saveProjectAs(req: SaveProjectAsRequest): Promise<SavedProject | null> {
    return this.projects.saveAs(req);
  }

  chooseDataFile({ kind }: { kind: 'table' }): Promise<string | null> {
    return this.projects.chooseDataFile(kind);
  }

  openProjectDialog(): Promise<OpenedProject | null> {
    return this.projects.openWithDialog();
  }

  saveRecovery(req: SaveRecoveryRequest): Promise<void> {
    return this.projects.saveRecovery(req);
  }

  listRecovery(): Promise<RecoveryList> {
    return this.projects.listRecovery();
  }

  discardRecovery(req: { key: string }): Promise<void> {
    return this.projects.discardRecovery(req);
  }

  onTrainingProgress(listener: (p: TrainingProgress) => void): () => void {
    return this.progress.on(listener);
  }

  onTrainingEnded(listener: (e: TrainingEnded) => void): () => void {
    return this.ended.on(listener);
  }

  onDatasetProgress(listener: (p: DatasetProgress) => void): () => void {
    return this.datasetProgress.on(listener);
  }

  onTextGenerated(listener: (e: TextGenerated) => void): () => void {
    return this.textGenerated.on(listener);
  }

  /**
   * Shuts the engine down: aborts generations, stops every live run as the Stop button does (finish the
   * batch, save the model folder) and waits up to `graceMs` for them, then ends every worker thread (a run
   * that did not finish saving in time is terminated). Returns whether every run ended within the grace.
   */
  async dispose(options: { graceMs?: number } = {}): Promise<{ runsStopped: number; allSaved: boolean }> {
    this.disposing = true;
    for (const g of this.generations.values()) g.abort();
    const handles = [...this.live.values()].map((l) => l.handle).filter((h): h is RunHandle => !!h);
    for (const h of handles) h.stop({ quick: true });
    const records = () => Promise.allSettled([...this.finishing]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.graceMs ?? 10_000);
    });
    const allSaved = handles.length === 0 || (await Promise.race([Promise.allSettled(handles.map((h) => h.done)).then(records).then(() => true as const), graceOver]));
    clearTimeout(timer);
    await this.deps.training.close?.();
    return { runsStopped: handles.length, allSaved };
  }
}
