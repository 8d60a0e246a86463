import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RowPredictions, TextPrediction } from '../../../shared/api/engine';
import { encode, OOV_ID } from '../../../shared/text';
import { readCsvFile } from '../../engine/datasets/table/csv';
import { predictTableRows } from '../../engine/tables/predictRows';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge predict MODEL --csv FILE.csv [--out FILE.csv] [--json]
       layerforge predict MODEL --text TEXT [--text TEXT2 ...] [--json]

  MODEL        a model folder written by \`layerforge train --out\`: from a table dataset (it holds
               preprocessing.json: column order, means, deviations, category vocabularies) for --csv,
               from labelled text (it holds tokenizer.json) for --text
  --csv FILE   rows to predict, with a header row; the model's input columns are found by name,
               other columns (the target too) are kept as they are
  --out FILE   write the rows with the prediction as new columns (default: print them as CSV)
  --text TEXT  a text to classify (repeat for more); it is tokenized with the model's tokenizer.json and
               padded or cut to the model's T tokens, as in training
  --json       print the predictions as one JSON object instead

Tables: classification adds predicted_<target> and probability; regression adds predicted_<target> in the
target's units. A row that cannot be encoded (a word in a numeric column, a short row) gets its reason
in an error column and no prediction.
Texts: each text's predicted class, its probability and the top 3 classes; --json gives {classNames,
items: [{text, predicted, confidence, probabilities, top, tokens, truncated, unknown}]}.`;

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

/** One text's prediction as `predict --text --json` prints it: the service's TextPrediction, the text and the top 3. */
export interface CliTextPrediction extends TextPrediction {
  text: string;
  top: { class: string; probability: number }[];
}

/** Class probabilities (classNames order) as a prediction: the most likely class, its probability, the top 3. */
export function textPrediction(text: string, probabilities: number[], classNames: readonly string[], meta: { tokens: number; truncated: boolean; unknown: number }): CliTextPrediction {
  const order = probabilities.map((_, i) => i).sort((a, b) => probabilities[b]! - probabilities[a]! || a - b);
  const best = order[0] ?? 0;
  return {
    text,
    predicted: classNames[best] ?? String(best),
    confidence: probabilities[best] ?? 0,
    probabilities,
    top: order.slice(0, 3).map((i) => ({ class: classNames[i] ?? String(i), probability: probabilities[i]! })),
    ...meta,
  };
}

const percent = (p: number) => `${(p * 100).toFixed(1)}%`;

/** A text prediction in words: the text (on one line, cut at 70 characters), then its class and top 3. */
export function showTextPrediction(p: CliTextPrediction, k: number): string[] {
  const flat = p.text.replace(/\s+/g, ' ').trim();
  const shown = flat.length > 70 ? `${flat.slice(0, 69)}…` : flat;
  const notes = [`${p.tokens} token${p.tokens === 1 ? '' : 's'}`, ...(p.truncated ? ['cut to the model\'s length'] : []), ...(p.unknown ? [`${p.unknown} unknown`] : [])];
  return [`${k + 1}. "${shown}"`, `   ${p.predicted} (${percent(p.confidence)})   top 3: ${p.top.map((t) => `${t.class} ${percent(t.probability)}`).join(', ')}   [${notes.join(', ')}]`];
}

export const predictCommand: CliCommand = {
  name: 'predict',
  summary: 'Predict new table rows (CSV) or texts with a trained model folder, applying its stored preprocessing or tokenizer.',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { csv: { type: 'string' }, out: { type: 'string', short: 'o' }, text: { type: 'string', multiple: true }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    const texts = values.text ?? [];
    if (values.csv && texts.length) throw new UsageError('give either --csv FILE (a table model) or --text TEXT (a text classifier), not both');
    if (!values.csv && !texts.length) throw new UsageError('--csv FILE (table models) or --text TEXT (text classifiers) is required');
    if (texts.length && values.out) throw new UsageError('--out writes CSV rows: it goes with --csv, not --text (use --json to keep text predictions)');
    const dir = positionals[0]!;
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const [{ loadModelFolder }, { Trainer }, { exportGraphOfFolder, textInputOf }] = await Promise.all([
      import('../../engine/export/modelFolder'),
      import('../../engine/training/trainer'),
      import('../../engine/export/exportGraph'),
    ]);
    const folder = await loadModelFolder(tf, dir);
    try {
      const trainer = () => new Trainer({ tf, model: folder.model, settings: folder.project.training, dataset: null, backend: 'cpu', ...(folder.task ? { task: folder.task } : {}) });
      if (texts.length) {
        const notText = (why: string): never => {
          throw new Error(`${dir} is not a text classifier (${why}): predict --text takes a model folder trained on labelled text (\`layerforge datasets import … --as text\`)`);
        };
        if (!folder.tokenizer) notText(folder.preprocessing ? 'it was trained on a table: predict its rows with --csv' : 'it holds no tokenizer.json');
        if (folder.task && folder.task.id !== 'classification') notText(folder.task.id === 'language-modelling' ? 'it is a language model, trained on a corpus: continue a prompt with `layerforge generate`' : `it was trained for ${folder.task.id}`);
        const info = textInputOf(exportGraphOfFolder(folder), folder.tokenizer, folder.task, folder.metrics);
        if (!info || info.head !== 'classifier' || !info.classes) return notText(info?.head === 'language-model' ? 'it is a language model: continue a prompt with `layerforge generate`' : 'its output is not one score per class');
        const T = info.length;
        const tokens = new Int32Array(texts.length * T);
        const meta = texts.map((t, k) => {
          const ids = encode(folder.tokenizer!, t);
          for (let i = 0; i < Math.min(ids.length, T); i++) tokens[k * T + i] = ids[i]!; // then PAD (0), as in training
          const unknown = folder.tokenizer!.kind === 'bpe' ? 0 : ids.filter((id) => id === OOV_ID).length;
          return { tokens: ids.length, truncated: ids.length > T, unknown };
        });
        const probs = await trainer().predict({ tokens, count: texts.length });
        const items = probs.map((p, k) => textPrediction(texts[k]!, p, info.classes!, meta[k]!));
        if (values.json) io.out(JSON.stringify({ classNames: info.classes, items }));
        else items.forEach((p, k) => showTextPrediction(p, k).forEach((line) => io.out(line)));
        return 0;
      }
      const pre = folder.preprocessing;
      if (!pre) throw new Error(`${dir} holds no preprocessing.json: it was not trained on a table dataset (predict --csv takes table models${folder.tokenizer ? '; this one reads text: use --text TEXT' : ''})`);
      const table = await readCsvFile(values.csv!);
      const t = trainer();
      const result = await predictTableRows(pre, table.header, table.rows, (features, count) => t.predict({ features, count }), { lines: table.lines });
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
