/**
 * The engine's service contract: every request and event the UI (Electron or browser) and tests use.
 * Types only plus the list of names, so the preload bundle that builds a client from it stays tiny;
 * the request schemas live in ./schemas.ts (server side).
 */
import type { Graph } from '../graph/types';
import type { TrainingSettings } from '../project';
import type { DatasetInfo, DatasetPreview, DatasetProgress, TablePreview, TextImportOptions } from './datasets';
import type { ColumnType, TableTask } from '../tables/types';
import type { TaskId } from '../tasks/define';
import type { OpenedProject, OpenProjectRequest, ProjectList, RecoveryList, SavedProject, SaveProjectAsRequest, SaveProjectRequest, SaveRecoveryRequest } from './projects';
import type { ServiceNames } from './proxy';
import type { InsightApi } from './insight';
import type { ImportedModel, ImportModelRequest } from './importModel';

export type { DatasetInfo, DatasetPreview, DatasetProgress };
export type { OpenedProject, OpenProjectRequest, ProjectList, RecoveryList, SavedProject, SaveProjectAsRequest, SaveProjectRequest, SaveRecoveryRequest };
export type * from './insight';

export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu' | 'pytorch';

export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** Why it is not available (package missing, no GPU, …), or what it runs on. */
  reason?: string;
  /** webgpu: the adapter Dawn offers ("mesa software (llvmpipe: Mesa 25 …)"), when there is one. */
  adapter?: string;
  /** webgpu: the adapter is a software rasteriser (llvmpipe, SwiftShader, WARP): used only when chosen, never by 'auto'. */
  software?: boolean;
}

export type RunStatus = 'starting' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

/** One point per (throttled) batch report. `step` counts batches from the start of the run. */
export interface BatchPoint {
  step: number;
  epoch: number;
  batch: number;
  loss: number;
  /** Classification only. */
  accuracy?: number;
  /** The task's metrics (shared/tasks: accuracy; r2, mae, rmse), when the run reports them. */
  metrics?: Record<string, number>;
  lr: number;
}

/** One point per finished epoch (1-based epoch). */
export interface EpochPoint {
  epoch: number;
  loss: number;
  /** Classification only. */
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The task's metrics on the training batches and on validation (r2, mae, rmse for regression). */
  metrics?: Record<string, number>;
  valMetrics?: Record<string, number>;
  /** Language models: what the model wrote from a fixed prompt after this epoch. */
  sample?: { prompt: string; text: string };
  lr: number;
  /** Milliseconds since the run started. */
  elapsedMs: number;
}

export interface RunSummary {
  id: string;
  name: string;
  datasetId: string;
  status: RunStatus;
  /** ISO times. */
  createdAt: string;
  endedAt?: string;
  backend?: string;
  epochs: number;
  /** Epochs finished so far. */
  epochsDone: number;
  lastLoss?: number;
  lastAccuracy?: number;
  bestValAccuracy?: number;
  testAccuracy?: number;
  /** The dataset's task (absent: classification) and, for tables, the target column. */
  task?: TaskId;
  target?: string;
  /** The task's metrics on the test split once evaluated (e.g. r2, mae, rmse). */
  testMetrics?: Record<string, number>;
  /** Why the run failed, in words. */
  error?: string;
  /** True when a trained model was saved (export / evaluate / predict possible). */
  hasModel: boolean;
}

export interface Evaluation {
  /** Absent: classification. */
  task?: TaskId;
  /** Test samples the figures are computed on. */
  count: number;
  loss: number;
  /** Classification only. */
  accuracy?: number;
  /** The task's metrics (accuracy; r2, mae, rmse in the target's units). */
  metrics?: Record<string, number>;
  classNames: string[];
  /**
   * Per true class: its test samples (`count`, the support), accuracy (= recall), and (classification) precision,
   * recall and F1 (0 where undefined: no sample predicted or present).
   */
  perClass: { className: string; count: number; accuracy: number; precision?: number; recall?: number; f1?: number }[];
  /** confusion[true][predicted] counts (classification). */
  confusion: number[][];
  /** Regression: predicted vs true value per test sample, in the target's units (at most 5,000). */
  points?: { index: number; truth: number; predicted: number }[];
  /**
   * Tables: the test rows behind the worst predictions, with their feature values as in the file:
   * misclassified rows (most confident first) or the largest regression errors.
   */
  rows?: TableResultRows;
  /** Labelled text: the test texts behind the worst predictions, misclassified texts most confident first (at most 50). */
  texts?: TextResultTexts;
}

