/**
 * A PyTorch training bundle: a folder that trains a Layerforge project with PyTorch, on one process or a
 * cluster, and that a person can read and run alone.
 *
 *   model.py             the PyTorch export of the graph (main/engine/export/pytorch), with
 *                        forward(x, logits=False): logits=True skips the output softmax/sigmoid for the loss
 *   initial.safetensors  the starting weights: the graph compiled in tfjs with the run's seed (so the run
 *                        starts where a tfjs run would), or a trained model's weights to continue from
 *   train.py             the training script (main/engine/pytorch/python/train.py, the same for every project)
 *   config.json          the project's settings, task, loss and input layout, read by train.py
 *   data.json (+ data/)  where the samples are (dataManifest.ts)
 *   project.json         the project (graph + settings), so `layerforge import-run` can rebuild the model
 *   run.sh, train.sbatch, README.md   the commands: one machine, several, SLURM; and how to bring the run back
 *
 * The contract with the engine (main/engine/pytorch/backend.ts, processRun.ts: engineer C2's side):
 *
 *   writeTrainingBundle({ dir, graph, settings, name, datasetId, dataDir, limit?, procs? })
 *     -> { files, command }   command: argv to run in dir:
 *        ['python3', 'launch.py', '--standalone', '--nproc_per_node=2', 'train.py', '--out', '.']
 *        command[0] is a placeholder for the Python that has torch (the engine puts the one it detected).
 *        launch.py is torchrun (torch.distributed.run) plus a fix for torch < 2.0 on Python >= 3.11, where
 *        torchrun itself dies at start (Debian 12's python3-torch 1.13 + Python 3.11: CI and this machine).
 *
 *   train.py [--out DIR] [--metrics FILE|-] [--resume] [--epochs N] [--steps N] [--log-indices]
 *     rank 0 writes one JSON object per line on stdout (or FILE, relative to --out); other output never
 *     starts with '{'. Events, with the fields of TrainingEvent (main/engine/training/types.ts):
 *       started  {backend:'pytorch', backendReason, trainImages, valImages, validation, epochs, batchSize,
 *                 batchesPerEpoch, task, dataset:{id,name,classNames,kind}, settings, notes, processes, model:{params,trainableParams}}
 *       batch    {epoch, epochs, batch, batches, loss, accuracy, metrics, batchLoss, imagesPerSecond, elapsedMs, etaMs, learningRate}
 *                 (at most every 250 ms, plus the first batch of every epoch)
 *       epoch    {epoch, epochs, loss, accuracy, valLoss, valAccuracy, metrics, valMetrics, imagesPerSecond, elapsedMs, etaMs, learningRate, numTensors:0}
 *       checkpoint {epoch, path:'checkpoint.pt'}      after every epoch (and a stop)
 *       paused {epoch, batch} / resumed {}
 *       ended    {reason:'completed'|'stopped'|'early-stopped'|'error', message, epochsCompleted, batchesCompleted}
 *     Numbers that are not finite are null. At the end: OUT/weights.safetensors (the state_dict, the keys of
 *     the PyTorch export) and OUT/result.json (RunResult's fields: reason, message, epochsCompleted,
 *     batchesCompleted, trainImages, imagesTrained, trainImagesPerSecond, trainMs, validationMs, elapsedMs,
 *     history). Exit status 0, or 1 after an 'ended' error line.
 *   Control: OUT/control holds `run`, `pause`, `stop` or `stop-now`, read by rank 0 before every batch and
 *   broadcast, so every rank pauses/stops at the same batch. stop: the current batch finishes, the partial
 *   epoch is validated (not with stop-now), checkpoint and weights are saved, ended 'stopped'.
 *   --resume continues from OUT/checkpoint.pt after its last whole epoch (a stopped or killed epoch is
 *   trained again from its start, with the weights as saved).
 */
