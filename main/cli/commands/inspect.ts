import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { analyzeGraph, type Analysis } from '../../../shared/graph';
import { parseProjectText, type ProjectFile } from '../../../shared/project';
import { UsageError, type CliCommand } from '../command';

export function formatSummary(project: ProjectFile, analysis: Analysis): string {
  const rows = analysis.order.map((id) => {
    const node = project.graph.nodes.find((n) => n.id === id)!;
    const info = analysis.nodes[id]!;
    return [`${node.name} (${node.type})`, info.shape ? `(None, ${info.shape.join(', ')})` : '?', info.params.toLocaleString('en-US')];
  });
  const head = ['Layer (type)', 'Output Shape', 'Param #'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 2);
  const line = (r: string[]) => r.map((c, i) => (i === 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('').trimEnd();
  const rule = (ch: string) => ch.repeat(w.reduce((a, b) => a + b, 0));
  const mb = analysis.totals.activationBytes / 2 ** 20;
  return [
    `Model: "${project.name}"`,
    rule('_'),
    line(head),
    rule('='),
    ...rows.flatMap((r, i) => (i ? [rule('_'), line(r)] : [line(r)])),
    rule('='),
    `Total params: ${analysis.totals.params.toLocaleString('en-US')}`,
    `FLOPs per sample: ${formatCount(analysis.totals.flops)}`,
    `Activation memory per sample: ${mb.toFixed(2)} MiB`,
    rule('_'),
  ].join('\n');
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

export const inspectCommand: CliCommand = {
  name: 'inspect',
  summary: 'Print a Keras-style summary of a project, or every problem in it.',
  usage: 'Usage: layerforge inspect PROJECT [--json]\n\n  --json   print shapes, params, FLOPs and problems as JSON\n\nExits 1 when the project has problems.',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new UsageError('expected one PROJECT file');
    const file = positionals[0]!;
    const project = parseProjectText(await readFile(file, 'utf8'), file);
    const analysis = analyzeGraph(project.graph);
    const errors = analysis.problems.filter((p) => p.severity === 'error');
    if (values.json) {
      const nodes = analysis.order.map((id) => {
        const n = project.graph.nodes.find((x) => x.id === id)!;
        const info = analysis.nodes[id]!;
        return { id, name: n.name, type: n.type, outputShape: info.shape ?? null, params: info.params, flops: info.flops };
      });
      io.out(JSON.stringify({ name: project.name, valid: analysis.valid, totals: analysis.totals, nodes, problems: analysis.problems }, null, 2));
      return errors.length ? 1 : 0;
    }
    if (errors.length) {
      io.err(`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}:`);
      for (const p of analysis.problems) io.err(`  ${p.severity}: ${p.message}`);
      return 1;
    }
    io.out(formatSummary(project, analysis));
    for (const p of analysis.problems) io.err(`${p.severity}: ${p.message}`);
    return 0;
  },
};

