import { processIO, UsageError, type CliCommand, type CliIO } from './command';
import { layersCommand } from './commands/layers';
import { inspectCommand } from './commands/inspect';
import { trainCommand } from './commands/train';
import { serveCommand } from './commands/serve';
import { datasetsCommand } from './commands/datasets';
import { exportCommand } from './commands/export';
import { importCommand } from './commands/import';
import { predictCommand } from './commands/predict';
import { generateCommand } from './commands/generate';
import { attentionCommand } from './commands/attention';
import { backendsCommand } from './commands/backends';
import { activationsCommand } from './commands/activations';
import { explainCommand } from './commands/explain';
import { importRunCommand } from './commands/importRun';

/** Every sub-command of `layerforge`, one line each. */
export const commands: CliCommand[] = [
  layersCommand,
  inspectCommand,
  trainCommand,
  serveCommand,
  datasetsCommand,
  exportCommand,
  importCommand,
  predictCommand,
  generateCommand,
  attentionCommand,
  activationsCommand,
  explainCommand,
  backendsCommand,
  importRunCommand,
];

function help(io: CliIO): void {
  io.out('Usage: layerforge <command> [options]\n\nCommands:');
  for (const c of commands) io.out(`  ${c.name.padEnd(10)} ${c.summary}`);
  io.out('\nRun `layerforge <command> --help` for a command\'s options.');
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    help(io);
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`layerforge: unknown command '${name}'.`);
    help(io);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`layerforge ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    io.err(`layerforge ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
