/**
 * The insight requests as they travel to the worker that holds a model (training/protocol.ts 'insight' op),
 * and what comes back. The worker answers with the contract's objects (shared/api/insight.ts) less what only
 * the service knows (run id, timing); the envelope says whether a training run answered and at which epoch.
 */
import type { Activations, ConfusionSamples, Embeddings, ExplainMethod, Explanation, ProjectionMethod, SampleInfo } from '../../../shared/api/insight';

export type InsightOp =
  | { kind: 'sample'; sample: number }
  | { kind: 'activations'; sample: number; nodeId: string; maxChannels: number }
  | { kind: 'explain'; sample: number; method: ExplainMethod; classIndex?: number; nodeId?: string }
  | { kind: 'embeddings'; method: ProjectionMethod; samples: number; nodeId?: string; seed: number }
  | { kind: 'confusion'; actual: number; predicted: number; limit: number };

type Local<T> = Omit<T, 'runId' | 'live' | 'epoch' | 'elapsedMs'>;

export type InsightValue =
  | { kind: 'sample'; sample: SampleInfo }
  | { kind: 'activations'; activations: Local<Activations> }
  | { kind: 'explain'; explanation: Local<Explanation> }
  | { kind: 'embeddings'; embeddings: Local<Embeddings> }
  | { kind: 'confusion'; confusion: Omit<ConfusionSamples, 'runId'> };

export interface InsightReply {
  value: InsightValue;
  /** True when a run still training answered (the weights of that moment). */
  live: boolean;
  /** Epochs finished by the answering run (0 for a model opened from a folder: the service knows its run's). */
  epoch: number;
}

/** An insight request the model cannot answer (a bad sample index, a node that is not in the model, …): the service's 'bad-request'. */
export class InsightError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'InsightError';
  }
}

/** How an InsightError crosses the worker boundary (a plain Error message): "[reason] message". */
export function encodeInsightError(e: InsightError): string {
  return `[insight:${e.reason}] ${e.message}`;
}

export function decodeInsightError(message: string): { reason: string; message: string } | null {
  const m = /^\[insight:([a-z-]+)\] ([\s\S]*)$/.exec(message);
  return m ? { reason: m[1]!, message: m[2]! } : null;
}
