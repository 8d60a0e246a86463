import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { serializeProject } from '../../../shared/project';
import { saveModelFolder } from '../../engine/export/modelFolder';
import { importModelPath, importWithWeights, type ImportResult } from '../../engine/import';
import { UsageError, type CliCommand } from '../command';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Turn a TensorFlow.js / Keras model.json (or a Layerforge model folder) into a project.',
  usage: [
    'Usage: layerforge import MODEL_JSON --out PROJECT [--model-out DIR] [--force] [--json]',
    '',
    '  MODEL_JSON  a model.json (Sequential or Functional, with or without weights), a folder holding one,',
    '              or a Layerforge model folder (project.json + model.json)',
    '  --out FILE  the project file to write',
    '  --model-out DIR  also write a model folder with the trained weights (as `train --out` does), for',
    '              evaluate / export / further training',
    '  --force     overwrite FILE if it exists',
    '  --json      print the result (nodes, warnings) as JSON',
    '',
    'Layers Layerforge does not support are all named in the error; nothing is written then.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { out: { type: 'string', short: 'o' }, 'model-out': { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL_JSON file or folder');
    if (!values.out) throw new UsageError('--out PROJECT is required');
    const modelOut = values['model-out'];
    let res: ImportResult;
    if (modelOut) {
      const tf = await import('@tensorflow/tfjs');
      await tf.setBackend('cpu');
      const { result, folder } = await importWithWeights(tf, positionals[0]!);
      try {
        await saveModelFolder(tf, modelOut, folder);
      } finally {
        folder.model.dispose();
      }
      res = result;
    } else {
      res = await importModelPath(positionals[0]!);
    }
    if (!values.force) {
      const exists = await access(values.out).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error(`${values.out} already exists (use --force to overwrite it)`);
    }
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, serializeProject(res.project));
    const nodes = res.project.graph.nodes;
    if (values.json) {
      io.out(JSON.stringify({ out: values.out, kind: res.kind, hasWeights: res.hasWeights, nodes: nodes.map((n) => ({ name: n.name, type: n.type })), warnings: res.warnings }, null, 2));
    } else {
      io.out(`Imported ${nodes.length} layers into ${values.out} (${res.kind}).`);
      if (modelOut) io.out(`Wrote the model with its trained weights to ${modelOut}.`);
      else if (res.hasWeights) io.err('The source has trained weights: add --model-out DIR to keep them.');
      for (const w of res.warnings) io.err(`warning: ${w}`);
    }
    return 0;
  },
};
