import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { serializeProject } from '../../../shared/project';
import { importModelPath } from '../../engine/import';
import { UsageError, type CliCommand } from '../command';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Turn a TensorFlow.js / Keras model.json (or a Layerforge model folder) into a project.',
  usage: [
    'Usage: layerforge import MODEL_JSON --out PROJECT [--force] [--json]',
    '',
    '  MODEL_JSON  a model.json (Sequential or Functional, with or without weights), a folder holding one,',
    '              or a Layerforge model folder (project.json + model.json)',
    '  --out FILE  the project file to write',
    '  --force     overwrite FILE if it exists',
    '  --json      print the result (nodes, warnings) as JSON',
    '',
    'Layers Layerforge does not support are all named in the error; nothing is written then.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL_JSON file or folder');
    if (!values.out) throw new UsageError('--out PROJECT is required');
    const res = await importModelPath(positionals[0]!);
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
      io.out(`Imported ${nodes.length} layers into ${values.out} (${res.kind}${res.hasWeights ? ', weights not imported into the project' : ''}).`);
      for (const w of res.warnings) io.err(`warning: ${w}`);
    }
    return 0;
  },
};
