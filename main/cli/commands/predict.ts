import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RowPredictions } from '../../../shared/api/engine';
import { readCsvFile } from '../../engine/datasets/table/csv';
import { predictTableRows } from '../../engine/tables/predictRows';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge predict MODEL --csv FILE.csv [--out FILE.csv] [--json]

  MODEL        a model folder written by \`layerforge train --out\` from a table dataset
               (it holds preprocessing.json: column order, means, deviations, category vocabularies)
  --csv FILE   rows to predict, with a header row; the model's input columns are found by name,
               other columns (the target too) are kept as they are
  --out FILE   write the rows with the prediction as new columns (default: print them as CSV)
  --json       print the predictions as one JSON object instead

Classification adds predicted_<target> and probability; regression adds predicted_<target> in the
target's units. A row that cannot be encoded (a word in a numeric column, a short row) gets its reason
in an error column and no prediction.`;

/** One CSV field, quoted when it must be (RFC 4180). */
export function csvField(v: string, delimiter = ','): string {
  return /["\r\n]/.test(v) || v.includes(delimiter) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The input rows with the prediction columns added, as CSV text. */
export function predictionsCsv(p: RowPredictions, delimiter = ','): string {
  const regression = p.task === 'regression';
  const extra = regression ? [`predicted_${p.target}`] : [`predicted_${p.target}`, 'probability'];
  const anyError = p.items.some((i) => i.error);
  const head = [...p.header, ...extra, ...(anyError ? ['error'] : [])];
  const lines = [head.map((h) => csvField(h, delimiter)).join(delimiter)];
  for (const item of p.items) {
    const pred = item.predicted === undefined ? '' : String(typeof item.predicted === 'number' ? Number(item.predicted.toPrecision(7)) : item.predicted);
    const cells = [...item.values, pred, ...(regression ? [] : [item.confidence === undefined ? '' : item.confidence.toFixed(4)]), ...(anyError ? [item.error ?? ''] : [])];
    lines.push(cells.map((c) => csvField(c, delimiter)).join(delimiter));
  }
  return `${lines.join('\n')}\n`;
}

export const predictCommand: CliCommand = {
  name: 'predict',
  summary: 'Predict new table rows (CSV) with a trained model folder, applying its stored preprocessing.',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { csv: { type: 'string' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    if (!values.csv) throw new UsageError('--csv FILE is required');
    const dir = positionals[0]!;
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const [{ loadModelFolder }, { Trainer }] = await Promise.all([import('../../engine/export/modelFolder'), import('../../engine/training/trainer')]);
    const folder = await loadModelFolder(tf, dir);
    try {
      const pre = folder.preprocessing;
      if (!pre) throw new Error(`${dir} holds no preprocessing.json: it was not trained on a table dataset (predict takes table models; images and text have their own commands)`);
      const table = await readCsvFile(values.csv);
      const trainer = new Trainer({ tf, model: folder.model, settings: folder.project.training, dataset: null, backend: 'cpu', ...(folder.task ? { task: folder.task } : {}) });
      const result = await predictTableRows(pre, table.header, table.rows, (features, count) => trainer.predict({ features, count }), { lines: table.lines });
      const bad = result.items.filter((i) => i.error);
      if (values.json) io.out(JSON.stringify(result));
      else {
        const text = predictionsCsv(result, table.delimiter);
        if (values.out) {
          await writeFile(values.out, text);
          io.err(`Predicted ${result.items.length - bad.length} of ${result.total} rows (${pre.target.task} of '${pre.target.name}'); written to ${values.out}`);
        } else io.out(text.trimEnd());
      }
      for (const b of bad.slice(0, 10)) io.err(`skipped: ${b.error}`);
      if (bad.length > 10) io.err(`… and ${bad.length - 10} more rows skipped`);
      return bad.length === result.items.length && result.items.length > 0 ? 1 : 0;
    } finally {
      folder.model.dispose();
    }
  },
};
