import { parseArgs } from 'node:util';
import { UsageError, wholeNumberOption, type CliCommand } from '../command';
import { openInsightModel } from './insightModel';

const USAGE = `Usage: layerforge activations MODEL --sample N --layer NAME [--data-dir DIR] [--backend NAME] [--json]

  MODEL           a trained model folder (\`layerforge train --out DIR\`, or an engine run's runs/<id>/model)
  --sample N      the test sample: its index in the dataset's own test order (CIFAR-10: record N of
                  test_batch.bin; MNIST: image N of t10k; tables and texts: the Nth test row or text)
  --layer NAME    the layer: its node id or its layer name (\`layerforge inspect\` lists them)
  --data-dir DIR  where the data is (default: where the model folder says it was trained from)
  --backend NAME  wasm | cpu | auto (default auto)
  --json          print {layer, node, sample, shape, values}: the flat values of the layer's output for the
                  sample (row-major, channels last), plus the sample's label and the model's prediction`;

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

export const activationsCommand: CliCommand = {
  name: 'activations',
  summary: "Print a layer's output for one test sample of a trained model folder (a summary, or every value as JSON).",
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { sample: { type: 'string' }, layer: { type: 'string' }, 'data-dir': { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('expected one MODEL folder');
    const sample = wholeNumberOption('sample', values.sample, 0);
    if (sample === undefined) throw new UsageError('--sample N is required');
    if (!values.layer) throw new UsageError('--layer NAME is required');
    const opened = await openInsightModel(positionals[0]!, values);
    try {
      const out = await opened.insight.layerValues(sample, values.layer);
      const info = await opened.insight.sample(sample);
      const classes = opened.trainer.dataset?.info.classNames ?? [];
      const cls = (i: number | null) => (i === null ? 'none' : Number.isInteger(i) && classes[i] ? `${classes[i]} (${i})` : String(i));
      if (values.json) {
        io.out(JSON.stringify({ layer: out.layerName, node: out.nodeId, sample, label: info.label, predicted: info.predicted, shape: out.shape, values: Array.from(out.values) }));
        return 0;
      }
      const v = out.values;
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let zeros = 0;
      for (let i = 0; i < v.length; i++) {
        min = Math.min(min, v[i]!);
        max = Math.max(max, v[i]!);
        sum += v[i]!;
        if (v[i] === 0) zeros++;
      }
      io.out(`${out.layerName}${out.nodeId !== out.layerName ? ` (node ${out.nodeId})` : ''} · test sample ${sample} of ${info.count} · label ${cls(info.label)} · predicted ${cls(info.predicted)}`);
      io.out(`output ${out.shape.join('×')} (${v.length} values): min ${fmt(min)}, max ${fmt(max)}, mean ${fmt(sum / Math.max(1, v.length))}, ${((zeros / Math.max(1, v.length)) * 100).toFixed(1)}% zeros`);
      if (out.shape.length === 3) {
        const [h, w, c] = out.shape as [number, number, number];
        const means = Array.from({ length: c }, (_, ch) => {
          let s = 0;
          for (let i = 0; i < h * w; i++) s += v[i * c + ch]!;
          return { ch, mean: s / (h * w) };
        }).sort((a, b) => b.mean - a.mean);
        io.out(`channels by mean activation: ${means.slice(0, 8).map((m) => `#${m.ch} ${fmt(m.mean)}`).join(', ')}${c > 8 ? ', …' : ''}`);
      } else if (out.shape.length === 1 && v.length <= 20) {
        io.out(`values: ${Array.from(v, (x, i) => `${classes.length === v.length ? classes[i] : i} ${fmt(x)}`).join(', ')}`);
      }
      return 0;
    } finally {
      opened.dispose();
    }
  },
};
