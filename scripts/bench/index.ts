/**
 * `npm run bench [-- --json] [--batches N] [--cpu-batches N] [--backends wasm,cpu] [--only training,templates,inference,accuracy,memory,tables,language,text,ui,gpu,insight,profile] [--template resnet-small]`
 * Runs every bench module (each a file here, listed below) in one process and prints the figures,
 * with ours/peer ratios where a peer figure exists (PyTorch on the same CPU).
 */
import { parseArgs } from 'node:util';
import { trainingBench } from './training';
import { uiBench } from './ui';
import { templatesBench } from './templates';
import { memoryBench } from './memory';
import { accuracyBench } from './accuracy';
import { tablesBench } from './tables';
import { languageBench } from './language';
import { textBench } from './text';
import { gpuBench } from './gpu';
import { inferenceBench } from './inference';
import { insightBench } from './insight';
import { profileBench } from './profile';
import type { BenchModule, BenchOptions, Figure } from './types';

/** Add new benchmark modules (other templates, memory, start-up, ...) here. */
export const MODULES: BenchModule[] = [trainingBench, templatesBench, inferenceBench, accuracyBench, memoryBench, tablesBench, languageBench, textBench, uiBench, gpuBench, insightBench, profileBench];

/** What `npm run bench -- --help` prints. */
export function usage(): string {
  return [
    'npm run bench [-- options]: every performance figure in one run, with ours/peer ratios (PyTorch, ONNX Runtime on this CPU).',
    '  --only a,b,...      modules to run (default: all but the opt-in ones; none: no module, as the GPU-check bundle uses)',
    `                      ${MODULES.map((m) => (m.optIn ? `${m.name} (opt-in)` : m.name)).join(', ')}`,
    '  --template id,...   only these templates in the templates and profile modules',
    '  --batches N         timed batches of the training runs (default 32)',
    '  --cpu-batches N     batches of the pure-JS cpu round (default 2, within LAYERFORGE_BENCH_CPU_SECONDS, 60)',
    '  --backends a,b      backends of the training module (default wasm,cpu)',
    '  --json              one JSON object on stdout (figures[]: id, label, value, unit, peer, ratio, note)',
    '  -h, --help          this text',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      batches: { type: 'string' },
      'cpu-batches': { type: 'string' },
      backends: { type: 'string' },
      only: { type: 'string' },
      template: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const unknown = values.only?.split(',').map((s) => s.trim()).filter((name) => name && name !== 'none' && !MODULES.some((m) => m.name === name)) ?? [];
  if (unknown.length) {
    process.stderr.write(`bench: no module ${unknown.map((n) => `'${n}'`).join(', ')} (modules: ${MODULES.map((m) => m.name).join(', ')})\n`);
    return 2;
  }
  const json = Boolean(values.json);
  const opts: BenchOptions = {
    batches: Number(values.batches ?? 32),
    cpuBatches: Number(values['cpu-batches'] ?? 2),
    backends: (values.backends ?? 'wasm,cpu').split(',').map((s) => s.trim()).filter(Boolean),
    log: (line) => process.stderr.write(`${line}\n`),
    ...(values.template ? { template: values.template } : {}),
  };
  const only = values.only ? new Set(values.only.split(',')) : null;
  const figures: Figure[] = [];
  const started = Date.now();
  for (const m of MODULES) {
    if (only ? !only.has(m.name) : m.optIn) continue;
    try {
      figures.push(...(await m.run(opts)));
    } catch (error) {
      opts.log(`${m.name}: failed: ${error instanceof Error ? error.message : String(error)}`);
      figures.push({ id: `${m.name}.error`, label: `${m.name} failed`, value: null, unit: '', note: error instanceof Error ? error.message : String(error) });
    }
  }
  const byId = new Map(figures.map((f) => [f.id, f]));
  const rows = figures.map((f) => {
    const peer = f.peer ? byId.get(f.peer) : undefined;
    const ratio = peer?.value && f.value != null ? Math.round((f.value / peer.value) * 100) / 100 : null;
    return { ...f, ...(f.peer ? { peerValue: peer?.value ?? null, ratio } : {}) };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, elapsedMs: Date.now() - started, figures: rows })}\n`);
  } else {
    const w = Math.max(...rows.map((r) => r.label.length));
    process.stdout.write(`\n${'Figure'.padEnd(w)}  ${'value'.padStart(10)}  unit     ours/peer\n`);
    for (const r of rows) {
      const v = r.value == null ? 'n/a' : r.value.toLocaleString('en-US');
      const ratio = 'ratio' in r && r.ratio != null ? `${r.ratio.toFixed(2)}x (peer ${r.peerValue})` : '';
      process.stdout.write(`${r.label.padEnd(w)}  ${v.padStart(10)}  ${r.unit.padEnd(7)}  ${ratio}${r.value == null && r.note ? `  (${r.note})` : ''}\n`);
    }
  }
  return figures.some((f) => f.id.endsWith('.error')) ? 1 : 0;
}
