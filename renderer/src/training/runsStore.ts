/**
 * The training dashboard's state (zustand, no React inside): datasets, runs, live progress, results.
 * Talks to the engine only through the client (renderer/src/api). Pure state transitions are
 * exported for tests (applyProgress).
 */
import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type {
  AttentionMap,
  AttentionMapRequest,
  ApiError,
  BackendInfo,
  DatasetInfo,
  DatasetPreview,
  DatasetProgress,
  EngineApi,
  GeneratedText,
  GenerateTextRequest,
  ImportDatasetRequest,
  Predictions,
  RowPredictions,
  RunDetail,
  RunSummary,
  StartTrainingRequest,
  TablePreview,
  TextGenerated,
  TextPredictions,
  TrainingEnded,
  TrainingProgress,
} from '../../../shared/api';
import type { Problem } from '../../../shared/graph';
import type { Doc } from '../store/document';
import { connectionState, getEngine, onConnectionState, type ConnectionState } from '../api/client';

export interface TrainingState {
  connection: ConnectionState;
  connectionWhy?: string;
  datasets: DatasetInfo[];
  datasetProgress: Record<string, DatasetProgress>;
  previews: Record<string, DatasetPreview>;
  backends: BackendInfo[];
  runs: RunSummary[];
  details: Record<string, RunDetail>;
  live: Record<string, TrainingProgress>;
  predictions: Record<string, Predictions>;
  /** The run shown in the results view, and the runs overlaid in the compare chart. */
  viewRunId: string | null;
  compare: string[];
  dashboardOpen: boolean;
  /** The last error to show in the panel (failed run, refused request). */
  error: string | null;
  /** Graph problems from the last validation, when the model cannot be trained. */
  problems: Problem[];
  busy: boolean;
  /** The last "Fit model to dataset": what changed, shown while the document still has those nodes (undo hides it). */
  lastFit: { datasetId: string; datasetName: string; changes: string[]; nodes: Doc['nodes'] } | null;
  /** The panel's "max images" field as typed: every way of starting a run (panel, Train menu) uses it. */
  maxImages: string;
}

/**
 * The sample limits of a run from the "max images" field: none when it is empty or not a positive integer. It
 * limits training only: results are computed on the whole test split (#19).
 */
export function sampleLimits(maxImages: string): { maxTrainSamples?: number; maxTestSamples?: number } {
  const limit = Number(maxImages);
  return maxImages.trim() !== '' && Number.isInteger(limit) && limit > 0 ? { maxTrainSamples: limit } : {};
}

const initial: TrainingState = {
  connection: 'connecting',
  datasets: [],
  datasetProgress: {},
  previews: {},
  backends: [],
  runs: [],
  details: {},
  live: {},
  predictions: {},
  viewRunId: null,
  compare: [],
  dashboardOpen: false,
  error: null,
  problems: [],
  busy: false,
  lastFit: null,
  maxImages: '',
};

export const trainingStore = createStore<TrainingState>()(() => ({ ...initial }));

