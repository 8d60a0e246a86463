import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { UsageError, wholeNumberOption, type CliCommand } from '../command';
import { openInsightModel } from './insightModel';

const USAGE = `Usage: layerforge explain MODEL --sample N --out FILE.png [--method gradcam|saliency] [--class K] [--layer NAME]
                         [--data-dir DIR] [--backend NAME] [--json]

  MODEL           a trained image classifier's folder (\`layerforge train --out DIR\`, or runs/<id>/model)
  --sample N      the test image: its index in the dataset's own test order (CIFAR-10: record N of test_batch.bin)
  --method M      gradcam (default): Grad-CAM on the last convolution (or --layer), the class score's gradient
                  weighting its feature maps; saliency: the largest |d score / d pixel| over the channels
  --class K       the class to explain (default: the predicted class)
  --layer NAME    Grad-CAM: the convolution to use (node id or layer name; default: the last one)
  --out FILE.png  the image with the heat map laid over it (turbo colours at 50%)
  --data-dir DIR  where the data is (default: where the model folder says it was trained from)
  --backend NAME  wasm | cpu | auto (default auto)
  --json          also print {method, classIndex, className, layer, node, label, predicted, heatmap} (heat map
                  rows at the image's size, 0..1)`;

export const explainCommand: CliCommand = {
  name: 'explain',
  summary: 'Why an image classifier predicted what it did for a test image: a Grad-CAM or saliency heat map over it (PNG).',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        sample: { type: 'string' },
        method: { type: 'string' },
        class: { type: 'string' },
        layer: { type: 'string' },
        out: { type: 'string', short: 'o' },
        'data-dir': { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    const sample = wholeNumberOption('sample', values.sample, 0);
    if (sample === undefined) throw new UsageError('--sample N is required');
    const classIndex = wholeNumberOption('class', values.class, 0);
    const method = values.method ?? 'gradcam';
    if (method !== 'gradcam' && method !== 'saliency') throw new UsageError(`--method must be gradcam or saliency, got '${method}'`);
    if (values.layer && method !== 'gradcam') throw new UsageError('--layer picks the convolution of Grad-CAM: it goes with --method gradcam');
    if (!values.out) throw new UsageError('--out FILE.png is required');
    const opened = await openInsightModel(positionals[0]!, values);
    try {
      const e = await opened.insight.explain({ kind: 'explain', sample, method, ...(classIndex !== undefined ? { classIndex } : {}), ...(values.layer ? { nodeId: values.layer } : {}) });
      await writeFile(values.out, Buffer.from(e.overlay.replace(/^data:image\/png;base64,/, ''), 'base64'));
      const classes = opened.trainer.dataset?.info.classNames ?? [];
      const cls = (i: number | null) => (i === null ? 'none' : `${classes[i] ?? i} (${i})`);
      if (values.json) {
        io.out(JSON.stringify({ method, classIndex: e.classIndex, className: e.className, layer: e.layerName, node: e.nodeId, sample, label: e.sample.label, predicted: e.sample.predicted, out: values.out, heatmap: e.heatmap }));
      } else {
        io.out(
          `${method === 'gradcam' ? `Grad-CAM on ${e.layerName}${e.nodeId && e.nodeId !== e.layerName ? ` (node ${e.nodeId})` : ''}` : 'Saliency'} for class ${cls(e.classIndex)} · test sample ${sample} of ${e.sample.count} · label ${cls(e.sample.label)} · predicted ${cls(e.sample.predicted)}`,
        );
        io.out(`written to ${values.out} (${e.heatmap[0]?.length ?? 0}×${e.heatmap.length}, the heat map laid over the image)`);
      }
      return 0;
    } finally {
      opened.dispose();
    }
  },
};
