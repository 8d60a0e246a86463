/**
 * The default wiring of the Engine: adapts main/engine/datasets (registry), main/engine/training
 * (worker-thread runs) and main/engine/export to the Engine's ports. Used by `layerforge serve`,
 * the Electron main process and the e2e tests.
 */
import type { BackendInfo, ExportResult, ImportDatasetRequest } from '../../../shared/api/engine';
import type { TextImportOptions } from '../../../shared/api/datasets';
import { isTextError } from '../../../shared/text/errors';
import { ApiError } from '../../../shared/api/proxy';
import { createDatasetRegistry, dataDir as defaultDataDir, type DatasetRegistry } from '../datasets';
import type { LoadedDataset } from '../datasets/types';
import { openModel, type ModelHandle, type RunHandle as TrainingRunHandle } from '../training';
import { reportAllBackends, startTrainingRun, usesProcessEngine } from '../pytorch/port';
import { dirname, join } from 'node:path';
import type { DatasetRef } from '../training/types';
import { Engine } from '../service';
import type { ProjectDialogs } from '../projects/library';
import type { BackendsPort, DatasetsPort, ExportPort, TrainingPort } from './ports';

export interface CreateEngineOptions {
  dataDir?: string;
  host?: string;
  version?: string;
  /** The training worker's entry (bundled builds pass their compiled worker). */
  workerEntry?: string | URL;
  /** Native Save As / Open dialogs (the desktop app's main process lends them; serve mode has none). */
  projectDialogs?: ProjectDialogs;
}

/** Text and corpus imports: the request's text options, those given only. */
function textImportOptions(req: ImportDatasetRequest): TextImportOptions {
  const { tokenizer, vocabSize, lowercase, seqLen, textColumn, labelColumn, splitOnPercent, classes, stride, skipBad } = req;
  return {
    ...(tokenizer ? { tokenizer } : {}), ...(vocabSize !== undefined ? { vocabSize } : {}), ...(lowercase !== undefined ? { lowercase } : {}),
    ...(seqLen !== undefined ? { seqLen } : {}), ...(textColumn !== undefined ? { textColumn } : {}), ...(labelColumn !== undefined ? { labelColumn } : {}),
    ...(splitOnPercent !== undefined ? { splitOnPercent } : {}), ...(classes ? { classes } : {}), ...(stride !== undefined ? { stride } : {}),
    ...(skipBad !== undefined ? { skipBad } : {}),
  };
}

/** A text import's TextError as an ApiError 'bad-request' naming the file and line (as table errors are). */
function textApiError(error: unknown): never {
  if (isTextError(error)) {
    throw new ApiError('bad-request', error.message, {
      reason: error.code, ...(error.file !== undefined ? { file: error.file } : {}), ...(error.line !== undefined ? { line: error.line } : {}),
      ...(error.column !== undefined ? { column: error.column } : {}), ...(error.offset !== undefined ? { offset: error.offset } : {}),
    });
  }
  throw error;
}

function datasetsPort(registry: DatasetRegistry): DatasetsPort {
  return {
    list: () => registry.list(),
    prepare: (id, opts) => registry.prepare(id, opts),
    importFrom: async (req, opts) => {
      const { as, name, target, task, testFraction, seed, columnTypes } = req;
      return (await registry.import(req.path, {
        ...opts, ...(as ? { as } : {}), ...(name ? { name } : {}),
        // Table (CSV) imports.
        ...(target !== undefined ? { target } : {}), ...(task ? { task } : {}), ...(testFraction !== undefined ? { testFraction } : {}),
        ...(seed !== undefined ? { seed } : {}), ...(columnTypes ? { columnTypes } : {}),
        ...textImportOptions(req),
      }).catch(textApiError)).info;
    },
    preview: (id, perClass) => registry.preview(id, perClass),
    load: (id) => registry.load(id),
  };
}

/** The dataset a worker should train on: cifar10 it loads itself from the cache; others are passed decoded. */
async function datasetFor(registry: DatasetRegistry, id: string, root: string): Promise<LoadedDataset | DatasetRef> {
  if (id === 'cifar10') return { id, dataDir: root };
  return registry.load(id);
}