import type * as tfjs from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Graph } from '../../../shared/graph';
import { newProject, serializeProject, type TrainingSettings } from '../../../shared/project';
import { getTask, type ModelTask, type TaskPlan } from '../../../shared/tasks';
import { compileGraph } from '../compile';
import { registerCustomLayers } from '../compile/custom';
import { activationOf, exportGraphOf, type ExportGraph } from '../export/exportGraph';
import { buildPytorch, pyName } from '../export/pytorch';
import { withSeededMathRandom } from '../training/trainer';
import { prepareFineTuning } from '../training/initialWeights';
import type { ModelSummary } from '../training/types';
import { writeDataManifest, type BundleDataset } from './dataManifest';
import { launchPySource, trainPySource } from './trainPy';
import { PYTORCH_MALLOC_ENV, pytorchMallocShell } from './mallocEnv';

export type { BundleDataset } from './dataManifest';

type Tf = typeof tfjs;

export interface TrainingBundleOptions {
  /** Created if missing. */
  dir: string;
  graph: Graph;
  settings: TrainingSettings;
  name: string;
  datasetId: string;
  /** The Layerforge data folder (LAYERFORGE_DATA_DIR) the engine uses, or (cifar10) a folder with the binary files. */
  dataDir: string;
  /** Train on the first N training samples only. */
  limit?: number;
  /** Processes per node for run.sh / README / command (default 1). */
  procs?: number;
  /** tfjs to compile with (default: @tensorflow/tfjs, whatever backend it has; 'cpu' is fine). */
  tf?: Tf;
  /** Start from these weights (a trained model of the same graph) instead of the seeded initialisation. */
  initialModel?: tfjs.LayersModel;
  /** Copy image data into DIR/data/ (a self-contained bundle); default: data.json names the files where they are. */
  copyData?: boolean;
}

/** config.json: what train.py reads besides the data. */
export interface BundleConfig {
  format: 'layerforge-pytorch-train';
  version: 1;
  name: string;
  settings: TrainingSettings;
  limit: number | null;
  task: ModelTask;
  /** The loss the task plan chose, and the output activation skipped for it (forward(x, logits=True)). */
  loss: TaskPlan['loss'];
  head: TaskPlan['head'];
  lossDescription: string;
  /** The model input in tfjs layout ([H, W, C] for images: train.py permutes to NCHW). */
  input: { name: string; shape: number[]; dtype: 'float32' | 'int32'; image: boolean };
  output: { name: string; shape: number[] };
  data: string;
  initialWeights: string;
  notes: string[];
  /** Attributes of model.py's Model that do not train (frozen nodes): requires_grad False, kept in eval mode (BatchNorm uses its moving statistics). */
  frozen?: string[];
  /** The model as the 'started' event describes it (ModelSummary; params as tfjs counts them, BatchNorm statistics included). */
  summary: ModelSummary;
}

export interface TrainingBundle {
  /** Every file written, absolute paths. */
  files: string[];
  /** The command to run in `dir`. */
  command: string[];
  config: BundleConfig;
  dataset: BundleDataset;
}

async function tfjsCpu(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  await tf.ready();
  return tf;
}

const fmt = (s: readonly number[]) => s.join('×');

