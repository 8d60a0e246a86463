import { parseArgs } from 'node:util';
import { registerCustomLayers } from '../../engine/compile/custom';
import { dataDir } from '../../engine/datasets/cache';
import { EXPORT_FORMATS, getExportFormat, loadModelFolder, TRAINING_BUNDLE_FORMATS } from '../../engine/export';
import { UsageError, wholeNumberOption, type CliCommand, type CliIO } from '../command';

const ids = [...EXPORT_FORMATS, ...TRAINING_BUNDLE_FORMATS].map((f) => f.id).join('|');

/** `--format pytorch-train`: a training bundle of a run or project (it needs the dataset, not only the model). */
async function exportTrainingBundle(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' },
      dataset: { type: 'string' }, 'data-dir': { type: 'string' }, procs: { type: 'string' }, limit: { type: 'string' }, 'with-data': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('expected one RUN_OR_PROJECT (a run id, run folder, model folder, project folder or project file)');
  if (!values.out) throw new UsageError('--out DIR is required');
  const procs = wholeNumberOption('procs', values.procs);
  const limit = wholeNumberOption('limit', values.limit);
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  registerCustomLayers(tf);
  const format = TRAINING_BUNDLE_FORMATS[0];
  const result = await format.export({
    source: positionals[0]!, out: values.out, dataDir: values['data-dir'] ?? dataDir(), tf,
    ...(values.dataset ? { datasetId: values.dataset } : {}), ...(procs ? { procs } : {}), ...(limit ? { limit } : {}), ...(values['with-data'] ? { copyData: true } : {}),
  });
  if (values.json) io.out(JSON.stringify({ format: format.id, ...result }, null, 2));
  else {
    io.out(`Wrote the PyTorch training bundle of ${positionals[0]}:`);
    for (const f of result.files) io.out(`  ${f}`);
    for (const n of result.notes) io.err(n);
  }
  return 0;
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export a trained model folder to TensorFlow.js, ONNX, PyTorch or Keras.',
  usage: [
    `Usage: layerforge export MODEL --format ${EXPORT_FORMATS.map((f) => f.id).join('|')} --out PATH`,
    '       layerforge export RUN_OR_PROJECT --format pytorch-train --out DIR [--procs N] [--with-data] [--dataset ID] [--limit N] [--data-dir DIR]',
    '',
    '  MODEL      a folder written by `layerforge train --out` (project.json + model.json + weights.bin)',
    ...EXPORT_FORMATS.map((f) => `  --format ${f.id.padEnd(8)} ${f.label}${f.extension ? ` (one ${f.extension} file)` : ' (a folder)'}`),
    ...TRAINING_BUNDLE_FORMATS.map((f) => `  --format ${f.id} ${f.label}`),
    '  --out PATH the file or folder to write',
    '  --json     print the written files and notes as JSON',
    '',
    'pytorch-train: RUN_OR_PROJECT is a run id (DATA_DIR/runs), a run or model folder (its trained weights are the',
    "start) or a project file/folder (fresh weights); --procs N processes per node in run.sh/README; --with-data copies",
    'the image data into the bundle (tables and texts always travel as .npy arrays); bring the run back with',
    '`layerforge import-run DIR`.',
    '',
    'Layers a format cannot express are named in the error; nothing is written then.',
  ].join('\n'),
  async run(args, io) {
    if (args.some((a, i) => (a === '--format' || a === '-f' ? args[i + 1] === 'pytorch-train' : a === '--format=pytorch-train'))) return exportTrainingBundle(args, io);
    const { values, positionals } = parseArgs({
      args,
      options: { format: { type: 'string', short: 'f' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    if (!values.format) throw new UsageError(`--format is required (${ids})`);
    const format = getExportFormat(values.format);
    if (!format) throw new UsageError(`unknown format '${values.format}' (expected ${ids})`);
    if (!values.out) throw new UsageError('--out PATH is required');
    // tfjs loads only when a command needs it (~370 ms): `layerforge inspect` and friends start without it.
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    registerCustomLayers(tf);
    const folder = await loadModelFolder(tf, positionals[0]!);
    try {
      const result = await format.export(tf, folder, values.out);
      if (values.json) io.out(JSON.stringify({ format: format.id, ...result }, null, 2));
      else {
        io.out(`Exported ${folder.project.name} as ${format.label}:`);
        for (const f of result.files) io.out(`  ${f}`);
        for (const n of result.notes) io.err(n);
      }
    } finally {
      folder.model.dispose();
    }
    return 0;
  },
};
