/**
 * The training worker: one run per worker thread. It trains, then keeps the model for evaluate /
 * predict / save requests until the parent terminates it. Every failure becomes a 'done' result with
 * reason 'error' (or, for a crash, the parent's 'error'/'exit' handler reports it).
 */
import { resolve } from 'node:path';
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { newProject, type ProjectFile } from '../../../shared/project';
import { loadModelFolder, saveModelFolder } from '../export/modelFolder';
import type { LoadedDataset } from '../datasets/types';
import { chooseBackend } from './backend';
import { releaseWebgpu } from '../backends/webgpu';
import { dataDir } from '../datasets';
import { seededRandom } from './data';
import { loadDatasetRef } from './datasetRef';
import { withoutSourceMaps } from './sourceMaps';
import type { Tokenizer } from '../../../shared/text';
import { generate } from '../text/generate';
import { attentionMaps } from '../text/attention';
import { CONTROL_PAUSE, CONTROL_STOP, CONTROL_STOP_NOW, type FromWorker, type GenerateReply, type ToWorker, type WorkerOp, type WorkerReplyValue } from './protocol';
import { describeError, Trainer, type TrainControl } from './trainer';
import { prepareFineTuning } from './initialWeights';
import { ModelInsight } from '../insight/model';
import { encodeInsightError, InsightError, type InsightOp, type InsightReply } from '../insight/types';
import type { DatasetRef, RunResult } from './types';

const port = parentPort;
if (!port) throw new Error('main/engine/training/worker.ts must run in a worker thread');

const post = (msg: FromWorker) => port.postMessage(msg);

let trainer: Trainer | null = null;
let project: ProjectFile | null = null;
/** Language models: the tokenizer that turns text into the ids the model reads (the dataset's, or the model folder's). */
let tokenizer: Tokenizer | undefined;
let queue: Promise<void> = Promise.resolve();
/** Insight on the model this worker holds (insight/model.ts). */
let insight: ModelInsight | null = null;
/** True from the start message until the run ends: insight requests are then answered between batches (serveLive). */
let training = false;
/** Epochs the run has finished (the 'epoch' of a live insight answer). */
let epochsDone = 0;
const liveRequests: { id: number; request: InsightOp }[] = [];
/** Where the model's data came from, written into its model folder's metrics.json (`data`) when it is saved. */
let dataSource: { datasetId: string; dataDir?: string } | null = null;
/** Wakes a paused run's wait when an insight request arrives. */
let wake: (() => void) | null = null;

/** Answers an insight request on the model as it is now; an InsightError travels with its reason (insight/types.ts). */
async function answerInsight(request: InsightOp): Promise<InsightReply> {
  if (!insight) throw new Error('no model in this run (it failed before the model was built)');
  try {
    const value = await insight.answer(request, !training);
    return { value, live: training, epoch: epochsDone };
  } catch (error) {
    if (error instanceof InsightError) throw new Error(encodeInsightError(error));
    throw error;
  }
}

/** Answers the insight requests that arrived while the run trains (between batches; while paused). */
async function serveLive(): Promise<void> {
  // Training reads back without yielding to the event loop on the cpu and wasm backends: poll the port.
  for (let m = receiveMessageOnPort(port!); m; m = receiveMessageOnPort(port!)) dispatch(m.message as ToWorker);
  while (liveRequests.length) {
    const { id, request } = liveRequests.shift()!;
    try {
      post({ type: 'reply', id, ok: true, value: await answerInsight(request) });
    } catch (error) {
      post({ type: 'reply', id, ok: false, error: describeError(error) });
    }
  }
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout: number) => { async: boolean; value: Promise<string> | string };

