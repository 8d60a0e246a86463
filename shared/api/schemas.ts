/** The schema of every engine request's argument: what the server validates on arrival. */
import { graphSchema } from '../project/format';
import { trainingSettingsSchema, type TrainingSettings } from '../project/training';
import { s, type Schema } from '../schema';
import { ENGINE_EVENTS, ENGINE_REQUESTS, IMPORT_KINDS, MAX_ATTENTION_TEXT, MAX_ATTENTION_TOKENS, MAX_GENERATE_PROMPT, MAX_GENERATE_TOKENS, MAX_PREDICT_TEXT_CHARS, MAX_PREDICT_TEXTS, type EngineApi } from './engine';
import { MAX_PROJECT_NAME, MAX_PROJECT_TEXT, PROJECT_NAME_PATTERN } from './projects';
import { MAX_ACTIVATION_CHANNELS, MAX_CONFUSION_SAMPLES, MAX_EMBEDDING_SAMPLES } from './insight';
import type { ServiceSpec } from './proxy';

const id = s.string({ min: 1, max: 200, pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/ });
const runId = s.object({ runId: id }, { strict: true });
const path = s.string({ min: 1, max: 4096 });
const projectName = s.string({ min: 6, max: MAX_PROJECT_NAME, pattern: PROJECT_NAME_PATTERN });
const projectText = s.string({ min: 2, max: MAX_PROJECT_TEXT });
const columnName = s.string({ min: 1, max: 1000 });
const sampleIndex = s.number({ int: true, min: 0, max: 100_000_000 });
const classIndex = s.number({ int: true, min: 0, max: 1_000_000 });
/** A graph node's id (any string the project format allows). */
const nodeId = s.string({ min: 1, max: 200 });

type Arg<K extends keyof EngineApi> = EngineApi[K] extends (arg: infer A) => unknown ? A : never;

