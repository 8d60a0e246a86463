/**
 * What every export of a table model writes besides the model: `preprocessing.json` (the dataset's
 * TablePreprocessing, verbatim) and a README section saying how a raw CSV row becomes the model's input
 * and what its output means, with a few lines of code in the format's own language. The model itself
 * already contains the normalisation (see TableScaling in exportGraph.ts), so the code only one-hot
 * encodes: that is the part no model format expresses well.
 */
import { writeFile } from 'node:fs/promises';
import { MISSING_TOKENS } from '../../../shared/tables/encode';
import { MISSING_CATEGORY, type TablePreprocessing } from '../../../shared/tables/types';
import { activationOf, type ExportGraph, type TableScaling } from './exportGraph';

export type TableCodeFormat = 'tfjs' | 'onnx' | 'pytorch' | 'keras';

/** preprocessing.json as written beside every export (the same file as in the model folder). */
export function preprocessingJson(pre: TablePreprocessing): string {
  return `${JSON.stringify(pre, null, 2)}\n`;
}

export async function writePreprocessingJson(path: string, pre: TablePreprocessing): Promise<void> {
  await writeFile(path, preprocessingJson(pre));
}

const num = (v: number) => String(Number(v.toPrecision(6)));
/** Inline code in a Markdown table cell. */
const code = (s: string) => `\`${s.replace(/`/g, "'").replace(/\|/g, '\\|').replace(/\n/g, ' ')}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const pyStr = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Categories shown per column in the README; the rest are in preprocessing.json. */
const SHOWN_CATEGORIES = 30;

/** The tokens (besides empty text) that count as a missing value, as shared/tables/encode.ts reads them. */
const missingList = ['', ...MISSING_TOKENS];

/** Python that turns a CSV row (a dict from csv.DictReader) into the model's raw feature vector. */
function pythonEncode(preprocessingFile: string): string {
  return `import csv, json
import numpy as np

pre = json.load(open(${pyStr(preprocessingFile)}))
MISSING = {${missingList.map(pyStr).join(', ')}}

def encode(row):  # a CSV row as a dict {column: text} -> raw features (normalised inside the model)
    x = []
    for c in pre['columns']:
        v = (row.get(c['name']) or '').strip()
        missing = v.lower() in MISSING
        if c['type'] == 'numeric':
            x.append(c['mean'] if missing else float(v))
        elif c['type'] == 'categorical':  # one-hot; an unknown category is all zeros
            x += [float((${pyStr(MISSING_CATEGORY)} if missing else v) == k) for k in c['categories']]
    return np.array(x, dtype=np.float32)

X = np.stack([encode(row) for row in csv.DictReader(open('data.csv', newline=''))])`;
}

/** The output layer's activation ('linear' when it has none). */
function outputActivation(g: ExportGraph): string {
  const out = g.layers.find((l) => l.name === g.outputs[0]);
  return out ? activationOf(out.config) : 'linear';
}

/** Where a single binary output switches to the second class: 0.5 for a probability, 0 for a logit. */
const binaryThreshold = (g: ExportGraph) => (outputActivation(g) === 'sigmoid' ? '0.5' : '0');

function pythonResult(g: ExportGraph, t: TableScaling): string {
  switch (t.head) {
    case 'regression':
      return `print(y[:, 0])  # the predicted ${t.preprocessing.target.name}, in its own units`;
    case 'binary':
      return `print([pre['target']['classes'][int(p > ${binaryThreshold(g)})] for p in y[:, 0]])`;
    case 'multiclass':
      return `print([pre['target']['classes'][i] for i in y.argmax(axis=1)])`;
  }
}

function runCode(g: ExportGraph, t: TableScaling, format: TableCodeFormat, fileStem: string): { lang: string; text: string } {
  const input = g.inputs[0]!;
  switch (format) {
    case 'tfjs':
      return {
        lang: 'js',
        text: `import * as tf from '@tensorflow/tfjs';  // in Node: '@tensorflow/tfjs-node' and 'file://…' paths

const pre = await (await fetch('preprocessing.json')).json();
const MISSING = [${missingList.map((m) => `'${m}'`).join(', ')}];
const encode = (row) => pre.columns.flatMap((c) => {  // row: {column: text} -> raw features
  const v = String(row[c.name] ?? '').trim();
  const missing = MISSING.includes(v.toLowerCase());
  if (c.type === 'numeric') return [missing ? c.mean : Number(v)];
  if (c.type === 'categorical') return c.categories.map((k) => ((missing ? '${MISSING_CATEGORY}' : v) === k ? 1 : 0));
  return [];  // ignored column
});
const model = await tf.loadLayersModel('model.json');
const y = model.predict(tf.tensor2d(rows.map(encode))).arraySync();  // rows: parsed CSV rows
${t.head === 'regression' ? `console.log(y.map((r) => r[0]));  // the predicted ${t.preprocessing.target.name}, in its own units` : t.head === 'binary' ? `console.log(y.map((r) => pre.target.classes[r[0] > ${binaryThreshold(g)} ? 1 : 0]));` : 'console.log(y.map((r) => pre.target.classes[r.indexOf(Math.max(...r))]));'}`,
      };
    case 'onnx':
      return {
        lang: 'python',
        text: `${pythonEncode(`${fileStem}.preprocessing.json`)}

import onnxruntime as ort
session = ort.InferenceSession(${pyStr(`${fileStem}.onnx`)})
y = session.run(None, {${pyStr(input)}: X})[0]
${pythonResult(g, t)}`,
      };
    case 'pytorch':
      return {
        lang: 'python',
        text: `${pythonEncode('preprocessing.json')}

import torch
from model import load
model = load().eval()
with torch.no_grad():
    y = model(torch.from_numpy(X)).numpy()
${pythonResult(g, t)}`,
      };
    case 'keras':
      return {
        lang: 'python',
        text: `${pythonEncode('preprocessing.json')}

from model import load
model = load()  # Normalization (and Rescaling) layers built from preprocessing.json
y = model.predict(X)
${pythonResult(g, t)}`,
      };
  }
}

