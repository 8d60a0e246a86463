/** Messages between startRun (index.ts) and the training worker (worker.ts). Plain data only. */
import type { AttentionMap } from '../../../shared/api/engine';
import type { ProjectFile } from '../../../shared/project';
import type { LoadedDataset } from '../datasets/types';
import type { InsightOp, InsightReply } from '../insight/types';
import type { BackendName, DatasetRef, EvaluationResult, GenerateRequest, PredictRequest, RunResult, TrainingEvent, TrainRequestData } from './types';

/** Control word shared with the worker (Int32Array over a SharedArrayBuffer, index 0). */
export const CONTROL_RUN = 0;
export const CONTROL_PAUSE = 1;
export const CONTROL_STOP = 2;
/** Stop at once (the engine is shutting down): finish the batch but skip the partial epoch's validation. */
export const CONTROL_STOP_NOW = 3;

export type ToWorker =
  | { type: 'start'; runId: string; control: SharedArrayBuffer; request: TrainRequestData; dataset: LoadedDataset | null; datasetRef: DatasetRef | null }
  | { type: 'open'; runId: string; dir: string; backend: BackendName | 'auto'; dataset: LoadedDataset | null; datasetRef: DatasetRef | null }
  | { type: 'request'; id: number; op: WorkerOp };

export type WorkerOp =
  | { op: 'evaluate'; split: 'train' | 'test'; limit?: number; withPredictions?: boolean }
  | { op: 'predict'; samples: PredictRequest }
  | { op: 'save'; dir: string; project?: ProjectFile; metrics?: Record<string, unknown> }
  | { op: 'memory' }
  | { op: 'generate'; request: GenerateRequest; cancel?: SharedArrayBuffer }
  /** Text models with attention: every attention layer's weights for a text (text/attention.ts). */
  | { op: 'attention'; text: string; maxTokens?: number }
  /** Insight on the model (insight/model.ts): answered between batches while the run trains, else at once. */
  | { op: 'insight'; request: InsightOp };

/** Generation (language models): the continuation in full once done; its pieces come first as 'text' messages. */
export interface GenerateReply {
  text: string;
  tokens: number;
  tokensPerSecond: number;
  stopped: boolean;
}

export type WorkerReplyValue = EvaluationResult | number[][] | null | { numTensors: number; numBytes: number } | GenerateReply | AttentionMap | InsightReply;

export type FromWorker =
  | { type: 'event'; event: TrainingEvent }
  | { type: 'done'; result: RunResult }
  | { type: 'opened'; ok: boolean; error?: string; backend?: string }
  /** A piece of the text a 'generate' request is writing (request `id`), sent before its reply. */
  | { type: 'text'; id: number; piece: string }
  | { type: 'reply'; id: number; ok: true; value: WorkerReplyValue }
  | { type: 'reply'; id: number; ok: false; error: string };