function trainingPort(registry: DatasetRegistry, root: string, workerEntry?: string | URL): TrainingPort {
  // Models kept open in workers (by model folder), most recent last; older ones are closed.
  const open = new Map<string, Promise<ModelHandle>>();
  const keep = (dir: string, h: Promise<ModelHandle>) => {
    open.delete(dir);
    open.set(dir, h);
    while (open.size > 2) {
      const [oldest, p] = open.entries().next().value as [string, Promise<ModelHandle>];
      open.delete(oldest);
      void p.then((m) => m.dispose()).catch(() => {});
    }
  };
  const model = (dir: string, datasetId: string): Promise<ModelHandle> => {
    let h = open.get(dir);
    if (!h) {
      h = datasetFor(registry, datasetId, root).then((dataset) => openModel({ dir, dataset, ...(workerEntry ? { workerEntry } : {}) }));
      h.catch(() => open.delete(dir));
      keep(dir, h);
    }
    return h;
  };
  const datasetOf = new Map<string, string>();
  // Runs whose worker is alive (until saved and kept, or disposed): close() terminates what is left.
  const running = new Set<TrainingRunHandle>();

  return {
    async close() {
      const models = [...open.values()];
      open.clear();
      const runs = [...running];
      running.clear();
      await Promise.allSettled([...models.map((p) => p.then((m) => m.dispose())), ...runs.map((r) => r.dispose())]);
    },
    startRun(opts) {
      let inner: TrainingRunHandle | undefined;
      let stopped = false;
      let paused = false;
      // Waits for the run, then saves its model folder (kept open for evaluation) or disposes of it.
      const finish = async (run: TrainingRunHandle) => {
        if (paused) run.pause();
        const result = await run.done;
        if (result.reason !== 'error' || result.batchesCompleted > 0) {
          try {
            // `data`: where the model's data came from (the CLI's activations / explain find its test split there).
            await run.save(opts.modelDir, { metrics: { reason: result.reason, history: result.history, backend: result.backend, data: { datasetId: opts.datasetId, dataDir: root } } });
            datasetOf.set(opts.modelDir, opts.datasetId);
            keep(opts.modelDir, Promise.resolve(run));
          } catch (error) {
            await run.dispose();
            if (result.reason === 'error') return result;
            return { ...result, reason: 'error' as const, message: `saving the trained model failed: ${error instanceof Error ? error.message : String(error)}` };
          }
        } else {
          await run.dispose();
        }
        return result;
      };
      const done = (async () => {
        // A process engine (pytorch) reads the dataset's files itself; its bundle and logs go beside the model folder.
        const processRun = usesProcessEngine(opts.settings.backend);
        const dataset = processRun ? { id: opts.datasetId, dataDir: root } : await datasetFor(registry, opts.datasetId, root);
        if (stopped) throw new Error('stopped before it started');
        inner = startTrainingRun(
          {
            graph: opts.graph, settings: opts.settings, dataset, ...(opts.limit ? { limit: opts.limit } : {}), name: opts.name, ...(workerEntry ? { workerEntry } : {}),
            ...(processRun ? { runId: opts.runId, workDir: join(dirname(opts.modelDir), 'pytorch') } : {}),
          },
          opts.onEvent,
        );
        const run = inner;
        running.add(run);
        try {
          return await finish(run);
        } finally {
          running.delete(run);
        }
      })();
      return {
        stop: (options) => {
          stopped = true;
          inner?.stop(options);
        },
        pause: () => {
          paused = true;
          inner?.pause();
        },
        resume: () => {
          paused = false;
          inner?.resume();
        },
        // Insight while it trains: the run's worker answers between batches.
        insight: (op) => (inner ? inner.insight(op) : Promise.reject(new Error('[insight:starting] the run has not started training yet: ask again in a moment'))),
        done,
      };
    },
    async evaluate(modelDir, datasetId, _dataDir, maxSamples, withPredictions) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.evaluate('test', maxSamples, withPredictions);
    },
    async predictFeatures(modelDir, datasetId, features, count) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.predict({ features, count });
    },
    async predictTokens(modelDir, datasetId, tokens, count) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.predict({ tokens, count });
    },
    async predict(modelDir, datasetId, images, count) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      const probs = await m.predict({ images, count });
      const predicted = probs.map((p) => p.reduce((best, v, i) => (v > p[best]! ? i : best), 0));
      return { predicted, confidence: probs.map((p, i) => p[predicted[i]!]!) };
    },
    async generate(modelDir, datasetId, req, onPiece, signal) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.generate(req, onPiece, signal);
    },
    async attention(modelDir, datasetId, req) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.attention(req);
    },
    async insight(modelDir, datasetId, op) {
      const m = await model(modelDir, datasetOf.get(modelDir) ?? datasetId);
      return m.insight(op);
    },
  };
}