function sharedControl(sab: SharedArrayBuffer): TrainControl {
  const word = new Int32Array(sab);
  return {
    stopRequested: () => Atomics.load(word, 0) >= CONTROL_STOP,
    quickStopRequested: () => Atomics.load(word, 0) === CONTROL_STOP_NOW,
    pauseRequested: () => Atomics.load(word, 0) === CONTROL_PAUSE,
    async waitWhilePaused() {
      // Waits without blocking the thread (insight requests are answered while paused); the parent wakes it with
      // Atomics.notify on resume or stop, an insight request through `wake`.
      const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;
      while (Atomics.load(word, 0) === CONTROL_PAUSE) {
        await serveLive();
        if (!waitAsync) {
          Atomics.wait(word, 0, CONTROL_PAUSE, 1000);
          continue;
        }
        const r = waitAsync(word, 0, CONTROL_PAUSE, 1000);
        if (r.async) await Promise.race([r.value, new Promise<void>((resolve) => (wake = resolve))]);
        wake = null;
      }
    },
    between: serveLive,
  };
}

async function getDataset(dataset: LoadedDataset | null, ref: DatasetRef | null): Promise<LoadedDataset | null> {
  if (dataset) return dataset;
  if (ref) return loadDatasetRef(ref);
  return null;
}

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { request, runId } = msg;
  const t0 = performance.now();
  const fail = (message: string): RunResult => ({
    runId,
    reason: 'error',
    message,
    backend: trainer?.backend ?? '',
    epochsCompleted: 0,
    batchesCompleted: 0,
    trainImages: 0,
    imagesTrained: 0,
    trainImagesPerSecond: 0,
    elapsedMs: performance.now() - t0,
    history: [],
  });
  let result: RunResult;
  try {
    const dataset = await getDataset(msg.dataset, msg.datasetRef);
    const ref = msg.datasetRef;
    dataSource = ref ? { datasetId: ref.id, dataDir: resolve(ref.dataDir ?? dataDir()) } : dataset ? { datasetId: dataset.info.id } : null;
    const requested = request.backend ?? request.settings.backend;
    // Tables train small dense networks in our own loop (fastMlp.ts); tfjs only builds, evaluates and saves
    // them, and the pure-JS backend starts in a fraction of wasm's time. Forcing a backend overrides this.
    const tableAuto = requested === 'auto' && Boolean(dataset?.table);
    // 'auto' times the model on each backend that could train it (probe.ts; cached in the data folder).
    const choice = await withoutSourceMaps(() => chooseBackend(tableAuto ? 'cpu' : requested, { graph: request.graph, batchSize: request.settings.batchSize, cacheDir: dataDir() }));
    if (tableAuto) choice.reason = 'table dataset: dense networks train in Layerforge\'s own loop, tfjs cpu builds and evaluates them (starts fastest); --backend wasm to override';
    // tfjs seeds its unseeded random ops (initialisers, dropout) from Math.random: make that reproducible.
    Math.random = seededRandom(request.settings.seed);
    tokenizer = dataset?.text?.tokenizer;
    trainer = Trainer.fromGraph(choice.tf, request.graph, request.settings, dataset, choice.name, request.name ?? 'model');
    // Fine-tuning: start from a model folder's weights (by node name), and say which layers are frozen.
    await prepareFineTuning(choice.tf, trainer.model, request.settings, trainer.notes);
    project = { ...newProject(request.name ?? 'model', request.graph), training: request.settings, dataset: dataset?.info.id ?? null };
    insight = new ModelInsight({ trainer, graph: request.graph, ...(tokenizer ? { tokenizer } : {}) });
    training = true;
    const emit = (event: Parameters<Parameters<Trainer['train']>[2]>[0]) => {
      if (event.type === 'epoch') epochsDone = event.epoch;
      post({ type: 'event', event });
    };
    result = await trainer.train(runId, request.limit, emit, sharedControl(msg.control), choice.reason);
  } catch (error) {
    result = fail(describeError(error));
  } finally {
    training = false;
  }
  post({ type: 'done', result });
  // Requests that came in after the last batch: answered on the final weights.
  await serveLive();
}

async function open(msg: Extract<ToWorker, { type: 'open' }>): Promise<void> {
  try {
    const choice = await withoutSourceMaps(() => chooseBackend(msg.backend));
    const folder = await loadModelFolder(choice.tf, msg.dir);
    const dataset = await getDataset(msg.dataset, msg.datasetRef);
    trainer = new Trainer({ tf: choice.tf, model: folder.model, settings: folder.project.training, dataset, backend: choice.name, ...(folder.task ? { task: folder.task } : {}) });
    project = folder.project;
    tokenizer = folder.tokenizer ?? dataset?.text?.tokenizer;
    insight = new ModelInsight({ trainer, graph: folder.project.graph, ...(tokenizer ? { tokenizer } : {}) });
    post({ type: 'opened', ok: true, backend: choice.name });
  } catch (error) {
    post({ type: 'opened', ok: false, error: describeError(error) });
  }
}