/** Checks that the model can train on the dataset (as the tfjs Trainer does) and plans the loss. */
function planRun(g: ExportGraph, task: ModelTask, settings: TrainingSettings, dataset: BundleDataset): { plan: TaskPlan; task: ModelTask; input: BundleConfig['input']; output: BundleConfig['output']; notes: string[] } {
  if (g.inputs.length !== 1) throw new Error(`the model has ${g.inputs.length} inputs (${g.inputs.join(', ')}); training on a dataset needs exactly one`);
  if (g.outputs.length !== 1) throw new Error(`the model has ${g.outputs.length} outputs (${g.outputs.join(', ')}); training needs exactly one`);
  const inp = g.layers.find((l) => l.name === g.inputs[0])!;
  const out = g.layers.find((l) => l.name === g.outputs[0])!;
  const notes: string[] = [];
  const size = dataset.shape.reduce((a, b) => a * b, 1);
  const want = inp.outputShape.reduce((a, b) => a * b, 1);
  if (size !== want) {
    throw new Error(`bad data shape: the dataset '${dataset.id}' has samples of ${fmt(dataset.shape)} (${size} values) but the model input '${inp.name}' expects ${fmt(inp.outputShape)} (${want} values)`);
  }
  if (dataset.kind === 'table' && (inp.dtype !== 'float32' || inp.outputShape.length !== 1)) {
    throw new Error(`bad data shape: the table dataset '${dataset.id}' has rows of ${size} features but the model input '${inp.name}' is ${fmt(inp.outputShape)}: use an Input of kind 'features' with ${size} features`);
  }
  if ((dataset.kind === 'text' || dataset.kind === 'corpus') && inp.dtype !== 'int32') {
    throw new Error(`the text dataset '${dataset.id}' gives token ids but the model input '${inp.name}' is not of kind 'tokens'`);
  }
  if (dataset.kind === 'image' && fmt(dataset.shape) !== fmt(inp.outputShape)) notes.push(`samples of ${fmt(dataset.shape)} are reshaped to the model input ${fmt(inp.outputShape)}`);
  const def = getTask(task.id);
  let target = task.target;
  if (def.id === 'classification' && !target.classes) target = { ...target, classes: out.outputShape.at(-1) ?? 0 };
  const plan = def.plan({ name: out.name, type: out.type, shape: out.outputShape, activation: activationOf(out.config) }, target, settings.loss ?? 'auto');
  return {
    plan,
    task: { id: task.id, target },
    input: { name: inp.name, shape: [...inp.outputShape], dtype: inp.dtype, image: inp.outputShape.length === 3 && inp.dtype === 'float32' },
    output: { name: out.name, shape: [...out.outputShape] },
    notes,
  };
}

/** The command that trains the bundle on this machine with `procs` processes (relative to the bundle). */
export function bundleCommand(procs = 1): string[] {
  return ['python3', 'launch.py', '--standalone', `--nproc_per_node=${procs}`, 'train.py', '--out', '.'];
}

/** Writes the bundle (see the module comment). Throws with a clear message when the graph, dataset or settings cannot be trained. */
export async function writeTrainingBundle(opts: TrainingBundleOptions): Promise<TrainingBundle> {
  const { dir, graph, settings, name } = opts;
  const procs = Math.max(1, Math.floor(opts.procs ?? 1));
  await mkdir(dir, { recursive: true });
  const data = await writeDataManifest({ dir, datasetId: opts.datasetId, dataDir: opts.dataDir, copyData: opts.copyData });
  const tf = opts.tf ?? (await tfjsCpu());
  registerCustomLayers(tf);
  const model = opts.initialModel ?? withSeededMathRandom(settings.seed, () => compileGraph(tf, graph, name).model);
  let g: ExportGraph;
  let counts: { params: number; trainableParams: number; layers: number };
  // Fine-tuning: the initial weights (settings.initialWeights, by node name) go into initial.safetensors; the
  // frozen nodes' modules are named in config.json (train.py: requires_grad False, kept in eval mode).
  const fineTuning: string[] = [];
  let frozen: string[];
  try {
    if (!opts.initialModel) await prepareFineTuning(tf, model, settings, fineTuning);
    // Only nodes with weights are modules of model.py (a frozen Flatten has nothing to freeze).
    frozen = graph.nodes.filter((n) => n.trainable === false && model.getLayer(n.name).weights.length > 0).map((n) => pyName(n.name));
    g = exportGraphOf(graph, model, name);
    counts = { params: model.countParams(), trainableParams: model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0), layers: model.layers.length };
  } finally {
    if (!opts.initialModel) model.dispose();
  }
  const run = planRun(g, data.task, settings, data.manifest);
  const exp = buildPytorch(g, { logits: true });
  const config: BundleConfig = {
    format: 'layerforge-pytorch-train',
    version: 1,
    name,
    settings,
    limit: opts.limit && opts.limit > 0 ? opts.limit : null,
    task: run.task,
    loss: run.plan.loss,
    head: run.plan.head,
    lossDescription: run.plan.describe,
    input: run.input,
    output: run.output,
    data: 'data.json',
    initialWeights: 'initial.safetensors',
    notes: [...run.notes, ...fineTuning],
    frozen,
    summary: {
      name,
      ...counts,
      inputShape: run.input.shape,
      outputShape: run.output.shape,
      classes: run.task.id === 'classification' ? run.task.target.classes : 0,
      task: run.task.id,
      loss: run.plan.describe,
    },
  };
  const project = { ...newProject(name, graph), training: settings, dataset: opts.datasetId };
  const files: [string, string | Uint8Array][] = [
    ['model.py', exp.modelPy],
    ['initial.safetensors', exp.weights],
    ['train.py', await trainPySource()],
    ['launch.py', await launchPySource()],
    ['config.json', `${JSON.stringify(config, null, 2)}\n`],
    ['project.json', serializeProject(project)],
    ['run.sh', runSh(procs)],
    ['train.sbatch', sbatch(name, procs)],
    ['README.md', bundleReadme({ name, config, dataset: data.manifest, procs, copied: Boolean(opts.copyData) })],
  ];
  const written: string[] = [];
  for (const [f, text] of files) {
    await writeFile(join(dir, f), text, f.endsWith('.sh') ? { mode: 0o755 } : {});
    written.push(join(dir, f));
  }
  return { files: [...written, ...data.files], command: bundleCommand(procs), config, dataset: data.manifest };
}

