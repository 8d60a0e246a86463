/**
 * The Engine's insight requests (shared/api/insight.ts): each is a query on the model of a run, answered by the
 * worker that holds it: the run's own worker while it trains (between batches, live: true), else the worker
 * the training port keeps its saved model folder open in. Training health comes from the run record: the
 * trainer measures it after every epoch and the service keeps it (run.json).
 */
import { ApiError } from '../../../shared/api/proxy';
import {
  DEFAULT_ACTIVATION_CHANNELS,
  DEFAULT_EMBEDDING_SAMPLES,
  type Activations,
  type ActivationsRequest,
  type ConfusionSamples,
  type ConfusionSamplesRequest,
  type Embeddings,
  type EmbeddingsRequest,
  type Explanation,
  type ExplainRequest,
  type HealthWarning,
  type LayerHealth,
  type SampleInfo,
  type SampleRequest,
  type TrainingHealth,
} from '../../../shared/api/insight';
import type { Graph } from '../../../shared/graph';
import type { HealthSnapshot } from '../insight/health';
import { decodeInsightError, type InsightOp, type InsightReply, type InsightValue } from '../insight/types';
import type { RunHandle, TrainingPort } from './ports';
import type { StoredRun } from './runStore';

/** What a run keeps of its training health (run.json). */
export interface StoredHealth {
  layers: LayerHealth[];
  warnings: HealthWarning[];
}

/** Adds an epoch's health snapshot (layer names) to a run's record (node ids and registry types from its graph). */
export function addHealth(health: StoredHealth | undefined, snapshot: HealthSnapshot, graph: Graph): StoredHealth {
  const out: StoredHealth = health ?? { layers: [], warnings: [] };
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const l of snapshot.layers) {
    const node = byName.get(l.layerName);
    let entry = out.layers.find((e) => e.layerName === l.layerName);
    if (!entry) {
      entry = { nodeId: node?.id ?? l.layerName, layerName: l.layerName, type: node?.type ?? l.className, epochs: [] };
      out.layers.push(entry);
    }
    entry.epochs = entry.epochs.filter((e) => e.epoch !== snapshot.epoch);
    entry.epochs.push({
      epoch: snapshot.epoch,
      weights: l.weights,
      ...(l.gradients ? { gradients: l.gradients } : {}),
      weightNorm: l.weightNorm,
      ...(l.gradNorm !== undefined ? { gradNorm: l.gradNorm } : {}),
      ...(l.deadFraction !== undefined ? { deadFraction: l.deadFraction } : {}),
    });
  }
  // Graph order (layers with weights only).
  const order = new Map(graph.nodes.map((n, i) => [n.id, i]));
  out.layers.sort((a, b) => (order.get(a.nodeId) ?? 1e9) - (order.get(b.nodeId) ?? 1e9));
  out.warnings = snapshot.warnings.map((w) => ({ nodeId: byName.get(w.layerName)?.id ?? w.layerName, layerName: w.layerName, kind: w.kind, epoch: snapshot.epoch, message: w.message }));
  return out;
}

/**
 * Class i's precision, recall and F1 from a confusion matrix (confusion[true][predicted]); 0 where a ratio is
 * undefined (no sample of the class, none predicted as it). Nothing for an empty matrix (not a classifier).
 */