/** Continues a prompt with the language model, posting each piece of text (request `id`) as it is written. */
async function generateText(t: Trainer, id: number, op: Extract<WorkerOp, { op: 'generate' }>): Promise<GenerateReply> {
  if (t.modelTask.id !== 'language-modelling' || !tokenizer) {
    const what = t.modelTask.id === 'language-modelling' ? 'it has no tokenizer' : `its task is ${t.task.label.toLowerCase()}`;
    throw new Error(`this model is not a language model (${what}): generating text needs a model trained on a corpus`);
  }
  const cancel = op.cancel ? new Int32Array(op.cancel) : null;
  const stopped = () => cancel !== null && Atomics.load(cancel, 0) !== 0;
  const { prompt, tokens, temperature, topK, seed } = op.request;
  const r = await generate(t.tf, t.model, tokenizer, prompt, {
    tokens: tokens ?? 200,
    temperature: temperature ?? 0.8,
    topK: topK ?? 0,
    seed: seed ?? 1,
    onText: (piece) => post({ type: 'text', id, piece }),
    stop: stopped,
  });
  return { text: r.text, tokens: r.tokens, tokensPerSecond: r.tokensPerSecond, stopped: stopped() };
}

async function run(op: WorkerOp, id: number): Promise<WorkerReplyValue> {
  if (op.op === 'memory') {
    const tf = trainer?.tf;
    const m = tf ? tf.memory() : { numTensors: 0, numBytes: 0 };
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }
  if (!trainer) throw new Error('no model in this run (it failed before the model was built)');
  switch (op.op) {
    case 'evaluate':
      return trainer.evaluate(op.split, op.limit, op.withPredictions);
    case 'predict':
      return trainer.predict(op.samples);
    case 'generate':
      return generateText(trainer, id, op);
    case 'insight':
      return answerInsight(op.request);
    case 'attention':
      if (!tokenizer) throw new Error('this model has no tokenizer (it was not trained on text): attention maps need a text model');
      return attentionMaps(trainer.tf, trainer.model, tokenizer, op.text, { ...(op.maxTokens ? { maxTokens: op.maxTokens } : {}), ...(project ? { graph: project.graph } : {}) });
    case 'save': {
      const preprocessing = trainer.dataset?.table?.preprocessing;
      await saveModelFolder(trainer.tf, op.dir, {
        project: op.project ?? project ?? newProject(trainer.model.name),
        model: trainer.model,
        metrics: { ...(dataSource ? { data: dataSource } : {}), ...op.metrics },
        task: trainer.modelTask,
        ...(preprocessing ? { preprocessing } : {}),
        ...(tokenizer ? { tokenizer } : {}),
      });
      return null;
    }
  }
}

// Dawn's device threads would keep this thread (and so the process) alive: destroy it when the parent lets go.
port.on('close', () => releaseWebgpu(trainer?.tf ?? null));
process.on('exit', () => releaseWebgpu(trainer?.tf ?? null));

/** A message from the parent: insight requests during training wait for the next batch boundary, the rest queue up. */
function dispatch(msg: ToWorker): void {
  // From the start message on, insight requests wait for the first batch (the model is being built).
  if (msg.type === 'start') training = true;
  if (msg.type === 'request' && msg.op.op === 'insight' && training) {
    liveRequests.push({ id: msg.id, request: msg.op.request });
    wake?.();
    return;
  }
  queue = queue.then(async () => {
    if (msg.type === 'start') return start(msg);
    if (msg.type === 'open') return open(msg);
    try {
      post({ type: 'reply', id: msg.id, ok: true, value: await run(msg.op, msg.id) });
    } catch (error) {
      post({ type: 'reply', id: msg.id, ok: false, error: describeError(error) });
    }
  });
}

port.on('message', dispatch);
