import { parseArgs } from 'node:util';
import { registerCustomLayers } from '../../engine/compile/custom';
import { EXPORT_FORMATS, getExportFormat, loadModelFolder } from '../../engine/export';
import { UsageError, type CliCommand } from '../command';

const ids = EXPORT_FORMATS.map((f) => f.id).join('|');

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export a trained model folder to TensorFlow.js, ONNX, PyTorch or Keras.',
  usage: [
    `Usage: layerforge export MODEL --format ${ids} --out PATH`,
    '',
    '  MODEL      a folder written by `layerforge train --out` (project.json + model.json + weights.bin)',
    ...EXPORT_FORMATS.map((f) => `  --format ${f.id.padEnd(8)} ${f.label}${f.extension ? ` (one ${f.extension} file)` : ' (a folder)'}`),
    '  --out PATH the file or folder to write',
    '  --json     print the written files and notes as JSON',
    '',
    'Layers a format cannot express are named in the error; nothing is written then.',
  ].join('\n'),
  async run(args, io) {
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