function runSh(procs: number): string {
  return `#!/bin/sh
# Trains on this machine with NPROC processes (default ${procs}): one per GPU, or CPU processes (gloo).
# Metrics go to metrics.jsonl; Ctrl+C stops; ./run.sh --resume continues from checkpoint.pt.
cd "$(dirname "$0")"
${pytorchMallocShell()}PYTHON=\${PYTHON:-python3}
exec "$PYTHON" launch.py --standalone --nproc_per_node="\${NPROC:-${procs}}" train.py --out . --metrics metrics.jsonl "$@"
`;
}

function sbatch(name: string, procs: number): string {
  const job = name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40) || 'layerforge';
  return `#!/bin/bash
# SLURM: sbatch train.sbatch   (edit the resources below for your cluster)
#SBATCH --job-name=${job}
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=${Math.max(procs, 1)}
#SBATCH --cpus-per-task=8
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%j.out
set -euo pipefail
cd "\${SLURM_SUBMIT_DIR:-$(dirname "$0")}"
${pytorchMallocShell()}# One torchrun per node; they meet at the first node of the allocation (c10d rendezvous).
HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PROCS_PER_NODE=\${PROCS_PER_NODE:-${Math.max(procs, 1)}}
srun python3 launch.py \\
  --nnodes="$SLURM_NNODES" --nproc_per_node="$PROCS_PER_NODE" \\
  --rdzv_id="$SLURM_JOB_ID" --rdzv_backend=c10d --rdzv_endpoint="$HEAD_NODE:29500" \\
  train.py --out . --metrics metrics.jsonl "$@"
`;
}

