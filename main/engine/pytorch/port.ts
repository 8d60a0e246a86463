/**
 * The one place where a run's backend decides how it trains: the tfjs backends in a worker thread
 * (main/engine/training startRun), `pytorch` as a process (the training bundle under torchrun,
 * processRun.ts). The engine's training port (service/wiring.ts) and `layerforge train` both start runs here,
 * and both list backends through `reportAllBackends`.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackendInfo } from '../../../shared/api/engine';
import { dataDir as defaultDataDir } from '../datasets/cache';
import type { LoadedDataset } from '../datasets/types';
import { openModel, startRun, type RunHandle, type StartRunRequest } from '../training';
import type { DatasetRef, TrainingEvent } from '../training/types';
import { describeTorchRun, detectTorch, type DetectOptions } from './backend';
import { startProcessRun } from './processRun';

/** Backends that train in a process of their own rather than in the tfjs worker. */
export const PROCESS_BACKENDS = ['pytorch'] as const;

/** True when a run with this backend setting trains as a process (it then reads its dataset from files, by id). */
export function usesProcessEngine(backend: string | undefined): boolean {
  return (PROCESS_BACKENDS as readonly string[]).includes(backend ?? '');
}

export interface TrainingRunRequest extends StartRunRequest {
  /** The run's id (the engine's); default a new one. */
  runId?: string;
  /** pytorch: the run folder (bundle, train.log, checkpoints, weights, model); default a temporary folder, removed on dispose. */
  workDir?: string;
  /** pytorch: the process' output that is not metrics (default: dropped; it is in train.log). */
  onLog?(line: string): void;
  /** pytorch: where to look for Python (LAYERFORGE_PYTHON, PATH). */
  env?: NodeJS.ProcessEnv;
}

/** The command from the bundle, run with the Python that has torch (`torchrun` may not be on PATH: its module is). */
export function processCommand(bundleCommand: string[], python: string): string[] {
  const [head, ...rest] = bundleCommand;
  let argv: string[];
  if (head === 'torchrun') argv = [python, '-m', 'torch.distributed.run', ...rest];
  else if (head === 'python' || head === 'python3') argv = [python, ...rest];
  else argv = [...bundleCommand];
  if (!argv.some((a) => a === '--metrics' || a.startsWith('--metrics='))) argv.push('--metrics', '-');
  return argv;
}

/**
 * Starts a training run with the backend its settings (or `backend`) name. Never throws: a run that cannot start
 * ends with reason 'error' saying why (e.g. no Python with torch here).
 */
export function startTrainingRun(request: TrainingRunRequest, onEvent: (event: TrainingEvent) => void = () => {}): RunHandle {
  const backend = request.backend ?? request.settings.backend;
  if (!usesProcessEngine(backend)) return startRun(request, onEvent);
  const procs = Math.max(1, Math.floor(request.settings.procs ?? 1));
  const ref: DatasetRef | null = 'train' in request.dataset ? null : request.dataset;
  const workDir = request.workDir;
  const handle = startProcessRun(
    {
      ...(request.runId ? { runId: request.runId } : {}),
      graph: request.graph,
      settings: { ...request.settings, backend: 'pytorch', procs },
      dataset: ref ?? { id: (request.dataset as LoadedDataset).info.id },
      ...(request.name ? { name: request.name } : {}),
      dir: workDir ?? join(tmpdir(), `layerforge-pytorch-${process.pid}-${Date.now().toString(36)}`),
      removeDirOnDispose: !workDir,
      backend: `pytorch (${procs} process${procs === 1 ? '' : 'es'})`,
      backendReason: 'forced by the run settings',
      ...(request.workerEntry ? { workerEntry: request.workerEntry } : {}),
      ...(request.resourceLimits ? { resourceLimits: request.resourceLimits } : {}),
      ...(request.onLog ? { onLog: request.onLog } : {}),
      ...(request.env ? { env: request.env } : {}),
      prepare: async (dir) => {
        if (!ref) throw new Error('the pytorch backend reads the dataset from its files: start the run with a dataset id, not decoded data');
        const torch = await detectTorch(request.env ? { env: request.env } : {});
        if (!torch.available || !torch.python) throw new Error(`the pytorch backend is not available: ${torch.reason}`);
        // Loaded when used: the bundle compiles the graph with tfjs, which the engine process loads only when it must.
        const { writeTrainingBundle } = await import('./bundle');
        const bundle = await writeTrainingBundle({
          dir,
          graph: request.graph,
          settings: { ...request.settings, procs },
          name: request.name ?? 'model',
          datasetId: ref.id,
          dataDir: resolve(ref.dataDir ?? defaultDataDir()), // train.py runs in the run folder
          ...(request.limit ? { limit: request.limit } : {}),
          procs,
        });
        const notes = [`PyTorch run folder: ${dir} (train.log, checkpoints; run.sh trains it again by hand)`];
        if (torch.cuda && procs > torch.gpus) notes.push(`${procs} processes on ${torch.gpus} GPU${torch.gpus === 1 ? '' : 's'}: some processes share a GPU`);
        return {
          command: processCommand(bundle.command, torch.python),
          backend: describeTorchRun(torch, procs),
          backendReason: `forced: ${torch.reason}`, // 'auto' never picks pytorch
          notes,
        };
      },
      weightsBack: async (o) => (await import('./weightsBack')).modelFolderFromTorch(o),
      openModel: (o) => openModel(o),
    },
    onEvent,
  );
  return handle;
}

/**
 * Every backend with whether it can run here and why not: the tfjs ones (main/engine/backends reportBackends,
 * webgpu with its adapter) and pytorch (a Python with torch: which, CPU or CUDA, how many GPUs).
 */
export async function reportAllBackends(opts: DetectOptions = {}): Promise<BackendInfo[]> {
  const [{ reportBackends, describeAdapter }, { pytorchBackendInfo }] = await Promise.all([import('../backends'), import('./backend')]);
  const [tfjs, pytorch] = await Promise.all([reportBackends(), pytorchBackendInfo(opts)]);
  return [
    ...tfjs.map((b) => ({
      name: b.name,
      available: b.ok,
      reason: b.reason,
      ...(b.adapter ? { adapter: describeAdapter(b.adapter, false), software: b.adapter.software } : {}),
    })),
    pytorch,
  ];
}
