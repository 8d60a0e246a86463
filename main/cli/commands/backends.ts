import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from '../command';

const USAGE = `Usage: layerforge backends [--json]

Lists every training backend, best first, with whether it can run here and why not:
tensorflow-gpu (CUDA), webgpu (any GPU through Dawn: Vulkan, Metal, D3D12; with the adapter it found
and whether that is a software one, which 'auto' never takes), tensorflow, wasm, cpu; then pytorch
(a process engine: the PyTorch export under torchrun, with the Python and torch it found, CPU or CUDA,
how many GPUs, gloo/nccl; LAYERFORGE_PYTHON chooses the Python). 'auto' never picks pytorch.

  --json   one JSON array: [{ name, available, reason, adapter?, software? }]`;

export const backendsCommand: CliCommand = {
  name: 'backends',
  summary: 'List the training backends (tfjs ones and pytorch): available or why not, the GPU adapter webgpu would use, the Python and torch pytorch would.',
  usage: USAGE,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { reportAllBackends } = await import('../../engine/pytorch/port');
    const report = await reportAllBackends();
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