/** Test texts of a text-classification run with their predictions. */
export interface TextResultTexts {
  /** Misclassified test texts, most confident first. */
  items: TextResultItem[];
  /** Misclassified test texts in all (items may be fewer). */
  total: number;
}

export interface TextResultItem {
  /** Index in the test split. */
  index: number;
  /** The text as imported (line breaks kept), cut at about 500 characters (then ending in '…'). */
  text: string;
  /** Where it came from: 'computers:17' (fortune file:entry line), 'pos/01.txt', 'reviews.csv:5'. */
  source?: string;
  /** True and predicted class names. */
  truth: string;
  predicted: string;
  /** Probability of the predicted class. */
  confidence: number;
}

/** Rows of a table's test split with their predictions. */
export interface TableResultRows {
  /** The file's columns, target included, in file order. */
  header: string[];
  target: string;
  items: TableResultRow[];
}

export interface TableResultRow {
  /** Index in the test split. */
  index: number;
  values: string[];
  /** Class name or value. */
  truth: string | number;
  predicted: string | number;
  /** Classification: probability of the predicted class. */
  confidence?: number;
  /** Regression: predicted - true. */
  error?: number;
}

/** New table rows to predict (from a form or a CSV file on the engine's machine). */
export interface PredictRowsRequest {
  runId: string;
  /** Rows as column name -> value (the form). */
  rows?: Record<string, string>[];
  /** A CSV file on the engine's machine with a header row. */
  csvPath?: string;
  /** At most this many rows are returned (default 1,000). */
  maxRows?: number;
}

export interface RowPredictions {
  task: TaskId;
  target: string;
  classNames: string[];
  /** The columns of the input rows. */
  header: string[];
  items: { values: string[]; predicted?: string | number; confidence?: number; probabilities?: number[]; error?: string }[];
  /** Rows in the input (items may be fewer). */
  total: number;
}

/** New texts for a text-classification run (a run trained on labelled text). */
export interface PredictTextRequest {
  runId: string;
  /** 1 to 100 texts, each at most 100,000 characters; tokenized with the run's tokenizer, padded or cut to its T tokens. */
  texts: string[];
}

export interface TextPredictions {
  classNames: string[];
  items: TextPrediction[];
}

export interface TextPrediction {
  /** The predicted class name and its probability. */
  predicted: string;
  confidence: number;
  /** One probability per class (classNames order). */
  probabilities: number[];
  /** Tokens of the text before padding or cutting, whether it was cut at T, and how many the tokenizer did not know (OOV). */
  tokens: number;
  truncated: boolean;
  unknown: number;
}

/** Most texts one predictText takes, and the longest text. */
export const MAX_PREDICT_TEXTS = 100;
export const MAX_PREDICT_TEXT_CHARS = 100_000;

export interface RunDetail extends RunSummary {
  settings: TrainingSettings;
  graph: Graph;
  classNames: string[];
  batches: BatchPoint[];
  epochPoints: EpochPoint[];
  evaluation?: Evaluation;
}

/** The payload of onTrainingProgress. */
export interface TrainingProgress {
  runId: string;
  status: RunStatus;
  backend?: string;
  /** 1-based current epoch and batch within it. */
  epoch: number;
  epochs: number;
  batch: number;
  batchesPerEpoch: number;
  /** Batches done in the whole run and their planned total. */
  step: number;
  totalSteps: number;
  imagesPerSecond: number;
  elapsedMs: number;
  etaMs: number;
  /** New batch points since the previous event. */
  batches: BatchPoint[];
  /** Set when this event closes an epoch. */
  epochPoint?: EpochPoint;
}