export function bundleReadme(o: { name: string; config: BundleConfig; dataset: BundleDataset; procs: number; copied: boolean }): string {
  const { config: c, dataset: d } = o;
  const s = c.settings;
  const src = d.source;
  const where =
    src.type === 'arrays'
      ? 'the arrays Layerforge prepared from the dataset, in `data/` (they travel with the bundle)'
      : o.copied
        ? 'copies of the dataset files, in `data/` (they travel with the bundle)'
        : `the dataset files **on the machine that wrote this bundle**: \`${src.type === 'idx' ? Object.values(src.files).join('`, `') : src.dir}\``;
  return `# ${o.name}: PyTorch training bundle

Written by Layerforge. Trains the project's model with PyTorch (DistributedDataParallel), on one process,
one machine with several GPUs, or several machines, and brings the trained run back into Layerforge.

| file | what |
| --- | --- |
| \`model.py\` | the model (\`Model\`, an \`nn.Module\`; \`forward(x, logits=False)\`) |
| \`initial.safetensors\` | the starting weights (Layerforge's initialisation with seed ${s.seed}, or a trained model's) |
| \`train.py\` | the training script (read its top comment) |
| \`config.json\` | the settings: ${s.epochs} epochs, global batch ${s.batchSize}, ${s.optimizer} at ${s.learningRate} (${s.schedule} schedule)${s.optimizer === 'adamw' ? `, weight decay ${s.weightDecay}` : ''}; loss: ${c.lossDescription} |
| \`data.json\` | the data: ${d.name} (${d.kind}, ${d.trainSize} training / ${d.testSize} test samples), read from ${where} |
| \`project.json\` | the Layerforge project (for \`layerforge import-run\`) |
| \`run.sh\`, \`train.sbatch\` | one machine; SLURM |

Requirements: Python 3 with PyTorch (>= 1.13) and numpy. The \`safetensors\` package is optional.

## Data

${src.type === 'arrays' ? 'The samples are in `data/` as .npy arrays (features already standardised, token ids already tokenized, exactly as Layerforge trains on them).' : o.copied ? 'The samples are in `data/`.' : `data.json points at files on the machine that wrote this bundle. On another machine, copy them and edit \`source\` in data.json${d.fetch ? `, or ${d.fetch}` : ''}. (\`layerforge export … --format pytorch-train --with-data\` copies them into the bundle instead.)`}

## One machine

\`\`\`sh
python3 train.py                                                  # one process (CPU or the first GPU)
torchrun --standalone --nproc_per_node=${o.procs} train.py --out . --metrics metrics.jsonl
./run.sh                                                          # the same; NPROC=4 ./run.sh for 4 processes
\`\`\`

The batch size in config.json is the **global** batch: with N processes each takes batchSize / N samples
per step and DDP averages the gradients, so the result does not depend on N (up to float rounding).
GPUs use NCCL, CPUs gloo. Without \`--metrics\` the JSON lines go to stdout.

On CPUs, start it with glibc's malloc told to keep freed memory mapped, as run.sh and train.sbatch do:
\`export ${Object.entries(PYTORCH_MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\` (or preload jemalloc /
TCMalloc). With glibc's defaults PyTorch hands its large tensors back to the kernel and faults them in again,
zeroed, every step: convolutions ran up to 3x slower that way in a VM.

## Several machines

Run the same command on every node (here 2 nodes of 4 GPUs; HOST is node 0's address, reachable from the others):

\`\`\`sh
# on node 0
torchrun --nnodes=2 --node_rank=0 --nproc_per_node=4 --rdzv_id=${c.name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase() || 'run'} --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 train.py --out . --metrics metrics.jsonl
# on node 1
torchrun --nnodes=2 --node_rank=1 --nproc_per_node=4 --rdzv_id=${c.name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase() || 'run'} --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 train.py --out . --metrics metrics.jsonl
\`\`\`

(PyTorch 2 also accepts \`--node-rank\`, \`--rdzv-backend\`, \`--rdzv-endpoint\`.) Every node needs this folder
and the data at the same paths; only rank 0 writes metrics, checkpoints and weights.

With SLURM: \`sbatch train.sbatch\` (2 nodes; edit its #SBATCH lines).

## Pause, stop, resume

Write \`pause\`, \`run\`, \`stop\` (finish the batch, validate, save) or \`stop-now\` into the file \`control\`
(in the --out folder), e.g. \`echo stop > control\`. A checkpoint (\`checkpoint.pt\`: model, optimizer, epoch,
RNG) is saved after every epoch; \`--resume\` continues after its last whole epoch.

## Bring the run back into Layerforge

When it ends, the folder holds \`weights.safetensors\`, \`result.json\` and \`metrics.jsonl\`. Copy it back and run

\`\`\`sh
layerforge import-run path/to/this/folder
\`\`\`

The run then appears in Layerforge's run list and dashboard (charts from metrics.jsonl), and evaluate, predict
and every export work on its weights.
`;
}
