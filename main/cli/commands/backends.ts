import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge backends [--json]

Lists every training backend, best first, with whether it can run here and why not:
tensorflow-gpu (CUDA), webgpu (any GPU through Dawn: Vulkan, Metal, D3D12; with the adapter it found
and whether that is a software one, which 'auto' never takes), tensorflow, wasm, cpu.

  --json   one JSON array: [{ name, available, reason, adapter?, software? }]`;

export const backendsCommand: CliCommand = {
  name: 'backends',
  summary: 'List the training backends: available or why not, and the GPU adapter webgpu would use.',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { reportBackends, describeAdapter } = await import('../../engine/backends');
    const report = (await reportBackends()).map((b) => ({
      name: b.name,
      available: b.ok,
      reason: b.reason,
      ...(b.adapter ? { adapter: describeAdapter(b.adapter, false), software: b.adapter.software } : {}),
    }));
    if (values.json) {
      io.out(JSON.stringify(report));
      return 0;
    }
    for (const b of report) {
      io.out(`${b.name.padEnd(15)} ${b.available ? (b.software ? 'software' : 'yes') : 'no'.padEnd(3)}  ${b.reason}`);
    }
    io.out('\n`layerforge train … --backend NAME` forces one; auto takes the fastest non-software one (measured on the model when several can train).');
    return 0;
  },
};