export interface TrainingEnded {
  runId: string;
  status: Extract<RunStatus, 'completed' | 'stopped' | 'failed'>;
  error?: string;
  summary: RunSummary;
}

export const IMPORT_KINDS = ['cifar10', 'mnist', 'fashion-mnist', 'folder', 'table', 'text', 'corpus'] as const;

export interface ImportDatasetRequest {
  path: string;
  as?: (typeof IMPORT_KINDS)[number];
  /** Name of an imported image folder or table dataset. */
  name?: string;
  /** Table (CSV) imports: the column to predict (default: the last), the task it implies unless given, the
   *  held-out test fraction (default 0.2), the split's seed (default 42), and column types overriding inference. */
  target?: string;
  task?: TableTask;
  testFraction?: number;
  seed?: number;
  columnTypes?: Record<string, ColumnType>;
  /** Text and corpus imports (see TextImportOptions; testFraction and seed above apply too). */
  tokenizer?: TextImportOptions['tokenizer'];
  vocabSize?: number;
  lowercase?: boolean;
  seqLen?: number;
  textColumn?: string;
  labelColumn?: string;
  splitOnPercent?: boolean;
  classes?: string[];
  stride?: number;
  skipBad?: boolean;
}

export interface StartTrainingRequest {
  graph: Graph;
  datasetId: string;
  settings: TrainingSettings;
  name?: string;
  /** Use at most this many training / test samples (quick experiments, tests). */
  maxTrainSamples?: number;
  maxTestSamples?: number;
}

export interface PredictRequest {
  runId: string;
  /** How many test images to return (default 24). */
  count?: number;
  /** Put misclassified images first (default true). */
  misclassifiedFirst?: boolean;
}

/**
 * Text from a language-model run (a run trained on a corpus): the model continues `prompt`, token by
 * token; each piece arrives as onTextGenerated while it is written, the whole text when it resolves.
 */
export interface GenerateTextRequest {
  runId: string;
  /** The text to continue (at most 10,000 characters; may be empty). */
  prompt: string;
  /** New tokens to write (1 to 2,000; default 200). */
  tokens?: number;
  /** Softmax temperature: 0 picks the most likely token, higher is more surprising (default 0.8). */
  temperature?: number;
  /** Draw among the k most likely tokens only; 0 = all (default 0). */
  topK?: number;
  /** Random seed (default 1: the same request writes the same text). */
  seed?: number;
  /** The caller's id for this generation (its events carry it, stopGeneration names it); the engine makes one when absent. */
  requestId?: string;
}

export interface GeneratedText {
  requestId: string;
  /** The continuation, without the prompt. */
  text: string;
  /** Tokens written (fewer than asked when stopped). */
  tokens: number;
  tokensPerSecond: number;
  /** True when stopGeneration ended it early. */
  stopped: boolean;
}

/** The payload of onTextGenerated: a new piece of a generation's text, then one event with done: true (piece ''). */
export interface TextGenerated {
  runId: string;
  requestId: string;
  piece: string;
  done: boolean;
}

/** Most tokens one generateText writes, and the longest prompt it takes. */
export const MAX_GENERATE_TOKENS = 2000;
export const MAX_GENERATE_PROMPT = 10_000;

/**
 * Attention maps of a text model (a text classifier or a language model with MultiHeadAttention layers): the
 * text is tokenized with the run's tokenizer and read by the model as in prediction (cut or padded to its T
 * tokens); every attention layer's weights softmax(QK^T/sqrt(keyDim) + mask) are returned for the real tokens.
 */
export interface AttentionMapRequest {
  runId: string;
  /** The text to read (at most 10,000 characters). */
  text: string;
  /** Keep at most this many tokens of the text (1 to 256; default 128; never more than the model's T). */
  maxTokens?: number;
}