function exportPort(): ExportPort {
  return {
    async exportModel(modelDir, format, outPath): Promise<ExportResult> {
      const [tf, exp] = await Promise.all([import('@tensorflow/tfjs'), import('../export')]);
      // listBackends (reportBackends) loads the optional backends into this process to report them: wasm then
      // outranks cpu without being initialised, and an export's first op failed ("The highest priority backend
      // 'wasm' has not yet been initialized"). An export only reads and writes weights: cpu does it.
      await tf.setBackend('cpu');
      await import('../compile/custom');
      const f = exp.getExportFormat(format);
      if (!f) throw new ApiError('bad-request', `unknown export format '${format}'`);
      const folder = await exp.loadModelFolder(tf, modelDir);
      try {
        const r = await f.export(tf, folder, outPath);
        return { path: outPath, files: r.files, notes: r.notes };
      } finally {
        folder.model.dispose();
      }
    },
    async importModel(req, modelDir) {
      const [{ importModelFile }, { analyzeGraph }, { saveModelFolder }] = await Promise.all([import('../import'), import('../../../shared/graph'), import('../export/modelFolder')]);
      const tf = async () => {
        const t = await import('@tensorflow/tfjs');
        await t.setBackend('cpu'); // reading and writing weights: cpu does it (see exportModel)
        return t;
      };
      const { result, importer, folder } = await importModelFile(req.path, { ...(req.dims ? { dims: req.dims } : {}), ...(req.weights !== undefined ? { weights: req.weights } : {}), tf });
      if (folder) {
        try {
          await saveModelFolder(await tf(), modelDir, folder);
        } finally {
          folder.model.dispose();
        }
      }
      const imported = { project: result.project, format: result.kind, formatLabel: importer.label, warnings: result.warnings, assumed: result.assumed, params: analyzeGraph(result.project.graph).totals.params };
      return { imported, weightsSaved: Boolean(folder) };
    },
  };
}

/**
 * The backend report (main/engine/backends reportBackends): what `layerforge backends` prints, webgpu
 * with its adapter. Computed once per engine (it loads the optional packages and asks Dawn for an adapter).
 */
function backendsPort(): BackendsPort {
  let report: Promise<BackendInfo[]> | null = null;
  // The tfjs backends and pytorch (a Python with torch found here, or why not).
  const compute = (): Promise<BackendInfo[]> => reportAllBackends();
  return {
    list(): Promise<BackendInfo[]> {
      report ??= compute().catch((error: unknown) => {
        report = null;
        return [{ name: 'cpu', available: true, reason: `the backend report failed (${error instanceof Error ? error.message : String(error)}); cpu always works` }];
      });
      return report;
    },
  };
}

/** An Engine over the real dataset, training and export modules. */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  const root = options.dataDir ?? defaultDataDir();
  const registry = createDatasetRegistry({ root });
  return new Engine({
    dataDir: root,
    datasets: datasetsPort(registry),
    training: trainingPort(registry, root, options.workerEntry),
    exporter: exportPort(),
    backends: backendsPort(),
    host: options.host ?? 'node',
    version: options.version,
    ...(options.projectDialogs ? { projectDialogs: options.projectDialogs } : {}),
  });
}
