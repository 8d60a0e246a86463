/**
 * The narrow interfaces the Engine service needs from the rest of the engine (datasets, training,
 * export). The default wiring (./wiring.ts) adapts the real modules to them; tests pass fakes.
 */
import type { AttentionMap, BackendInfo, ExportFormat, ExportResult, ImportDatasetRequest, PreparedDownload } from '../../../shared/api/engine';
import type { DatasetInfo, DatasetPreview, DatasetProgress } from '../../../shared/api/datasets';
import type { ImportedModel, ImportModelRequest } from '../../../shared/api/importModel';
import type { Graph } from '../../../shared/graph';
import type { TrainingSettings } from '../../../shared/project';
import type { LoadedDataset } from '../datasets/types';
import type { InsightOp, InsightReply } from '../insight/types';
import type { EvaluationResult, GenerateRequest, RunResult, TrainingEvent } from '../training/types';

export interface DatasetsPort {
  list(): Promise<DatasetInfo[]>;
  prepare(id: string, opts: { onProgress(p: DatasetProgress): void; signal: AbortSignal }): Promise<DatasetInfo>;
  importFrom(req: ImportDatasetRequest, opts: { onProgress(p: DatasetProgress): void; signal: AbortSignal }): Promise<DatasetInfo>;
  preview(id: string, perClass: number): Promise<DatasetPreview>;
  load(id: string): Promise<LoadedDataset>;
}

export interface StartRunOptions {
  runId: string;
  graph: Graph;
  settings: TrainingSettings;
  datasetId: string;
  dataDir: string;
  /** Train on the first `limit` training images only. */
  limit?: number;
  name: string;
  /** Where the trained model folder is saved when the run ends (stopped or completed). */
  modelDir: string;
  onEvent(e: TrainingEvent): void;
}

export interface RunHandle {
  /** Finish the batch and save; `quick` (shutdown) skips the partial epoch's validation. */
  stop(options?: { quick?: boolean }): void;
  pause(): void;
  resume(): void;
  /** Resolves when the run has ended (whatever the reason) and the model folder is written. */
  done: Promise<RunResult>;
  /** Insight on the model while it trains (answered between batches by the run's worker). Absent: not offered. */
  insight?(op: InsightOp): Promise<InsightReply>;
}

export interface ModelOutputs {
  /** Predicted class per sample and its probability. */
  predicted: number[];
  confidence: number[];
}

export interface TrainingPort {
  startRun(opts: StartRunOptions): RunHandle;
  /** Evaluates a saved model folder on the dataset's test split (its first maxSamples), with per-sample predictions when asked. */
  evaluate(modelDir: string, datasetId: string, dataDir: string, maxSamples?: number, withPredictions?: boolean): Promise<EvaluationResult>;
  /** Runs a saved model on standardised table features (count × F): class probabilities, or [value] in the target's units. */
  predictFeatures(modelDir: string, datasetId: string, features: Float32Array, count: number): Promise<number[][]>;
  /** Runs a saved token model on count × T token ids: class probabilities per text. */
  predictTokens(modelDir: string, datasetId: string, tokens: Int32Array, count: number): Promise<number[][]>;
  /** Runs a saved model on uint8 samples (count × H × W × C). */
  predict(modelDir: string, datasetId: string, images: Uint8Array, count: number): Promise<ModelOutputs>;
  /**
   * Language models: continues a prompt with a saved model, `onPiece` getting each piece as it is written;
   * an abort of `signal` ends it early. Rejects when the model is not a language model. Absent: not offered.
   */
  generate?(modelDir: string, datasetId: string, req: GenerateRequest, onPiece: (piece: string) => void, signal: AbortSignal): Promise<GeneratedText>;
  /**
   * Text models with attention: every attention layer's weights for a text, from a saved model read with its
   * tokenizer. Rejects with an Error saying why it cannot. Absent: not offered.
   */
  attention?(modelDir: string, datasetId: string, req: { text: string; maxTokens?: number }): Promise<AttentionMap>;
  /** Insight on a saved model (a test sample, activations, Grad-CAM, embeddings, a confusion cell), by the worker holding it. Absent: not offered. */
  insight?(modelDir: string, datasetId: string, op: InsightOp): Promise<InsightReply>;
  /**
   * Ends every worker thread this port started: the models kept open and any run still going (terminated,
   * not saved: the caller stops runs and waits for them first). After it, the process can exit.
   */
  close?(): Promise<void>;
}

/** What a generation wrote (the service adds its request id). */
export interface GeneratedText {
  text: string;
  tokens: number;
  tokensPerSecond: number;
  stopped: boolean;
}

export interface ExportPort {
  exportModel(modelDir: string, format: ExportFormat, outPath: string): Promise<ExportResult>;
  /**
   * Reads a model file or folder through the importer registry. With weights (req.weights, default: when the file
   * has some) it writes them as a trained-model folder at `modelDir` and says so (`weightsSaved`); the engine lists
   * that folder as a run. A file that cannot be imported throws a ModelImportError (main/engine/import/errors.ts).
   */
  importModel(req: ImportModelRequest, modelDir: string): Promise<{ imported: Omit<ImportedModel, 'weights'>; weightsSaved: boolean }>;
}

export interface BackendsPort {
  list(): Promise<BackendInfo[]>;
}

/**
 * Something the engine wrote, offered for download: one file, every regular file under a folder (walked when
 * it is fetched), or a fixed list of files named relative to `root`. `fileName` is what the browser saves.
 */
export type DownloadSource =
  | { type: 'file'; path: string; fileName: string }
  | { type: 'folder'; root: string; fileName: string }
  | { type: 'files'; root: string; files: string[]; fileName: string };

/**
 * Serve mode's download registry (main/server/downloads.ts), lent to the engine by the server that serves it:
 * it turns a source into a short-lived opaque id. Absent (desktop app, tests): no downloads.
 */
export interface DownloadsPort {
  offer(source: DownloadSource): Promise<PreparedDownload>;
}