export interface AttentionMap {
  /** Each token's text, whitespace and control characters made visible ('␣' space, '⏎' line break, '⇥' tab). */
  tokens: string[];
  /** The tokens' ids. */
  ids: number[];
  /** Tokens of the whole text (before cutting) and whether it was cut (at maxTokens or at T). */
  textTokens: number;
  truncated: boolean;
  /** The model's input length T (the text is padded to it). */
  seqLen: number;
  /** One entry per attention layer, in the model's order. */
  layers: AttentionLayerMap[];
}

export interface AttentionLayerMap {
  /** The layer's name (the graph node's name) and the node's id, when the model's project has it. */
  name: string;
  nodeId?: string;
  heads: number;
  keyDim: number;
  /** Causal: a token attends to itself and the tokens before it only (weights above the diagonal are 0). */
  causal: boolean;
  /** weights[head][query][key] over the real tokens (tokens.length × tokens.length per head). */
  weights: number[][][];
  /**
   * paddingWeight[head][query]: the weight the query gave to the padding after the text (non-causal layers read
   * the padding too; a row of weights plus its padding weight sums to 1).
   */
  paddingWeight: number[][];
}

/** Most tokens one attentionMap returns, its default, and the longest text it takes. */
export const MAX_ATTENTION_TOKENS = 256;
export const DEFAULT_ATTENTION_TOKENS = 128;
export const MAX_ATTENTION_TEXT = 10_000;

export interface PredictionItem {
  /** Index in the test split. */
  index: number;
  label: number;
  predicted: number;
  confidence: number;
  /** PNG data URL. */
  image: string;
}

export interface Predictions {
  classNames: string[];
  items: PredictionItem[];
}

export type ExportFormat = 'tfjs' | 'onnx' | 'pytorch' | 'keras';

export interface ExportRequest {
  runId: string;
  format: ExportFormat;
  /** Destination folder or file on the engine's machine. */
  outPath: string;
}

export interface ExportResult {
  path: string;
  /** Every file written, absolute paths. */
  files: string[];
  /** Notes for the user (input layout, limits), one line each. */
  notes: string[];
  /** The engine's handle on this export (for prepareDownload); it forgets it when it restarts. */
  exportId?: string;
}

/**
 * Something the engine wrote, to be fetched by a browser (serve mode): a run's folder (run.json and its
 * trained-model folder) or an export this engine made (by the exportId its exportModel returned).
 */
export type DownloadRequest = { kind: 'run'; runId: string } | { kind: 'export'; exportId: string };

/** A short-lived, opaque download: GET `url` with the access token (`?token=`) gives the file or the zip. */
export interface PreparedDownload {
  /** Opaque id (also the last segment of url). */
  id: string;
  /** Path on the server that served the page: `/download/<id>`. */
  url: string;
  /** The name the browser saves it under (a zip for folders). */
  fileName: string;
  /** True when several files are streamed as one zip. */
  zip: boolean;
  /** Bytes of the files in it (the zip is about this size: weights are stored uncompressed). */
  bytes: number;
  files: number;
  /** ISO time after which the id is refused (404). */
  expiresAt: string;
}

export interface EngineInfo {
  version: string;
  dataDir: string;
  /** 'electron' or 'serve' or 'test'. */
  host: string;
  /** Where saveProject writes by name (`<dataDir>/projects`). */
  projectsDir?: string;
  /** True when saveProjectAs / openProjectDialog show native dialogs (desktop app). */
  nativeDialogs?: boolean;
  /**
   * True when prepareDownload works: serve mode, where the browser may run on another machine. False in the
   * desktop app, which writes exports where the user chose on this computer.
   */
  downloads?: boolean;
}

/**
 * The engine service. Requests return promises; `onXxx` members are events (listener -> unsubscribe). The
 * insight requests (getSample, activations, explain, trainingHealth, embeddings, confusionSamples) are
 * declared in ./insight.ts.
 */