/** One schema per request (undefined: the request takes no argument). Typed against EngineApi. */
export const ENGINE_SCHEMAS: { [K in (typeof ENGINE_REQUESTS)[number]]: Schema<Arg<K>> | undefined } = {
  getInfo: undefined,
  listBackends: undefined,
  listDatasets: undefined,
  prepareDataset: s.object({ id }, { strict: true }),
  cancelDatasetPreparation: s.object({ id }, { strict: true }),
  importDataset: s.object(
    {
      path,
      as: s.optional(s.enum(IMPORT_KINDS)),
      name: s.optional(s.string({ min: 1, max: 100 })),
      target: s.optional(columnName),
      task: s.optional(s.enum(['classification', 'regression'] as const)),
      testFraction: s.optional(s.number({ min: 0, max: 0.99 })),
      seed: s.optional(s.number({ int: true, min: 0, max: 2 ** 32 - 1 })),
      columnTypes: s.optional(s.record(s.enum(['numeric', 'categorical', 'ignored'] as const), { maxKeys: 10_000 })),
      // Text and corpus imports.
      tokenizer: s.optional(s.enum(['char', 'word', 'bpe'] as const)),
      vocabSize: s.optional(s.number({ int: true, min: 3, max: 1_000_000 })),
      lowercase: s.optional(s.boolean()),
      seqLen: s.optional(s.number({ int: true, min: 1, max: 100_000 })),
      textColumn: s.optional(columnName),
      labelColumn: s.optional(columnName),
      splitOnPercent: s.optional(s.boolean()),
      classes: s.optional(s.array(s.string({ min: 1, max: 1000 }), { max: 10_000 })),
      stride: s.optional(s.number({ int: true, min: 1, max: 100_000 })),
      skipBad: s.optional(s.boolean()),
    },
    { strict: true },
  ),
  datasetPreview: s.object({ id, perClass: s.optional(s.number({ int: true, min: 1, max: 32 })) }, { strict: true }),
  previewTable: s.object({ path, target: s.optional(columnName), rows: s.optional(s.number({ int: true, min: 0, max: 1000 })) }, { strict: true }),
  startTraining: s.object(
    {
      graph: graphSchema,
      datasetId: id,
      settings: trainingSettingsSchema as unknown as Schema<TrainingSettings>,
      name: s.optional(s.string({ max: 200 })),
      maxTrainSamples: s.optional(s.number({ int: true, min: 1, max: 10_000_000 })),
      maxTestSamples: s.optional(s.number({ int: true, min: 1, max: 10_000_000 })),
    },
    { strict: true },
  ) as Schema<Arg<'startTraining'>>,
  stopTraining: runId,
  pauseTraining: runId,
  resumeTraining: runId,
  listRuns: undefined,
  getRun: runId,
  deleteRun: runId,
  evaluate: runId,
  predict: s.object(
    { runId: id, count: s.optional(s.number({ int: true, min: 1, max: 200 })), misclassifiedFirst: s.optional(s.boolean()) },
    { strict: true },
  ),
  predictRows: s.object(
    {
      runId: id,
      rows: s.optional(s.array(s.record(s.string({ max: 100_000 }), { maxKeys: 10_000 }), { max: 10_000 })),
      csvPath: s.optional(path),
      maxRows: s.optional(s.number({ int: true, min: 1, max: 100_000 })),
    },
    { strict: true },
  ),
  predictText: s.object({ runId: id, texts: s.array(s.string({ max: MAX_PREDICT_TEXT_CHARS }), { min: 1, max: MAX_PREDICT_TEXTS }) }, { strict: true }),
  generateText: s.object(
    {
      runId: id,
      prompt: s.string({ max: MAX_GENERATE_PROMPT }),
      tokens: s.optional(s.number({ int: true, min: 1, max: MAX_GENERATE_TOKENS })),
      temperature: s.optional(s.number({ min: 0, max: 100 })),
      topK: s.optional(s.number({ int: true, min: 0, max: 1_000_000 })),
      seed: s.optional(s.number({ int: true, min: 0, max: 2 ** 32 - 1 })),
      requestId: s.optional(id),
    },
    { strict: true },
  ),
  stopGeneration: s.object({ requestId: id }, { strict: true }),
  attentionMap: s.object({ runId: id, text: s.string({ max: MAX_ATTENTION_TEXT }), maxTokens: s.optional(s.number({ int: true, min: 1, max: MAX_ATTENTION_TOKENS })) }, { strict: true }),
  // Insight (shared/api/insight.ts): samples by their test-split index; node ids as on the canvas.
  getSample: s.object({ runId: id, sample: sampleIndex }, { strict: true }),
  activations: s.object({ runId: id, sample: sampleIndex, nodeId, maxChannels: s.optional(s.number({ int: true, min: 1, max: MAX_ACTIVATION_CHANNELS })) }, { strict: true }),
  explain: s.object(
    { runId: id, sample: sampleIndex, method: s.enum(['gradcam', 'saliency'] as const), classIndex: s.optional(classIndex), nodeId: s.optional(nodeId) },
    { strict: true },
  ),
  trainingHealth: runId,
  embeddings: s.object(
    { runId: id, method: s.enum(['pca', 'umap'] as const), samples: s.optional(s.number({ int: true, min: 2, max: MAX_EMBEDDING_SAMPLES })), nodeId: s.optional(nodeId) },
    { strict: true },
  ),
  confusionSamples: s.object(
    { runId: id, actual: classIndex, predicted: classIndex, limit: s.optional(s.number({ int: true, min: 1, max: MAX_CONFUSION_SAMPLES })) },
    { strict: true },
  ),
  exportModel: s.object({ runId: id, format: s.enum(['tfjs', 'onnx', 'pytorch', 'keras'] as const), outPath: path }, { strict: true }),
  prepareDownload: s.union<Arg<'prepareDownload'>>(
    [s.object({ kind: s.literal('run'), runId: id }, { strict: true }), s.object({ kind: s.literal('export'), exportId: id }, { strict: true })],
    "{kind: 'run', runId} or {kind: 'export', exportId}",
  ),
  importModel: s.object({ path, dims: s.optional(s.record(s.number({ int: true, min: 1, max: 1_000_000 }), { maxKeys: 64 })), weights: s.optional(s.boolean()), datasetId: s.optional(s.string({ min: 1, max: 200 })) }, { strict: true }),
  listProjects: undefined,
  saveProject: s.object({ text: projectText, name: s.optional(projectName), path: s.optional(path), overwrite: s.optional(s.boolean()) }, { strict: true }),
  openProject: s.object({ name: s.optional(projectName), path: s.optional(path) }, { strict: true }),
  saveProjectAs: s.object({ text: projectText, suggestedName: s.optional(projectName) }, { strict: true }),
  openProjectDialog: undefined,
  chooseDataFile: s.object({ kind: s.enum(['table'] as const) }, { strict: true }),
  saveRecovery: s.object({ key: id, text: projectText, sourcePath: s.optional(s.nullable(path)) }, { strict: true }) as Schema<Arg<'saveRecovery'>>,
  listRecovery: undefined,
  discardRecovery: s.object({ key: id }, { strict: true }),
};

export const ENGINE_SPEC: ServiceSpec = {
  requests: ENGINE_REQUESTS,
  events: ENGINE_EVENTS,
  schemas: ENGINE_SCHEMAS as Record<string, Schema<unknown> | undefined>,
};