export function useTraining<T>(selector: (s: TrainingState) => T): T {
  return useStore(trainingStore, selector);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Folds one progress event into the state: live view, the run's summary and its metric history. */
export function applyProgress(s: TrainingState, p: TrainingProgress): Partial<TrainingState> {
  const patch: Partial<TrainingState> = { live: { ...s.live, [p.runId]: p } };
  const d = s.details[p.runId];
  if (d) {
    patch.details = {
      ...s.details,
      [p.runId]: {
        ...d,
        status: p.status,
        backend: p.backend ?? d.backend,
        epochs: p.epochs,
        epochsDone: p.epochPoint ? p.epochPoint.epoch : d.epochsDone,
        // Points the detail already holds (it was loaded while events were on their way) are not added twice.
        batches: appendNew(d.batches, p.batches, (b) => b.step),
        epochPoints: p.epochPoint ? appendNew(d.epochPoints, [p.epochPoint], (e) => e.epoch) : d.epochPoints,
      },
    };
  }
  patch.runs = s.runs.map((r) => (r.id === p.runId ? { ...r, status: p.status, backend: p.backend ?? r.backend, epochsDone: p.epochPoint?.epoch ?? r.epochsDone } : r));
  return patch;
}

function appendNew<T>(have: T[], more: readonly T[], key: (x: T) => number): T[] {
  if (more.length === 0) return have;
  const last = have.length ? key(have[have.length - 1]!) : -Infinity;
  const fresh = more.filter((x) => key(x) > last);
  return fresh.length ? [...have, ...fresh] : have;
}

/** Folds several progress events at once (one store update, one render). */
export function applyProgressAll(s: TrainingState, list: readonly TrainingProgress[]): Partial<TrainingState> {
  let state = s;
  for (const p of list) state = { ...state, ...applyProgress(state, p) };
  return { live: state.live, details: state.details, runs: state.runs };
}

/**
 * Progress events come a few times a second per run; the store takes them in at most every
 * PROGRESS_FLUSH_MS (one render for several events), at once when an event closes an epoch or changes
 * the run's status. Fewer renders leave more CPU to training (issue 9: the app's training speed
 * against the CLI's).
 */
export const PROGRESS_FLUSH_MS = 1000;
let pending: TrainingProgress[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;
const lastStatus = new Map<string, string>();

export function flushProgress(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending.length === 0) return;
  const list = pending;
  pending = [];
  trainingStore.setState((s) => applyProgressAll(s, list));
}

function onProgress(p: TrainingProgress): void {
  pending.push(p);
  const statusChanged = lastStatus.get(p.runId) !== p.status;
  lastStatus.set(p.runId, p.status);
  if (p.epochPoint || statusChanged) flushProgress();
  else flushTimer ??= setTimeout(flushProgress, PROGRESS_FLUSH_MS);
}

let engine: EngineApi | null = null;
let started = false;

/** Generations this window asked for, by request id: where their streamed pieces go. */
const generations = new Map<string, (e: TextGenerated) => void>();
let generationCounter = 0;

function onTextGenerated(e: TextGenerated): void {
  generations.get(e.requestId)?.(e);
}

async function refreshRuns(): Promise<void> {
  trainingStore.setState({ runs: await engine!.listRuns() });
}

export const training = {
  /** Connects, subscribes to events and loads datasets, backends and runs (once). */
  async init(): Promise<void> {
    if (started) return;
    started = true;
    engine = getEngine();
    const c = connectionState();
    trainingStore.setState({ connection: c.s, connectionWhy: c.why });
    onConnectionState((s, why) => trainingStore.setState({ connection: s, connectionWhy: why }));
    engine.onTrainingProgress(onProgress);
    engine.onTrainingEnded((e) => void training.ended(e));
    engine.onDatasetProgress((p) => trainingStore.setState((s) => ({ datasetProgress: { ...s.datasetProgress, [p.id]: p } })));
    engine.onTextGenerated(onTextGenerated);
    // Lists that changed while these were on their way (an import, a run started while a slow backend probe
    // held listBackends) are newer than the answers: they are kept.
    const before = trainingStore.getState();
    // The backend report can take seconds (webgpu's adapter, a Python start to look for torch): it never holds
    // the dataset and run lists; the backend menu fills in when it comes.
    void engine.listBackends().then(
      (backends) => trainingStore.setState({ backends }),
      () => {}, // the menu then offers every backend without a report, as before the answer
    );
    try {
      const [datasets, runs] = await Promise.all([engine.listDatasets(), engine.listRuns()]);
      trainingStore.setState((s) => ({ datasets: s.datasets === before.datasets ? datasets : s.datasets, runs: s.runs === before.runs ? runs : s.runs, connection: 'open' }));
    } catch (e) {
      trainingStore.setState({ error: `Cannot reach the engine: ${message(e)}` });
    }
  },

  async ended(e: TrainingEnded): Promise<void> {
    flushProgress();
    trainingStore.setState((s) => ({
      runs: s.runs.map((r) => (r.id === e.runId ? e.summary : r)),
      error: e.status === 'failed' ? `${e.summary.name} failed: ${e.error ?? 'unknown error'}` : s.error,
    }));
    await training.loadRun(e.runId, true);
    if (e.summary.hasModel) await training.loadPredictions(e.runId).catch(() => {});
  },

  async refreshDatasets(): Promise<void> {
    trainingStore.setState({ datasets: await engine!.listDatasets() });
  },

  /** Lists the runs again (an import with weights adds one). */
  async refreshRuns(): Promise<void> {
    if (!engine) return training.init();
    await refreshRuns();
  },

  async prepare(id: string): Promise<void> {
    trainingStore.setState({ error: null });
    const p = engine!.prepareDataset({ id });
    await training.refreshDatasets().catch(() => {});
    try {
      await p;
    } catch (e) {
      trainingStore.setState({ error: `Download of ${id} failed: ${message(e)}` });
    } finally {
      trainingStore.setState((s) => {
        const { [id]: _gone, ...rest } = s.datasetProgress;
        return { datasetProgress: rest };
      });
      await training.refreshDatasets().catch(() => {});
    }
  },

  cancelPrepare(id: string): Promise<void> {
    return engine!.cancelDatasetPreparation({ id });
  },

  /** "Import from disk…": imports image data, labelled text or a corpus; throws the engine's error (the form shows it). */
  async importFrom(req: ImportDatasetRequest): Promise<DatasetInfo> {
    trainingStore.setState({ error: null, busy: true });
    try {
      const info = await engine!.importDataset(req);
      await training.refreshDatasets();
      trainingStore.setState((s) => {
        const { [info.id]: _done, ...rest } = s.datasetProgress;
        return { datasetProgress: rest };
      });
      return info;
    } finally {
      trainingStore.setState({ busy: false });
    }
  },

  /** Desktop app: true when the engine can show native file dialogs (then the import dialog offers Browse…). */
  async nativeDialogs(): Promise<boolean> {
    return (await engine!.getInfo()).nativeDialogs === true;
  },

  /** Desktop app: a native Open dialog for a CSV; its path, or null when cancelled. */
  chooseTableFile(): Promise<string | null> {
    return engine!.chooseDataFile({ kind: 'table' });
  },

  /** Reads a CSV file on the engine's machine for the import dialog; throws the engine's error (the dialog shows it). */
  previewTable(req: Parameters<EngineApi['previewTable']>[0]): Promise<TablePreview> {
    return engine!.previewTable(req);
  },

  /** Imports a table (CSV) dataset; throws the engine's error for the import dialog to show, nothing else changes then. */
  async importTable(req: ImportDatasetRequest): Promise<DatasetInfo> {
    const info = await engine!.importDataset(req);
    await training.refreshDatasets().catch(() => {});
    trainingStore.setState((s) => {
      const { [info.id]: _done, ...rest } = s.datasetProgress;
      return { datasetProgress: rest, datasets: s.datasets.some((d) => d.id === info.id) ? s.datasets : [...s.datasets, info] };
    });
    return info;
  },

  /** Predictions of a table run for rows typed into a form or a CSV file; throws the engine's error (shown where it was asked). */
  predictRows(req: Parameters<EngineApi['predictRows']>[0]): Promise<RowPredictions> {
    return engine!.predictRows(req);
  },

  /** Class probabilities of a text-classification run for typed texts; throws the engine's error (the panel shows it). */
  predictText(req: Parameters<EngineApi['predictText']>[0]): Promise<TextPredictions> {
    return engine!.predictText(req);
  },

  /** Attention weights of a text model with attention layers for a typed text; throws the engine's error (the panel shows it). */
  attentionMap(req: AttentionMapRequest): Promise<AttentionMap> {
    return engine!.attentionMap(req);
  },

  /**
   * Language-model runs: continues a prompt, `onPiece` getting each piece of text as the engine streams it.
   * Returns the request's id at once (for stopGeneration) and `done`, the whole result (rejects with the
   * engine's error: the panel shows it).
   */
  generate(req: Omit<GenerateTextRequest, 'requestId'>, onPiece: (piece: string) => void): { requestId: string; done: Promise<GeneratedText> } {
    const requestId = `gen-${Date.now().toString(36)}-${(++generationCounter).toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    generations.set(requestId, (e) => {
      if (!e.done && e.piece) onPiece(e.piece);
    });
    const done = engine!.generateText({ ...req, requestId }).finally(() => generations.delete(requestId));
    return { requestId, done };
  },

  stopGeneration(requestId: string): Promise<void> {
    return engine!.stopGeneration({ requestId });
  },

  async preview(id: string): Promise<void> {
    try {
      const p = await engine!.datasetPreview({ id, perClass: 4 });
      trainingStore.setState((s) => ({ previews: { ...s.previews, [id]: p } }));
    } catch (e) {
      trainingStore.setState({ error: `Preview of ${id} failed: ${message(e)}` });
    }
  },

  async start(req: StartTrainingRequest): Promise<RunSummary | null> {
    trainingStore.setState({ error: null, problems: [], busy: true });
    try {
      const run = await engine!.startTraining(req);
      await refreshRuns();
      trainingStore.setState((s) => ({ viewRunId: run.id, compare: s.compare.includes(run.id) ? s.compare : [...s.compare, run.id].slice(-6) }));
      await training.loadRun(run.id, true);
      return run;
    } catch (e) {
      const details = (e as ApiError).details as { problems?: Problem[] } | undefined;
      trainingStore.setState({ error: `Cannot start training: ${message(e)}`, problems: details?.problems ?? [] });
      return null;
    } finally {
      trainingStore.setState({ busy: false });
    }
  },

  async control(action: 'stop' | 'pause' | 'resume', runId: string): Promise<void> {
    try {
      if (action === 'stop') await engine!.stopTraining({ runId });
      else if (action === 'pause') await engine!.pauseTraining({ runId });
      else await engine!.resumeTraining({ runId });
    } catch (e) {
      trainingStore.setState({ error: message(e) });
    }
  },

  async loadRun(runId: string, force = false): Promise<void> {
    if (!force && trainingStore.getState().details[runId]) return;
    try {
      const d = await engine!.getRun({ runId });
      trainingStore.setState((s) => ({ details: { ...s.details, [runId]: d } }));
    } catch (e) {
      trainingStore.setState({ error: message(e) });
    }
  },

  async loadPredictions(runId: string): Promise<void> {
    const p = await engine!.predict({ runId, count: 24, misclassifiedFirst: true });
    trainingStore.setState((s) => ({ predictions: { ...s.predictions, [runId]: p } }));
  },

  async view(runId: string): Promise<void> {
    trainingStore.setState({ viewRunId: runId, dashboardOpen: true });
    await training.loadRun(runId);
    const d = trainingStore.getState().details[runId];
    if (d?.hasModel && !trainingStore.getState().predictions[runId]) await training.loadPredictions(runId).catch((e: unknown) => trainingStore.setState({ error: message(e) }));
  },

  toggleCompare(runId: string): void {
    trainingStore.setState((s) => ({ compare: s.compare.includes(runId) ? s.compare.filter((x) => x !== runId) : [...s.compare, runId] }));
    void training.loadRun(runId);
  },

  async remove(runId: string): Promise<void> {
    try {
      await engine!.deleteRun({ runId });
      trainingStore.setState((s) => ({ compare: s.compare.filter((x) => x !== runId), viewRunId: s.viewRunId === runId ? null : s.viewRunId }));
      await refreshRuns();
    } catch (e) {
      trainingStore.setState({ error: message(e) });
    }
  },

  setDashboard(open: boolean): void {
    trainingStore.setState({ dashboardOpen: open });
  },

  dismissError(): void {
    trainingStore.setState({ error: null, problems: [] });
  },
};