export interface EngineApi extends InsightApi {
  getInfo(): Promise<EngineInfo>;
  listBackends(): Promise<BackendInfo[]>;

  listDatasets(): Promise<DatasetInfo[]>;
  /** Downloads and decodes a dataset; progress arrives as onDatasetProgress. Resolves when ready. */
  prepareDataset(req: { id: string }): Promise<DatasetInfo>;
  cancelDatasetPreparation(req: { id: string }): Promise<void>;
  /**
   * Imports a dataset from a file or folder on the engine's machine: a CIFAR-10 binary archive/folder,
   * MNIST-style IDX files, or an image folder (one sub-folder per class). `as` is guessed when absent.
   */
  importDataset(req: ImportDatasetRequest): Promise<DatasetInfo>;
  datasetPreview(req: { id: string; perClass?: number }): Promise<DatasetPreview>;
  /** Reads a CSV file on the engine's machine: its delimiter, first rows, column types and the task (before importing it). */
  previewTable(req: { path: string; target?: string; rows?: number }): Promise<TablePreview>;

  startTraining(req: StartTrainingRequest): Promise<RunSummary>;
  stopTraining(req: { runId: string }): Promise<void>;
  pauseTraining(req: { runId: string }): Promise<void>;
  resumeTraining(req: { runId: string }): Promise<void>;
  listRuns(): Promise<RunSummary[]>;
  getRun(req: { runId: string }): Promise<RunDetail>;
  deleteRun(req: { runId: string }): Promise<void>;
  evaluate(req: { runId: string }): Promise<Evaluation>;
  predict(req: PredictRequest): Promise<Predictions>;
  /** Table runs: predictions for new rows (typed into a form, or a CSV file), with the dataset's preprocessing applied. */
  predictRows(req: PredictRowsRequest): Promise<RowPredictions>;
  /**
   * Text-classification runs: class probabilities for new texts, tokenized with the run's tokenizer. A run that
   * is not a text classifier is refused (ApiError 'bad-request', details.reason 'not-a-text-classifier').
   */
  predictText(req: PredictTextRequest): Promise<TextPredictions>;

  /**
   * Language-model runs: continues a prompt with the trained model, streaming each piece as
   * onTextGenerated. A run that is not a language model is refused (ApiError 'bad-request', details.reason
   * 'not-a-language-model'); one still training has no model yet ('not-found').
   */
  generateText(req: GenerateTextRequest): Promise<GeneratedText>;
  /** Ends a generation early (it resolves with what was written, stopped: true); nothing happens when it has ended. */
  stopGeneration(req: { requestId: string }): Promise<void>;
  /**
   * Text models with attention: the attention weights of every MultiHeadAttention layer for a text. Refused
   * (ApiError 'bad-request') for a run without a trained model (details.reason 'no-model'), one not trained on
   * text ('not-a-text-model'), one whose model has no attention layer ('no-attention'), or a text with no tokens
   * ('empty-text').
   */
  attentionMap(req: AttentionMapRequest): Promise<AttentionMap>;

  exportModel(req: ExportRequest): Promise<ExportResult>;
  /**
   * Serve mode: a short-lived download of a run's folder or of an export this engine made, as a file or a
   * zip (see PreparedDownload). Refused in the desktop app (ApiError 'failed', details.reason
   * 'no-downloads'), for an unknown run or export ('not-found') and for a run still training ('busy').
   */
  prepareDownload(req: DownloadRequest): Promise<PreparedDownload>;
  /**
   * Reads a model file or folder (TensorFlow.js model.json, Keras to_json() / .h5 / .keras, ONNX, or a
   * Layerforge project / model folder) as a project, with its weights where it has some. Refused with
   * ApiError 'bad-request' naming every layer or operator that cannot be imported.
   */
  importModel(req: ImportModelRequest): Promise<ImportedModel>;

