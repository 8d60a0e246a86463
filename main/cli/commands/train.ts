import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKENDS, OPTIMIZERS, parseProjectText, type TrainingSettings } from '../../../shared/project';
import { fitGraphToDataset, getTask, LOSSES, type MetricDef, type TaskDef } from '../../../shared/tasks';
import { createDatasetRegistry, dataDir } from '../../engine/datasets';
import type { EvaluationResult, TrainingEvent } from '../../engine/training';
import { startTrainingRun, usesProcessEngine } from '../../engine/pytorch/port';
import { UsageError, wholeNumberOption, type CliCommand } from '../command';

const USAGE = `Usage: layerforge train PROJECT --dataset ID [options]

  --dataset ID        dataset id (e.g. cifar10)
  --data-dir DIR      folder with the dataset's files (for cifar10: data_batch_1..5.bin, test_batch.bin)
                      or a Layerforge data folder with a prepared cache
  --epochs N          epochs (default: the project's)
  --batch-size N      batch size (default: the project's)
  --limit N           train on the first N training images only
  --backend NAME      ${BACKENDS.join(' | ')} (default: the project's, else auto)
  --procs N           pytorch: processes on this machine (torchrun --nproc_per_node; default the project's, else 1)
  --optimizer NAME    ${OPTIMIZERS.join(' | ')}
  --lr RATE           learning rate
  --loss NAME         ${LOSSES.join(' | ')} (default: auto, the dataset's task chooses)
  --seed N            random seed
  --init-weights DIR  fine-tuning: start from the weights of a trained-model folder (an import with weights,
                      \`train --out\`), matched by node name; layers that do not fit (a new head) start fresh.
                      Default: the project's training.initialWeights (relative to the project file)
  --out DIR           write the trained model folder (model.json, weights.bin, project.json, metrics.json);
                      with pytorch the run folder (bundle, train.log, checkpoints) is kept beside it, DIR.pytorch
                      (without --out it is a temporary folder, removed at the end)
  --json              print one JSON object per event on stdout, then a summary object

Ctrl+C stops after the current batch and keeps the weights (a second Ctrl+C quits).`;

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A metric as the CLI shows it: percentages for accuracy, 4 significant digits in the target's units otherwise. */
function showMetric(def: MetricDef, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return `${def.label} -`;
  return def.format === 'percent' ? `${def.label === 'accuracy' ? 'acc' : def.label} ${(v * 100).toFixed(1)}%` : `${def.label} ${Number(v.toPrecision(4))}`;
}

function showMetrics(task: TaskDef, m: Record<string, number> | null | undefined, prefix = ''): string {
  if (!m) return '';
  return task.metrics.map((d) => `${prefix}${showMetric(d, m[d.id])}`).join('  ');
}

/** The summary's test fields: testAccuracy for classes; testR2, testMAE, testRMSE for regression (null when not evaluated). */
function testFields(task: TaskDef, ev: EvaluationResult | null): Record<string, number | null> {
  // r2, mae, rmse are acronyms (testR2, testMAE, testRMSE); others are words (testAccuracy, testPerplexity).
  const name = (id: string) => `test${['r2', 'mae', 'rmse'].includes(id) ? id.toUpperCase() : id[0]!.toUpperCase() + id.slice(1)}`;
  return Object.fromEntries(task.metrics.map((d) => [name(d.id), ev?.metrics[d.id] ?? null]));
}