export function classScores(confusion: number[][], i: number): { precision?: number; recall?: number; f1?: number } {
  if (!confusion.length) return {};
  const tp = confusion[i]?.[i] ?? 0;
  const support = (confusion[i] ?? []).reduce((a, b) => a + b, 0);
  const predicted = confusion.reduce((a, row) => a + (row[i] ?? 0), 0);
  const precision = predicted ? tp / predicted : 0;
  const recall = support ? tp / support : 0;
  return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

export interface InsightContext {
  /** Resolves once stored runs are loaded. */
  ready(): Promise<void>;
  /** The run record (ApiError 'not-found' when there is none). */
  run(runId: string): StoredRun;
  /** The live run's handle while it trains; undefined once it has ended. */
  liveHandle(runId: string): RunHandle | undefined;
  modelDir(runId: string): string;
  training: TrainingPort;
  /** The run's training health (kept by the service from the epoch events). */
  health(runId: string): StoredHealth | undefined;
}

type Value<K extends InsightValue['kind']> = Extract<InsightValue, { kind: K }>;

/** Seed of the UMAP layout: one run gives the same picture twice. */
const EMBEDDING_SEED = 42;

export class RunInsight {
  constructor(private readonly ctx: InsightContext) {}

  /** Sends an op to the worker holding the run's model; worker errors become ApiErrors (an InsightError's reason kept). */
  private async ask<K extends InsightValue['kind']>(runId: string, op: InsightOp & { kind: K }): Promise<{ value: Value<K>; live: boolean; epoch: number; run: StoredRun }> {
    await this.ctx.ready();
    const run = this.ctx.run(runId);
    const live = this.ctx.liveHandle(runId);
    let reply: InsightReply;
    try {
      if (live?.insight) reply = await live.insight(op);
      else {
        if (!run.hasModel) {
          throw new ApiError('bad-request', `run '${run.name}' has no trained model${run.error ? ` (${run.error})` : ''}: insight needs a model that is training or trained`, { reason: 'no-model' });
        }
        if (!this.ctx.training.insight) throw new ApiError('failed', 'insight is not available in this build');
        reply = await this.ctx.training.insight(this.ctx.modelDir(runId), run.datasetId, op);
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const known = decodeInsightError(message);
      if (known) throw new ApiError(known.reason === 'starting' ? 'busy' : 'bad-request', known.message, { reason: known.reason });
      throw new ApiError('failed', message);
    }
    if (reply.value.kind !== op.kind) throw new ApiError('failed', `the worker answered a '${op.kind}' request with '${reply.value.kind}'`);
    return { value: reply.value as Value<K>, live: reply.live, epoch: reply.live ? reply.epoch : run.epochsDone, run };
  }

  async getSample({ runId, sample }: SampleRequest): Promise<SampleInfo> {
    return (await this.ask(runId, { kind: 'sample', sample })).value.sample;
  }

  async activations({ runId, sample, nodeId, maxChannels }: ActivationsRequest): Promise<Activations> {
    const t0 = performance.now();
    const r = await this.ask(runId, { kind: 'activations', sample, nodeId, maxChannels: maxChannels ?? DEFAULT_ACTIVATION_CHANNELS });
    return { runId, ...r.value.activations, live: r.live, epoch: r.epoch, elapsedMs: performance.now() - t0 };
  }

  async explain({ runId, sample, method, classIndex, nodeId }: ExplainRequest): Promise<Explanation> {
    const t0 = performance.now();
    const r = await this.ask(runId, { kind: 'explain', sample, method, ...(classIndex !== undefined ? { classIndex } : {}), ...(nodeId !== undefined ? { nodeId } : {}) });
    return { runId, ...r.value.explanation, live: r.live, elapsedMs: performance.now() - t0 };
  }

  async embeddings({ runId, method, samples, nodeId }: EmbeddingsRequest): Promise<Embeddings> {
    const t0 = performance.now();
    const r = await this.ask(runId, { kind: 'embeddings', method, samples: samples ?? DEFAULT_EMBEDDING_SAMPLES, seed: EMBEDDING_SEED, ...(nodeId !== undefined ? { nodeId } : {}) });
    return { runId, ...r.value.embeddings, elapsedMs: performance.now() - t0 };
  }

  async confusionSamples({ runId, actual, predicted, limit }: ConfusionSamplesRequest): Promise<ConfusionSamples> {
    const r = await this.ask(runId, { kind: 'confusion', actual, predicted, limit: limit ?? 24 });
    return { runId, ...r.value.confusion };
  }

  async trainingHealth({ runId }: { runId: string }): Promise<TrainingHealth> {
    await this.ctx.ready();
    this.ctx.run(runId);
    const h = this.ctx.health(runId);
    return { runId, layers: h?.layers ?? [], warnings: h?.warnings ?? [] };
  }
}