  /** The projects folder's files and the recent projects. */
  listProjects(): Promise<ProjectList>;
  /**
   * Saves a project atomically (temporary file, flush, rename), keeping the previous version as
   * `<name>.bak`. Only into the projects folder, or (desktop app) to a file the user chose in a native
   * dialog. An existing file that is not a readable project is never overwritten (ApiError 'failed',
   * details.reason 'unreadable').
   */
  saveProject(req: SaveProjectRequest): Promise<SavedProject>;
  /** Reads a project from the projects folder (by name) or a recent / dialog-chosen path. */
  openProject(req: OpenProjectRequest): Promise<OpenedProject>;
  /** Desktop app: a native Save As dialog, then saveProject to the chosen file; null when cancelled. */
  saveProjectAs(req: SaveProjectAsRequest): Promise<SavedProject | null>;
  /** Desktop app: a native Open dialog, then openProject of the chosen file; null when cancelled. */
  openProjectDialog(): Promise<OpenedProject | null>;
  /** Desktop app: a native Open dialog for a data file to import (`kind` 'table': CSV); its path, or null when cancelled. */
  chooseDataFile(req: { kind: 'table' }): Promise<string | null>;
  /** Autosave: replaces the recovery slot `key` with unsaved work (atomically, under `<data dir>/recovery`). */
  saveRecovery(req: SaveRecoveryRequest): Promise<void>;
  /** Every autosave left (by a crash, a killed app or a closed tab), newest first. */
  listRecovery(): Promise<RecoveryList>;
  /** Removes the autosave `key` (after a save, a restore or when the user discards it). */
  discardRecovery(req: { key: string }): Promise<void>;

  onTrainingProgress(listener: (p: TrainingProgress) => void): () => void;
  onTrainingEnded(listener: (e: TrainingEnded) => void): () => void;
  onDatasetProgress(listener: (p: DatasetProgress) => void): () => void;
  onTextGenerated(listener: (e: TextGenerated) => void): () => void;
}

type RequestName = { [K in keyof EngineApi]: K extends `on${string}` ? never : K }[keyof EngineApi];
type EventName = { [K in keyof EngineApi]: K extends `on${string}` ? K : never }[keyof EngineApi];

/** Every request name (checked against EngineApi at compile time: add a request there and here). */
export const ENGINE_REQUESTS = [
  'getInfo',
  'listBackends',
  'listDatasets',
  'prepareDataset',
  'cancelDatasetPreparation',
  'importDataset',
  'datasetPreview',
  'previewTable',
  'startTraining',
  'stopTraining',
  'pauseTraining',
  'resumeTraining',
  'listRuns',
  'getRun',
  'deleteRun',
  'evaluate',
  'predict',
  'predictRows',
  'predictText',
  'generateText',
  'stopGeneration',
  'attentionMap',
  'getSample',
  'activations',
  'explain',
  'trainingHealth',
  'embeddings',
  'confusionSamples',
  'exportModel',
  'prepareDownload',
  'importModel',
  'listProjects',
  'saveProject',
  'openProject',
  'saveProjectAs',
  'openProjectDialog',
  'chooseDataFile',
  'saveRecovery',
  'listRecovery',
  'discardRecovery',
] as const satisfies readonly RequestName[];

export const ENGINE_EVENTS = ['onTrainingProgress', 'onTrainingEnded', 'onDatasetProgress', 'onTextGenerated'] as const satisfies readonly EventName[];

// Compile-time completeness: every member of EngineApi is listed above.
type Missing = Exclude<keyof EngineApi, (typeof ENGINE_REQUESTS)[number] | (typeof ENGINE_EVENTS)[number]>;
const _complete: Missing extends never ? true : Missing = true;
void _complete;

/** The Electron IPC channel the engine API travels on (main/ipc.ts, preload/index.ts). */
export const IPC_CHANNEL = 'layerforge:api';

export const ENGINE_NAMES: ServiceNames = { requests: ENGINE_REQUESTS, events: ENGINE_EVENTS };