/** The output as the README explains it. */
function outputText(g: ExportGraph, t: TableScaling): string {
  const target = t.preprocessing.target;
  const act = outputActivation(g);
  const classes = target.classes ?? [];
  if (t.head === 'regression') {
    return t.output
      ? `the predicted ${code(target.name)} in its own units, shape [N, 1]: the network predicts the standardised value y′ and the export turns it back, y = y′ × ${num(t.output.std)} + ${num(t.output.mean)} (the training split's standard deviation and mean).`
      : `the predicted ${code(target.name)}, shape [N, 1] (the target was not standardised).`;
  }
  const list = classes.map((c, i) => `${i} ${code(c)}`).join(', ');
  if (t.head === 'binary') {
    const p = act === 'sigmoid' ? `the probability of ${code(classes[1] ?? '1')}` : `the logit of ${code(classes[1] ?? '1')} (apply a sigmoid for its probability)`;
    return `one number per row, ${p}; ${act === 'sigmoid' ? 'above 0.5' : 'above 0'} means ${code(classes[1] ?? '1')}, else ${code(classes[0] ?? '0')}. Classes: ${list}.`;
  }
  return `${classes.length || 'one'} ${act === 'softmax' ? 'probabilities' : 'scores'} per row, one per class in this order: ${list}; the largest is the prediction.`;
}

/**
 * The README section of a table model's export: column order and types, the one-hot vocabularies
 * (unknown values encode as all zeros), the target and its classes or units, and code to encode a CSV
 * row and run the model in the format's language. `fileStem` names the ONNX file ('model' for model.onnx).
 */
export function tableReadme(g: ExportGraph, format: TableCodeFormat, fileStem = 'model'): string {
  const t = g.table;
  if (!t) return '';
  const pre = t.preprocessing;
  const target = pre.target;
  const preFile = format === 'onnx' ? `${fileStem}.preprocessing.json` : 'preprocessing.json';
  let at = 0;
  const rows = pre.columns.map((c) => {
    if (c.type === 'ignored') return `| ${cell(c.name)} | ignored | — | not used: ${cell(c.reason)} |`;
    if (c.type === 'numeric') {
      const row = `| ${cell(c.name)} | numeric | ${at} | the number as it is; a missing value → ${num(c.mean)} (the training mean). Normalised inside: (x − ${num(c.mean)}) / ${num(c.std)} |`;
      at += 1;
      return row;
    }
    const k = c.categories.length;
    const shown = c.categories.slice(0, SHOWN_CATEGORIES).map(code).join(', ');
    const more = k > SHOWN_CATEGORIES ? `, … (${k - SHOWN_CATEGORIES} more in ${preFile})` : '';
    const hasMissing = c.categories.includes(MISSING_CATEGORY);
    const row = `| ${cell(c.name)} | categorical | ${k === 1 ? at : `${at}–${at + k - 1}`} | one-hot, one feature per category in this order: ${shown}${more}. A value not in this list → all zeros${hasMissing ? `; a missing value → ${code(MISSING_CATEGORY)}` : '; a missing value → all zeros'} |`;
    at += k;
    return row;
  });
  const run = runCode(g, t, format, fileStem);
  const task = target.task === 'regression' ? 'a number (regression)' : `one of ${(target.classes ?? []).length} classes (classification)`;
  return `## Table input: raw CSV rows

Trained on a table (${code(pre.source.file)}) to predict ${code(target.name)}, ${task}. The normalisation the
network was trained with is **built into this export**: it takes the **raw encoded features** (numbers as
they are in the file, categories one-hot)${t.output ? ` and returns ${code(target.name)} in its own units` : ''}; do not
standardise them yourself. ${code(preFile)} beside this file holds everything below, machine-readable
(the dataset's preprocessing, as Layerforge stored it).

**Input ${code(t.input)}**: float32 [N, ${pre.featureNames.length}], the features in column order (columns are matched by
header name, so the CSV may order them differently; the target column ${code(target.name)} is not an input):

| column | type | feature index | encoding |
|--------|------|---------------|----------|
${rows.join('\n')}

A value counts as missing when it is empty or one of ${MISSING_TOKENS.map(code).join(', ')} (any case, spaces trimmed).
Inside the model each feature i becomes (x − featureMean[i]) / featureStd[i] (one-hot features: mean 0,
deviation 1), exactly as in training.

**Output ${code(g.outputs[0] ?? '')}**: ${outputText(g, t)}

Encode rows of a CSV file (\`data.csv\`, with a header) and run the model:

\`\`\`${run.lang}
${run.text}
\`\`\`
`;
}
