import { parseArgs } from 'node:util';
import { dataDir } from '../../engine/datasets/cache';
import { UsageError, type CliCommand } from '../command';

export const importRunCommand: CliCommand = {
  name: 'import-run',
  summary: 'Bring a PyTorch training bundle\'s finished run back into Layerforge (runs list, dashboard, evaluate, export).',
  usage: [
    'Usage: layerforge import-run DIR [--name NAME] [--metrics FILE] [--data-dir DIR] [--json]',
    '',
    '  DIR         the bundle folder (`layerforge export … --format pytorch-train`) after train.py ran in it,',
    '              or the --out folder train.py wrote into (the bundle is then its parent)',
    '  --name      the run\'s name (default: the project\'s name + " (PyTorch)")',
    '  --metrics   the JSON-lines metrics file (default: DIR/metrics.jsonl; without one, the epochs of result.json)',
    '  --data-dir  the Layerforge data folder (default: LAYERFORGE_DATA_DIR or the user-data folder)',
    '  --json      print the run id, folder and notes as JSON',
    '',
    'Reads weights.safetensors into a model folder and metrics.jsonl / result.json into a run record under',
    'DATA_DIR/runs/<id>/; the app and `layerforge serve` list it like any run (its test evaluation runs when it is first opened).',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { name: { type: 'string' }, metrics: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one DIR (the bundle folder the run was trained in)');
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const { importRun } = await import('../../engine/pytorch/importRun');
    const root = values['data-dir'] ?? dataDir();
    const r = await importRun({ dir: positionals[0]!, dataDir: root, tf, ...(values.name ? { name: values.name } : {}), ...(values.metrics ? { metrics: values.metrics } : {}) });
    if (values.json) {
      io.out(JSON.stringify({ runId: r.runId, runDir: r.runDir, status: r.run.status, epochsDone: r.run.epochsDone, notes: r.notes }, null, 2));
    } else {
      io.out(`Imported ${r.run.name} as ${r.runId} (${r.run.status}, ${r.run.epochsDone} of ${r.run.epochs} epochs) into ${r.runDir}`);
      for (const n of r.notes) io.err(n);
    }
    return 0;
  },
};