function bar(done: number, total: number, width = 24): string {
  const k = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(k)}${'.'.repeat(width - k)}]`;
}

/** Milliseconds as seconds with two decimals. */
function seconds(ms: number): number {
  return Math.round(ms / 10) / 100;
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Train a project on a dataset (progress, test accuracy, optional model folder).',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        dataset: { type: 'string' },
        'data-dir': { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        limit: { type: 'string' },
        backend: { type: 'string' },
        procs: { type: 'string' },
        optimizer: { type: 'string' },
        lr: { type: 'string' },
        loss: { type: 'string' },
        seed: { type: 'string' },
        'init-weights': { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one PROJECT file');
    const file = positionals[0]!;
    const project = parseProjectText(await readFile(file, 'utf8'), file);
    const datasetId = values.dataset ?? project.dataset;
    if (!datasetId) throw new UsageError('--dataset ID is required (the project names no dataset)');
    const loss = values.loss;
    if (loss !== undefined && !(LOSSES as readonly string[]).includes(loss)) throw new UsageError(`--loss must be one of ${LOSSES.join(', ')}, got '${loss}'`);
    // The dataset's task decides the metrics; a project that says fitToDataset takes its sizes from it.
    const info = await createDatasetRegistry({ root: values['data-dir'] ?? dataDir() })
      .info(datasetId)
      .catch(() => undefined);
    const task = getTask(info?.task);
    const UNITS: Record<string, string> = { table: 'rows', text: 'texts', corpus: 'windows' };
    const unit = UNITS[info?.kind ?? ''] ?? 'images';
    const speedUnit = unit === 'images' ? 'img' : unit;
    const fitNotes: string[] = [];
    if (project.fitToDataset && info) {
      const fit = fitGraphToDataset(project.graph, info);
      project.graph = fit.graph;
      fitNotes.push(...fit.changes);
    }
    const backend = values.backend;
    if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got '${backend}'`);
    const optimizer = values.optimizer;
    if (optimizer !== undefined && !(OPTIMIZERS as readonly string[]).includes(optimizer)) throw new UsageError(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got '${optimizer}'`);
    let lr: number | undefined;
    if (values.lr !== undefined) {
      lr = Number(values.lr);
      if (!(lr > 0 && lr <= 10)) throw new UsageError(`--lr must be a number in (0, 10], got '${values.lr}'`);
    }
    const epochs = wholeNumberOption('epochs', values.epochs);
    const batchSize = wholeNumberOption('batch-size', values['batch-size']);
    const limit = wholeNumberOption('limit', values.limit);
    const seed = wholeNumberOption('seed', values.seed, 0);
    const procs = wholeNumberOption('procs', values.procs);
    const settings: TrainingSettings = {
      ...project.training,
      ...(epochs !== undefined ? { epochs } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(optimizer !== undefined ? { optimizer: optimizer as TrainingSettings['optimizer'] } : {}),
      ...(lr !== undefined ? { learningRate: lr } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(backend !== undefined ? { backend: backend as TrainingSettings['backend'] } : {}),
      ...(loss !== undefined ? { loss: loss as TrainingSettings['loss'] } : {}),
      ...(procs !== undefined ? { procs } : {}),
    };
    // Fine-tuning: --init-weights, else the project's initialWeights (a relative one is relative to the project file).
    const init = values['init-weights'] ?? (settings.initialWeights ? resolve(dirname(file), settings.initialWeights) : null);
    settings.initialWeights = init ? resolve(init) : null;
    if (procs !== undefined && !usesProcessEngine(settings.backend)) throw new UsageError(`--procs is for --backend pytorch (the backend is ${settings.backend})`);
    const json = Boolean(values.json);
    const tty = Boolean(process.stderr.isTTY) && !json;
    let lastLineLen = 0;
    const status = (text: string, final = false) => {
      if (json) return;
      if (tty) {
        process.stderr.write(`\r${text.padEnd(lastLineLen)}${final ? '\n' : ''}`);
        lastLineLen = final ? 0 : text.length;
      } else if (final) io.err(text);
    };

    /** Why the backend was chosen (the 'started' event's), repeated in the summary. */
    let backendReason: string | null = null;
    const onEvent = (e: TrainingEvent) => {
      if (e.type === 'started') {
        backendReason = e.backendReason;
        // performance.now() counts from the process' start: Node, the CLI, the dataset and the model.
        startedAt ??= performance.now();
      }
      if (json) {
        io.out(JSON.stringify(e));
        return;
      }
      switch (e.type) {
        case 'started': {
          io.err(`Training '${project.name}' on ${e.dataset.name}: ${task.label.toLowerCase()}${e.dataset.target ? ` of '${e.dataset.target}'` : ''}, ${e.trainImages} train ${unit}, ${e.valImages} ${e.validation === 'test' ? 'test' : 'validation'} ${unit}`);
          io.err(`Backend: ${e.backend} (${e.backendReason})`);
          io.err(`Model: ${e.model.params.toLocaleString('en-US')} params${e.model.trainableParams !== e.model.params ? ` (${e.model.trainableParams.toLocaleString('en-US')} trainable)` : ''}; loss ${e.model.loss}; ${e.epochs} epochs × ${e.batchesPerEpoch} batches of ${e.batchSize}; ${settings.optimizer} lr ${settings.learningRate}`);
          for (const n of [...fitNotes.map((c) => `fitted to the dataset: ${c}`), ...e.notes]) io.err(`Note: ${n}`);
          break;
        }
        case 'batch':
          status(`epoch ${e.epoch}/${e.epochs} ${bar(e.batch, e.batches)} ${e.batch}/${e.batches}  loss ${e.loss.toFixed(4)}  ${showMetrics(task, e.metrics)}  ${e.imagesPerSecond.toFixed(0)} ${speedUnit}/s  ETA ${duration(e.etaMs)}`);
          break;
        case 'epoch':
          status(
            `epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(4)}  ${showMetrics(task, e.metrics)}` +
              (e.valLoss != null ? `  val_loss ${e.valLoss.toFixed(4)}  ${showMetrics(task, e.valMetrics, 'val_')}` : '') +
              `  ${e.imagesPerSecond.toFixed(0)} ${speedUnit}/s  ${duration(e.elapsedMs)} elapsed`,
            true,
          );
          if (e.sample) io.err(`  sample: ${JSON.stringify(e.sample.prompt + e.sample.text)}`);
          break;
        case 'paused':
          status('paused', true);
          break;
        case 'ended':
          status(`${e.reason}: ${e.message}`, true);
          break;
        default:
          break;
      }
    };

    let startedAt: number | undefined;
    const handle = startTrainingRun(
      {
        graph: project.graph, settings, dataset: { id: datasetId, ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}) }, ...(limit ? { limit } : {}), name: project.name,
        // pytorch: the run folder beside --out (kept), else a temporary one.
        ...(values.out ? { workDir: `${values.out.replace(/[/\\]+$/, '')}.pytorch` } : {}),
      },
      onEvent,
    );
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts === 1) {
        if (!json) io.err('\nStopping after the current batch (Ctrl+C again to quit)...');
        handle.stop();
      } else {
        void handle.dispose();
        process.exit(130);
      }
    };
    process.on('SIGINT', onSigint);
    try {
      const result = await handle.done;
      let evaluation: EvaluationResult | null = null;
      let evalError: string | null = null;
      let testEvalMs = 0;
      if (result.reason !== 'error') {
        const te = performance.now();
        try {
          evaluation = await handle.evaluate('test');
          testEvalMs = performance.now() - te;
          if (evaluation.task !== task.id) throw new Error(`the run trained for ${evaluation.task}, the dataset says ${task.id}`);
        } catch (error) {
          evalError = error instanceof Error ? error.message : String(error);
        }
      }
      const summary = {
        type: 'summary' as const,
        project: project.name,
        dataset: datasetId,
        task: task.id,
        backend: result.backend,
        backendReason,
        reason: result.reason,
        message: result.message,
        epochs: result.epochsCompleted,
        batches: result.batchesCompleted,
        trainImages: result.trainImages,
        imagesTrained: result.imagesTrained,
        // Steady state: images over the time spent in training steps only.
        trainImagesPerSecond: Math.round(result.trainImagesPerSecond * 10) / 10,
        elapsedMs: Math.round(result.elapsedMs),
        // Where the wall time went: start-up (process start to the first step: Node, CLI, dataset, model),
        // training steps, evaluation (validation after each epoch plus the final test set).
        startupSeconds: startedAt === undefined ? null : seconds(startedAt),
        trainSeconds: seconds(result.trainMs ?? 0),
        evalSeconds: seconds((result.validationMs ?? 0) + testEvalMs),
        wallSeconds: seconds(performance.now()),
        testImages: evaluation?.count ?? 0,
        ...testFields(task, evaluation),
        testLoss: evaluation?.loss ?? null,
        inferenceImagesPerSecond: evaluation ? Math.round(evaluation.imagesPerSecond * 10) / 10 : null,
        ...(task.id === 'classification' ? { perClassAccuracy: evaluation ? Object.fromEntries(evaluation.classNames.map((c, i) => [c, evaluation!.perClassAccuracy[i]])) : null } : {}),
        ...(fitNotes.length ? { fitted: fitNotes } : {}),
        ...(evalError ? { evaluationError: evalError } : {}),
        out: values.out ?? null,
      };
      if (values.out && result.reason !== 'error') {
        const { type: _type, ...metrics } = summary;
        await handle.save(values.out, { project: { ...project, training: settings, dataset: datasetId }, metrics: { ...metrics, confusion: evaluation?.confusion ?? null, history: result.history } });
      }
      if (json) io.out(JSON.stringify(summary));
      else {
        io.err('');
        io.out(`Backend:            ${summary.backend}${backendReason ? ` (${backendReason})` : ''}`);
        io.out(`Result:             ${summary.reason} (${summary.message})`);
        io.out(`Epochs:             ${summary.epochs}`);
        io.out(`Train ${unit}:`.padEnd(20) + `${summary.trainImages}`);
        io.out(`Train speed:        ${summary.trainImagesPerSecond.toFixed(0)} ${unit}/s (training steps only)`);
        if (startedAt !== undefined) io.out(`Time:               ${summary.wallSeconds} s in all: ${summary.startupSeconds} s start-up, ${summary.trainSeconds} s training, ${summary.evalSeconds} s evaluation`);
        if (evaluation && task.id === 'classification' && evaluation.accuracy !== null) {
          io.out(`Test accuracy:      ${(evaluation.accuracy * 100).toFixed(2)}% on ${evaluation.count} ${unit} (loss ${evaluation.loss.toFixed(4)})`);
          io.out(`Inference speed:    ${evaluation.imagesPerSecond.toFixed(0)} ${unit}/s`);
          io.out(`Per class:          ${evaluation.classNames.map((c, i) => `${c} ${evaluation!.perClassAccuracy[i] == null ? '-' : `${(evaluation!.perClassAccuracy[i]! * 100).toFixed(0)}%`}`).join(', ')}`);
        } else if (evaluation) {
          io.out(`Test:               ${showMetrics(task, evaluation.metrics)} on ${evaluation.count} ${unit} (loss ${evaluation.loss.toFixed(4)})`);
          io.out(`Inference speed:    ${evaluation.imagesPerSecond.toFixed(0)} ${unit}/s`);
        }
        if (evalError) io.err(`Evaluation failed: ${evalError}`);
        if (values.out && result.reason !== 'error') io.out(`Model written to:   ${values.out}`);
      }
      if (result.reason === 'error' && !json) io.err(`layerforge train: ${result.message}`);
      return result.reason === 'error' ? 1 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      await handle.dispose();
    }
  },
};
