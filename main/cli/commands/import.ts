import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeGraph } from '../../../shared/graph';
import { serializeProject } from '../../../shared/project';
import { saveModelFolder } from '../../engine/export/modelFolder';
import { importModelFile, supportedFormats } from '../../engine/import';
import { UsageError, type CliCommand } from '../command';

const USAGE = () =>
  [
    'Usage: layerforge import FILE|FOLDER --out PROJECT [--model-out DIR] [--dims INPUT:AXIS=N,…] [--no-weights] [--force] [--json]',
    '',
    '  FILE|FOLDER     a model in any format Layerforge reads; the format is recognised from the file:',
    `                  ${supportedFormats()}`,
    '  --out FILE      the project file to write',
    '  --model-out DIR also write the trained weights as a model folder (as `train --out` does), for evaluate /',
    '                  predict / export, and set the project\'s training.initialWeights to it (fine-tuning)',
    '  --dims K=N,…    sizes for the inputs\' unknown dimensions (Keras None, ONNX symbolic), by the keys the',
    '                  import prints (input_1:0=128); a dimension not given takes the default shown',
    '  --no-weights    read the structure only (even where the file has weights)',
    '  --force         overwrite FILE if it exists',
    '  --json          print the result (format, parameters, assumed dimensions, nodes, warnings) as JSON',
    '',
    'Every layer or operator Layerforge cannot import is named in the error; nothing is written then.',
  ].join('\n');

/** --dims 'input_1:0=128,input_1:1=64' -> { 'input_1:0': 128, 'input_1:1': 64 }. */
export function parseDims(text: string): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(.+:\d+)=(\d+)$/.exec(part);
    if (!m) throw new UsageError(`--dims: '${part}' is not INPUT:AXIS=N (e.g. input_1:0=128)`);
    const n = Number(m[2]);
    if (!(n >= 1 && n <= 1_000_000)) throw new UsageError(`--dims: ${m[1]} must be a size from 1 to 1000000, got ${m[2]}`);
    dims[m[1]!] = n;
  }
  return dims;
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Turn a model file (TensorFlow.js, Keras, ONNX, a Layerforge model folder) into a project, with its weights.',
  get usage() {
    return USAGE();
  },
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        out: { type: 'string', short: 'o' },
        'model-out': { type: 'string' },
        dims: { type: 'string' },
        'no-weights': { type: 'boolean' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one model FILE or FOLDER');
    if (!values.out) throw new UsageError('--out PROJECT is required');
    const modelOut = values['model-out'];
    const noWeights = Boolean(values['no-weights']);
    if (modelOut && noWeights) throw new UsageError('--model-out writes the weights: it cannot go with --no-weights');
    const dims = values.dims !== undefined ? parseDims(values.dims) : undefined;
    if (!values.force) {
      const exists = await access(values.out).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error(`${values.out} already exists (use --force to overwrite it)`);
    }
    const tf = async () => {
      const t = await import('@tensorflow/tfjs');
      await t.setBackend('cpu');
      return t;
    };
    // Weights are read when they are kept (--model-out); a structure-only import says the file has them.
    const { result, importer, folder } = await importModelFile(positionals[0]!, { ...(dims ? { dims } : {}), weights: modelOut ? true : false, tf });
    let project = result.project;
    if (folder && modelOut) {
      try {
        await saveModelFolder(await tf(), modelOut, folder);
      } finally {
        folder.model.dispose();
      }
      project = { ...project, training: { ...project.training, initialWeights: resolve(modelOut) } };
    }
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, serializeProject(project));
    const nodes = project.graph.nodes;
    const params = analyzeGraph(project.graph).totals.params;
    const frozen = nodes.filter((n) => n.trainable === false).length;
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            out: values.out, format: result.kind, formatLabel: importer.label, hasWeights: result.hasWeights, modelOut: folder && modelOut ? modelOut : null, params,
            ...(result.sourceParams !== undefined ? { sourceParams: result.sourceParams } : {}),
            assumed: result.assumed, frozen, groups: (project.graph.groups ?? []).map((g) => g.name), nodes: nodes.map((n) => ({ name: n.name, type: n.type })), warnings: result.warnings,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    io.out(`Found: ${importer.label} (${result.kind}).`);
    const groups = project.graph.groups?.length ?? 0;
    io.out(
      `Imported ${nodes.length} layers, ${params.toLocaleString('en-US')} parameters${result.sourceParams !== undefined && result.sourceParams === params ? ' (as the source states)' : ''}` +
        `${groups ? `, ${groups} nested model${groups === 1 ? '' : 's'} as groups` : ''}${frozen ? `, ${frozen} frozen` : ''} into ${values.out}.`,
    );
    for (const d of result.assumed) {
      io.out(`Assumed: ${d.key} (${d.input}, ${d.label}) = ${d.value}${d.chosen ? ' (as given)' : ` (the file leaves it open; --dims ${d.key}=N to choose)`}`);
    }
    if (folder && modelOut) io.out(`Wrote the model with its trained weights to ${modelOut}; the project starts training from them (training.initialWeights).`);
    else if (result.hasWeights && !noWeights) io.err('The source has trained weights: add --model-out DIR to keep them.');
    for (const w of result.warnings) io.err(`warning: ${w}`);
    return 0;
  },
};
